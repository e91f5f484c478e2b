"""A light HTTP client for ``mmroute serve``: what the CLI uses when a server owns the home.

Standard library only (``http.client``), so a CLI call that is answered by a warm server does not
pay for importing torch, transformers or numpy. Every method returns the JSON dict the in-process
CLI would print; a server-side user error comes back as ``{"error", "hint", "exit_code"}`` and is
raised here as :class:`RemoteError` (an :class:`~mmroute.errors.MMRouteError`), so the CLI reports
it exactly as it reports the same error in-process.

The bearer token, when the server needs one, comes from ``$MMROUTE_SERVE_TOKEN``; it is sent in the
``Authorization`` header and never printed.

>>> client = connect(None)            # the server of $MMROUTE_HOME / ~/.mmroute, or None
>>> client.search("hop", "Who directed Inception?", k=3)["hits"][0]["id"] if client else "in-process"
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import time
import urllib.parse
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from ..config import DEFAULT_RETRIEVER
from ..errors import MMRouteError
from ..limits import validate_kb_name
from .discovery import ServeLock, ServerInfo, is_loopback, process_alive, read_discovery

TOKEN_ENV = "MMROUTE_SERVE_TOKEN"
NO_SERVER_ENV = "MMROUTE_NO_SERVER"
"""Set to 1 to make the CLI work in-process even when a server is discovered (debugging)."""


class RemoteError(MMRouteError):
    """A user error reported by the server (the same message and hint the in-process CLI gives)."""

    def __init__(self, message: str, hint: str | None = None, exit_code: int = 2, status: int = 400) -> None:
        super().__init__(message, hint)
        self.exit_code = exit_code
        self.status = status


class ServerUnavailable(MMRouteError):
    """The server could not be reached (it stopped, or the address is wrong)."""


def home_root(home: str | os.PathLike[str] | None) -> Path:
    """The home directory a CLI call means (as :class:`mmroute.kb.Home` resolves it, without importing it)."""
    if home:
        return Path(home).expanduser()
    return Path(os.environ.get("MMROUTE_HOME") or Path.home() / ".mmroute").expanduser()


class ServeClient:
    """Talks to one server. Thread-safe only per instance and thread: make one per thread."""

    def __init__(
        self, url: str, token: str | None = None, timeout_s: float = 600.0, path_map: tuple[str, str] | None = None
    ) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise MMRouteError(f"not a server URL: {url!r}", hint="e.g. http://127.0.0.1:8765")
        self.url = url.rstrip("/")
        self._scheme, self._host, self._port = parsed.scheme, parsed.hostname, parsed.port
        self.token = token if token is not None else (os.environ.get(TOKEN_ENV) or None)
        self.timeout_s = timeout_s
        self._path_map = path_map
        self._conn: http.client.HTTPConnection | None = None

    # ----- transport ------------------------------------------------------------------------
    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
            self._conn = cls(self._host, self._port, timeout=self.timeout_s)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def request(
        self, method: str, path: str, body: Mapping[str, Any] | None = None, timeout_s: float | None = None
    ) -> Any:
        """Send one request and return the decoded JSON; raise :class:`RemoteError` for error answers."""
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        wait = self.timeout_s if timeout_s is None else timeout_s
        for attempt in (0, 1):
            conn = self._connection()
            conn.timeout = wait
            if conn.sock is not None:
                conn.sock.settimeout(wait)
            try:
                conn.request(method, path, body=data, headers=headers)
                resp = conn.getresponse()
                raw = resp.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as e:
                self.close()  # a kept-alive connection the server closed: retry once on a new one
                if attempt:
                    raise ServerUnavailable(
                        f"the server at {self.url} closed the connection ({e})",
                        hint="is `mmroute serve` still running? see its log",
                    ) from None
            except (TimeoutError, ConnectionRefusedError, OSError, http.client.HTTPException) as e:
                self.close()
                raise ServerUnavailable(
                    f"cannot reach the server at {self.url} ({e})",
                    hint="start it with `mmroute serve`, or stop it to work in-process",
                ) from None
        try:
            payload: Any = json.loads(raw.decode("utf-8")) if raw else None
        except ValueError:
            raise ServerUnavailable(
                f"{self.url} did not answer like mmroute serve (HTTP {resp.status})",
                hint="check the address in HOME/serve.json",
            ) from None
        if resp.status >= 400:
            self.raise_error(resp.status, payload)
        return payload

    def raise_error(self, status: int, payload: Any) -> None:
        """Raise what an error answer means: :class:`RemoteError` for a user error, RuntimeError otherwise."""
        if not isinstance(payload, dict) or "error" not in payload:
            raise RemoteError(f"the server answered HTTP {status}", hint="see the server's log", status=status)
        message, hint = str(payload["error"]), payload.get("hint")
        if self._path_map is not None:  # the server names its home as it was started; say it as the caller did
            server_root, client_root = self._path_map
            message = message.replace(server_root, client_root)
            hint = hint.replace(server_root, client_root) if isinstance(hint, str) else hint
        exit_code = int(payload.get("exit_code") or 2)
        if exit_code != 2:  # not a user error: the server failed
            raise RuntimeError(f"mmroute serve: {message}" + (f" ({hint})" if hint else ""))
        raise RemoteError(message, hint, exit_code=exit_code, status=status)

    # ----- endpoints ------------------------------------------------------------------------
    def health(self, timeout_s: float = 2.0) -> dict[str, Any]:
        return self.request("GET", "/health", timeout_s=timeout_s)

    def kb_list(self) -> dict[str, Any]:
        return self.request("GET", "/v1/kbs")

    def kb_info(self, name: str) -> dict[str, Any]:
        return self.request("GET", _kb_path(name))

    def kb_descriptor(self, name: str) -> dict[str, Any]:
        return self.request("GET", _kb_path(name, "descriptor"))

    def kb_delete(self, name: str) -> dict[str, Any]:
        return self.request("DELETE", _kb_path(name))

    def search(
        self, kb: str, query: str, k: int = 10, image: Path | None = None, mode: str = "dense"
    ) -> dict[str, Any]:
        return self.request(
            "POST", "/v1/search", {"kb": kb, "query": query, "k": k, "image": _image(image), "mode": mode}
        )

    def route(
        self,
        question: str,
        image: Path | None = None,
        router: str = "default",
        router_path: str | None = None,
        threshold: float | None = None,
    ) -> dict[str, Any]:
        return self.request(
            "POST",
            "/v1/route",
            {
                "question": question,
                "image": _image(image),
                "router": router,
                "router_path": router_path,
                "threshold": threshold,
            },
        )

    def ask(
        self, question: str, config: Mapping[str, Any] | None = None, image: Path | None = None, step_hits: bool = False
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"question": question, "config": dict(config or {}), "image": _image(image)}
        if step_hits:
            body["step_hits"] = True
        keys = callers_endpoint_keys(body["config"]) if sends_secrets_to(self.url) else {}
        if keys:
            body["endpoint_api_keys"] = keys
        return self.request("POST", "/v1/ask", body)

    def retrieve(
        self,
        query: str,
        k: int = 5,
        kbs: list[str] | None = None,
        retriever: str = DEFAULT_RETRIEVER,
        router: str | None = "default",
        image: Path | None = None,
    ) -> dict[str, Any]:
        return self.request(
            "POST",
            "/v1/retrieve",
            {"query": query, "k": k, "kbs": kbs, "retriever": retriever, "router": router, "image": _image(image)},
        )

    def submit_index(self, kb: str, spec: Mapping[str, Any]) -> dict[str, Any]:
        return self.request("POST", _kb_path(kb, "index"), dict(spec))

    def job(self, job_id: str) -> dict[str, Any]:
        return self.request("GET", f"/v1/jobs/{_q(job_id)}")

    def wait_job(
        self, job_id: str, on_progress: Callable[[dict[str, Any]], None] | None = None, poll_s: float = 0.25
    ) -> dict[str, Any]:
        """Poll a job until it is done or failed; ``on_progress(job)`` sees every poll."""
        while True:
            job = self.job(job_id)
            if on_progress is not None:
                on_progress(job)
            if job["status"] in ("done", "failed"):
                return job
            time.sleep(poll_s)


def _q(part: str) -> str:
    return urllib.parse.quote(part, safe="")


def _kb_path(name: str, *rest: str) -> str:
    """``/v1/kbs/NAME[/...]`` for a valid KB name; an invalid one is refused here with the in-process error
    (``../hop`` in a URL would name another endpoint, or none)."""
    return "/".join(("/v1/kbs", _q(validate_kb_name(name)), *rest))


def callers_endpoint_keys(config: Mapping[str, Any]) -> dict[str, str]:
    """The keys this process holds for the endpoints a pipeline config calls, by the variable names the config gives
    (the generator's, the judge's, the LLM router's and planner's ``api_key_env``): sent with the request, since
    the server may not send keys of its own (:mod:`mmroute.envkeys`). Only names ending in ``API_KEY``, and none
    of mmroute's own (``MMROUTE_...``): a config names a variable, not any secret this process holds."""

    def table(value: Any) -> Mapping[str, Any]:
        return value if isinstance(value, Mapping) else {}

    endpoint, retriever = table(config.get("endpoint")), table(config.get("retriever_options"))
    endpoint_name = endpoint.get("api_key_env", "OPENAI_API_KEY")
    names: list[Any] = []
    if config.get("generator") == "openai":
        names.append(table(config.get("generator_options")).get("api_key_env") or endpoint_name)
    if endpoint.get("judge"):
        names.append(endpoint_name)
    if config.get("router") == "llm":
        names.append(table(config.get("router_options")).get("api_key_env") or "OPENAI_API_KEY")
    if retriever.get("planner") == "llm":
        names.append(table(retriever.get("planner_options")).get("api_key_env") or "OPENAI_API_KEY")
    keys = {}
    for name in names:
        if isinstance(name, str) and KEY_NAME.fullmatch(name) and not name.startswith("MMROUTE_"):
            value = os.environ.get(name)
            if value:
                keys[name] = value
    return keys


