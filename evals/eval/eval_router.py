"""Router evaluation on the shared UniversalRAG routing split: estimates of generalisation, never in-sample.

Evaluates the recipe of the shipped router (the ``config`` stored in its artifact: canonical routing
text, augmentation, classifier, distillation) and writes ``evals/results/router_eval.json`` (plus
``router_confusion.png``):

* **stratified 5-fold CV** (by source dataset): accuracy, per route, per source, confusion, ECE. Each
  fold refits everything on its training part: vocabulary, standardisation, classifier, temperature,
  the augmented copies (of training rows only) and, when distilling, the teacher's soft labels (from
  teachers that never saw the fold's test rows);
* **out-of-fold invariance**: each fold's model also routes every perturbed form of its test questions
  (:mod:`mmroute.training.perturbations`, test-pool wrappings the training augmentation never used); the rate
  of unchanged routes per perturbation (overall and per route) and the accuracy on the perturbed forms;
* **source-grouped CV** (:func:`mmroute.training.router.source_grouped_folds`): each fold tests on a
  source dataset its training part never saw, for the two routes with two sources (paragraph: SQuAD /
  Natural Questions; video: the two VideoRAG sets); the four single-source routes cannot be held out
  that way (their route would be unlearnable) and are split at random, so only the paragraph and video
  numbers measure a new source;
* **template-grouped CV**: near-duplicate questions (MiniLM cosine >= ``--group-cos``) never straddle
  train and test;
* calibration, federated selection (RAGRoute-style thresholds) and the multi-route policy on the
  out-of-fold probabilities;
* the **shipped router** itself: route invariance on all 2,425 questions under each perturbation (its
  training questions, so these rates are upper bounds; the out-of-fold ones above are the estimate)
  and latency per single query (batch of one, embedding included) on this machine.

MiniLM features (and the teacher's) are cached on disk (``--cache``), so re-runs skip the encoders.

    .venv/bin/python evals/eval/eval_router.py [--data ../shared/data/routing/universalrag_train.jsonl]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from mmroute.routing import default_router, selection_tradeoff  # noqa: E402
from mmroute.routing.dataset import RoutingExample, load_routing_jsonl  # noqa: E402
from mmroute.routing.embedding import FeatureCache, QueryFeatures  # noqa: E402
from mmroute.routing.evaluation import ROUTES, predicted_route, summarize  # noqa: E402
from mmroute.routing.model import RouterModel, default_artifact_dir  # noqa: E402
from mmroute.training.perturbations import EXTRA_PERTURBATIONS, PERTURBATIONS, perturb  # noqa: E402
from mmroute.training.router import CVReport, cross_validate, source_grouped_folds  # noqa: E402
from mmroute.training.router_fit import TrainConfig, routing_texts  # noqa: E402


def template_groups(emb: np.ndarray, cos: float) -> np.ndarray:
    n = len(emb)
    parent = list(range(n))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    sims = emb @ emb.T
    ii, jj = np.where(np.triu(sims, 1) >= cos)
    for a, b in zip(ii, jj):
        parent[find(a)] = find(b)
    return np.asarray([find(a) for a in range(n)])


def ece(probs: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    top = probs.max(axis=1)
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (top > lo) & (top <= hi)
        if m.any():
            total += m.mean() * abs(top[m].mean() - correct[m].mean())
    return float(total)


def plot_confusion(summary: dict, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = summary["confusion"]["labels"]
    m = np.asarray(summary["confusion"]["matrix"], dtype=float)
    norm = m / np.maximum(1, m.sum(axis=1, keepdims=True))
    fig, ax = plt.subplots(figsize=(6.2, 5.2))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=30)
    ax.set_yticks(range(len(labels)), labels)
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, int(m[i, j]), ha="center", va="center", color="white" if norm[i, j] > 0.6 else "black")
    ax.set_xlabel("predicted route")
    ax.set_ylabel("gold route")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def shipped_config() -> TrainConfig:
    """The training recipe recorded in the shipped artifact (so this evaluates what ships)."""
    cfg = dict(RouterModel.load(default_artifact_dir()).meta.get("config") or {})
    for k in ("char_range", "word_range"):
        if k in cfg:
            cfg[k] = tuple(cfg[k])
    known = set(TrainConfig.__dataclass_fields__)
    return TrainConfig(**{k: v for k, v in cfg.items() if k in known})


def teacher_for(cfg: TrainConfig, examples: list[RoutingExample], cache_dir: Path) -> Any:
    """The fold teacher of a distilled recipe (None without one); teacher features cached on disk."""
    if not (cfg.teacher and cfg.soft_weight > 0):
        return None
    from mmroute.training.router_distill import LayerFeatures, fold_teacher

    texts = routing_texts([e.question for e in examples], cfg)
    path = cache_dir / f"teacher-{Path(os.path.expanduser(cfg.teacher)).name}.npz"
    X = None
    if path.is_file():
        with np.load(path) as z:
            if z["texts"].tolist() == texts:
                X = z["X"].astype(np.float32)
    if X is None:
        t0 = time.perf_counter()
        X = LayerFeatures(cfg.teacher).features(texts)
        np.savez(path, texts=np.asarray(texts), X=X.astype(np.float16))
        print(f"teacher features of {len(texts)} texts in {time.perf_counter() - t0:.0f} s", flush=True)
    return fold_teacher(X, cfg, student_weight=cfg.teacher_student_weight)


def cv_summary(cv: CVReport, examples: list[RoutingExample]) -> dict[str, Any]:
    out = summarize(cv.routes_true, cv.routes_pred)
    correct = np.asarray([a == b for a, b in zip(cv.routes_true, cv.routes_pred)])
    out["ece"] = ece(cv.probabilities, correct)
    by_source = Counter(e.source for e in examples)
    out["per_source"] = {s: float(np.mean([c for c, e in zip(correct, examples) if e.source == s])) for s in by_source}
    errors = Counter((e.source, p) for e, p in zip(examples, cv.routes_pred) if p != e.route)
    out["top_confusions"] = [{"source": s, "predicted": p, "count": c} for (s, p), c in errors.most_common(10)]
    return out


def invariance(cv: CVReport, examples: list[RoutingExample]) -> dict[str, Any]:
    base = cv.probabilities.argmax(1)
    gold = np.asarray([cv.route_order.index(e.route) for e in examples])
    routes = np.asarray([e.route for e in examples])
    out: dict[str, Any] = {}
    for kind, p in cv.extra.get("probes", {}).items():
        pred = p.argmax(1)
        same = pred == base
        out[kind] = {
            "unchanged": float(same.mean()),
            "accuracy": float(np.mean(pred == gold)),
            "unchanged_per_route": {r: float(same[routes == r].mean()) for r in cv.route_order},
            "target": kind in PERTURBATIONS,
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "routing" / "universalrag_train.jsonl"))
    ap.add_argument("--out", default=str(REPO / "evals" / "results"))
    ap.add_argument("--cache", default="/tmp/mmroute-router-eval", help="directory of the feature caches")
    ap.add_argument("--group-cos", type=float, default=0.7)
    ap.add_argument("--latency-n", type=int, default=300)
    ap.add_argument(
        "--skip", default="", help="comma-separated parts to skip: stratified,source,grouped,shipped,latency"
    )
    ap.add_argument(
        "--merge",
        action="store_true",
        help="update the parts run here in an existing router_eval.json (run parts in parallel processes)",
    )
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cache_dir = Path(args.cache)
    cache_dir.mkdir(parents=True, exist_ok=True)
    examples = load_routing_jsonl(args.data)
    cache = FeatureCache(cache_dir / "minilm.npz")
    featurize = lambda texts: cache.features(texts, log=lambda m: print(m, flush=True))  # noqa: E731
    cfg = shipped_config()
    teacher = teacher_for(cfg, examples, cache_dir)
    kinds = PERTURBATIONS + EXTRA_PERTURBATIONS
    probes = {k: [perturb(e.question, k, seed=i) for i, e in enumerate(examples)] for k in kinds}
    results: dict[str, Any] = {
        "data": Path(args.data).name,
        "n": len(examples),
        "config": cfg.to_dict(),
        "date": time.strftime("%Y-%m-%d"),
        "note": "every accuracy here is out of fold",
    }

    # 1. stratified CV, with the perturbed forms of each fold's test questions
    if "stratified" not in skip:
        stratified(examples, featurize, cfg, probes, teacher, results, out)
    if "source" not in skip:
        source_grouped(examples, featurize, cfg, teacher, results)
    if "grouped" not in skip:
        template_grouped(examples, featurize, cfg, teacher, results, args.group_cos)
    if "shipped" not in skip:
        results["invariance_shipped"] = shipped_invariance(examples, probes, featurize)
        print(
            "shipped router, unchanged routes: "
            + ", ".join(f"{k} {v['unchanged']:.4f}" for k, v in results["invariance_shipped"]["rates"].items()),
            flush=True,
        )
    if "latency" not in skip:
        results["latency"] = latency(examples, args.latency_n)
        print(
            f"latency p50 {results['latency']['p50_ms']:.1f} ms, p95 {results['latency']['p95_ms']:.1f} ms", flush=True
        )
    path = out / "router_eval.json"
    if args.merge and path.is_file():
        merged = json.loads(path.read_text(encoding="utf-8"))
        merged.update(results)
        results = merged
    path.write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {path}")


def stratified(
    examples: list[RoutingExample],
    featurize: Any,
    cfg: TrainConfig,
    probes: dict[str, list[str]],
    teacher: Any,
    results: dict[str, Any],
    out: Path,
) -> None:
    t0 = time.perf_counter()
    cv = cross_validate(examples, featurize, cfg, probes=probes, teacher=teacher)
    strat = cv_summary(cv, examples)
    strat["seconds"] = round(time.perf_counter() - t0, 1)
    strat["error_examples"] = [
        {"question": e.question, "source": e.source, "gold": e.route, "predicted": p}
        for e, p in zip(examples, cv.routes_pred)
        if p != e.route
    ][:40]
    results["cv_stratified"] = strat
    results["invariance_out_of_fold"] = invariance(cv, examples)
    print(f"stratified 5-fold: accuracy {strat['accuracy']:.4f}  ECE {strat['ece']:.3f}", flush=True)
    for k, v in results["invariance_out_of_fold"].items():
        print(f"  {k:22s} unchanged {v['unchanged']:.4f}  accuracy {v['accuracy']:.4f}", flush=True)
    plot_confusion(
        strat,
        out / "router_confusion.png",
        f"Router, 5-fold stratified CV (n={len(examples)}, acc={strat['accuracy']:.3f})",
    )

    # federated selection and the multi-route policy on the out-of-fold probabilities
    pts = selection_tradeoff(
        cv.probabilities, cv.route_order, cv.routes_true, [0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7]
    )
    results["federated"] = [p.__dict__ for p in pts]
    from mmroute.routing.decision import MultiRoutePolicy
    from mmroute.types import RouteScore

    pol = MultiRoutePolicy()
    multi, rescued, wrong = 0, 0, 0
    for i, g in enumerate(cv.routes_true):
        ranked = sorted(
            (RouteScore(r, float(cv.probabilities[i, j])) for j, r in enumerate(cv.route_order)),
            key=lambda rs: -rs.probability,
        )
        ch = pol.choose(ranked)
        multi += len(ch) > 1
        wrong += ch[0] != g
        rescued += ch[0] != g and g in ch
    results["multi_route"] = {
        "share_multi": multi / len(examples),
        "top1_errors": wrong,
        "errors_covered_by_second_route": rescued,
        "policy": pol.__dict__,
    }


def source_grouped(
    examples: list[RoutingExample], featurize: Any, cfg: TrainConfig, teacher: Any, results: dict[str, Any]
) -> None:
    folds, info = source_grouped_folds([str(e.source) for e in examples], [e.route for e in examples])
    scv = cross_validate(examples, featurize, cfg, teacher=teacher, folds=folds)
    sg = cv_summary(scv, examples)
    sg.update(info)
    sg["note"] = (
        "paragraph and video: every test question comes from a source dataset its fold never trained on; "
        "no, document, image, clip have one source each and are split at random (2-fold CV)"
    )
    results["cv_source_grouped"] = sg
    print(
        f"source-grouped ({info['k']} folds): accuracy {sg['accuracy']:.4f}; per source "
        + ", ".join(f"{s} {a:.3f}" for s, a in sg["per_source"].items()),
        flush=True,
    )


def template_grouped(
    examples: list[RoutingExample],
    featurize: Any,
    cfg: TrainConfig,
    teacher: Any,
    results: dict[str, Any],
    group_cos: float,
) -> None:
    emb = featurize(routing_texts([e.question for e in examples], cfg)).embedding
    groups = template_groups(emb, group_cos)
    gcv = cross_validate(examples, featurize, cfg, groups=groups, teacher=teacher)
    grouped = summarize(gcv.routes_true, gcv.routes_pred)
    grouped["groups"] = int(len(set(groups)))
    grouped["largest_group"] = int(np.bincount(np.unique(groups, return_inverse=True)[1]).max())
    grouped["group_cos"] = group_cos
    results["cv_grouped"] = grouped
    print(f"template-grouped 5-fold (cos>={group_cos}): accuracy {grouped['accuracy']:.4f}", flush=True)


def shipped_invariance(examples: list[RoutingExample], probes: dict[str, list[str]], featurize: Any) -> dict[str, Any]:
    """Routes of the shipped router (``TrainedRouter.route``, features batched) on every question and
    every perturbed form; the share unchanged per perturbation."""
    from mmroute.routing import TrainedRouter

    router = TrainedRouter()
    router.warm_up()
    texts = {"": [e.question for e in examples], **probes}
    routed: dict[str, list[str]] = {}
    for kind, qs in texts.items():
        canon = [router.model.routing_text(q) for q in qs]
        f = featurize(canon)
        routed[kind] = [
            predicted_route(router.route(q, [], feats=QueryFeatures(f.embedding[i : i + 1], f.layers[i : i + 1])))
            for i, q in enumerate(qs)
        ]
    base = np.asarray(routed[""])
    rates = {
        k: {"unchanged": float(np.mean(np.asarray(v) == base)), "target": k in PERTURBATIONS}
        for k, v in routed.items()
        if k
    }
    return {
        "n": len(examples),
        "rates": rates,
        "note": "the shipped router on its own training questions (perturbed with test-pool wrappings): "
        "an upper bound; invariance_out_of_fold is the estimate for unseen questions",
    }


def latency(examples: list[RoutingExample], n: int) -> dict[str, Any]:
    import torch

    router = default_router()
    router.warm_up()
    rng = np.random.default_rng(0)
    idx = rng.choice(len(examples), size=min(n, len(examples)), replace=False)
    router.route("warm up", [])
    lat = []
    load0 = os.getloadavg()[0]
    for i in idx:
        t = time.perf_counter()
        router.route(examples[i].question, [])
        lat.append((time.perf_counter() - t) * 1000)
    return {
        "n": len(lat),
        "p50_ms": float(np.percentile(lat, 50)),
        "p95_ms": float(np.percentile(lat, 95)),
        "cpu_threads": int(torch.get_num_threads()),
        "cpus": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
        "load_average_before_after": [round(load0, 2), round(os.getloadavg()[0], 2)],
        "note": "default router, one query at a time, MiniLM embedding included; the machine is shared with "
        "other workers, so the load average is recorded beside the numbers",
    }


if __name__ == "__main__":
    assert set(ROUTES) == {"no", "paragraph", "document", "image", "clip", "video"}
    main()
