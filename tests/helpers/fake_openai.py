"""A real OpenAI-compatible HTTP server on loopback, with scriptable replies, for tests.

It runs a :class:`http.server.ThreadingHTTPServer` on ``127.0.0.1:0`` in a daemon thread and answers
``POST /v1/chat/completions``. Each request takes the next scripted :class:`Reply` (the last one repeats),
so a test can say "first a 429, then a good answer"::

    with FakeOpenAI([Reply.status(429), Reply.ok("paragraph")]) as srv:
        client = ChatClient(srv.base_url, "fake", max_retries=2, backoff_s=0.01)
        assert client.chat([{"role": "user", "content": "hi"}]).text == "paragraph"
        assert srv.requests[0]["model"] == "fake"

Reply kinds: ``ok(text)`` (a chat.completion), ``raw(body)`` (any bytes, e.g. malformed JSON),
``status(code)`` (an error status with an OpenAI-style error body), ``slow(seconds, text)`` (answers
after a delay, for timeouts), ``stream(deltas)`` (Server-Sent Events), and ``reply_fn`` for replies
computed from the request. ``down_url()`` gives a loopback URL where nothing listens.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One scripted answer of the fake server."""

    kind: str
    text: str = ""
    status_code: int = 200
    body: bytes = b""
    delay_s: float = 0.0
    deltas: tuple[str, ...] = ()
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def ok(cls, text: str, delay_s: float = 0.0) -> Reply:
        return cls("ok", text=text, delay_s=delay_s)

    @classmethod
    def slow(cls, delay_s: float, text: str = "late") -> Reply:
        return cls("ok", text=text, delay_s=delay_s)

    @classmethod
    def raw(cls, body: bytes | str, status_code: int = 200) -> Reply:
        return cls("raw", body=body.encode() if isinstance(body, str) else body, status_code=status_code)

    @classmethod
    def status(cls, code: int, message: str = "scripted failure", retry_after: float | None = None) -> Reply:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        return cls("status", status_code=code, text=message, headers=headers)

    @classmethod
    def stream(cls, deltas: Sequence[str], delay_s: float = 0.0) -> Reply:
        return cls("stream", deltas=tuple(deltas), delay_s=delay_s)


def completion_body(text: str, model: str = "fake") -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": max(1, len(text.split())), "total_tokens": 11},
    }


class FakeOpenAI:
    """The loopback server (see module doc). ``requests`` holds the decoded JSON bodies received,
    ``headers`` the request headers, in order."""

    def __init__(
        self, replies: Sequence[Reply] | None = None, reply_fn: Callable[[dict[str, Any]], Reply] | None = None
    ) -> None:
        self.replies = list(replies or [Reply.ok("ok")])
        self.reply_fn = reply_fn
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start the server first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def _next(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            self.requests.append(body)
            if self.reply_fn is not None:
                return self.reply_fn(body)
            return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]

    def start(self) -> FakeOpenAI:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def _send(
                self, code: int, body: bytes, ctype: str = "application/json", extra: dict[str, str] | None = None
            ) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:  # noqa: N802 - http.server naming
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n)
                try:
                    body = json.loads(raw or b"{}")
                except json.JSONDecodeError:
                    body = {"_unparsed": raw.decode("utf-8", "replace")}
                with fake._lock:
                    fake.headers.append({k.lower(): v for k, v in self.headers.items()})
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(404, json.dumps({"error": {"message": f"no route {self.path}"}}).encode())
                    return
                reply = fake._next(body)
                try:
                    if reply.delay_s and reply.kind != "stream":
                        time.sleep(reply.delay_s)
                    if reply.kind == "ok":
                        self._send(200, json.dumps(completion_body(reply.text, body.get("model", "fake"))).encode())
                    elif reply.kind == "raw":
                        self._send(reply.status_code, reply.body)
                    elif reply.kind == "status":
                        err = {"error": {"message": reply.text, "type": "scripted", "code": reply.status_code}}
                        self._send(reply.status_code, json.dumps(err).encode(), extra=reply.headers)
                    elif reply.kind == "stream":
                        self.send_response(200)
                        self.send_header("Content-Type", "text/event-stream")
                        self.send_header("Cache-Control", "no-cache")
                        self.send_header("Connection", "close")
                        self.end_headers()
                        for i, d in enumerate(reply.deltas):
                            chunk = {
                                "id": "chatcmpl-fake",
                                "object": "chat.completion.chunk",
                                "choices": [
                                    {
                                        "index": 0,
                                        "delta": {"content": d} if i else {"role": "assistant", "content": d},
                                        "finish_reason": None,
                                    }
                                ],
                            }
                            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                            self.wfile.flush()
                            if reply.delay_s:
                                time.sleep(reply.delay_s)
                        self.wfile.write(b": keep-alive comment\n\ndata: [DONE]\n\n")
                        self.wfile.flush()
                        self.close_connection = True
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
                    pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-openai", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def down_url() -> str:
    """A loopback ``/v1`` URL on a port that was just free (nothing listens there)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"