KEY_NAME = re.compile(r"[A-Z][A-Z0-9_]*API_KEY")
"""The variables :func:`callers_endpoint_keys` sends: ``OPENAI_API_KEY``, ``MY_LLM_API_KEY``..."""


def sends_secrets_to(url: str) -> bool:
    """Whether a request to the server at ``url`` may carry the caller's keys: on this machine (loopback), or over
    TLS. A plain-http server elsewhere would see the key cross the network in clear."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.scheme == "https" or is_loopback(parts.hostname or "")


def _image(path: Path | None) -> dict[str, str] | None:
    """An image travels in the request (the server may not see the caller's files)."""
    if path is None:
        return None
    p = Path(path)
    return {"name": p.name, "data_b64": base64.b64encode(p.read_bytes()).decode("ascii")}


def discover(home: str | os.PathLike[str] | None) -> ServerInfo | None:
    """The live server of a home, or None (no discovery file, or a stale one: process gone, lock free)."""
    root = home_root(home)
    info = read_discovery(root)
    if info is None or not process_alive(info.pid) or not ServeLock(root).held_by_another():
        return None
    return info


def connect(home: str | os.PathLike[str] | None, timeout_s: float = 600.0) -> ServeClient | None:
    """A client for the server that owns ``home`` when one runs and answers ``/health``; else None.

    The CLI calls this first: with None it works in-process as it always did.
    """
    if os.environ.get(NO_SERVER_ENV):
        return None
    info = discover(home)
    if info is None:
        return None
    root = str(home_root(home))
    client = ServeClient(
        info.url, timeout_s=timeout_s, path_map=(info.home, root) if info.home and info.home != root else None
    )
    try:
        health = client.health()
    except MMRouteError:
        client.close()
        return None
    if not isinstance(health, dict) or health.get("pid") != info.pid:
        client.close()
        return None
    return client


T = TypeVar("T")


def read_through(
    home: str | os.PathLike[str] | None,
    served: Callable[[ServeClient], T],
    in_process: Callable[[], T],
) -> T:
    """A read-only request (ask, search, route, KB listing): on the server that owns ``home`` when one runs,
    else in-process. A server that dies while the request is in flight (it stops answering and its process is
    gone) costs nothing but time: the request runs again in-process, which is safe because it writes nothing.
    A live server that cannot be reached is still reported, in one line."""
    remote = connect(home)
    if remote is None:
        return in_process()
    try:
        return served(remote)
    except ServerUnavailable:
        if outlives(home, DYING_WAIT_S):
            raise
        return in_process()
    finally:
        remote.close()


DYING_WAIT_S = 3.0
"""How long a server that dropped a request is given to be seen gone. A process killed by SIGKILL resets its
connections while the kernel is still closing its files: for a moment it is alive and holds its lock, and a busy
machine stretches that moment (a CI run read the dying server as live and reported it instead of asking again)."""


def outlives(home: str | os.PathLike[str] | None, wait_s: float) -> bool:
    """Whether the home's server is still live after ``wait_s`` seconds (False as soon as it is seen gone)."""
    deadline = time.monotonic() + wait_s
    while discover(home) is not None:
        if time.monotonic() >= deadline:
            return True
        time.sleep(0.05)
    return False


def run_index(
    client: ServeClient, kb: str, spec: Mapping[str, Any], on_progress: Callable[[dict[str, Any]], None] | None = None
) -> dict[str, Any]:
    """Submit an index call as a server job, follow it to the end and return ``{"reports": [...]}``.

    A failed job raises what the same call raises in-process (:class:`RemoteError` for user errors).
    """
    job = client.submit_index(kb, spec)
    job = client.wait_job(job["id"], on_progress)
    if job["status"] == "failed":
        err = job.get("error") or {}
        client.raise_error(409, err)
    return job["result"]


def refuse_if_served(home: str | os.PathLike[str] | None, command: str) -> None:
    """Commands that only run in-process stop with one clear line when a server owns the home
    (its embedded KBs have one owner: the server)."""
    if os.environ.get(NO_SERVER_ENV):
        return
    info = discover(home)
    if info is not None:
        root = home_root(home)
        raise MMRouteError(
            f"`{command}` works on the KBs directly, but mmroute serve (pid {info.pid}, {info.url}) "
            f"owns them: stop it first with `mmroute serve --stop --home {root}`",
            hint="then run the command again; search, route, ask, kb list|info|delete and index "
            "work through the server",
        )
