"""Fault injection: each file of a KB (manifest, store files, locks) corrupted in turn.

Every command (kb list, kb info, search, ask, kb delete) must then either work or say in one
``error:`` line what is broken and how to fix it (no traceback, no hang); ``kb delete`` always
removes the damaged KB, and the other KB of the home keeps working throughout.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .cli import assert_one_line_error, index_args, mmroute, write_texts

BACKENDS = ["edge", "faiss"]


@pytest.fixture(scope="module")
def homes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One home per backend with KBs ``good`` and ``victim``."""
    tmp = tmp_path_factory.mktemp("faults")
    src = write_texts(tmp / "src")
    out = {}
    for backend in BACKENDS:
        home = tmp / f"home-{backend}"
        for kb in ("good", "victim"):
            res = mmroute(*index_args(kb, src, "--store", backend), home=home)
            assert res.returncode == 0, res.stderr
        out[backend] = home
    return out


def _victim_files(home: Path) -> list[str]:
    kb = home / "kbs" / "victim"
    return sorted(str(p.relative_to(kb)) for p in kb.rglob("*") if p.is_file())


def _corrupt(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] + b"\x00garbage\xff{" if data else b"\xff\x00garbage")


def _check_all_commands(home: Path, what: str, ask: bool) -> None:
    listed = mmroute("kb", "list", "--json", home=home)
    assert listed.returncode == 0 and "Traceback" not in listed.stderr, f"{what}\n{listed.stderr}"
    assert "good" in listed.stdout, what
    commands = [["kb", "info", "victim"], ["search", "--kb", "victim", "apples"]]
    if ask:
        commands.append(["ask", "--kb", "victim", "--generator", "offline", "--no-verify", "Where do apples grow?"])
    for args in commands:
        res = mmroute(*args, home=home)
        if res.returncode != 0:
            assert_one_line_error(res, what=f"{what}: {' '.join(args)}")
        else:
            assert "Traceback" not in res.stderr, f"{what}: {' '.join(args)}\n{res.stderr}"
    good = mmroute("search", "--kb", "good", "apples", home=home)
    assert good.returncode == 0 and "Apples" in good.stdout, f"{what}\n{good.stderr}"
    deleted = mmroute("kb", "delete", "victim", "--yes", home=home)
    assert deleted.returncode == 0, f"{what}\n{deleted.stderr}"
    assert not (home / "kbs" / "victim").exists()
    assert "victim" not in mmroute("kb", "list", "--json", home=home).stdout


def _trial(homes: dict[str, Path], tmp_path: Path, backend: str, rel: str, ask: bool) -> None:
    home = tmp_path / "home"
    shutil.copytree(homes[backend], home)
    _corrupt(home / "kbs" / "victim" / rel)
    _check_all_commands(home, f"{backend}: corrupted {rel}", ask)


@pytest.mark.parametrize("backend", BACKENDS)
def test_corrupt_manifest_and_locks(homes: dict[str, Path], tmp_path: Path, backend: str) -> None:
    for rel in ["manifest.json", ".write.lock"] + [
        f for f in _victim_files(homes[backend]) if f.endswith(".owner.lock")
    ]:
        _trial(homes, tmp_path / rel.strip("."), backend, rel, ask=rel == "manifest.json")


@pytest.mark.parametrize("backend", BACKENDS)
def test_corrupt_main_store_files(homes: dict[str, Path], tmp_path: Path, backend: str) -> None:
    main = {"edge": ("edge_config.json", "segment.json", "chunk_0.mmap"), "faiss": (".json", ".faiss", ".jsonl")}[
        backend
    ]
    files = [f for f in _victim_files(homes[backend]) if f.startswith("store") and f.endswith(main)]
    assert files
    for rel in files:
        _trial(homes, tmp_path / rel.replace("/", "_"), backend, rel, ask=False)


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_corrupt_every_store_file(homes: dict[str, Path], tmp_path: Path, backend: str) -> None:
    for rel in [f for f in _victim_files(homes[backend]) if f.startswith("store")]:
        _trial(homes, tmp_path / rel.replace("/", "_"), backend, rel, ask=True)
