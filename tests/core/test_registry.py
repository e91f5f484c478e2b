"""One registration mechanism for every role: lazy tables, entry points, run-time additions."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mmroute.errors import ConfigError
from mmroute.registry import Registry, UnknownOptionError, check_options

ROOT = Path(__file__).resolve().parents[2]

ROLES = {
    "mmroute.encoders": (
        "ENCODERS",
        {"hashing", "minilm", "hf-text", "conse", "conse-efficientnet", "open-clip", "hf-clip", "video-frames"},
    ),
    "mmroute.stores": ("STORES", {"edge", "faiss", "qdrant"}),
    "mmroute.routing": (
        "ROUTERS",
        {"trained", "description", "llm", "ensemble", "finetuned", "federated", "guarded", "default"},
    ),
    "mmroute.generation": ("GENERATORS", {"offline", "reader", "hf-causal", "smollm2", "openai"}),
    "mmroute.loaders": ("LOADERS", {"jsonl", "plaintext", "image", "video"}),
    "mmroute.retrieval": ("RETRIEVERS", {"single", "stepwise"}),
    "mmroute.retrieval.planners": ("PLANNERS", {"offline", "llm"}),
    "mmroute.verification": ("VERIFIERS", {"evidence"}),
    "mmroute.reading": ("READERS", {"transformer"}),
}

# Modules that hold implementations (none may load just to list names).
IMPLEMENTATIONS = [
    "mmroute.encoders.text",
    "mmroute.encoders.image",
    "mmroute.encoders.conse",
    "mmroute.encoders.openclip",
    "mmroute.encoders.hf_clip",
    "mmroute.encoders.video",
    "mmroute.encoders.hashing",
    "mmroute.stores.edge",
    "mmroute.stores.faiss_store",
    "mmroute.stores.qdrant",
    "mmroute.routing.trained",
    "mmroute.routing.guard",
    "mmroute.routing.default",
    "mmroute.generation.extractive",
    "mmroute.generation.local_lm",
    "mmroute.loaders.images",
    "mmroute.loaders.video",
    "mmroute.retrieval.stepwise",
    "mmroute.retrieval.planners.offline",
    "mmroute.verification.verifier",
    "torch",
]


def test_every_role_lists_its_builtins_without_importing_them():
    """In a fresh interpreter: each table is complete before any implementation is imported."""
    code = textwrap.dedent(f"""
        import importlib, json, sys
        roles = {json.dumps({m: v[0] for m, v in ROLES.items()})}
        names = {{}}
        for mod in ["mmroute.stores", "mmroute.encoders", "mmroute.generation", "mmroute.loaders"]:
            names[mod] = getattr(importlib.import_module(mod), roles[mod]).names()
        from mmroute.routing.base import ROUTERS
        from mmroute.retrieval.base import RETRIEVERS
        from mmroute.retrieval.planners.base import PLANNERS
        names["mmroute.routing"] = ROUTERS.names()
        names["mmroute.retrieval"] = RETRIEVERS.names()
        names["mmroute.retrieval.planners"] = PLANNERS.names()
        loaded = [m for m in {IMPLEMENTATIONS!r} if m in sys.modules]
        print(json.dumps({{"names": names, "loaded": loaded}}))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["loaded"] == []
    for mod, names in got["names"].items():
        assert ROLES[mod][1] <= set(names), mod


@pytest.mark.parametrize("module", sorted(ROLES))
def test_every_builtin_name_resolves_to_a_factory(module):
    import importlib

    name, expected = ROLES[module]
    reg = getattr(importlib.import_module(module), name)
    assert isinstance(reg, Registry)
    assert expected <= set(reg.names())
    for n in expected:
        assert n in reg
        assert callable(reg.get(n)), n


def test_unknown_name_is_a_config_error_listing_the_choices():
    from mmroute.stores import STORES

    with pytest.raises(ConfigError) as e:
        STORES.create("no-such-store", path=Path("/tmp/x"))
    assert "no-such-store" in e.value.message and "edge" in (e.value.hint or "")


def test_run_time_registration_and_double_registration():
    reg: Registry[object] = Registry("widget", {"a": "collections:OrderedDict"})
    reg.register("b")(dict)
    assert reg.names() == ["a", "b"] and type(reg.create("a")).__name__ == "OrderedDict"
    assert reg.create("b", x=1) == {"x": 1}
    reg.register("b")(dict)  # the same factory again is fine
    with pytest.raises(ValueError, match="registered twice"):
        reg.register("b")(list)
    with pytest.raises(ValueError, match="registered twice"):
        reg.add("a", list)


