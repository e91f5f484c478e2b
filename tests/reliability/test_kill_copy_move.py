"""``kill -9`` during ``kb copy`` and ``kb move`` between every pair of offline stores (edge, faiss,
qdrant local mode): the source is never lost, nothing half-built is visible as a KB, and re-running
the same command completes it.

The kill lands while the destination store is being written: the test watches for the copy's
staging folder (``kbs/.DST.copy/store``) or the move's new store folder (``kbs/NAME/store-*``)
and sends SIGKILL as soon as it appears.
"""

from __future__ import annotations

import json
import shutil
import signal
import time
from pathlib import Path

import pytest

from .cli import index_args, mmroute, popen

BACKENDS = ["edge", "faiss", "qdrant"]
N_ITEMS = 3000
CORE = [("edge", "faiss"), ("faiss", "edge")]
PAIRS = [pytest.param(a, b, marks=() if (a, b) in CORE else pytest.mark.slow) for a in BACKENDS for b in BACKENDS]


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A home per backend holding KB ``src`` (N_ITEMS short records); built by index + kb move."""
    tmp = tmp_path_factory.mktemp("killmove")
    corpus = tmp / "corpus.jsonl"
    corpus.write_text(
        "".join(
            json.dumps({"id": f"r{i}", "text": f"record {i} about topic {i % 13} apples"}) + "\n"
            for i in range(N_ITEMS)
        )
    )
    base = tmp / "home-edge"
    res = mmroute(*index_args("src", corpus), home=base, timeout=300)
    assert res.returncode == 0, res.stderr
    out = {"edge": base}
    for backend in ("faiss", "qdrant"):
        shutil.copytree(base, tmp / f"home-{backend}")
        res = mmroute("kb", "move", "src", "--store", backend, home=tmp / f"home-{backend}", timeout=300)
        assert res.returncode == 0, res.stderr
        out[backend] = tmp / f"home-{backend}"
    return out


def _kill_when(proc, appears) -> bool:  # noqa: ANN001
    """SIGKILL ``proc`` as soon as ``appears()`` is true; False if it finished first."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if appears():
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=60)
            return True
        if proc.poll() is not None:
            proc.communicate()
            return False
        time.sleep(0.002)
    proc.kill()
    raise AssertionError("the command neither started writing nor finished")


def _info(home: Path, name: str) -> dict:
    res = mmroute("kb", "info", name, "--json", home=home)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def _searchable(home: Path, name: str) -> None:
    res = mmroute("search", "--kb", name, "record 7 about topic 7", "--json", home=home)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["hits"][0]["id"] == "r7"


@pytest.mark.parametrize("src_backend,dst_backend", PAIRS)
def test_kill_during_copy_then_rerun(
    sources: dict[str, Path], tmp_path: Path, src_backend: str, dst_backend: str
) -> None:
    home = tmp_path / "home"
    shutil.copytree(sources[src_backend], home)
    staging = home / "kbs" / ".dst.copy" / "store"
    proc = popen("kb", "copy", "src", "dst", "--store", dst_backend, home=home)
    killed = _kill_when(proc, staging.exists)
    print(f"copy {src_backend}->{dst_backend}: killed mid-copy={killed}")
    # the source is intact and nothing half-built shows up as a KB
    assert _info(home, "src")["count"] == N_ITEMS
    listed = json.loads(mmroute("kb", "list", "--json", home=home).stdout)
    assert [k["name"] for k in listed["kbs"]] == (["src"] if killed else ["dst", "src"])
    if killed:  # a re-run completes the copy
        res = mmroute("kb", "copy", "src", "dst", "--store", dst_backend, home=home, timeout=300)
        assert res.returncode == 0, res.stderr
    info = _info(home, "dst")
    assert info["count"] == N_ITEMS and info["store"]["backend"] == dst_backend
    assert not (home / "kbs" / ".dst.copy").exists()
    _searchable(home, "dst")
    _searchable(home, "src")


@pytest.mark.parametrize("src_backend,dst_backend", PAIRS)
def test_kill_during_move_then_rerun(
    sources: dict[str, Path], tmp_path: Path, src_backend: str, dst_backend: str
) -> None:
    home = tmp_path / "home"
    shutil.copytree(sources[src_backend], home)
    kb_dir = home / "kbs" / "src"
    before = {p.name for p in kb_dir.iterdir()}
    proc = popen("kb", "move", "src", "--store", dst_backend, home=home)
    killed = _kill_when(
        proc, lambda: any(p.name.startswith("store-") and p.name not in before for p in kb_dir.iterdir())
    )
    print(f"move {src_backend}->{dst_backend}: killed mid-move={killed}")
    info = _info(home, "src")  # never lost: on the old store or the new one, complete either way
    assert info["count"] == N_ITEMS
    assert info["store"]["backend"] in (src_backend, dst_backend)
    _searchable(home, "src")
    if killed:
        res = mmroute("kb", "move", "src", "--store", dst_backend, home=home, timeout=300)
        assert res.returncode == 0, res.stderr
    info = _info(home, "src")
    assert info["count"] == N_ITEMS and info["store"]["backend"] == dst_backend
    _searchable(home, "src")
    manifest = json.loads((kb_dir / "manifest.json").read_text())
    stores = sorted(p.name for p in kb_dir.iterdir() if p.is_dir())
    assert stores == [manifest.get("store_dir", "store")], "old or unfinished store folders left behind"
