"""SIGKILL `mmroute index` at random points of text, image and video runs; re-run; check nothing is lost or doubled.

Each trial starts the real CLI in a subprocess, waits until the KB's manifest exists (the run is past
start-up and writing), sleeps a random fraction of the measured write phase and SIGKILLs it. Then:

1. the KB opens and every source the manifest records ``done`` has all its items stored (an
   acknowledged source survives the kill) and nothing else is stored twice or unknown;
2. re-running the same command exits 0 and the KB holds every expected item exactly once
   (count and the set of item ids, checked through the store's point ids and payloads).

Images and videos use the model-free ``hashing`` encoder on their captions/subtitles: the point is
the loaders + indexer + Qdrant Edge crash semantics (one source per media file, a flush and an
atomic manifest write per source), and the real image/video encoders take ~1 s per item on these
2 shared cores, which would put almost every kill inside model loading.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from mmroute.kb import Home
from mmroute.manifest import Manifest
from mmroute.types import point_id

from .media import make_images, make_text_corpus, make_videos

KB = "crash"


@dataclass
class Corpus:
    kind: str
    input: Path
    ids: list[str]
    extra: list[str]
    by_source: dict[str, set[str]]
    """Resolved source path -> the item ids it yields (to check sources recorded ``done``)."""

    def command(self, home: Path) -> list[str]:
        return [
            sys.executable,
            "-m",
            "mmroute",
            "index",
            "--kb",
            KB,
            "--input",
            str(self.input),
            "--home",
            str(home),
            "--modality",
            self.kind,
            "--encoder",
            "hashing",
            "--encoder-option",
            "dim=32",
            "--json",
            *self.extra,
        ]


def _text(tmp: Path) -> Corpus:
    # three files in a folder: several sources, each with many batches
    folder = tmp / "text"
    by_source: dict[str, set[str]] = {}
    ids: list[str] = []
    for part in range(3):
        path, part_ids = make_text_corpus(folder / f"part{part}", 1500)
        renamed = [f"p{part}-{i}" for i in part_ids]
        lines = [json.loads(ln) for ln in path.read_text().splitlines()]
        path.write_text("".join(json.dumps({**rec, "id": f"p{part}-{rec['id']}"}) + "\n" for rec in lines))
        by_source[str(path.resolve())] = set(renamed)
        ids += renamed
    return Corpus("text", folder, ids, [], by_source)


def _images(tmp: Path) -> Corpus:
    folder, ids = make_images(tmp / "images", 40)
    return Corpus("image", folder, ids, [], {str((folder / i).resolve()): {i} for i in ids})


def _videos(tmp: Path) -> Corpus:
    folder, ids = make_videos(tmp / "videos", n=6, seconds=12, clip_seconds=2.0, clip_overlap=0.0)
    by_source: dict[str, set[str]] = {}
    for i in ids:
        by_source.setdefault(str((folder / i.split("#", 1)[0]).resolve()), set()).add(i)
    return Corpus("video", folder, ids, ["--clip-seconds", "2", "--clip-overlap", "0"], by_source)


MAKERS = {"text": _text, "image": _images, "video": _videos}


def _stored_item_ids(home: Path) -> list[str]:
    kb = Home(home).open(KB)
    try:
        pids = kb.store.all_ids()
        items = [p.payload["item_id"] for p in kb.store.get(sorted(pids))]
        assert len(pids) == kb.count() == len(items)
        assert {point_id(KB, i) for i in items} == pids  # payload ids and point ids agree
        return items
    finally:
        kb.close()


def _wait_for_manifest(proc: subprocess.Popen, home: Path, timeout: float = 120.0) -> bool:
    manifest = home / "kbs" / KB / "manifest.json"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if manifest.exists():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.005)
    raise AssertionError("indexing never started")


def _write_phase_s(corpus: Corpus, tmp: Path) -> float:
    """Seconds from the manifest appearing to the run's exit, measured once per corpus."""
    home = tmp / f"calibrate-{corpus.kind}"
    proc = subprocess.Popen(corpus.command(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert _wait_for_manifest(proc, home)
    t0 = time.monotonic()
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()[-2000:]
    assert json.loads(out)["reports"][0]["count"] == len(corpus.ids)
    return time.monotonic() - t0


def kill_and_resume(corpus: Corpus, home: Path, rng: random.Random, window_s: float) -> bool:
    """One trial; returns True if the run was really killed mid-write (False: it finished first)."""
    proc = subprocess.Popen(corpus.command(home), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    killed = False
    if _wait_for_manifest(proc, home):
        time.sleep(rng.uniform(0.0, window_s))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            killed = True
    proc.wait(timeout=300)

    if (home / "kbs" / KB / "manifest.json").exists():
        stored = _stored_item_ids(home)
        assert len(stored) == len(set(stored)), "an item is stored twice after the kill"
        assert set(stored) <= set(corpus.ids), "unknown items after the kill"
        manifest = Manifest.load(home / "kbs" / KB)
        for src, rec in manifest.sources.items():
            if rec.status == "done":  # acknowledged: must have survived the kill
                assert corpus.by_source[src] <= set(stored), f"items of finished source {src} lost"

    done = subprocess.run(corpus.command(home), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)["reports"][0]
    assert report["count"] == len(corpus.ids) and report["skipped"] == 0
    stored = _stored_item_ids(home)
    assert len(stored) == len(corpus.ids)
    assert sorted(stored) == sorted(corpus.ids)
    return killed


@pytest.mark.parametrize("kind", ["image", "video"])
def test_sigkill_media_quick(tmp_path: Path, kind: str) -> None:
    corpus = MAKERS[kind](tmp_path)
    window = _write_phase_s(corpus, tmp_path)
    kill_and_resume(corpus, tmp_path / "home", random.Random(hash(kind) & 0xFFFF), window)


@pytest.mark.slow
def test_sigkill_twenty_four_trials_text_image_video(tmp_path: Path) -> None:
    """8 trials per modality; prints how many runs were really killed mid-write."""
    rng = random.Random(2024)
    killed: dict[str, int] = {}
    for kind, maker in MAKERS.items():
        corpus = maker(tmp_path / kind)
        window = _write_phase_s(corpus, tmp_path / kind)
        killed[kind] = sum(kill_and_resume(corpus, tmp_path / kind / f"home{t}", rng, window) for t in range(8))
    total = sum(killed.values())
    print(f"\nSIGKILL trials: {killed} killed mid-write, {total}/24 in total; every re-run exact")
    assert total >= 20, f"only {total} of 24 runs were killed before they finished: {killed}"
