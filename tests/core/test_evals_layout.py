"""evals/ by purpose, and benchmarks that write the committed results only when asked."""

from __future__ import annotations

import ast
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EVALS = REPO / "evals"


def test_evals_are_split_by_purpose():
    assert {p.name for p in EVALS.glob("*.py")} == {"__init__.py", "paths.py"}, "scripts belong in bench/, eval/, ..."
    assert {p.name for p in (EVALS / "build").glob("*.py")} >= {"calibrate_verifier.py", "fit_offline_ranker.py"}
    assert all(p.name.startswith("exp_") for p in (EVALS / "experiments").glob("*.py") if p.name != "__init__.py")
    assert all(
        p.name.startswith(("bench_", "plot_")) for p in (EVALS / "bench").glob("*.py") if p.name != "__init__.py"
    )


@pytest.mark.parametrize("script", sorted(p.name for p in (EVALS / "bench").glob("*.py") if p.name != "__init__.py"))
def test_every_benchmark_writes_to_scratch_unless_told(script: str):
    """Each output option of a benchmark defaults to the scratch folder, never to evals/results."""
    tree = ast.parse((EVALS / "bench" / script).read_text())
    outs = [
        call
        for call in ast.walk(tree)
        if isinstance(call, ast.Call)
        and getattr(call.func, "attr", "") == "add_argument"
        and call.args
        and isinstance(call.args[0], ast.Constant)
        and call.args[0].value in ("--out", "--out-dir")
    ]
    assert outs, f"{script} has no --out"
    for call in outs:
        default = next((k.value for k in call.keywords if k.arg == "default"), None)
        assert default is not None and "SCRATCH" in ast.unparse(default), (
            f"{script}: --out defaults to {ast.unparse(default)}"
        )


@pytest.mark.slow
def test_a_benchmark_run_leaves_the_committed_results_alone(tmp_path: Path):
    pytest.importorskip("matplotlib")
    committed = sorted((EVALS / "results").glob("scaling_*.png"))
    assert committed  # the plots this run would otherwise replace
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in committed}
    env = {**os.environ, "MMROUTE_EVAL_OUT": str(tmp_path), "PYTHONPATH": str(REPO), "MPLBACKEND": "Agg"}
    out = subprocess.run(
        [sys.executable, "-m", "evals.bench.plot_scaling"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert out.returncode == 0, out.stderr
    assert {p.name for p in committed} <= {p.name for p in tmp_path.glob("scaling_*.png")}  # drawn, elsewhere
    assert {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in committed} == before


def test_the_guide_reports_the_committed_strictness_trade():
    """The user guide's "How strict" table is the committed benchmark's ``by_threshold`` figures, both halves."""
    import json
    import re

    pooled = json.loads((EVALS / "results" / "bench_answers.json").read_text())["offline_e2e"]["pooled"]
    guide = (REPO / "docs" / "user-guide.md").read_text()
    rows = re.findall(r"^\| (0\.\d\d)[^|]* \| (\d+)% \| (\d+)% \| (\d+)% \| (\d+)% \|$", guide, re.MULTILINE)
    assert len(rows) == len(pooled["by_threshold"]) == 5, rows
    for t, answered, right, a_answered, a_right in rows:
        for half, shown, ok in (("by_threshold", answered, right), ("answerable_by_threshold", a_answered, a_right)):
            row = pooled[half][t]
            assert (int(shown), int(ok)) == (round(100 * row["answered"]), round(100 * row["right"])), (t, half)
