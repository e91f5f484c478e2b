"""Typed pipeline configuration, loadable from TOML; every ``mmroute ask`` flag maps onto a field.

Example ``mmroute.toml``::

    retriever = "stepwise"        # or "single"   (--stepwise / --single-shot)
    k = 5                         #                          (--k)
    kbs = ["squad"]               #                          (--kb, repeatable)
    verify = true                 #                          (--no-verify)
    dual_path = true              # a second answer for the verifier, when its policy weighs one
    generator = "reader"          # reader|offline|smollm2|hf-causal|openai|a plugin's   (--generator)
    verifier = "evidence"         # a registered verifier: evidence or a plugin's      (--verifier)
    router = "default"            # a registered router; unset: the default router     (--router)

    [generator_options]           # passed to the generator's constructor
    model = "packaged"            # reader: packaged, a local QA checkpoint folder, or a hub name

    [verifier_options]            # passed to the verifier's constructor (with policy_path as policy)

    [router_options]              # passed to the router's factory, e.g. path = "./my-router"

    [endpoint]                    # for generator = "openai" and the LLM judge (--endpoint-url ...)
    url = "http://localhost:8000/v1"
    model = "qwen2.5-vl-7b-instruct"
    api_key_env = "OPENAI_API_KEY"
    judge = false                 # also use the endpoint as a chain-of-verification judge

>>> cfg = PipelineConfig.from_toml("mmroute.toml")
>>> Pipeline.from_home(Home(), cfg)

Every name (generator, verifier, router, retriever) is looked up in its role's registry, so a package
that registers one through an entry point (``mmroute.generators``, ``mmroute.verifiers``,
``mmroute.routers``, ...; see ``docs/plugins.md``) is named here like a built-in one. A file without
``verifier`` keeps the ``evidence`` verifier: configs written before the key existed mean the same.
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError


@dataclass
class EndpointConfig:
    """An OpenAI-compatible endpoint (vLLM, Ollama, llama.cpp server, hosted API)."""

    url: str | None = None
    model: str | None = None
    api_key_env: str | None = "OPENAI_API_KEY"
    timeout_s: float = 60.0
    max_retries: int = 2
    multimodal: bool = False
    judge: bool = False


DEFAULT_RETRIEVER = "stepwise"
"""The retriever every surface uses unless told otherwise (CLI, config files, ``mmroute serve``, the app,
LlamaIndex): step-wise. It finds more of the evidence than single-shot search on one-hop questions as well
as two-hop ones (SQuAD recall@5 0.821 against 0.753; multi-hop all-gold@5 0.705 against 0.614, widened; see
docs/benchmarks.md), stops after one step when the evidence suffices, and costs about 13 ms a question."""


@dataclass
class PipelineConfig:
    """What :class:`mmroute.Pipeline` runs: which retriever, generator and verifier, with what options."""

    generator: str = "reader"
    generator_options: dict[str, Any] = field(default_factory=dict)
    """Options of the generator's constructor."""
    verifier: str = "evidence"
    """A registered verifier name (used when ``verify`` is on)."""
    verifier_options: dict[str, Any] = field(default_factory=dict)
    """Options of the verifier's constructor; ``policy_path`` and the endpoint judge are added when set."""
    retriever: str = DEFAULT_RETRIEVER
    """A registered retriever; the one default of the CLI, ``mmroute serve``, the app and LlamaIndex."""
    retriever_options: dict[str, Any] = field(default_factory=dict)
    router: str | None = None
    """A registered router name; None uses the default router when one is installed (else all KBs)."""
    router_options: dict[str, Any] = field(default_factory=dict)
    """Options of that router, e.g. ``{"path": "./mpnet-router"}`` for ``finetuned``."""
    k: int = 5
    kbs: list[str] = field(default_factory=list)
    """KBs to search; empty lets the router choose."""
    verify: bool = True
    dual_path: bool = True
    next_candidates: int = 2
    """When the verifier withholds the draft, how many of the generator's next-ranked answers are verified
    before saying "I don't know" (generators that rank candidates: the reader)."""
    policy_path: str | None = None
    """A calibrated verifier policy JSON (default: the one shipped in ``mmroute/data/verifier``)."""
    endpoint: EndpointConfig = field(default_factory=EndpointConfig)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        from .generation.base import GENERATORS
        from .routing.base import ROUTERS

        # The verifier's name is checked where it is built (Pipeline.from_home): its role's module loads
        # the verifier's dependencies, which a client that only sends this config to a server does not need.
        _check_name(GENERATORS, self.generator, "generator")
        if self.router is not None:
            _check_name(ROUTERS, self.router, "router")
        if not self.verifier:
            raise ConfigError("the verifier name is empty", hint='name one, e.g. verifier = "evidence"')
        if self.k < 1:
            raise ConfigError(f"k must be at least 1, not {self.k}")
        if self.next_candidates < 0:
            raise ConfigError(f"next_candidates must be 0 or more, not {self.next_candidates}")
        if self.generator == "openai" and not (self.endpoint.url and self.endpoint.model):
            raise ConfigError(
                "the openai generator needs an endpoint url and model",
                hint="pass --endpoint-url URL --endpoint-model NAME (or [endpoint] in the TOML)",
            )
        if self.generator == "hf-causal" and not self.generator_options.get("model"):
            raise ConfigError(
                "the hf-causal generator needs a model name or path",
                hint="pass --generator-option model=PATH (or generator_options.model in the TOML)",
            )
        if self.endpoint.judge and not (self.endpoint.url and self.endpoint.model):
            raise ConfigError(
                "the LLM judge needs an endpoint url and model", hint="pass --endpoint-url URL --endpoint-model NAME"
            )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PipelineConfig:
        if not isinstance(d, Mapping):
            raise ConfigError(f"a pipeline config must be a table of keys, not {type(d).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ConfigError(
                f"unknown pipeline config keys: {', '.join(sorted(unknown))}",
                hint=f"known keys: {', '.join(sorted(names))}",
            )
        kw = dict(d)
        ep = kw.pop("endpoint", None) or {}
        _check_types(kw, _TYPES, "")
        if isinstance(ep, EndpointConfig):
            endpoint = ep
        else:
            if not isinstance(ep, Mapping):
                raise ConfigError(f"[endpoint] must be a table of keys, not {type(ep).__name__}")
            _check_types(ep, _ENDPOINT_TYPES, "endpoint.")
            ep_names = {f.name for f in dataclasses.fields(EndpointConfig)}
            bad = set(ep) - ep_names
            if bad:
                raise ConfigError(
                    f"unknown [endpoint] keys: {', '.join(sorted(bad))}",
                    hint=f"known keys: {', '.join(sorted(ep_names))}",
                )
            endpoint = EndpointConfig(**ep)
        try:
            return cls(endpoint=endpoint, **kw)
        except TypeError as e:
            raise ConfigError(f"invalid pipeline config: {e}") from e

    @classmethod
    def from_toml(cls, path: str | Path) -> PipelineConfig:
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(
                f"config file {p} not found",
                hint="give the path of a pipeline TOML file (see the user guide, 'Pipeline TOML')",
            ) from None
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"cannot read config file {p}: {e}", hint="give a UTF-8 TOML file") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{p} is not valid TOML: {e}", hint="check quoting and [table] headers") from None
        try:
            return cls.from_dict(data.get("pipeline", data))
        except ConfigError as e:  # name the file the key is in
            raise ConfigError(f"{p}: {e.message}", hint=e.hint) from None

    def replace(self, **changes: Any) -> PipelineConfig:
        return dataclasses.replace(self, **changes)


