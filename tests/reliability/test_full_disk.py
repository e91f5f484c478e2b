"""A full disk (a home on a small tmpfs, filled the way a real disk fills) and a read-only one (served read-only).

Qdrant Edge memory-maps its files and grows them in 32 MB steps; a write into a mapped page that the disk
cannot hold kills the process with SIGBUS, not an error. mmroute keeps a margin free while it writes
(``$MMROUTE_MIN_FREE_MB``, 128 MB by default) and refuses to open a store with less than 4 MB free, in one
line each time, and the KB stays as it was: same items, still searchable once there is room to open it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .cli import assert_one_line_error, cli_env, index_args, mmroute, write_texts

MB = 1024 * 1024


@pytest.fixture
def small_disk() -> Iterator[Path]:
    """A 320 MB tmpfs (root only), unmounted afterwards."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("needs root to mount a tmpfs")
    mnt = Path(tempfile.mkdtemp(prefix="mmroute-fulldisk-"))
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=320m", "tmpfs", str(mnt)], capture_output=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.decode(errors='replace').strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)
        shutil.rmtree(mnt, ignore_errors=True)


def _fill(disk: Path, leave: int) -> Path:
    """Take the disk's free space down to ``leave`` bytes with one preallocated file."""
    filler = disk / "filler"
    free = shutil.disk_usage(disk).free + (filler.stat().st_size if filler.exists() else 0)
    filler.unlink(missing_ok=True)
    subprocess.run(["fallocate", "-l", str(max(free - leave, 0)), str(filler)], check=True)
    return filler


def _count(home: Path, kb: str) -> int:
    res = mmroute("kb", "info", kb, "--json", home=home)
    assert res.returncode == 0, res.stderr
    return int(json.loads(res.stdout)["count"])


def test_a_full_disk_refuses_writes_in_one_line_and_keeps_the_kb(small_disk: Path, tmp_path: Path) -> None:
    home = small_disk / "home"
    res = mmroute(*index_args("notes", write_texts(tmp_path / "a", 4)), home=home)
    assert res.returncode == 0, res.stderr
    assert _count(home, "notes") == 4

    _fill(small_disk, 64 * MB)  # under the 128 MB write margin, above the 4 MB needed to open a store
    more = write_texts(tmp_path / "b", 8)
    res = mmroute(*index_args("notes", more), home=home)
    assert_one_line_error(res, what="index on a nearly full disk")
    assert "MB free, less than the 128 MB mmroute keeps free while writing KB 'notes'" in res.stderr
    res = mmroute(*index_args("fresh", more), home=home)
    assert_one_line_error(res, what="a new KB on a nearly full disk")
    assert not (home / "kbs" / "fresh").exists()  # nothing created
    assert _count(home, "notes") == 4
    res = mmroute("search", "--kb", "notes", "apples", "--json", home=home)
    assert res.returncode == 0 and json.loads(res.stdout)["hits"], res.stderr  # reads still work

    _fill(small_disk, 1 * MB)  # full: not even a lock file fits
    for args in (index_args("notes", more), ["search", "--kb", "notes", "apples"]):
        res = mmroute(*args, home=home)
        assert_one_line_error(res, what=" ".join(map(str, args)))
        assert res.returncode == 2 and "MB free" in res.stderr  # not a SIGBUS (-7 / 135)

    (small_disk / "filler").unlink()
    res = mmroute(*index_args("notes", more), home=home)  # room again: the same command finishes the job
    assert res.returncode == 0, res.stderr
    assert _count(home, "notes") == 8  # doc0..doc7: the first four ids again, four new


def test_the_margin_is_configurable_and_checked(small_disk: Path, tmp_path: Path) -> None:
    home = small_disk / "home"
    _fill(small_disk, 64 * MB)
    src = write_texts(tmp_path / "a", 4)
    assert mmroute(*index_args("notes", src), home=home).returncode != 0
    res = mmroute(*index_args("notes", src), home=home, env=cli_env(MMROUTE_MIN_FREE_MB="32"))
    assert res.returncode == 0, res.stderr
    res = mmroute(*index_args("notes", src), home=home, env=cli_env(MMROUTE_MIN_FREE_MB="lots"))
    assert_one_line_error(res, what="a bad margin")
    assert "MMROUTE_MIN_FREE_MB='lots' is not a number of megabytes" in res.stderr


def test_a_read_only_disk_is_read_and_served_read_only(tmp_path: Path) -> None:
    """A home on a read-only mount (root ignores file modes; a mount does not): search works; index says in one
    line that the file system is read-only; ``mmroute serve`` serves searches and answers and refuses writes."""
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("needs root to bind-mount read-only")
    src = tmp_path / "src"
    res = mmroute(*index_args("notes", write_texts(tmp_path / "a", 4)), home=src)
    assert res.returncode == 0, res.stderr
    ro = Path(tempfile.mkdtemp(prefix="mmroute-ro-"))
    if subprocess.run(["mount", "--bind", str(src), str(ro)], capture_output=True).returncode != 0:
        pytest.skip("cannot bind-mount here")
    server = None
    try:
        if subprocess.run(["mount", "-o", "remount,bind,ro", str(ro)], capture_output=True).returncode != 0:
            pytest.skip("cannot remount read-only here")
        res = mmroute("search", "--kb", "notes", "apples", "--json", home=ro)
        assert res.returncode == 0 and json.loads(res.stdout)["hits"], res.stderr
        res = mmroute(*index_args("notes", write_texts(tmp_path / "b", 2)), home=ro)
        assert_one_line_error(res, what="index into a read-only home")
        assert "the file system is read-only" in res.stderr

        cmd = [sys.executable, "-m", "mmroute", "serve", "--home", str(ro), "--port", "0", "--lazy"]
        server = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env())
        line = server.stdout.readline() if server.stdout else ""
        assert "is read-only: serving searches and answers at http://127.0.0.1:" in line, line
        url = line.split(" at ", 1)[1].split(" ", 1)[0]
        hits = _post(f"{url}/v1/search", {"kb": "notes", "query": "apples", "k": 1})
        assert hits[0] == 200 and hits[1]["hits"], hits
        refused = _post(f"{url}/v1/kbs/notes/index", {"input": str(tmp_path / "b")})
        assert refused[0] == 400 and "the home" in refused[1]["error"] and "is read-only" in refused[1]["error"]
        assert not (ro / "serve.json").exists()
    finally:
        if server is not None:
            server.terminate()
            server.communicate(timeout=60)
        subprocess.run(["umount", "-l", str(ro)], check=False)
        shutil.rmtree(ro, ignore_errors=True)


def _post(url: str, body: dict) -> tuple[int, dict]:
    import urllib.error
    import urllib.request

    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())
