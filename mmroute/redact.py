"""Keeping secrets out of what mmroute shows: URLs with credentials, and API keys echoed by servers.

Every URL mmroute prints, logs, returns in ``--json`` or puts in a trace goes through
:func:`redact_url` (userinfo and credential-like query parameters become ``***``), and every text a
server sent back goes through :func:`redact_text` with the keys mmroute sent it.

>>> redact_url("http://user:pw@host:8000/v1?api_key=abc&x=1")
'http://***@host:8000/v1?api_key=***&x=1'
>>> redact_text("Incorrect API key provided: Bearer sk-123", ["sk-123"])
'Incorrect API key provided: Bearer ***'
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"
_SECRET_PARAM = re.compile(r"(key|token|secret|password|passwd|pwd|auth|signature|sig|credential)", re.I)
_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")


def redact_url(url: str) -> str:
    """``url`` with its userinfo and the values of credential-like query parameters masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rpartition('@')[2]}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_SECRET_PARAM.search(k) for k, _ in pairs):
            query = urlencode([(k, MASK if _SECRET_PARAM.search(k) else v) for k, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_urls(text: str) -> str:
    """``text`` with every URL in it passed through :func:`redact_url`."""
    return _URL.sub(lambda m: redact_url(m.group(0)), text)


def redact_values(value: Any) -> Any:
    """A JSON-like value (dicts, lists, strings) with every URL in its strings passed through :func:`redact_url`."""
    if isinstance(value, str):
        return redact_urls(value)
    if isinstance(value, dict):
        return {k: redact_values(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_values(v) for v in value]
    return value


def redact_text(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with each secret (an API key mmroute sent) and every URL's credentials masked."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, MASK)
    return redact_urls(text)


def join_url(base: str, *segments: str) -> str:
    """``base`` with path ``segments`` appended to its path (its query string and fragment kept).

    >>> join_url("http://h/v1?x=1", "chat/completions")
    'http://h/v1/chat/completions?x=1'
    """
    parts = urlsplit(base)
    path = "/".join([parts.path.rstrip("/"), *(s.strip("/") for s in segments)])
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))
