"""Name -> factory registries, one per role (encoders, stores, routers, ...), all of one kind.

Each role's base module declares its table: every built-in implementation as a name and a
``"module:attribute"`` string, so the table is complete without importing any implementation
(``ENCODERS.names()`` lists them all at once), and the implementation's module is imported only
when one is created::

    ENCODERS = Registry[Encoder]("encoder", {
        "hashing": "mmroute.encoders.hashing:HashingTextEncoder",
        "minilm": "mmroute.encoders.text:create_minilm",
    })
    enc = ENCODERS.create("minilm", batch_size=64)

A factory is any callable taking keyword options (a class, or a function when the name needs
fixed options). Other packages add implementations through Python entry points in the role's
group, ``mmroute.<role>s`` (``mmroute.encoders``, ``mmroute.stores``, ``mmroute.routers``, ...)::

    [project.entry-points."mmroute.encoders"]
    my-encoder = "my_package.encoders:MyEncoder"

and code (tests, notebooks) can add one at run time with :meth:`Registry.register`.
A built-in name cannot be taken over: an entry point that reuses one is ignored with a warning.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import os
import sys
import threading
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from importlib import metadata
from typing import Any, Generic, TypeVar

from .errors import ConfigError

T = TypeVar("T")
log = logging.getLogger(__name__)

Factory = Callable[..., Any]


def load_target(target: str) -> Factory:
    """Import ``"package.module:attribute"`` and return the attribute."""
    module, sep, attr = target.partition(":")
    if not sep or not module or not attr:
        raise ValueError(f"registry target {target!r} is not of the form 'module:attribute'")
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


class Registry(Generic[T]):
    """The implementations of one role by name: built-in, from entry points, and added at run time."""

    def __init__(self, role: str, builtins: Mapping[str, str] | None = None, *, group: str | None = None) -> None:
        self.role = role
        self.group = group or f"mmroute.{role}s"
        self._builtins: dict[str, str] = dict(builtins or {})
        self._added: dict[str, Factory | str] = {}
        self._loaded: dict[str, Factory] = {}
        self._plugins: tuple[tuple[str, ...], dict[str, metadata.EntryPoint]] | None = None
        self._lock = threading.Lock()

    # -- adding -------------------------------------------------------------------------------

    def add(self, name: str, factory: Factory | str) -> None:
        """Register ``factory`` (a callable or a ``"module:attribute"`` string) under ``name``."""
        with self._lock:
            known = self._added.get(name, self._builtins.get(name))
            if known is not None and known is not factory and known != factory:
                raise ValueError(f"{self.role} {name!r} is registered twice")
            self._added[name] = factory
            self._loaded.pop(name, None)

    def register(self, name: str) -> Callable[[Factory], Factory]:
        """Decorator form of :meth:`add`."""

        def deco(factory: Factory) -> Factory:
            self.add(name, factory)
            return factory

        return deco

    # -- looking up ---------------------------------------------------------------------------

    def _entry_points(self) -> dict[str, metadata.EntryPoint]:
        """Entry points of this role's group, re-read when ``sys.path`` changes."""
        key = tuple(sys.path)
        cached = self._plugins
        if cached is not None and cached[0] == key:
            return cached[1]
        found: dict[str, metadata.EntryPoint] = {}
        for ep in metadata.entry_points(group=self.group):
            if ep.name in self._builtins:
                log.warning("ignoring entry point %s = %s: %r is a built-in %s", ep.name, ep.value, ep.name, self.role)
                continue
            found.setdefault(ep.name, ep)
        self._plugins = (key, found)
        return found

    def names(self) -> list[str]:
        """Every name that :meth:`create` accepts, without importing any implementation."""
        return sorted(set(self._builtins) | set(self._added) | set(self._entry_points()))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (name in self._builtins or name in self._added or name in self._entry_points())

    def get(self, name: str) -> Factory:
        """The factory registered under ``name``, importing its module now."""
        factory = self._loaded.get(name)
        if factory is not None:
            return factory
        target: Factory | str | None = self._added.get(name, self._builtins.get(name))
        if target is None:
            ep = self._entry_points().get(name)
            if ep is None:
                raise ConfigError(f"unknown {self.role} {name!r}", hint=f"choose one of: {', '.join(self.names())}")
            try:
                return ep.load()  # not kept here: the plugin may leave sys.path
            except Exception as e:  # a broken plugin must say which one it is
                dist = getattr(getattr(ep, "dist", None), "name", None)
                source = f"package {dist}, " if dist else ""
                raise ConfigError(
                    f"{self.role} {name!r} ({source}entry point {ep.value}) cannot be loaded: "
                    f"{type(e).__name__}: {' '.join(str(e).split())}",
                    hint=f"reinstall or remove {'the package ' + dist if dist else 'the package that provides it'}",
                ) from e
        factory = load_target(target) if isinstance(target, str) else target
        self._loaded[name] = factory
        return factory

    def create(self, name: str, **options: Any) -> T:
        """Build the implementation named ``name`` with keyword ``options`` (checked first: :func:`check_options`)."""
        factory = self.get(name)
        check_options(factory, options, f"{self.role} {name!r}")
        return factory(**options)


