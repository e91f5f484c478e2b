"""Route + retrieve at scale: a text query against a KB of N vectors (default 1M × 384), end to end.

The KB is the real ``hop`` sample KB (458 Wikipedia paragraphs, indexed with the normal indexer on
the embedded default store) grown to N points with synthetic filler from
:func:`evals.bench.bench_store.mixture` (points on the manifold of real MiniLM embeddings), written into
the same Qdrant Edge store under the KB's writer lock; closing the store builds the HNSW graph.
The home is cached (``--home``), so the build is paid once.

Measured for each real question (SQuAD and multi-hop, each asked once, so the query-vector cache
never hits; the first few warm the models and are not counted):

- ``route_retrieve``: ``SingleShotRetriever(home, default_router()).retrieve(q, k=10)``: MiniLM
  query embedding (once, shared by router and search), the trained router, the HNSW search, fusion;
- ``search``: the store search alone for the same query vector;
- ``recall_at_10`` of the store search against exact inner-product search over all N vectors;
- recall@10 and search latency over the HNSW search beam (``hnsw_ef`` 16 to 1024);
- the gold-paragraph hit rate @10 for the multi-hop questions, with the filler and (from the
  paragraphs alone, exact) without it, to show what a million distractors cost in quality;
- process RSS with the KB open and the models loaded, and the store's size on disk.

    python -m evals.bench.bench_scale_e2e --n 1000000 --json

Writes ``bench_scale_e2e_<n>.json`` (to ``--out``; default: a scratch folder, ``--out evals/results`` replaces the committed one).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..paths import SCRATCH

os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "evals" / "results"
KB = "hop"
FILLER_SEED = 7


def filler_text(i: int) -> str:
    return f"synthetic filler point {i}"


def grow(
    home_dir: Path, n: int, log: Any, text: Any = filler_text, vectors: Any = None, store: Any = None
) -> dict[str, float]:
    """Index ``hop`` if missing, then add filler points until the KB holds ``n``; returns seconds.

    ``text(i)`` is filler i's text; when the KB has a lexical index the filler gets its BM25 terms too.
    ``vectors(real, m)``: m filler vectors from the real ones (default: :func:`evals.bench.bench_store.mixture`);
    ``store``: the KB's :class:`mmroute.types.StoreSpec` (default: the embedded default)."""
    from evals.bench.bench_e2e import build_home
    from evals.bench.bench_store import mixture
    from mmroute.fsutil import WriterLock
    from mmroute.kb import Home
    from mmroute.stores.base import Point, open_store
    from mmroute.terms import payload_terms
    from mmroute.types import Granularity, Item, point_id

    out: dict[str, float] = {}
    if _grown(home_dir, n):
        return out
    t = time.perf_counter()
    build_home(home_dir, [KB], store=store)
    out["index_real_s"] = time.perf_counter() - t
    home = Home(home_dir)
    manifest = home.manifest(KB)
    directory = home.kb_dir(KB)
    real_file = home_dir / "real_vectors.npz"
    with WriterLock(directory, KB):
        store = open_store(manifest.info.store.backend, directory / "store", manifest.info.store.options)
        store.open(manifest.info.dim)
        try:
            if not real_file.is_file():
                pts = [p for page in store.iter_points() for p in page]
                np.savez(
                    real_file,
                    ids=np.asarray([p.payload["item_id"] for p in pts]),
                    x=np.stack([p.vector for p in pts]).astype(np.float32),
                )
            n_real = len(np.load(real_file)["ids"])
            have = store.count()
            if have >= n:
                _save_titles(directory, manifest, store, out)
                return out
            if vectors is None:
                filler, _ = mixture(n - n_real, 1, manifest.info.dim, seed=FILLER_SEED)
            else:
                filler = vectors(np.load(real_file)["x"], n - n_real)
            log(f"adding {n - have} filler points ({have} present)")
            t = time.perf_counter()
            for s in range(have - n_real, len(filler), 2000):
                e = min(len(filler), s + 2000)
                items = [Item(id=f"filler-{i}", kind=Granularity.PARAGRAPH, text=text(i)) for i in range(s, e)]
                lexical = store.has_sparse()
                store.upsert(
                    [
                        Point(
                            point_id(KB, it.id),
                            filler[i],
                            it.to_payload(),
                            sparse=payload_terms(it.to_payload()) if lexical else None,
                        )
                        for i, it in zip(range(s, e), items)
                    ]
                )
                if (e // 2000) % 50 == 0:
                    store.flush()
                    log(f"  {n_real + e} / {n}")
            store.flush()
            out["insert_filler_s"] = time.perf_counter() - t
            _save_titles(directory, manifest, store, out)
        finally:
            t = time.perf_counter()
            store.close()  # edge: builds the HNSW graph
            out["close_build_s"] = time.perf_counter() - t
    return out


def _grown(home_dir: Path, n: int) -> bool:
    """True when the KB holds ``n`` points and its saved title index matches it: then nothing (not even the
    indexer's no-op re-run) opens the store for writing, which would change what the measured load reads
    (Qdrant Edge replays its write-ahead log into the appendable segment on a writable open)."""
    from mmroute.manifest import Manifest
    from mmroute.retrieval.lexical import read_stamp

    directory = home_dir / "kbs" / KB
    try:
        manifest = Manifest.load(directory)
    except Exception:
        return False
    stamp = read_stamp(directory, manifest.store_dir)
    return stamp is not None and stamp[1] >= n and stamp[2] == (manifest.info.updated_at or "")


def _save_titles(directory: Path, manifest: Any, store: Any, out: dict[str, float]) -> None:
    """The filler bypasses the indexer, so the KB's saved title index is written here (as the indexer
    does after a run) unless it already matches the grown store."""
    from mmroute.retrieval.lexical import build_from_points, load_title_index, make_stamp, save_title_index

    stamp = make_stamp(manifest.store_dir, store.count(), manifest.info.updated_at)
    if load_title_index(directory, stamp) is None:
        t = time.perf_counter()
        save_title_index(directory, build_from_points(store.iter_points(), manifest.info.modality.value), stamp)
        out["title_index_s"] = time.perf_counter() - t


def all_vectors(home_dir: Path, n: int, dim: int) -> tuple[np.ndarray, list[str], int]:
    """Every vector in the grown KB, its item ids, and how many (the first ones) are real."""
    from evals.bench.bench_store import mixture

    z = np.load(home_dir / "real_vectors.npz")
    filler, _ = mixture(n - len(z["ids"]), 1, dim, seed=FILLER_SEED)
    ids = [str(i) for i in z["ids"]] + [f"filler-{i}" for i in range(len(filler))]
    return np.concatenate([z["x"], filler]), ids, len(z["ids"])


def questions() -> list[tuple[str, str, set[str]]]:
    from mmroute.corpora.shared import data_root

    root = data_root()
    out = []
    for corpus in ("multihop_ircot", "squad2_dev"):
        for line in (root / "text" / corpus / "questions.jsonl").read_text(encoding="utf-8").splitlines():
            d = json.loads(line)
            out.append((corpus, d["question"], set(d.get("gold_ids") or [])))
    return out


def run(home_dir: Path, n: int, nq: int, warmup: int) -> dict[str, Any]:
    import torch

    from evals.bench.bench_store import exact_topk, sweep
    from mmroute.kb import Home
    from mmroute.retrieval.single import SingleShotRetriever
    from mmroute.routing.default import default_router
    from mmroute.types import point_id

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    home = Home(home_dir)
    kb = home.open(KB)
    count = kb.count()
    router = default_router()
    retriever = SingleShotRetriever(home, router)
    qs = questions()
    rng = np.random.default_rng(0)
    hop = [q for q in qs if q[0] == "multihop_ircot"]
    squad = [q for q in qs if q[0] == "squad2_dev"]
    picked = hop + [squad[i] for i in rng.permutation(len(squad))[: max(0, nq - len(hop))]]
    for _, q, _ in picked[:warmup]:  # models, caches, page cache
        retriever.retrieve(q + " (warm-up)", k=10)
    rr, search, vecs, found = [], [], [], []
    for corpus, q, gold in picked[warmup:]:
        t0 = time.perf_counter()
        res = retriever.retrieve(q, k=10)
        rr.append((time.perf_counter() - t0) * 1000)
        v = kb.embed_queries([q])[0]  # cache hit: the vector the search used
        t0 = time.perf_counter()
        hits = kb.search_vector(v, 10)
        search.append((time.perf_counter() - t0) * 1000)
        vecs.append(v)
        found.append((corpus, gold, [h.item.id for h in hits], [h.item.id for h in res.hits]))
    from evals.bench.bench_store import rss_mb

    rss = rss_mb()
    disk = kb.store.disk_bytes() / 2**20
    x, ids, n_real = all_vectors(home_dir, count, kb.info.dim)
    q = np.stack(vecs).astype(np.float32)
    top = exact_topk(x, q)
    recall = float(np.mean([len({ids[j] for j in t} & set(f[2])) / 10 for t, f in zip(top, found)]))
    real_top = exact_topk(x[:n_real], q)
    gold_rows = [(i, f) for i, f in enumerate(found) if f[0] == "multihop_ircot" and f[1]]

    def gold_rate(lists: list[list[str]]) -> float:
        return (
            float(np.mean([len(f[1] & set(lst)) / len(f[1]) for (_, f), lst in zip(gold_rows, lists)]))
            if gold_rows
            else float("nan")
        )

    pct = lambda a, p: float(np.percentile(a, p))  # noqa: E731
    want = [{point_id(KB, ids[j]) for j in t} for t in top]
    beams = (
        sweep(kb.store, q, want, efs=(16, 32, 64, 128, 256, 384, 512, 768, 1024))
        if hasattr(kb.store, "hnsw_ef")
        else []
    )
    return {
        "n": count,
        "dim": kb.info.dim,
        "queries": len(rr),
        "store": kb.info.store.to_dict(),
        "route_retrieve_ms": {"p50": pct(rr, 50), "p95": pct(rr, 95), "mean": float(np.mean(rr))},
        "search_ms": {"p50": pct(search, 50), "p95": pct(search, 95)},
        "recall_at_10_vs_exact": recall,
        "gold_paragraph_recall_at_10": {
            "with_filler_route_retrieve": gold_rate([f[3] for _, f in gold_rows]),
            "without_filler_exact": gold_rate([[ids[j] for j in real_top[i]] for i, _ in gold_rows]),
        },
        "search_ef_sweep": beams,
        "rss_mb": rss,
        "disk_mb": disk,
        "cpus": os.cpu_count(),
        "load_avg": os.getloadavg()[0],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.bench.bench_scale_e2e", description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--home", type=Path, default=None, help="cached home (default ~/.cache/mmroute/bench_scale_N)")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--out", type=Path, default=SCRATCH, help="folder for the JSON (default: a scratch folder)")
    args = ap.parse_args(argv)
    home = args.home or Path.home() / ".cache" / "mmroute" / f"bench_scale_{args.n}"
    say = lambda m: print(f"[bench_scale_e2e] {m}", file=sys.stderr, flush=True)  # noqa: E731
    build = grow(home, args.n, say)
    say(f"build: {build}")
    result = {"build": build, **run(home, args.n, args.queries, args.warmup)}
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"bench_scale_e2e_{args.n}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    say(f"wrote {path}")
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        r = result
        print(
            f"n={r['n']}  route+retrieve p50 {r['route_retrieve_ms']['p50']:.1f} ms  search p50 "
            f"{r['search_ms']['p50']:.2f} ms  recall@10 {r['recall_at_10_vs_exact']:.3f}  rss {r['rss_mb']:.0f} MB"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
