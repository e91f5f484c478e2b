"""Experiment: do two readers trained with different seeds beat one, averaged in weights or in logits?

The packaged reader (seed 0) and readers trained the same way with other seeds (``mmroute reader train
--data $DATA/text/squad2_train_partial/train-v2.0-first10articles.json --seed 1 --out DIR``, about 40
minutes on 2 cores) are compared on the 473 answerable questions of the 3 shared SQuAD dev articles, which
none of them was trained on, each given its own paragraph. Every row is scored as the reader benchmark
scores the packaged reader: each article with the span-length penalty chosen on the other two.

- each reader alone;
- the uniform weight soup: the readers' trained tensors averaged (one model, same size and speed);
- the logit ensemble: the readers' start/end logits averaged per window (N model calls per question).

    python -m evals.experiments.exp_reader_soup --reader /work/reader_seed1 [--reader DIR ...]

Measured 2026-11-30 with the packaged reader (seed 0) and one more seed (seed 1, 35 minutes on 2 cores):
seed 0 EM 0.4926 / F1 0.5879; seed 1 0.4778 / 0.5801; the weight soup 0.4482 / 0.5498 (the two span heads
were fitted from different random starts, and their average is worse than either); the logit ensemble
0.4841 / 0.5903, twice the reading time for no gain. Not kept: the spread between seeds (1.5 points of
EM) is as large as what averaging them buys.

Writes ``exp_reader_soup.json`` (to ``--out``; default: a scratch folder).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..paths import SCRATCH, write_result

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def soup(folders: Sequence[Path], out: Path) -> Path:
    """A reader folder whose trained tensors are the mean of ``folders``' (mmroute delta format)."""
    import torch
    from safetensors.torch import load_file, save_file

    from mmroute.reading.weights import META_FILE, WEIGHTS_FILE

    tensors = [load_file(str(f / WEIGHTS_FILE)) for f in folders]
    keys = set(tensors[0])
    if any(set(t) != keys for t in tensors):
        raise SystemExit("the readers were trained over different tensors; a soup needs the same recipe")
    mean = {k: torch.stack([t[k].float() for t in tensors]).mean(0).to(tensors[0][k].dtype) for k in keys}
    out.mkdir(parents=True, exist_ok=True)
    save_file(mean, str(out / WEIGHTS_FILE))
    shutil.copy(folders[0] / META_FILE, out / META_FILE)
    return out


def ensemble(readings: Sequence[Any]) -> Any:
    """One reading from several readers' readings of the same passages: start/end logits averaged."""
    from mmroute.reading.decode import decode

    first = readings[0]
    starts = [np.mean([r.windows[i].start for r in readings], axis=0) for i in range(len(first.windows))]
    ends = [np.mean([r.windows[i].end for r in readings], axis=0) for i in range(len(first.windows))]
    return decode(first.windows, starts, ends, first.passages, length_penalty=0.0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m evals.experiments.exp_reader_soup", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("--reader", type=Path, action="append", required=True, help="a reader folder (repeatable)")
    ap.add_argument("--out", type=Path, default=SCRATCH, help="a .json file or a folder (default: a scratch folder)")
    args = ap.parse_args(argv)
    from mmroute.corpora.shared import data_root
    from mmroute.reading.evaluation import held_out_length_penalty, read_answerable
    from mmroute.reading.reader import TransformerReader
    from mmroute.reading.squad import load_squad
    from mmroute.reading.weights import PACKAGED_DIR

    say = lambda m: print(f"[exp_reader_soup] {m}", file=sys.stderr, flush=True)  # noqa: E731
    examples = [e for e in load_squad(data_root() / "text/squad2_dev/dev-v2.0-shared3articles.json") if e.answerable]
    folders = [PACKAGED_DIR, *args.reader]
    result: dict[str, Any] = {"readers": [str(f) for f in folders], "questions": len(examples), "rows": {}}
    readings: dict[str, list[Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        candidates = {f"reader {i} ({f.name})": f for i, f in enumerate(folders)}
        candidates["weight soup"] = soup(folders, Path(tmp) / "soup")
        for name, folder in candidates.items():
            pairs = read_answerable(TransformerReader(str(folder), device="cpu", length_penalty=0.0), examples)
            readings[name] = [r for _, r in pairs]
            result["rows"][name] = held_out_length_penalty(pairs)
            say(f"{name}: {result['rows'][name]}")
    singles = [readings[n] for n in candidates if n.startswith("reader ")]
    pairs = [(e, ensemble([rs[i] for rs in singles])) for i, e in enumerate(examples)]
    result["rows"]["logit ensemble"] = held_out_length_penalty(pairs)
    say(f"logit ensemble: {result['rows']['logit ensemble']}")
    out = write_result(args.out, "exp_reader_soup.json", result)
    say(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