class UnknownOptionError(ConfigError):
    """An option a factory does not take; ``options`` names them (a caller may say it in its own words)."""

    def __init__(self, message: str, options: Sequence[str], hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.options = tuple(options)


def check_options(factory: Callable[..., Any], options: Mapping[str, Any], what: str) -> None:
    """A :class:`ConfigError` naming the option, when ``options`` has a key ``factory`` does not take (unless it
    takes any: :class:`UnknownOptionError`) or a value not of the plain type its annotation names (int, float,
    bool, str, a path, or None where allowed): ``--retriever-option max_steps=abc`` is one line with a hint, not
    a ``TypeError`` from deep inside. Limits on a value of the right type stay the factory's to check."""
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return
    named = [n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    unknown = [k for k in options if k not in named]
    if unknown and not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        raise UnknownOptionError(
            f"{what} has no option {', '.join(repr(k) for k in unknown)}",
            unknown,
            hint=f"its options: {', '.join(named)}" if named else "it takes no options",
        )
    try:
        resolved = inspect.signature(factory, eval_str=True).parameters
    except Exception:  # an annotation that does not resolve here checks nothing
        return
    for key, value in options.items():
        param = resolved.get(key)
        kinds = _plain_kinds(param.annotation) if param is not None else ()
        if kinds and not any(_is_kind(value, k) for k in kinds):
            said = _kind_words(kinds)
            default = param.default if param is not None else inspect.Parameter.empty
            example = default if default is not None and any(_is_kind(default, k) for k in kinds) else None
            shown = str(example).lower() if isinstance(example, bool) else example
            raise ConfigError(
                f"{what}: option {key} takes {said}, not {value!r:.40}",
                hint=f"for example {key}={shown if shown is not None else _KIND_EXAMPLES[kinds[0]]}",
            )


def _kind_words(kinds: tuple[type, ...]) -> str:
    """'a number' for int | float (any number will do), else each kind's words joined by 'or'."""
    if int in kinds and float in kinds:
        kinds = tuple(k for k in kinds if k is not int)
    return " or ".join(dict.fromkeys(_KIND_WORDS[k] for k in kinds))


_KIND_WORDS = {int: "a whole number", float: "a number", bool: "true or false", str: "a string", type(None): "none"}
_KIND_EXAMPLES = {int: "3", float: "0.5", bool: "true", str: "NAME", type(None): "null"}


def _plain_kinds(hint: Any) -> tuple[type, ...]:
    """The plain types an annotation allows (``int | None`` -> int, NoneType); () when it allows anything else."""
    if hint is None or hint is inspect.Parameter.empty:
        return ()
    args = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
    kinds: list[type] = []
    for a in args:
        if a in _KIND_WORDS:
            kinds.append(a)
        elif isinstance(a, type) and issubclass(a, os.PathLike):
            kinds.append(str)
        else:
            return ()
    return tuple(kinds)


def _is_kind(value: Any, kind: type) -> bool:
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is str:
        return isinstance(value, (str, os.PathLike))
    return value is None
