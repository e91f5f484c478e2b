"""SIGKILL an indexing run at random points, re-run it, and check every item is there exactly once."""

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mmroute.kb import Home
from mmroute.types import point_id

N = 4000


def _corpus(tmp_path: Path) -> Path:
    p = tmp_path / "corpus.jsonl"
    with open(p, "w") as f:
        for i in range(N):
            f.write(json.dumps({"id": f"r{i}", "text": f"record {i} " + "lorem ipsum dolor " * 20}) + "\n")
    return p


def _index_cmd(home: Path, src: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "mmroute",
        "index",
        "--kb",
        "kb",
        "--input",
        str(src),
        "--home",
        str(home),
        "--encoder",
        "hashing",
        "--encoder-option",
        "dim=64",
        "--json",
    ]


def _kill_and_resume(tmp_path: Path, src: Path, rng: random.Random, trial: int) -> None:
    home = tmp_path / f"home{trial}"
    proc = subprocess.Popen(_index_cmd(home, src), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(rng.uniform(0.5, 3.0))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = subprocess.run(_index_cmd(home, src), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)["reports"][0]
    assert report["count"] == N
    kb = Home(home).open("kb")
    assert kb.count() == N
    assert kb.store.all_ids() == {point_id("kb", f"r{i}") for i in range(N)}
    kb.close()


@pytest.mark.parametrize("trial", range(2))
def test_sigkill_then_rerun_quick(tmp_path: Path, trial: int) -> None:
    src = _corpus(tmp_path)
    _kill_and_resume(tmp_path, src, random.Random(1000 + trial), trial)


@pytest.mark.slow
def test_sigkill_twenty_trials(tmp_path: Path) -> None:
    src = _corpus(tmp_path)
    rng = random.Random(7)
    for trial in range(20):
        _kill_and_resume(tmp_path, src, rng, trial)
