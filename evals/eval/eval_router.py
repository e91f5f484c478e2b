"""Router evaluation on the shared UniversalRAG routing split.

Measures (results in ``evals/results/router_eval.json`` and ``router_confusion.png``):

* 5-fold **stratified** cross-validated accuracy (by source dataset), per-route accuracy, confusion;
* 5-fold **grouped** CV where near-duplicate/templated questions (connected components of MiniLM
  cosine >= ``--group-cos``) never straddle train and test: a harder estimate of generalisation;
* **held-out source** probes: train without one source dataset of a two-source route (e.g. SQuAD) and
  measure how often its questions still reach the right route (domain shift, not the target metric);
* calibration (expected calibration error of the top probability) of the out-of-fold probabilities;
* federated selection (RAGRoute-style thresholds over the out-of-fold probabilities): KB queries
  saved against searching all five retrieval KBs, and the recall cost;
* latency of the default router per single query (batch of one, embedding included) on this CPU.

Each fold refits vocabulary, standardisation, classifier and temperature on its training part only.

    .venv/bin/python evals/eval/eval_router.py [--data ../shared/data/routing/universalrag_train.jsonl]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from mmroute.routing import default_router, selection_tradeoff  # noqa: E402
from mmroute.routing.embedding import QueryFeaturizer  # noqa: E402
from mmroute.routing.evaluation import ROUTES, predicted_route, summarize  # noqa: E402
from mmroute.routing.training import RoutingExample, TrainConfig, cross_validate, load_routing_jsonl  # noqa: E402


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "routing" / "universalrag_train.jsonl"))
    ap.add_argument("--out", default=str(REPO / "evals" / "results"))
    ap.add_argument("--group-cos", type=float, default=0.7)
    ap.add_argument("--latency-n", type=int, default=300)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    examples = load_routing_jsonl(args.data)
    texts = [e.question for e in examples]
    t0 = time.perf_counter()
    feats = QueryFeaturizer().features(texts)
    print(f"encoded {len(texts)} queries in {time.perf_counter() - t0:.0f} s", flush=True)
    cfg = TrainConfig()
    results: dict = {"data": Path(args.data).name, "n": len(examples), "config": cfg.to_dict()}

    # 1. stratified CV
    cv = cross_validate(examples, feats, cfg)
    strat = summarize(cv.routes_true, cv.routes_pred)
    correct = np.asarray([a == b for a, b in zip(cv.routes_true, cv.routes_pred)])
    strat["ece"] = ece(cv.probabilities, correct)
    by_source = Counter(e.source for e in examples)
    strat["per_source"] = {s: float(np.mean([c for c, e in zip(correct, examples) if e.source == s])) for s in by_source}
    errors = Counter((e.source, p) for e, p in zip(examples, cv.routes_pred) if p != e.route)
    strat["top_confusions"] = [{"source": s, "predicted": p, "count": c} for (s, p), c in errors.most_common(10)]
    strat["error_examples"] = [{"question": e.question, "source": e.source, "gold": e.route, "predicted": p}
                               for e, p in zip(examples, cv.routes_pred) if p != e.route][:40]
    results["cv_stratified"] = strat
    print(f"stratified 5-fold: accuracy {strat['accuracy']:.4f}  ECE {strat['ece']:.3f}", flush=True)
    plot_confusion(strat, out / "router_confusion.png",
                   f"Router, 5-fold stratified CV (n={len(examples)}, acc={strat['accuracy']:.3f})")

    # 2. grouped CV (near-duplicate templates held out together)
    groups = template_groups(feats.embedding, args.group_cos)
    gcv = cross_validate(examples, feats, cfg, groups=groups)
    grouped = summarize(gcv.routes_true, gcv.routes_pred)
    grouped["groups"] = int(len(set(groups)))
    grouped["largest_group"] = int(np.bincount(np.unique(groups, return_inverse=True)[1]).max())
    grouped["group_cos"] = args.group_cos
    results["cv_grouped"] = grouped
    print(f"grouped 5-fold (cos>={args.group_cos}): accuracy {grouped['accuracy']:.4f}", flush=True)

    # 3. held-out source probes
    probes = {}
    from mmroute.routing.training import train_model

    for src in ("squad", "natural_questions", "videorag_wikihow", "videorag_synth"):
        tr = [i for i, e in enumerate(examples) if e.source != src]
        te = [i for i, e in enumerate(examples) if e.source == src]
        if not te:
            continue
        from mmroute.routing.embedding import QueryFeatures

        sub = QueryFeatures(feats.embedding[tr], feats.layers[tr])
        m = train_model([examples[i] for i in tr], sub, TrainConfig(folds=3))
        p = m.aggregate(m.label_probabilities([texts[i] for i in te], feats.layers[te]))
        pred = [m.routes[j] for j in p.argmax(axis=1)]
        probes[src] = float(np.mean([pr == examples[i].route for pr, i in zip(pred, te)]))
        print(f"held-out source {src}: route accuracy {probes[src]:.3f}", flush=True)
    results["held_out_source_route_accuracy"] = probes

    # 4. federated selection trade-off on out-of-fold probabilities
    pts = selection_tradeoff(cv.probabilities, cv.route_order, cv.routes_true,
                             [0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7])
    results["federated"] = [p.__dict__ for p in pts]
    for p in pts:
        print(f"federated t={p.threshold:.2f}: {p.kb_queries_per_query:.2f} KB queries/query, "
              f"saved {p.saved_fraction:.1%}, recall {p.recall:.4f}, no-route kept empty {p.no_route_correct:.2f}")

    # 5. multi-route: how often the policy adds a second route, and whether it rescues errors
    from mmroute.routing.decision import MultiRoutePolicy
    from mmroute.types import RouteScore

    pol = MultiRoutePolicy()
    multi, rescued, wrong = 0, 0, 0
    for i, g in enumerate(cv.routes_true):
        ranked = sorted((RouteScore(r, float(cv.probabilities[i, j])) for j, r in enumerate(cv.route_order)),
                        key=lambda rs: -rs.probability)
        ch = pol.choose(ranked)
        multi += len(ch) > 1
        wrong += ch[0] != g
        rescued += ch[0] != g and g in ch
    results["multi_route"] = {"share_multi": multi / len(examples), "top1_errors": wrong,
                              "errors_covered_by_second_route": rescued, "policy": pol.__dict__}

    # 6. latency of the shipped default router, single queries
    router = default_router()
    router.warm_up()
    rng = np.random.default_rng(0)
    idx = rng.choice(len(examples), size=min(args.latency_n, len(examples)), replace=False)
    sub_ex: list[RoutingExample] = [examples[i] for i in idx]
    router.route("warm up", [])
    lat, gold, pred = [], [], []
    for e in sub_ex:
        t = time.perf_counter()
        d = router.route(e.question, [])
        lat.append((time.perf_counter() - t) * 1000)
        gold.append(e.route)
        pred.append(predicted_route(d))
    shipped = summarize(gold, pred, lat)
    results["latency"] = {"n": len(lat), "p50_ms": shipped["p50_ms"], "p95_ms": shipped["p95_ms"],
                          "cpu_threads": _threads(), "note": "shipped router on training queries (not an accuracy estimate)"}
    print(f"latency p50 {shipped['p50_ms']:.1f} ms, p95 {shipped['p95_ms']:.1f} ms", flush=True)
    (out / "router_eval.json").write_text(json.dumps(results, indent=1, ensure_ascii=False))
    print(f"wrote {out / 'router_eval.json'} and {out / 'router_confusion.png'}")


def _threads() -> int:
    import torch

    return int(torch.get_num_threads())


if __name__ == "__main__":
    assert set(ROUTES) == {"no", "paragraph", "document", "image", "clip", "video"}
    main()
