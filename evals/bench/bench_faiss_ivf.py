"""Raw FAISS IVF at large n: the cheap-to-build alternative to HNSW when a graph build does not fit.

Not an mmroute store (FaissStore offers flat and hnsw): this measures what an inverted-file index
would give on the same data as ``evals.bench.bench_store`` (same generator, same exact top-10 truth), to
size the 1M x 384 target on 2 cores. Reports build time, single-query p50 (wall and process CPU)
and recall@10 per nprobe, and RSS.

    python -m evals.bench.bench_faiss_ivf --n 1000000 --nlist 1024
    python -m evals.bench.bench_faiss_ivf --data-file /tmp/bench_store_x/data.npz   # reuse bench_store data
Writes faiss_ivf_<data>_<n>.json (to ``--out``; default: a scratch folder, ``--out evals/results`` replaces the committed one).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from ..paths import SCRATCH
from .bench_store import exact_topk, make_data, rss_mb

NPROBES = [1, 2, 4, 8, 16, 32, 64]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.bench.bench_faiss_ivf", description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--data", choices=["clustered", "uniform", "minilm"], default="clustered")
    ap.add_argument("--data-file", type=Path, help="npz with x, q, truth (as bench_store writes)")
    ap.add_argument("--nlist", type=int, default=1024)
    ap.add_argument("--train", type=int, default=50_000, help="training sample for the coarse k-means")
    ap.add_argument("--threads", type=int, default=0, help="FAISS OpenMP threads (0: default)")
    ap.add_argument("--out", type=Path, default=SCRATCH, help="folder for the JSON (default: a scratch folder)")
    args = ap.parse_args(argv)
    import faiss

    if args.threads:
        faiss.omp_set_num_threads(args.threads)
    if args.data_file:
        z = np.load(args.data_file)
        x, q, truth = z["x"], z["q"], z["truth"]
    else:
        x, q = make_data(args.data, args.n, args.queries, args.dim)
        truth = exact_topk(x, q)
    n, d = x.shape
    rss0 = rss_mb()
    t0 = time.perf_counter()
    quant = faiss.IndexFlatIP(d)
    index = faiss.IndexIVFFlat(quant, d, args.nlist, faiss.METRIC_INNER_PRODUCT)
    rng = np.random.default_rng(0)
    index.train(x[rng.choice(n, min(n, args.train), replace=False)])
    t1 = time.perf_counter()
    for s in range(0, n, 100_000):
        index.add(x[s : s + 100_000])
    t2 = time.perf_counter()
    res = {
        "n": n,
        "dim": d,
        "data": args.data if not args.data_file else str(args.data_file),
        "nlist": args.nlist,
        "train_s": t1 - t0,
        "add_s": t2 - t1,
        "build_s": t2 - t0,
        "index_rss_mb": rss_mb() - rss0,
        "load_avg_at_start": os.getloadavg()[0],
        "points": [],
    }
    for nprobe in NPROBES:
        index.nprobe = nprobe
        lat, cpu, hits = [], [], 0
        for i in range(len(q)):
            c, t = time.process_time(), time.perf_counter()
            _, ids = index.search(q[i : i + 1], 10)
            lat.append((time.perf_counter() - t) * 1000)
            cpu.append((time.process_time() - c) * 1000)
            hits += len(set(ids[0].tolist()) & set(truth[i].tolist()))
        p = {
            "nprobe": nprobe,
            "p50_ms": float(np.median(lat)),
            "p95_ms": float(np.percentile(lat, 95)),
            "min_ms": float(np.min(lat)),
            "p50_cpu_ms": float(np.median(cpu)),
            "recall_at_10": hits / (10 * len(q)),
        }
        res["points"].append(p)
        print(json.dumps(p), file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"faiss_ivf_{args.data}_{n}.json").write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
