"""Experiment: is a frozen all-mpnet-base-v2 probe (CPU-feasible) a teacher worth distilling into the router?

Featurises the canonical routing texts with all-mpnet-base-v2 (mean-pooled states of its 12 layers,
:class:`mmroute.training.router_distill.LayerFeatures`; ~8 minutes on two shared cores), fits the teacher probe
(:func:`mmroute.training.router_distill.fit_encoder_probe`) out of fold on the stratified 5-fold split the router's
CV uses (seed 0, by source) and reports its accuracy, and that of its average with a student's out-of-fold
probabilities (``--student``, saved by ``exp_router_cv --save-probs``). Results are in
``evals/results/exp_router_cv_teacher.json``.

    python -m evals.experiments.exp_router_teacher --features /tmp/mpnet_c1.npz --student /tmp/probs/c1_aug0.npy
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from mmroute.routing.canonical import canonical_text  # noqa: E402
from mmroute.routing.dataset import ROUTE_VALUES, load_routing_jsonl  # noqa: E402
from mmroute.routing.model import route_sums  # noqa: E402
from mmroute.training.router_distill import LayerFeatures, fit_encoder_probe  # noqa: E402
from mmroute.training.router_fit import route_labels, stratified_folds  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "routing" / "universalrag_train.jsonl"))
    ap.add_argument("--features", required=True, help="npz cache of the teacher features (written if missing)")
    ap.add_argument("--version", type=int, default=1, help="canonicalisation version of the texts")
    ap.add_argument("--student", default="", help="(n, 6) out-of-fold route probabilities of a student (.npy)")
    args = ap.parse_args()
    ex = load_routing_jsonl(args.data)
    path = Path(args.features)
    if not path.is_file():
        texts = [canonical_text(e.question, args.version) for e in ex]
        np.savez(path, texts=np.asarray(texts), X=LayerFeatures().features(texts))
    X = np.load(path)["X"]
    y, mapping = route_labels(ex, True)
    labels = sorted(set(y))
    lr = [mapping[v] for v in labels]
    routes = sorted(set(lr), key=lr.index)
    order = [r for r in ROUTE_VALUES if r in routes]
    gold = np.asarray([order.index(e.route) for e in ex])
    p = np.zeros((len(ex), len(labels)))
    for tr, te in stratified_folds(y, 5, 0, None):
        p[te] = fit_encoder_probe(X[tr], [y[i] for i in tr], labels)(X[te])
    agg, teacher = route_sums(p, lr), np.zeros((len(ex), len(order)))
    for j, r in enumerate(routes):
        teacher[:, order.index(r)] = agg[:, j]
    print("teacher out-of-fold accuracy", float(np.mean(teacher.argmax(1) == gold)))
    if args.student:
        s = np.load(args.student)
        for w in (0.2, 0.3, 0.4, 0.5, 0.6, 0.7):
            print(
                f"student/teacher average, teacher weight {w}:",
                float(np.mean(((1 - w) * s + w * teacher).argmax(1) == gold)),
            )


if __name__ == "__main__":
    main()
