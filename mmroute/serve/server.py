"""Running ``mmroute serve``: one server per home, bound safely, found by its clients, gone cleanly.

Start-up order, and why:

1. Refuse a non-loopback bind without a bearer token (``$MMROUTE_SERVE_TOKEN``): the API can read and
   delete KBs.
2. Take the home's server lock (``HOME/.serve.lock``). Failing means a live server owns the home: refuse,
   naming it. Succeeding means any ``serve.json`` left behind is stale (its server died): replace it.
3. Bind the socket (port 0 picks a free port), warm the models, resume index jobs a killed server left,
   and only then write ``serve.json``, so a CLI call that finds the file meets a warm server.
4. On SIGTERM/SIGINT: stop accepting, remove ``serve.json``, release the lock. Index jobs still running
   stay recorded as running and resume on the next start.

>>> run_server(Path("~/.mmroute").expanduser(), host="127.0.0.1", port=8765)   # blocks until stopped
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path

from .. import __version__
from ..errors import ConfigError, InputError
from ..fsutil import is_read_only
from .client import TOKEN_ENV, ServeClient
from .discovery import ServeLock, ServerInfo, is_loopback, read_discovery, remove_discovery, write_discovery

log = logging.getLogger("mmroute.serve")

DEFAULT_PORT = 8765


MALLOC_ARENAS = 2
"""glibc malloc arenas the server keeps (``M_ARENA_MAX``): the endpoints run on a pool of up to 40 threads,
and glibc would give them up to 8 arenas per core, each holding on to the largest buffers its threads ever
freed; the server's RSS then creeps up with every new mix of threads and request sizes. Two arenas keep
it flat (docs/benchmarks.md, bench_load). ``$MALLOC_ARENA_MAX``, when set, wins."""


def cap_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas for this process (before its threads start); True when it was applied.

    A no-op off glibc (macOS, musl) and when ``$MALLOC_ARENA_MAX`` is set (glibc read it at start-up)."""
    if os.environ.get("MALLOC_ARENA_MAX") or not sys.platform.startswith("linux"):
        return False
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    m_arena_max = -8  # <malloc.h>
    return bool(mallopt(ctypes.c_int(m_arena_max), ctypes.c_int(arenas)))


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (``port`` 0: a free one, read back from the socket)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=2048)
    except OSError as e:
        raise InputError(
            f"cannot listen on {host}:{port}: {e.strerror or e}",
            hint="choose another --port (0 picks a free one) or stop what listens there",
        ) from None


def _refusal(root: Path) -> InputError:
    info = read_discovery(root)
    if info is None:
        return InputError(
            f"another mmroute serve owns {root} (it is starting or stopping)",
            hint="wait a moment and check `cat HOME/serve.json`, or stop that process",
        )
    try:
        ServeClient(info.url).health()
        state = "answering"
    except Exception:  # noqa: BLE001 - any failure means it does not answer
        state = "not answering /health"
    return InputError(
        f"a server already serves {root}: pid {info.pid} at {info.url} ({state})",
        hint=f"the CLI uses it as it is; to restart it, stop it first: mmroute serve --stop --home {root}",
    )


def run_server(
    root: Path,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    token: str | None = None,
    max_body: int | None = None,
    warm: bool = True,
    announce: Callable[[str], None] = lambda s: print(s, flush=True),
) -> None:
    """Serve the home ``root`` until SIGTERM/SIGINT (see the module doc for the order of events).

    Set ``OMP_WAIT_POLICY=PASSIVE`` before torch is imported (``mmroute serve`` does): requests run on
    many threads, and spinning OpenMP teams of idle threads otherwise slow the working one several-fold.
    """
    import uvicorn

    from .app import DEFAULT_MAX_BODY, ServeState, create_app

    root = Path(root).expanduser().absolute()
    cap_malloc_arenas()
    token = token if token is not None else (os.environ.get(TOKEN_ENV) or None)
    if not is_loopback(host) and not token:
        raise ConfigError(
            f"binding to {host} (not loopback) needs a bearer token",
            hint=f"export {TOKEN_ENV}=<a long random string> and start again; clients send the same "
            "variable's value (or bind to 127.0.0.1, the default)",
        )
    # a home on a read-only disk is served read-only: no lock or discovery file can be written, so the CLI
    # on this home works in-process beside it, and clients (the app, LlamaIndex, HTTP) are given the URL
    read_only = root.is_dir() and is_read_only(root)
    if not read_only:
        root.mkdir(parents=True, exist_ok=True)
    lock = ServeLock(root)
    if not read_only and not lock.try_acquire():
        raise _refusal(root)
    state = None
    try:
        stale = None if read_only else read_discovery(root)
        if stale is not None:
            log.warning("replacing the stale discovery file of pid %d (that server is gone)", stale.pid)
            remove_discovery(root, stale.pid)
        sock = bind(host, port)
        real_port = sock.getsockname()[1]
        info = ServerInfo(
            pid=os.getpid(),
            host=host,
            port=real_port,
            started_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            home=str(root),
            version=__version__,
        )
        state = ServeState(root, token=token, max_body=max_body or DEFAULT_MAX_BODY, warm=warm, read_only=read_only)

        def ready() -> None:
            if read_only:
                announce(
                    f"mmroute serve: {root} is read-only: serving searches and answers at {info.url} (pid "
                    f"{info.pid}), no index jobs; no discovery file, so the CLI on this home works in-process"
                )
                return
            write_discovery(root, info)
            announce(f"mmroute serve: {root} at {info.url} (pid {info.pid}); docs at {info.url}/docs")

        def stop() -> None:
            if not read_only:
                remove_discovery(root, info.pid)

        app = create_app(state, on_ready=ready, on_stop=stop)
        config = uvicorn.Config(
            app,
            lifespan="on",
            access_log=False,
            log_level="warning",
            timeout_keep_alive=30,
            limit_concurrency=None,
            backlog=2048,
        )
        # uvicorn re-raises the stop signal after a graceful shutdown: make SIGTERM end in SystemExit so the
        # clean-up below runs instead of the default action killing the process mid-way
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            uvicorn.Server(config).run(sockets=[sock])
        except (SystemExit, KeyboardInterrupt):
            pass
        finally:
            stop()
            active = state.jobs.active()
            if active:
                log.warning(
                    "stopping with %d index job(s) running; they resume on the next start: %s",
                    len(active),
                    ", ".join(j.id for j in active),
                )
    finally:
        lock.release()
    if (
        state is not None and state.jobs.active()
    ):  # index threads hold native store handles: leave without tearing them down
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
