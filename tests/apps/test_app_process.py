"""`mmroute app` as a process: it starts the home's server, the CLI works beside it, and SIGTERM stops
every child (Streamlit and the server it started), so no KB lock is left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import FILMS, start_app, write_jsonl

STARTUP_S = 300


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MMROUTE_HOME", "MMROUTE_NO_SERVER")}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    return env


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(x) for x in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is gone for our purposes
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _mmroute(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mmroute", *args], capture_output=True, text=True, timeout=600, env=_env()
    )


@pytest.fixture(scope="module")
def running_app(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    root = tmp_path_factory.mktemp("app-process")
    home = root / "home"
    corpus = write_jsonl(root / "films.jsonl", FILMS)
    r = _mmroute(
        "index",
        "--kb",
        "films",
        "--input",
        str(corpus),
        "--encoder",
        "hashing",
        "--encoder-option",
        "dim=64",
        "--home",
        str(home),
    )
    assert r.returncode == 0, r.stderr
    proc, _ = start_app(home, root / "app.log", _env(), STARTUP_S)
    yield proc, home, root
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def test_cli_search_and_ask_work_while_the_app_runs(running_app) -> None:  # noqa: ANN001
    proc, home, _ = running_app
    info = json.loads((home / "serve.json").read_text())
    assert info["pid"] in _children(proc.pid)  # the app started the home's server and talks to it
    r = _mmroute("search", "--kb", "films", "Who directed Inception?", "--json", "--home", str(home))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["hits"][0]["id"] == "f1"
    assert "another process" not in r.stderr
    r = _mmroute("ask", "Who directed Inception?", "--kb", "films", "--json", "--home", str(home))
    assert r.returncode == 0, r.stderr
    answer = json.loads(r.stdout)
    assert answer["evidence"] and answer["evidence"][0]["id"] == "f1"


def test_sigterm_stops_streamlit_and_the_server(running_app) -> None:  # noqa: ANN001
    proc, home, root = running_app
    children = _children(proc.pid)
    server_pid = json.loads((home / "serve.json").read_text())["pid"]
    assert server_pid in children and len(children) == 2  # the server and streamlit
    os.kill(proc.pid, signal.SIGTERM)  # the app process only, as a service manager would
    proc.wait(timeout=60)
    deadline = time.time() + 30
    while any(_alive(c) for c in children) and time.time() < deadline:
        time.sleep(0.2)
    assert not [c for c in children if _alive(c)], (root / "app.log").read_text()[-2000:]
    assert not (home / "serve.json").exists()  # the server stopped cleanly
    r = _mmroute("search", "--kb", "films", "Inception", "--json", "--home", str(home))  # no lock left behind
    assert r.returncode == 0, r.stderr
