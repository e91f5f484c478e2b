"""Start a ``mmroute serve`` for a home when none runs, and stop it again (what ``mmroute app`` does).

The app is a client of the server: the server owns the home's KBs (an embedded KB has one owner), so
the CLI keeps working beside the app. ``mmroute app`` therefore uses the server that already serves
the home, or starts one and stops it on exit; a server it did not start is left running.

>>> server = ensure_server(Path("~/.mmroute").expanduser())
>>> server.info.url, server.started          # ('http://127.0.0.1:40123', True)
>>> server.stop()                            # only stops a server this call started
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import MMRouteError
from .client import ServeClient, discover
from .discovery import ServeLock, ServerInfo, process_alive, read_discovery

START_TIMEOUT_S = 300.0
"""How long a starting server may take to warm up (models load before it writes ``serve.json``)."""
LOG_NAME = "app-serve.log"
"""The log of a server started by ``mmroute app``, under ``HOME/serve/``."""


def stop_process(proc: subprocess.Popen, timeout_s: float = 20.0) -> int:
    """SIGTERM ``proc``, wait up to ``timeout_s``, then SIGKILL; returns its exit code."""
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGTERM)
            return proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()


@dataclass
class AppServer:
    """The server an app talks to; ``proc`` is set when this process started it (and must stop it)."""

    info: ServerInfo
    proc: subprocess.Popen | None = None
    log_path: Path | None = None

    @property
    def started(self) -> bool:
        return self.proc is not None

    def stop(self, timeout_s: float = 20.0) -> None:
        """Stop the server if this process started it (a server found running is left alone)."""
        if self.proc is not None:
            stop_process(self.proc, timeout_s)


def _healthy(info: ServerInfo) -> bool:
    client = ServeClient(info.url, timeout_s=5.0)
    try:
        health = client.health()
        return isinstance(health, dict) and health.get("pid") == info.pid
    except MMRouteError:
        return False
    finally:
        client.close()


def ensure_server(root: Path, env: Mapping[str, str] | None = None, timeout_s: float = START_TIMEOUT_S) -> AppServer:
    """The live server of ``root``, or a new ``mmroute serve --port 0`` started for it and warm.

    Raises :class:`MMRouteError` (with the end of the server's log) when the new server exits or
    does not become ready in ``timeout_s``.
    """
    root = Path(root).expanduser().absolute()
    info = discover(root)
    if info is not None and _healthy(info):
        return AppServer(info)
    log_dir = root / "serve"
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / LOG_NAME
    cmd = [sys.executable, "-m", "mmroute", "serve", "--home", str(root), "--port", "0"]
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            cmd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(env if env is not None else os.environ),
        )
    try:
        ready = _wait_ready(root, proc, timeout_s)
    except BaseException:  # a signal or an error while it warms up: do not leave it behind
        stop_process(proc)
        raise
    if ready is not None:
        return ready
    if proc.poll() is not None:
        raise MMRouteError(
            f"mmroute serve for {root} exited with code {proc.returncode}: {_tail(log_path)}", hint=f"see {log_path}"
        )
    stop_process(proc)
    raise MMRouteError(
        f"mmroute serve for {root} was not ready after {timeout_s:.0f} s",
        hint=f"see {log_path}; start it yourself with `mmroute serve --home {root}`",
    )


def _wait_ready(root: Path, proc: subprocess.Popen, timeout_s: float) -> AppServer | None:
    """The started server once warm (or the server that won the race for the home); None on exit or timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = read_discovery(root)
        if found is not None and found.pid == proc.pid and _healthy(found):
            return AppServer(found, proc, root / "serve" / LOG_NAME)
        if proc.poll() is not None:
            other = discover(root)
            return AppServer(other) if other is not None and _healthy(other) else None
        time.sleep(0.2)
    return None


def stop_served(root: Path, timeout_s: float = 60.0) -> ServerInfo | None:
    """Stop the server that serves ``root`` (SIGTERM: it finishes requests, removes ``serve.json``, and
    index jobs in flight resume on its next start); returns what it was, or None when none runs."""
    info = discover(root)
    if info is None:
        return None
    try:
        os.kill(info.pid, signal.SIGTERM)
    except ProcessLookupError:
        return info
    lock = ServeLock(root)  # released when the server's process ends (a zombie not yet reaped holds no lock)
    deadline = time.monotonic() + timeout_s
    while lock.held_by_another() and process_alive(info.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if lock.held_by_another() and process_alive(info.pid):
        raise MMRouteError(
            f"mmroute serve (pid {info.pid}) did not stop within {timeout_s:.0f} s",
            hint=f"kill -9 {info.pid} (index jobs resume on the next start)",
        )
    return info


def _tail(path: Path, lines: int = 1) -> str:
    try:
        text = [ln for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return "(no log)"
    return " | ".join(text[-lines:]) if text else "(empty log)"