def _plugin(tmp_path: Path, group: str, lines: list[str], module: str, source: str) -> None:
    """A minimal installed distribution (a .dist-info with entry points) plus its module, in tmp_path."""
    dist = tmp_path / "mmroute_toy_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: mmroute-toy-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[{group}]\n" + "\n".join(lines) + "\n")
    (tmp_path / f"{module}.py").write_text(textwrap.dedent(source))


def test_a_third_party_encoder_from_an_entry_point(tmp_path, monkeypatch):
    from mmroute.encoders import ENCODERS, create_encoder

    _plugin(
        tmp_path,
        "mmroute.encoders",
        [
            "toy-words = mmroute_toy_plugin:ToyEncoder",
            "broken = mmroute_toy_plugin_missing:Nope",
            "hashing = mmroute_toy_plugin:ToyEncoder",
        ],
        "mmroute_toy_plugin",
        """
        class ToyEncoder:
            def __init__(self, dim=4):
                self.dim = dim
    """,
    )
    assert "toy-words" not in ENCODERS.names()  # negative control: not installed yet
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "toy-words" in ENCODERS.names() and "toy-words" in ENCODERS
    assert "mmroute_toy_plugin" not in sys.modules  # listed, not imported
    enc = create_encoder("toy-words", dim=7)
    assert type(enc).__name__ == "ToyEncoder" and enc.dim == 7
    # a plugin cannot take over a built-in name
    assert type(ENCODERS.create("hashing")).__name__ == "HashingTextEncoder"
    # a plugin that cannot load says which entry point it is
    with pytest.raises(ConfigError, match="broken.*mmroute_toy_plugin_missing"):
        ENCODERS.create("broken")
    monkeypatch.undo()
    sys.modules.pop("mmroute_toy_plugin", None)
    assert "toy-words" not in ENCODERS.names()


def test_the_cli_takes_a_store_from_an_entry_point(tmp_path):
    """`mmroute index --store NAME` accepts a plugin's store and builds it through the registry."""
    plugin = tmp_path / "plugin"
    plugin.mkdir()
    _plugin(
        plugin,
        "mmroute.stores",
        ["toy-store = mmroute_toy_plugin:ToyStore"],
        "mmroute_toy_plugin",
        """
        from mmroute.errors import ConfigError

        class ToyStore:
            def __init__(self, path, **options):
                raise ConfigError("the toy store was built", hint=f"options {sorted(options)}")
    """,
    )
    src = tmp_path / "notes.txt"
    src.write_text("Rollo was the first ruler of Normandy.\n")
    env = {
        **__import__("os").environ,
        "PYTHONPATH": f"{plugin}{__import__('os').pathsep}{ROOT}",
        "HF_HUB_OFFLINE": "1",
        "MMROUTE_NO_SERVER": "1",
    }
    base = [
        sys.executable,
        "-m",
        "mmroute",
        "index",
        "--kb",
        "notes",
        "--input",
        str(src),
        "--encoder",
        "hashing",
        "--home",
        str(tmp_path / "home"),
    ]
    out = subprocess.run([*base, "--store", "toy-store"], capture_output=True, text=True, env=env, timeout=180)
    assert out.returncode != 0 and "the toy store was built" in out.stderr + out.stdout, out.stderr
    out = subprocess.run([*base, "--store", "no-such-store"], capture_output=True, text=True, env=env, timeout=180)
    assert out.returncode == 2 and "'no-such-store' is not one of" in out.stderr and "'toy-store'" in out.stderr


def _sized(dim: int | float = 512, name: str | None = None, exact: bool = False) -> None:
    """A factory whose options check_options reads: numbers, an optional string and a flag."""


def test_check_options_names_the_option_its_kind_and_an_example_from_the_default() -> None:
    with pytest.raises(UnknownOptionError) as unknown:
        check_options(_sized, {"size": 3}, "encoder 'toy'")
    assert unknown.value.options == ("size",) and "its options: dim, name, exact" in str(unknown.value.hint)
    with pytest.raises(ConfigError) as wrong:
        check_options(_sized, {"dim": "big"}, "encoder 'toy'")
    assert str(wrong.value).startswith("encoder 'toy': option dim takes a number, not 'big'")
    assert wrong.value.hint == "for example dim=512"  # the default, not an example the factory would refuse
    with pytest.raises(ConfigError) as flag:
        check_options(_sized, {"exact": "maybe"}, "encoder 'toy'")
    assert "takes true or false" in str(flag.value) and flag.value.hint == "for example exact=false"
    check_options(_sized, {"dim": 256, "name": None, "exact": True}, "encoder 'toy'")  # the control: right kinds
    check_options(_sized, {"dim": 0.5, "name": "x"}, "encoder 'toy'")  # limits on a right kind are the factory's
