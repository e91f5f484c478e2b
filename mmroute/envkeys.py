"""Endpoint API keys: read from the environment, given with a request, or withheld.

A component that calls an OpenAI-compatible endpoint (the endpoint generator, the LLM judge, router and
planner) sends the key in the environment variable its configuration names (``api_key_env``). Inside
``mmroute serve`` that configuration comes from the request, so on a server without a bearer token any
process that can reach it could name both the URL and the variable (``"api_key_env": "HOME"``) and
receive the server owner's secrets. Such a server therefore answers every request inside
:func:`keys_withheld`: endpoint calls made for it carry no key from the server's environment. The caller
sends its own keys instead, by variable name (``endpoint_api_keys``; the CLI and the app do), and the
request runs inside :func:`keys_given`. A server started with ``$MMROUTE_SERVE_TOKEN`` answers only its
token's holders, and their requests may use the server's keys.

>>> with keys_withheld():
...     endpoint_key("OPENAI_API_KEY") is None
True
>>> with keys_withheld(), keys_given({"OPENAI_API_KEY": "sk-caller"}):
...     endpoint_key("OPENAI_API_KEY")
'sk-caller'
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

_WITHHELD: ContextVar[bool] = ContextVar("mmroute_endpoint_keys_withheld", default=False)
_GIVEN: ContextVar[Mapping[str, str] | None] = ContextVar("mmroute_endpoint_keys_given", default=None)


def endpoint_key(env_name: str | None) -> str | None:
    """The key for ``$env_name``: the one given with the request, else the environment's (None when unset, empty,
    not named, or withheld in this context)."""
    if not env_name:
        return None
    given = (_GIVEN.get() or {}).get(env_name)
    if given:
        return given
    if _WITHHELD.get():
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


@contextmanager
def keys_given(keys: Mapping[str, str]) -> Iterator[None]:
    """Inside, :func:`endpoint_key` answers a variable ``keys`` names with its value (a request's own keys)."""
    token = _GIVEN.set({k: v for k, v in keys.items() if isinstance(k, str) and isinstance(v, str) and v})
    try:
        yield
    finally:
        _GIVEN.reset(token)
