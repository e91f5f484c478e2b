"""Truthfulness with the verifier on and off, for one or more generators, over a KB.

    python -m evals.eval.eval_answers --home H --kb squad \\
        --questions ../shared/data/text/squad2_dev/questions.jsonl --generator offline --generator smollm2 --limit 60

One pipeline run per generator gives both rows: "verifier off" scores every draft as given, "verifier on"
scores the guarded answers (drafts the verifier does not support become "I don't know").
Per-question lines go to ``--out-dir`` (``answers_<generator>.jsonl``).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from ..paths import SCRATCH


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--home", type=Path, default=None)
    ap.add_argument("--kb", action="append", required=True)
    ap.add_argument("--questions", type=Path, required=True)
    ap.add_argument("--generator", action="append", default=None, help="offline (default), smollm2, ...")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument(
        "--out-dir", type=Path, default=SCRATCH, help="folder for the per-question lines (default: a scratch folder)"
    )
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from mmroute.config import PipelineConfig
    from mmroute.evaluation.answers import evaluate_answers
    from mmroute.evaluation.questions import load_questions
    from mmroute.kb import Home
    from mmroute.pipeline import Pipeline

    qs = load_questions(args.questions)[: args.limit]
    home = Home(args.home)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for gen in args.generator or ["offline"]:
        pipe = Pipeline.from_home(home, PipelineConfig(generator=gen, kbs=args.kb, k=args.k))
        pipe.warm_up()
        res = evaluate_answers(pipe.ask, qs, args.out_dir / f"answers_{gen}.jsonl")
        a = res.aggregates
        for label, agg in (("on", a), ("off", a["unguarded"])):
            rows.append(
                {
                    "generator": gen,
                    "verifier": label,
                    "n": agg["scored"],
                    "truthfulness": agg["truthfulness"],
                    "correct": agg["correct_rate"],
                    "wrong": agg["wrong_rate"],
                    "abstain": agg["abstain_rate"],
                }
            )
    print(f"{'generator':<10} {'verifier':<8} {'n':>5} {'truthful':>9} {'correct':>8} {'wrong':>7} {'abstain':>8}")
    for r in rows:
        print(
            f"{r['generator']:<10} {r['verifier']:<8} {r['n']:>5} {r['truthfulness']:>+9.3f} {r['correct']:>8.1%} "
            f"{r['wrong']:>7.1%} {r['abstain']:>8.1%}"
        )
    (args.out_dir / "eval_answers.json").write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
