"""The reader's learning curve on the shared SQuAD 2.0 dev articles (never trained on), strict SQuAD scoring.

    python -m evals.experiments.exp_reader_learning_curve \
        --reader "4.7k (previous packaged reader)=/tmp/old-reader" \
        --reader "~5k windows of the new run=CKPT/snapshots/windows-5000" \
        --reader "all (packaged)=packaged" --out evals/results/exp_reader_learning_curve.json

Each ``--reader LABEL=PATH`` is read over every dev question with its own paragraph. Reported per reader:

- ``has_ans_em`` / ``has_ans_f1``: the best non-null span on the answerable questions (the reader made to answer),
  at the length penalty stored with the reader (none for a snapshot) and with none (``*_no_penalty``);
- ``no_answer_auc``: how well the margin over [CLS] ranks answerable above unanswerable questions;
- SQuAD 2.0 official ``exact``/``f1`` at threshold 0 and ``best_f1`` with ``best_f1_thresh`` (the official
  script's oracle threshold, chosen on these questions: an upper bound, not a held-out figure);
- ``coverage_at_precision``: answering only the questions with the highest margins, the largest share of all
  questions that can be answered with at least 80% / 90% of the answers exactly right (selective QA, Kamath
  et al. 2020), and the risk-coverage curve behind it (plotted).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
DEV = Path(os.environ.get("MMROUTE_DATA") or REPO.parent / "shared" / "data") / "text" / "squad2_dev"


def risk_coverage(scored: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """(coverage, precision) after each question, answering in order of decreasing confidence;
    ``scored`` = (confidence, 1.0 if the answer would be exactly right else 0.0) over all questions."""
    order = sorted(scored, key=lambda x: -x[0])
    out: list[tuple[float, float]] = []
    right = 0.0
    for i, (_, ok) in enumerate(order, 1):
        right += ok
        out.append((i / len(order), right / i))
    return out


def coverage_at(curve: list[tuple[float, float]], precision: float) -> float:
    return max((c for c, p in curve if p >= precision), default=0.0)


def best_f1_threshold(rows: list[tuple[float, float, bool]]) -> tuple[float, float]:
    """The SQuAD 2.0 script's best threshold: rows = (margin, F1 if answered, answerable); a question below
    the threshold is answered empty (F1 1 when unanswerable, 0 when answerable)."""
    best, best_t = -1.0, 0.0
    for t in sorted({m for m, _, _ in rows} | {float("-inf")}):
        f1 = sum((f if m > t else float(not a)) for m, f, a in rows) / len(rows)
        if f1 > best:
            best, best_t = f1, t
    return best, best_t


def evaluate(path: str) -> tuple[dict[str, Any], list[tuple[float, float]]]:
    from mmroute.reading.decode import redecode
    from mmroute.reading.evaluation import no_answer_auc
    from mmroute.reading.reader import TransformerReader
    from mmroute.reading.squad import exact_match, f1_score, load_squad

    examples = load_squad(DEV / "dev-v2.0-shared3articles.json")
    reader = TransformerReader(path, device="cpu")
    penalty = reader.length_penalty
    em = f1 = em0 = f10 = 0.0
    n_ans = 0
    margins: list[tuple[float, bool]] = []
    official: list[tuple[float, float, bool]] = []
    selective: list[tuple[float, float]] = []
    for ex in examples:
        r = reader.read(ex.question, [ex.context])
        text = r.best.text if r.best else ""
        plain = redecode(r, length_penalty=0.0).best
        text0 = plain.text if plain else ""
        if ex.answerable:
            n_ans += 1
            em += exact_match(text, ex.answers)
            f1 += f1_score(text, ex.answers)
            em0 += exact_match(text0, ex.answers)
            f10 += f1_score(text0, ex.answers)
        margins.append((float(r.margin), ex.answerable))
        f_answered = f1_score(text, ex.answers) if ex.answerable else 0.0
        official.append((float(r.margin), f_answered, ex.answerable))
        selective.append((float(r.margin), exact_match(text, ex.answers) if ex.answerable else 0.0))
    n = len(examples)
    at0_f1 = sum((f if m > 0 else float(not a)) for m, f, a in official) / n
    at0_em = sum((ok if m > 0 else float(not a)) for (m, _, a), (_, ok) in zip(official, selective)) / n
    best_f1, thresh = best_f1_threshold(official)
    curve = risk_coverage(selective)
    return {
        "reader": path,
        "trained": {k: (reader.meta.get("trained") or {}).get(k) for k in ("train_questions", "windows_seen", "steps")},
        "length_penalty": penalty,
        "questions": n,
        "answerable": n_ans,
        "has_ans_em": round(em / n_ans, 4),
        "has_ans_f1": round(f1 / n_ans, 4),
        "has_ans_em_no_penalty": round(em0 / n_ans, 4),
        "has_ans_f1_no_penalty": round(f10 / n_ans, 4),
        "no_answer_auc": no_answer_auc(margins),
        "squad2_exact_at_0": round(at0_em, 4),
        "squad2_f1_at_0": round(at0_f1, 4),
        "squad2_best_f1": round(best_f1, 4),
        "squad2_best_f1_thresh": round(thresh, 3),
        "coverage_at_precision": {"0.8": round(coverage_at(curve, 0.8), 4), "0.9": round(coverage_at(curve, 0.9), 4)},
    }, curve


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reader", action="append", required=True, help="LABEL=PATH (packaged, or a reader folder)")
    ap.add_argument("--out", type=Path, required=True, help="JSON results (a .png plot is written beside it)")
    args = ap.parse_args(argv)
    rows, curves = [], {}
    for spec in args.reader:
        label, _, path = spec.partition("=")
        row, curve = evaluate(path or label)
        row["label"] = label
        rows.append(row)
        curves[label] = curve
        print(json.dumps(row), file=sys.stderr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"dev": str(DEV.name), "readers": rows}, indent=2) + "\n", encoding="utf-8")
    plot(rows, curves, args.out.with_suffix(".png"))
    return 0


def plot(rows: list[dict[str, Any]], curves: dict[str, list[tuple[float, float]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    labels = [r["label"] for r in rows]
    x = range(len(rows))
    for key, name in (("has_ans_em", "HasAns EM"), ("has_ans_f1", "HasAns F1"), ("no_answer_auc", "no-answer AUC")):
        a.plot(x, [r[key] for r in rows], marker="o", label=name)
    a.axhline(0.6, ls=":", c="grey")
    a.axhline(0.7, ls="--", c="grey")
    a.axhline(0.8, ls="-.", c="grey")
    a.set_xticks(list(x), labels, rotation=15, fontsize=7)
    a.set_ylim(0.2, 1.0)
    a.set_title("reader on the 3 shared SQuAD 2.0 dev articles (targets grey)")
    a.legend(fontsize=8)
    for label, curve in curves.items():
        b.plot([c for c, _ in curve], [p for _, p in curve], label=label)
    b.axhline(0.8, ls=":", c="grey")
    b.axhline(0.9, ls=":", c="grey")
    b.set_xlabel("coverage (share of the 950 questions answered)")
    b.set_ylabel("precision (exactly right)")
    b.set_title("risk-coverage by the reader's margin")
    b.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    raise SystemExit(main())
