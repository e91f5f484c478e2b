"""Commands that work on the KBs directly (eval, kb copy|move) refuse in one clear line while a server owns the
home, naming how to stop it; `mmroute serve --stop` stops it, and then they run."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import Server, films_home, mmroute


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = films_home(tmp_path)
    (tmp_path / "q.jsonl").write_text('{"id": "q1", "question": "Who directed Inception?", "gold_ids": ["f1"]}\n')
    return h


def test_eval_and_kb_copy_move_refuse_then_run_after_serve_stop(home: Path) -> None:
    questions = str(home.parent / "q.jsonl")
    commands = [
        ("eval", "retrieval", "--kb", "films", "--questions", questions, "--k", "2"),
        ("eval", "answers", "--kb", "films", "--questions", questions, "--generator", "offline"),
        ("kb", "copy", "films", "films2", "--store", "faiss"),
        ("kb", "move", "films", "--store", "faiss"),
    ]
    server = Server(home).wait_ready()
    try:
        for cmd in commands:
            r = mmroute(*cmd, "--home", str(home))
            assert r.returncode == 2, (cmd, r.stdout, r.stderr)
            error = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
            assert len(error) == 1 and f"mmroute serve --stop --home {home}" in error[0], r.stderr
            assert "open in another process" not in r.stderr
        r = mmroute("serve", "--stop", "--home", str(home))
        assert r.returncode == 0 and f"stopped mmroute serve (pid {server.proc.pid})" in r.stderr, r.stderr
        assert server.proc.wait(timeout=60) == 0
        assert not (home / "serve.json").exists()
    finally:
        if server.proc.poll() is None:
            server.stop()
    r = mmroute(*commands[0], "--home", str(home))
    assert r.returncode == 0, r.stderr
    r = mmroute("serve", "--stop", "--home", str(home))
    assert r.returncode == 0 and "no mmroute serve runs" in r.stderr
