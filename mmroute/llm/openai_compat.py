"""A small client for any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, Ollama, llama.cpp).

Why our own: mmroute only needs ``POST {base_url}/chat/completions`` (plain and streamed), with
timeouts, retries and clear errors, and must not pull a vendor SDK. The API key is read from an
environment variable *by name* at request time; it never appears in ``repr``, logs, errors or traces:
every URL shown has its userinfo and credential-like query parameters masked, and every text the
server sends back (error bodies echoing the ``Authorization`` header) has the key masked
(:mod:`mmroute.redact`). Request URLs are built with :mod:`urllib.parse`, so a base_url with a query
string gets ``/chat/completions`` appended to its path.

Retries: 429, 5xx, connection errors and timeouts are retried ``max_retries`` times with exponential
backoff (``backoff_s * 2**attempt``, honouring a numeric ``Retry-After`` up to ``max_backoff_s``);
other 4xx answers fail at once. Every failure raises :class:`mmroute.errors.EndpointError`.

>>> client = ChatClient("http://localhost:8000/v1", "qwen2-vl-2b", timeout_s=20)
>>> result = client.chat([{"role": "user", "content": "Say hi"}], temperature=0)
>>> result.text
'Hi!'
>>> for delta in client.stream([{"role": "user", "content": "Count to 3"}]):
...     print(delta, end="")

Messages may carry multimodal content, e.g. ``{"role": "user", "content": [{"type": "text", "text": "What is
this?"}, {"type": "image_url", "image_url": {"url": image_data_url(path)}}]}``.
"""

from __future__ import annotations

import base64
import json
import mimetypes
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from ..envkeys import endpoint_key, keys_are_withheld
from ..errors import EndpointError
from ..redact import join_url, redact_text, redact_url

RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})

Message = Mapping[str, Any]


@dataclass(frozen=True)
class ChatResult:
    """One chat completion: the reply text, the raw JSON body, token usage and the wall time taken."""

    text: str
    raw: Mapping[str, Any] = field(repr=False)
    usage: Mapping[str, Any] = field(default_factory=dict)
    elapsed_ms: float = 0.0
    finish_reason: str | None = None


def image_data_url(path: str | os.PathLike[str]) -> str:
    """A ``data:`` URL of an image file, for ``{"type": "image_url", "image_url": {"url": ...}}`` parts."""
    p = Path(path)
    mime = mimetypes.guess_type(p.name)[0] or "image/png"
    return f"data:{mime};base64,{base64.b64encode(p.read_bytes()).decode('ascii')}"


