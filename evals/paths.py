"""Where the evaluation scripts read and write.

``RESULTS`` (``evals/results/``) holds the committed results the README cites. Benchmarks never write
there unless asked (``--out evals/results``, as ``make bench`` does): by default they write to
``SCRATCH``, ``$MMROUTE_EVAL_OUT`` or ``<tmp>/mmroute-evals``.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "evals" / "results"
SCRATCH = Path(os.environ.get("MMROUTE_EVAL_OUT") or Path(tempfile.gettempdir()) / "mmroute-evals")


def report_path(out: Path, name: str) -> Path:
    """``out`` when it names a ``.json`` file, else ``out/name``: a benchmark's ``--out`` takes either, so
    ``--out evals/results`` cannot end a long run by failing to write into a folder."""
    return out if out.suffix == ".json" else out / name


def write_result(out: Path, name: str, result: Any) -> Path:
    """Write ``result`` as indented JSON to ``out`` (a ``.json`` file) or to ``out/name`` (a folder); the path."""
    path = report_path(out, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    return path
