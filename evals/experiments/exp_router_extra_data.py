"""Experiment: does more training data of the confused sources help the linear router?

Most of the router's errors are SQuAD and HotpotQA questions taken for one another. ``../shared``
holds more questions of those sources than the routing split: 950 SQuAD 2.0 dev questions, 29
HotpotQA (and 60 other multi-hop) questions in ``multihop_ircot``, and 849 NQ-style questions in
FlashRAG's SKR set (lower case; the routing split's NQ questions are capitalised with a final "?",
so they are restyled the same way). Each set joins every training fold only
(:func:`mmroute.training.router.cross_validate` ``extra=``); accuracy is still measured on the routing
split alone, with its usual stratified 5-fold split.

    python -m evals.experiments.exp_router_extra_data

Writes ``evals/results/router_extra_data.json``. Measured 2026-11-22 (routing split alone: 0.9468):
+ SQuAD dev 0.9489; + multi-hop 0.9452; + SKR as NQ 0.9476; + SQuAD and multi-hop 0.9493; + all 0.9476.
At most +0.25 points, within what a different fold split moves, so the shipped router keeps its data.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("MMROUTE_DATA") or REPO.parent / "shared" / "data")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _nq_style(q: str) -> str:
    q = q.strip()
    q = q[:1].upper() + q[1:]
    return q if q.endswith("?") else q + "?"


def extra_sets(data: Path) -> dict[str, list]:
    from mmroute.routing.dataset import RoutingExample

    def lines(p: Path) -> list[dict]:
        return [json.loads(x) for x in p.read_text(encoding="utf-8").splitlines() if x.strip()]

    multihop = lines(data / "text" / "multihop_ircot" / "questions.jsonl")
    skr = json.loads((data / "text" / "flashrag_skr" / "skr_training.json").read_text(encoding="utf-8"))
    return {
        "squad_dev": [
            RoutingExample(d["question"], "paragraph", "squad")
            for d in lines(data / "text" / "squad2_dev" / "questions.jsonl")
        ],
        "hotpotqa": [
            RoutingExample(d["question"], "document", "hotpotqa") for d in multihop if d["dataset"] == "hotpotqa"
        ],
        "other_multihop_as_hotpotqa": [
            RoutingExample(d["question"], "document", "hotpotqa") for d in multihop if d["dataset"] != "hotpotqa"
        ],
        "skr_as_nq": [RoutingExample(_nq_style(d["question"]), "paragraph", "natural_questions") for d in skr],
    }


def main() -> int:
    from mmroute.routing.dataset import load_routing_jsonl
    from mmroute.routing.embedding import QueryFeatures, QueryFeaturizer
    from mmroute.training.router import cross_validate
    from mmroute.training.router_fit import TrainConfig

    ex = load_routing_jsonl(DATA / "routing" / "universalrag_train.jsonl")
    sets = extra_sets(DATA)
    feat = QueryFeaturizer()
    main_feats = feat.features([e.question for e in ex])
    set_feats = {k: feat.features([e.question for e in v]) for k, v in sets.items()}
    variants = [
        (),
        ("squad_dev",),
        ("hotpotqa", "other_multihop_as_hotpotqa"),
        ("skr_as_nq",),
        ("squad_dev", "hotpotqa", "other_multihop_as_hotpotqa"),
        tuple(sets),
    ]
    results: dict = {"n": len(ex), "extra_sizes": {k: len(v) for k, v in sets.items()}, "variants": []}
    for keys in variants:
        t0 = time.perf_counter()
        extra = None
        if keys:
            extra = (
                [e for k in keys for e in sets[k]],
                QueryFeatures(
                    np.concatenate([set_feats[k].embedding for k in keys]),
                    np.concatenate([set_feats[k].layers for k in keys]),
                ),
            )
        cv = cross_validate(ex, main_feats, TrainConfig(canonical=0, augment=0), extra=extra)  # the recipe of the time
        errs = Counter((e.source, p) for e, p in zip(ex, cv.routes_pred) if p != e.route)
        row = {
            "extra": list(keys),
            "accuracy": cv.accuracy,
            "top_confusions": [{"source": s, "predicted": p, "count": c} for (s, p), c in errs.most_common(4)],
            "seconds": round(time.perf_counter() - t0, 1),
        }
        results["variants"].append(row)
        print(json.dumps(row), flush=True)
    out = REPO / "evals" / "results" / "router_extra_data.json"
    out.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