class ChatClient:
    """Chat completions over HTTP against an OpenAI-compatible server (see module doc)."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key_env: str | None = "OPENAI_API_KEY",
        *,
        timeout_s: float = 30.0,
        max_retries: int = 2,
        backoff_s: float = 0.5,
        max_backoff_s: float = 8.0,
        default_params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if not base_url:
            raise EndpointError(
                "no base_url given for the chat endpoint",
                hint="e.g. http://localhost:8000/v1 (vLLM) or http://localhost:11434/v1 (Ollama): --endpoint-url for the "
                'openai generator, --retriever-option planner_options=\'{"base_url": URL, "model": NAME}\' for the llm '
                "planner, base_url in a --config file's [router_options] for the llm router",
            )
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key_env = api_key_env
        self.timeout_s = float(timeout_s)
        self.max_retries = max(0, int(max_retries))
        self.backoff_s = float(backoff_s)
        self.max_backoff_s = float(max_backoff_s)
        self.default_params = dict(default_params or {})
        self._extra_headers = dict(headers or {})
        self._http: httpx.Client | None = None

    def __repr__(self) -> str:
        return (
            f"ChatClient(base_url={redact_url(self.base_url)!r}, model={self.model!r}, "
            f"api_key_env={self.api_key_env!r}, timeout_s={self.timeout_s})"
        )

    @property
    def url(self) -> str:
        """The request URL (may carry credentials: never show it, show :attr:`shown_url`)."""
        return join_url(self.base_url, "chat/completions")

    @property
    def shown_url(self) -> str:
        """The request URL with credentials masked, for messages."""
        return redact_url(self.url)

    def _secrets(self) -> list[str]:
        """What must never be shown: the API key and any extra header values sent."""
        key = endpoint_key(self.api_key_env)  # what is sent (a withheld key is not: masking it would confirm guesses)
        return [v for v in (key, *self._extra_headers.values()) if v]

    def _headers(self) -> dict[str, str]:
        h = {"Content-Type": "application/json", "Accept": "application/json", **self._extra_headers}
        key = endpoint_key(self.api_key_env)
        if key:
            h["Authorization"] = f"Bearer {key}"
        return h

    def _client(self) -> httpx.Client:
        if self._http is None:
            self._http = httpx.Client(timeout=httpx.Timeout(self.timeout_s))
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def __enter__(self) -> ChatClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _body(self, messages: Sequence[Message], params: Mapping[str, Any], stream: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, "messages": list(messages), **self.default_params, **params}
        body["stream"] = stream
        return body

    def _delay(self, attempt: int, response: httpx.Response | None) -> float:
        delay = self.backoff_s * (2**attempt)
        if response is not None:
            ra = response.headers.get("retry-after")
            try:
                if ra is not None:
                    delay = max(delay, float(ra))
            except ValueError:
                pass
        return min(delay, self.max_backoff_s)

    def _send(self, body: Mapping[str, Any], stream: bool) -> httpx.Response:
        """POST with retries; returns an open response with a 2xx status (caller closes it)."""
        last: str = ""
        for attempt in range(self.max_retries + 1):
            response: httpx.Response | None = None
            try:
                req = self._client().build_request("POST", self.url, json=body, headers=self._headers())
                response = self._client().send(req, stream=stream)
            except httpx.TimeoutException:
                last = f"timed out after {self.timeout_s:g} s"
            except httpx.TransportError as e:
                last = f"cannot connect ({e.__class__.__name__})"
            else:
                if response.status_code < 300:
                    return response
                status = response.status_code
                detail = redact_text(_error_detail(response), self._secrets())[:200]
                response.close()
                last = f"HTTP {status}{': ' + detail if detail else ''}"
                if status not in RETRY_STATUS:
                    raise EndpointError(
                        f"chat endpoint {self.shown_url} answered {last}",
                        hint=_hint_for_status(status, self.api_key_env),
                    )
            if attempt < self.max_retries:
                time.sleep(self._delay(attempt, response))
        raise EndpointError(
            f"chat endpoint {self.shown_url} failed after {self.max_retries + 1} attempt(s): {last}",
            hint="check that the server is running and the base_url/model are right, or raise timeout_s/max_retries",
        )

    def chat(self, messages: Sequence[Message], **params: Any) -> ChatResult:
        """One completion. ``params`` go into the request body (temperature, max_tokens, response_format...)."""
        t0 = time.perf_counter()
        response = self._send(self._body(messages, params, stream=False), stream=False)
        try:
            data = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise EndpointError(
                f"chat endpoint {self.shown_url} returned a body that is not JSON",
                hint="is base_url the OpenAI-compatible /v1 root?",
            ) from e
        text, finish = _message_text(data, self.shown_url)
        usage = data.get("usage") if isinstance(data.get("usage"), Mapping) else {}
        return ChatResult(
            text=text,
            raw=data,
            usage=dict(usage or {}),
            elapsed_ms=(time.perf_counter() - t0) * 1000.0,
            finish_reason=finish,
        )

    def stream(self, messages: Sequence[Message], **params: Any) -> Iterator[str]:
        """Yield the reply's text deltas as the server sends them (Server-Sent Events, ``stream=True``).

        Connection problems before the first byte are retried like :meth:`chat`; a stream that breaks
        midway raises :class:`EndpointError` (deltas already yielded stay with the caller).
        """
        response = self._send(self._body(messages, params, stream=True), stream=True)
        try:
            for line in response.iter_lines():
                if not line or line.startswith(":"):
                    continue
                if not line.startswith("data:"):
                    continue
                payload = line[5:].strip()
                if payload == "[DONE]":
                    return
                try:
                    chunk = json.loads(payload)
                except json.JSONDecodeError as e:
                    raise EndpointError(
                        f"chat endpoint {self.shown_url} sent a stream event that is not JSON",
                        hint="the server may not support stream=True; use chat()",
                    ) from e
                if isinstance(chunk, Mapping) and "error" in chunk:
                    raise EndpointError(
                        f"chat endpoint {self.shown_url} reported an error mid-stream: "
                        f"{redact_text(str(chunk['error']), self._secrets())[:200]}"
                    )
                for choice in (chunk.get("choices") or []) if isinstance(chunk, Mapping) else []:
                    delta = choice.get("delta") or {}
                    piece = delta.get("content")
                    if isinstance(piece, str) and piece:
                        yield piece
        except httpx.TimeoutException as e:
            raise EndpointError(
                f"chat endpoint {self.shown_url} stalled mid-stream (timeout {self.timeout_s:g} s)"
            ) from e
        except httpx.TransportError as e:
            raise EndpointError(f"chat endpoint {self.shown_url} dropped the stream ({e.__class__.__name__})") from e
        finally:
            response.close()


def _message_text(data: Any, url: str) -> tuple[str, str | None]:
    try:
        choice = data["choices"][0]
        content = choice["message"]["content"]
    except (KeyError, IndexError, TypeError) as e:
        raise EndpointError(
            f"chat endpoint {url} returned JSON without choices[0].message.content",
            hint="is the server OpenAI-compatible (/v1/chat/completions)?",
        ) from e
    if isinstance(content, list):  # some servers return content parts
        content = "".join(p.get("text", "") for p in content if isinstance(p, Mapping))
    if content is None:
        content = ""
    if not isinstance(content, str):
        raise EndpointError(f"chat endpoint {url} returned non-text message content")
    return content, choice.get("finish_reason")


def _error_detail(response: httpx.Response) -> str:
    try:
        response.read()
        data = response.json()
        err = data.get("error") if isinstance(data, Mapping) else None
        msg = err.get("message") if isinstance(err, Mapping) else err
        return str(msg or "")[:4000]
    except Exception:  # noqa: BLE001 - the body is only used to enrich the message
        return ""


def _hint_for_status(status: int, key_env: str | None) -> str:
    if status in (401, 403) and keys_are_withheld():
        return (
            "this mmroute server has no bearer token, so it sends no API key from its environment for a request: "
            "start it with $MMROUTE_SERVE_TOKEN set and send the same token (the CLI reads it from the environment)"
        )
    if status in (401, 403):
        return (
            f"set a valid API key in the environment variable {key_env}" if key_env else "the endpoint needs an API key"
        )
    if status == 404:
        return "check base_url (it usually ends in /v1) and the model name"
    return "check the request parameters and the model name"
