"""Replay every input the fuzzer (``fuzz/fuzz_loaders.py``) ever failed on, plus the seeds, through its targets."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

FUZZ = Path(__file__).resolve().parents[2] / "fuzz"
sys.path.insert(0, str(FUZZ))

import targets  # noqa: E402  (fuzz/targets.py: the fuzz targets without atheris)

INPUTS = sorted((FUZZ / "regressions").glob("*")) + sorted((FUZZ / "seeds").glob("*"))


@pytest.mark.parametrize("path", INPUTS, ids=[p.name for p in INPUTS])
def test_fuzz_input_gives_typed_outcome(path: Path) -> None:
    targets.run_one(path.read_bytes())
