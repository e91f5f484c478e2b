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
import logging
import sys
import threading
from collections.abc import Callable, Mapping
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
        """Build the implementation named ``name`` with keyword ``options``."""
        return self.get(name)(**options)