_OPT_STR = (str, type(None))
_TYPES: dict[str, Any] = {
    "generator": str,
    "generator_options": dict,
    "verifier": str,
    "verifier_options": dict,
    "retriever": str,
    "retriever_options": dict,
    "router": _OPT_STR,
    "router_options": dict,
    "k": int,
    "kbs": list,
    "verify": bool,
    "dual_path": bool,
    "next_candidates": int,
    "policy_path": _OPT_STR,
}
_ENDPOINT_TYPES: dict[str, Any] = {
    "url": _OPT_STR,
    "model": _OPT_STR,
    "api_key_env": _OPT_STR,
    "timeout_s": (int, float),
    "max_retries": int,
    "multimodal": bool,
    "judge": bool,
}


def _check_name(registry: Any, name: str, key: str) -> None:
    """``name`` is registered in ``registry`` (built in, added at run time, or an installed plugin's)."""
    if name not in registry:
        raise ConfigError(
            f"unknown {registry.role} {name!r}",
            hint=f"choose one of: {', '.join(registry.names())} (config key {key}; a plugin's name needs its "
            "package installed)",
        )


def _check_types(values: Mapping[str, Any], types: Mapping[str, Any], prefix: str) -> None:
    """A TOML value of the wrong type fails here with its key, not later inside a generator."""
    for key, value in values.items():
        want = types.get(key)
        if want is None:
            continue
        wants = want if isinstance(want, tuple) else (want,)
        ok = isinstance(value, wants) and not (isinstance(value, bool) and bool not in wants)
        if key == "kbs" and ok:
            ok = all(isinstance(v, str) for v in value)
        if not ok:
            names = " or ".join("none" if t is type(None) else t.__name__ for t in wants)
            example = _TYPE_EXAMPLES.get(wants[0], "")
            raise ConfigError(
                f"config key {prefix}{key} must be {names}, not {type(value).__name__} ({value!r:.40})",
                hint=f"write it as TOML {names}, e.g. {key} = {example}" if example else None,
            )


_TYPE_EXAMPLES: dict[Any, str] = {
    int: "5",
    float: "0.5",
    bool: "true",
    str: '"text"',
    list: '["a", "b"]',
    dict: "{key = 1}",
}
