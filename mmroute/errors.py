"""Typed errors. Each says what went wrong and what to do about it.

The CLI turns any :class:`MMRouteError` into one line plus a hint (never a traceback);
library users can catch the specific subclass they care about. URLs in messages and hints have
their credentials masked (:func:`mmroute.redact.redact_urls`).
"""

from __future__ import annotations


class MMRouteError(Exception):
    """Base class for every error mmroute raises on purpose.

    ``hint`` tells the user what to do next; it is printed under the message by the CLI.
    """

    def __init__(self, message: str, hint: str | None = None) -> None:
        from .redact import redact_urls

        message = redact_urls(message)  # no URL credentials in any message, whoever builds it
        super().__init__(message)
        self.message = message
        self.hint = redact_urls(hint) if hint else hint

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.message if not self.hint else f"{self.message} (hint: {self.hint})"


class ConfigError(MMRouteError):
    """A configuration value or file is invalid."""


class InputError(MMRouteError):
    """A user-supplied input (file, folder, record, argument) cannot be used."""


class ItemError(InputError):
    """One item of a source could not be loaded or encoded; the rest can still be indexed."""

    def __init__(self, message: str, source: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.source = source


class KBNotFoundError(MMRouteError):
    """The named knowledge base does not exist in the home directory."""


class JobNotFoundError(MMRouteError):
    """``mmroute serve`` has no index job with that id (it keeps its jobs in memory: a restarted server has none)."""


class KBExistsError(MMRouteError):
    """A knowledge base with that name exists with an incompatible definition."""


class KBLockedError(MMRouteError):
    """Another process is writing to the knowledge base."""


class DiskFullError(MMRouteError):
    """The disk holding the home has less room than mmroute keeps free while it writes (see ``limits``)."""


class ModelUnavailableError(MMRouteError):
    """A model's weights or package are not available on this machine."""


class StoreError(MMRouteError):
    """The vector store failed or is in an unexpected state."""


class EndpointError(MMRouteError):
    """An HTTP endpoint (LLM, Qdrant server) failed, timed out or answered malformed data."""
