"""Endpoint API keys read from the environment, and the one switch that withholds them.

A component that calls an OpenAI-compatible endpoint (the endpoint generator, the LLM judge, router and
planner) sends the key in the environment variable its configuration names. Inside ``mmroute serve``
that configuration comes from the request, so on a server without a bearer token any process that can
reach it could name both the URL and the variable (``"api_key_env": "HOME"``) and receive the server
owner's secrets. Such a server therefore answers every request inside :func:`keys_withheld`: endpoint
calls made for it carry no key from the server's environment. A server started with
``$MMROUTE_SERVE_TOKEN`` answers only its token's holders, and their requests use the server's keys.

>>> with keys_withheld():
...     endpoint_key("OPENAI_API_KEY") is None
True
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_WITHHELD: ContextVar[bool] = ContextVar("mmroute_endpoint_keys_withheld", default=False)


def endpoint_key(env_name: str | None) -> str | None:
    """The API key in ``$env_name`` (None when unset, empty, not named, or withheld in this context)."""
    if not env_name or _WITHHELD.get():
        return None
    return os.environ.get(env_name) or None


def keys_are_withheld() -> bool:
    """Whether endpoint calls made in this context go without a key from the environment."""
    return _WITHHELD.get()


@contextmanager
def keys_withheld() -> Iterator[None]:
    """Endpoint calls made inside (and in threads that copy this context) carry no key from the environment."""
    token = _WITHHELD.set(True)
    try:
        yield
    finally:
        _WITHHELD.reset(token)
