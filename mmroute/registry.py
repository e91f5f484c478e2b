"""Name -> factory registries, one per role (encoders, stores, routers, ...).

Implementations register themselves under a short name so that configs, the CLI and
manifests can refer to them by string, and so the conformance tests can iterate over all of them::

    ENCODERS = Registry[Encoder]("encoder")

    @ENCODERS.register("minilm")
    def _make(**options) -> Encoder: ...

    enc = ENCODERS.create("minilm", batch_size=64)
"""
from __future__ import annotations

from typing import Any, Callable, Generic, TypeVar

from .errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """A mapping of names to factories for one role."""

    def __init__(self, role: str) -> None:
        self.role = role
        self._factories: dict[str, Callable[..., T]] = {}

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        def deco(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._factories and self._factories[name] is not factory:
                raise ValueError(f"{self.role} {name!r} is registered twice")
            self._factories[name] = factory
            return factory

        return deco

    def create(self, name: str, **options: Any) -> T:
        try:
            factory = self._factories[name]
        except KeyError:
            raise ConfigError(
                f"unknown {self.role} {name!r}",
                hint=f"choose one of: {', '.join(sorted(self._factories))}",
            ) from None
        return factory(**options)

    def names(self) -> list[str]:
        return sorted(self._factories)

    def __contains__(self, name: object) -> bool:
        return name in self._factories
