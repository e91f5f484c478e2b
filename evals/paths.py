"""Where the evaluation scripts read and write.

``RESULTS`` (``evals/results/``) holds the committed results the README cites. Benchmarks never write
there unless asked (``--out evals/results``, as ``make bench`` does): by default they write to
``SCRATCH``, ``$MMROUTE_EVAL_OUT`` or ``<tmp>/mmroute-evals``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "evals" / "results"
SCRATCH = Path(os.environ.get("MMROUTE_EVAL_OUT") or Path(tempfile.gettempdir()) / "mmroute-evals")
