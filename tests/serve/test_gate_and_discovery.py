"""The server's pieces on their own: per-KB admission (threads), the discovery file and its staleness,
the client's light imports, and the typed values' JSON round trip used by the remote retriever."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from mmroute.errors import KBLockedError
from mmroute.serve.discovery import (
    ServeLock,
    ServerInfo,
    process_alive,
    read_discovery,
    remove_discovery,
    write_discovery,
)
from mmroute.serve.gate import KBGate


def test_readers_share_a_kb_and_a_writer_waits_for_them_and_turns_new_ones_away() -> None:
    gate = KBGate()
    events: list[str] = []
    inside = threading.Event()
    release = threading.Event()

    def reader() -> None:
        with gate.read(["hop"]):
            inside.set()
            release.wait(5)
            events.append("reader out")

    def writer() -> None:
        with gate.write(["hop"], holder="job 1"):
            events.append("writer in")

    t1 = threading.Thread(target=reader)
    t1.start()
    inside.wait(5)
    with gate.read(["hop", "other"]) as held:  # readers share
        assert held == ["hop", "other"]
    t2 = threading.Thread(target=writer)
    t2.start()
    deadline = time.monotonic() + 5
    while "hop" not in gate.writing() and time.monotonic() < deadline:
        time.sleep(0.01)
    with pytest.raises(KBLockedError, match="being written by the server \\(job 1\\)"):
        with gate.read(["hop"]):
            pass
    with gate.read(["hop", "other"], skip_writing=True) as held:
        assert held == ["other"]
    assert events == []  # the writer waits for the reader inside
    release.set()
    t1.join(5)
    t2.join(5)
    assert events == ["reader out", "writer in"] and gate.writing() == {}


def test_writers_of_one_kb_queue_and_delete_refuses_while_one_writes() -> None:
    gate = KBGate()
    order: list[int] = []
    started = threading.Event()

    def job(i: int, hold: float) -> None:
        with gate.write(["kb"], holder=f"job {i}"):
            started.set()
            order.append(i)
            time.sleep(hold)
            order.append(-i)

    t1 = threading.Thread(target=job, args=(1, 0.3))
    t1.start()
    started.wait(5)
    t2 = threading.Thread(target=job, args=(2, 0.0))
    t2.start()
    with pytest.raises(KBLockedError):
        with gate.write(["kb"], holder="a kb delete", wait=False):
            pass
    t1.join(5)
    t2.join(5)
    assert order == [1, -1, 2, -2]


def test_discovery_file_round_trip_and_staleness(tmp_path: Path) -> None:
    info = ServerInfo(pid=os.getpid(), host="0.0.0.0", port=8765, started_at="t", home=str(tmp_path), version="1")
    write_discovery(tmp_path, info)
    assert read_discovery(tmp_path) == info and info.url == "http://127.0.0.1:8765"
    assert ServerInfo(1, "::1", 1, "", "").url == "http://[::1]:1"
    remove_discovery(tmp_path, pid=info.pid + 1)  # another server's file is left alone
    assert read_discovery(tmp_path) == info
    remove_discovery(tmp_path, pid=info.pid)
    assert read_discovery(tmp_path) is None
    (tmp_path / "serve.json").write_text("{half")
    assert read_discovery(tmp_path) is None
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    assert process_alive(os.getpid()) and not process_alive(p.pid)


def _lock_holder(home: Path) -> subprocess.Popen[str]:
    """A process that takes the home's server lock and holds it for a minute (it prints "held" once it has it)."""
    code = (
        "import sys, time; from pathlib import Path; from mmroute.serve.discovery import ServeLock; "
        "l = ServeLock(Path(sys.argv[1])); assert l.try_acquire(); print('held', flush=True); time.sleep(60)"
    )
    return subprocess.Popen([sys.executable, "-c", code, str(home)], stdout=subprocess.PIPE, text=True)


def test_the_server_lock_admits_one_owner_and_dies_with_it(tmp_path: Path) -> None:
    holder = _lock_holder(tmp_path)
    try:
        assert holder.stdout.readline().strip() == "held"
        mine = ServeLock(tmp_path)
        assert mine.held_by_another() and not mine.try_acquire()
    finally:
        holder.kill()
        holder.wait()
    assert not mine.held_by_another() and mine.try_acquire()  # SIGKILL released it
    mine.release()


def test_a_dying_server_is_waited_for_and_a_live_one_is_not_taken_for_dead(tmp_path: Path) -> None:
    """A server killed mid-request resets its connections while it still holds its lock for a moment; a read-only
    command waits for it to be seen gone (then asks in-process) instead of reporting it. The control: a server
    that stays alive is still reported live once the wait is over."""
    from mmroute.serve.client import outlives

    holder = _lock_holder(tmp_path)
    try:
        assert holder.stdout.readline().strip() == "held"
        info = ServerInfo(pid=holder.pid, host="127.0.0.1", port=9, started_at="t", home=str(tmp_path), version="1")
        write_discovery(tmp_path, info)
        t0 = time.monotonic()
        assert outlives(tmp_path, 0.3) and time.monotonic() - t0 >= 0.3
        killer = threading.Timer(0.5, lambda: (holder.kill(), holder.wait()))
        killer.start()
        t0 = time.monotonic()
        assert not outlives(tmp_path, 20.0)
        assert time.monotonic() - t0 < 10.0
        killer.join()
    finally:
        holder.kill()
        holder.wait()


def test_the_cli_client_path_imports_no_heavy_module() -> None:
    code = (
        "import sys, mmroute.cli.main, mmroute.serve.client, mmroute.ops; "
        "print(json.dumps(sorted(m for m in ('torch', 'transformers', 'numpy', 'fastapi', 'uvicorn') if m in sys.modules)))"
    )
    r = subprocess.run([sys.executable, "-c", "import json; " + code], capture_output=True, text=True)
    assert r.returncode == 0 and json.loads(r.stdout) == [], r.stdout + r.stderr


def test_retrieval_results_survive_the_json_round_trip() -> None:
    from mmroute.types import Granularity, Hit, Item, RetrievalResult, RetrievalStep, RouteDecision, RouteScore

    hit = Hit(Item("a", Granularity.CLIP, "t", title="T", source="v.mp4", start_s=1.0, end_s=2.0), 0.5, "kb", 1)
    dec = RouteDecision("q", (RouteScore("clip", 0.9, ("kb",)),), ("clip",), ("kb",), "r", "default", 1.5)
    res = RetrievalResult("q", (hit,), (RetrievalStep(0, "q", ("kb",), (hit,), dec, ("a",), "n", 2.0),), "s", 3.0)
    back = RetrievalResult.from_dict(
        json.loads(json.dumps(res.to_dict())), [[h.to_dict() for h in s.hits] for s in res.steps]
    )
    assert back.to_dict() == res.to_dict() and back.steps[0].hits[0].item.start_s == 1.0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_the_server_caps_malloc_arenas_unless_the_user_set_them() -> None:
    """In a child process (the cap is process-wide): applied on glibc, left alone when MALLOC_ARENA_MAX is set."""
    code = "import sys; from mmroute.serve.server import cap_malloc_arenas; sys.exit(0 if cap_malloc_arenas() else 3)"
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    assert subprocess.run([sys.executable, "-c", code], env=env).returncode == 0
    assert subprocess.run([sys.executable, "-c", code], env={**env, "MALLOC_ARENA_MAX": "4"}).returncode == 3
