"""Fixtures for the app tests: a small hashing-encoded KB served by a real `mmroute serve` app (in a thread
of the test process, so AppTest's app reaches it over HTTP exactly as in production), and helpers."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from mmroute.app import app_script

pytest.importorskip("streamlit")

REPO = Path(__file__).resolve().parents[2]
APP = app_script()  # the script `mmroute app` runs: the one installed with the package

FILMS = [
    {
        "id": "f1",
        "title": "Inception",
        "text": "Inception is a 2010 science fiction film directed by Christopher Nolan.",
    },
    {
        "id": "f2",
        "title": "Christopher Nolan",
        "text": "Christopher Nolan is a British film director born in London in 1970.",
    },
    {
        "id": "f3",
        "title": "Titanic",
        "text": "Titanic is a 1997 film directed by James Cameron about the sinking ship.",
    },
]


def run_function_as_app(fn: Callable[[], None]):  # noqa: ANN201
    """An AppTest of a module-level function's source, run once, no exception."""
    import inspect
    import textwrap

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_string(textwrap.dedent(inspect.getsource(fn)) + f"\n{fn.__name__}()\n", default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(home: Path, log_path: Path, env: dict[str, str], startup_s: float) -> tuple[subprocess.Popen, int]:
    """``mmroute app`` for ``home`` in its own process group, once Streamlit reports healthy: (process, port)."""
    port = free_port()
    with open(log_path, "wb") as log:  # the child keeps its own descriptor
        proc = subprocess.Popen(
            [sys.executable, "-m", "mmroute", "app", "--home", str(home), "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    deadline = time.time() + startup_s
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=5) as resp:
                if resp.read().strip() == b"ok":
                    return proc, port
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail(f"the app did not start: {log_path.read_text(errors='replace')[-3000:]}")
        time.sleep(0.5)


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@contextmanager
def served(root: Path) -> Iterator[object]:
    """The server of ``root`` (the FastAPI app of `mmroute serve`, not warmed) on a free loopback port, in a
    thread; it writes ``serve.json`` and holds the serve lock like the real process, so clients find it."""
    import uvicorn

    from mmroute.serve.app import ServeState, create_app
    from mmroute.serve.discovery import ServeLock, ServerInfo, remove_discovery, write_discovery

    root.mkdir(parents=True, exist_ok=True)
    lock = ServeLock(root)
    assert lock.try_acquire()
    sock = socket.create_server(("127.0.0.1", 0))
    info = ServerInfo(pid=os.getpid(), host="127.0.0.1", port=sock.getsockname()[1], started_at="", home=str(root))
    state = ServeState(root, warm=False)
    app = create_app(
        state, on_ready=lambda: write_discovery(root, info), on_stop=lambda: remove_discovery(root, info.pid)
    )
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not (root / "serve.json").is_file():
        assert time.monotonic() < deadline and thread.is_alive(), "the test server did not start"
        time.sleep(0.05)
    try:
        yield state
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()
        lock.release()


@pytest.fixture
def films_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``$MMROUTE_HOME`` with KB ``films`` (hashing encoder, 3 paragraphs) and its server running."""
    from mmroute.indexer import Indexer
    from mmroute.kb import Home
    from mmroute.types import EncoderSpec

    root = tmp_path / "home"
    Indexer(Home(root)).index(
        "films",
        write_jsonl(tmp_path / "films.jsonl", FILMS),
        encoder=EncoderSpec("hashing", {"dim": 64}),
        description="films and directors",
    )
    monkeypatch.setenv("MMROUTE_HOME", str(root))
    monkeypatch.delenv("MMROUTE_NO_SERVER", raising=False)
    with served(root):
        yield root


def texts(at) -> str:  # noqa: ANN001
    """Every visible string of an AppTest run (markdown, captions, alerts, labels, widget values, tables)."""
    out: list[str] = []

    def walk(node) -> None:  # noqa: ANN001
        for attr in ("value", "body", "label", "placeholder", "help"):
            v = getattr(node, attr, None)
            if isinstance(v, str):
                out.append(v)
        proto = getattr(node, "proto", None)
        if proto is not None and node.type in ("arrow_data_frame", "dataframe"):
            out.append(str(getattr(node, "value", "")))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(out)
