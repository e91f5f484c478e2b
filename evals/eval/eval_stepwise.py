"""Single-shot vs. step-wise retrieval on a multi-hop question set, per source dataset.

Reports, for each retriever, all-gold and any-gold recall at k = 2, 5, 10, average steps and KB
calls, the stepping rate (questions that took 2+ steps) with the stop reason of those that did not,
and latency per question (p50/p95/mean). ``--lodo`` also chooses the step-wise settings (follow-up
ranking weight and depth, the planner's ``skip_top``) with each source dataset held out in turn, so
the held-out figure is one that was not tuned on. Ranking does not depend on k beyond truncation
(the step-wise loop's budgets do not use k), so one run at the largest k gives every cutoff.

Usage (after `mmroute index --kb hop --input .../multihop_ircot/corpus.jsonl --granularity paragraph`)::

    python -m evals.eval.eval_stepwise --home HOME --kb hop \
        --questions ../shared/data/text/multihop_ircot/questions.jsonl [--lodo] [--out results.json]

    # the committed figures (evals/results/eval_stepwise.json)
    python -m evals.eval.eval_stepwise --home HOME --kb hop --lodo \
        --questions ../shared/data/text/multihop_ircot/questions.jsonl --out evals/results/eval_stepwise.json

    # HotpotQA distractor (official JSON): build corpus + questions, index, evaluate
    python -m mmroute.corpora.hotpotqa --input hotpot_dev_distractor_v1.json --out-dir hotpot/
    mmroute index --kb hotpot --input hotpot/corpus.jsonl --granularity paragraph --home HOME
    python -m evals.eval.eval_stepwise --home HOME --kb hotpot --questions hotpot/questions.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections import Counter, defaultdict
from itertools import product
from pathlib import Path
from typing import Any

CUTOFFS = (2, 5, 10)
GRID = {"followup_weight": (0.0, 0.5, 0.7, 0.9), "followup_top": (1, 2, 3), "skip_top": (1, 2, 5)}
"""The step-wise settings ``--lodo`` chooses among (``skip_top`` is the offline planner's)."""


def _lodo(home: Any, questions: list[dict[str, Any]], kb: str) -> dict[str, Any]:
    """Leave one source dataset out: for each dataset, the grid setting with the best all@5 on the
    others, and that setting's all@5 on the held-out one (the figure that was not tuned on)."""
    from mmroute.retrieval.planners.offline import OfflinePlanner
    from mmroute.retrieval.stepwise import StepwiseRetriever

    scores: dict[tuple[Any, ...], Counter[str]] = {}
    sizes = Counter(q.get("dataset") or "all" for q in questions)
    for weight, top, skip in product(*GRID.values()):
        sw = StepwiseRetriever(home, planner=OfflinePlanner(skip_top=skip), followup_weight=weight, followup_top=top)
        hits: Counter[str] = Counter()
        for q in questions:
            ids = sw.retrieve(q["question"], k=5, kbs=[kb]).ids
            hits[q.get("dataset") or "all"] += set(q["gold_ids"]) <= set(ids[:5])
        scores[(weight, top, skip)] = hits
    held: dict[str, Any] = {}
    total = 0
    for ds in sorted(sizes):
        # ties go to the mildest setting (smallest weight, depth, skip)
        chosen = max(scores, key=lambda c: (sum(v for d, v in scores[c].items() if d != ds), [-x for x in c]))
        total += scores[chosen][ds]
        held[ds] = {
            "n": sizes[ds],
            "chosen": dict(zip(GRID, chosen)),
            "all@5": round(scores[chosen][ds] / sizes[ds], 3),
        }
    return {
        "grid": {k: list(v) for k, v in GRID.items()},
        "held_out": held,
        "held_out_all@5": round(total / max(len(questions), 1), 3),
        "every_setting": [
            {**dict(zip(GRID, c)), "all@5": round(sum(v.values()) / max(len(questions), 1), 3)}
            for c, v in scores.items()
        ],
    }


def _run(retriever: Any, questions: list[dict[str, Any]], kb: str, k: int) -> dict[str, Any]:
    per_ds: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"n": 0, **{f"all@{c}": 0 for c in CUTOFFS}, **{f"any@{c}": 0 for c in CUTOFFS}}
    )
    steps = calls = stepped = 0
    one_step: Counter[str] = Counter()
    lat: list[float] = []
    rows = []
    for q in questions:
        t = time.perf_counter()
        res = retriever.retrieve(q["question"], k=k, kbs=[kb])
        lat.append((time.perf_counter() - t) * 1000)
        ids = res.ids
        steps += len(res.steps)
        if len(res.steps) >= 2:
            stepped += 1
        else:
            one_step[res.stop_reason.split(":")[0]] += 1
        calls += sum(len(s.kbs) for s in res.steps)
        gold = set(q["gold_ids"])
        for ds in (q.get("dataset") or "all", "ALL"):
            d = per_ds[ds]
            d["n"] += 1
            for c in CUTOFFS:
                d[f"all@{c}"] += gold <= set(ids[:c])
                d[f"any@{c}"] += bool(gold & set(ids[:c]))
        rows.append(
            {"id": q["id"], "retrieved_ids": ids, "stop": res.stop_reason, "queries": [s.query for s in res.steps]}
        )
    table = {ds: {key: (round(v / d["n"], 3) if key != "n" else v) for key, v in d.items()} for ds, d in per_ds.items()}
    n = max(len(questions), 1)
    return {
        "recall": table,
        "avg_steps": round(steps / n, 3),
        "stepping_rate": round(stepped / n, 3),
        "one_step_stops": dict(one_step.most_common()),
        "avg_kb_calls": round(calls / n, 3),
        "p50_ms": round(statistics.median(lat), 1) if lat else 0.0,
        "p95_ms": round(sorted(lat)[int(0.95 * (len(lat) - 1))], 1) if lat else 0.0,
        "mean_ms": round(statistics.fmean(lat), 1) if lat else 0.0,
        "rows": rows,
    }


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", required=True)
    ap.add_argument("--kb", required=True)
    ap.add_argument("--questions", required=True, type=Path)
    ap.add_argument("--limit", type=int, default=0, help="evaluate only the first N questions")
    ap.add_argument("--max-steps", type=int, default=3)
    ap.add_argument("--only", choices=["single", "stepwise"], default=None)
    ap.add_argument(
        "--lodo", action="store_true", help="also choose the step-wise settings with each source dataset held out"
    )
    ap.add_argument("--out", type=Path, default=None, help="write the full report (with per-question rows)")
    args = ap.parse_args(argv)

    from mmroute.kb import Home
    from mmroute.retrieval.single import SingleShotRetriever
    from mmroute.retrieval.stepwise import StepwiseRetriever

    questions = [json.loads(line) for line in args.questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    questions = [q for q in questions if q.get("gold_ids")]
    if args.limit:
        questions = questions[: args.limit]
    home = Home(args.home)
    home.open(args.kb).search("warm up", k=1)
    report: dict[str, Any] = {"kb": args.kb, "questions": str(args.questions), "n": len(questions)}
    k = max(CUTOFFS)
    if args.only in (None, "single"):
        report["single"] = _run(SingleShotRetriever(home), questions, args.kb, k)
    if args.only in (None, "stepwise"):
        sw = StepwiseRetriever(home, max_steps=args.max_steps)
        sw.retrieve(questions[0]["question"], k=k, kbs=[args.kb])  # builds the lexical index once
        report["stepwise"] = _run(sw, questions, args.kb, k)
    if args.lodo:
        report["lodo"] = _lodo(home, questions, args.kb)
        for ds, h in report["lodo"]["held_out"].items():
            print(f"== held out {ds:18s} all@5 {h['all@5']:.3f} with {h['chosen']}")
        print(f"== held out, all datasets: all@5 {report['lodo']['held_out_all@5']:.3f}")
    for name in ("single", "stepwise"):
        if name in report:
            r = report[name]
            print(
                f"== {name}: steps {r['avg_steps']}  2+ steps {r['stepping_rate']:.3f} {r['one_step_stops']}  "
                f"kb calls {r['avg_kb_calls']}  "
                f"p50 {r['p50_ms']} ms  p95 {r['p95_ms']} ms  mean {r['mean_ms']} ms"
            )
            for ds, row in sorted(r["recall"].items()):
                print(
                    f"   {ds:18s} n={row['n']:4d}  "
                    + "  ".join(f"all@{c} {row[f'all@{c}']:.3f}" for c in CUTOFFS)
                    + "   "
                    + "  ".join(f"any@{c} {row[f'any@{c}']:.3f}" for c in CUTOFFS)
                )
    if args.out:
        args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
