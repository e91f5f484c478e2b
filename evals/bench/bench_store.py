"""Vector-store benchmark: build time, single-query latency, batch throughput, recall@10, memory, disk.

Each backend runs in its own worker process (so RSS is the store's own), on the same vectors and
queries; recall@10 is measured against exact inner-product search in numpy.

    python -m evals.bench.bench_store --n 100000 --json                  # clustered synthetic, 384-d
    python -m evals.bench.bench_store --n 20000 --data minilm --json     # MiniLM embeddings of real text
    python -m evals.bench.bench_store --n 100000 --ef-sweep              # edge recall vs latency, JSON + PNG

Data: ``clustered`` (default; unit vectors around n/50 random topic centres, cosine to the centre
about 0.6, queries drawn the same way), ``uniform`` (random unit vectors: the hardest case for
HNSW, no structure), ``minilm`` (MiniLM embeddings of the paragraphs and questions in
/work/shared/data, repeated with small noise when n exceeds the real texts; queries are the real
questions), ``mixture`` (synthetic points on the manifold of ~3.9k real MiniLM embeddings: blends
of real neighbours plus noise with the real covariance; queries are real questions; see
:func:`mixture`). Results go to stdout and to ``<out>/bench_store_<data>_<n>[_<tag>].json``; ``--out``
defaults to a scratch folder (``$MMROUTE_EVAL_OUT`` or ``$TMPDIR/mmroute-evals``), so a run never overwrites the committed
results in ``evals/results`` unless it is pointed there.

Equal recall: ``--equal-recall 0.95`` also sweeps the search beam of the HNSW backends (edge, faiss_hnsw)
in the same worker and reports, per backend, the fastest beam whose recall@10 reaches the target, and the
ratios between backends at that recall (``equal_recall`` in the JSON)::

    python -m evals.bench.bench_store --n 100000 --backends edge,faiss_hnsw,qdrant_local --max-local 100000 \
        --equal-recall 0.95 --out /tmp/bench --tag run1
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..paths import SCRATCH

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "evals" / "results"
DATA = Path(os.environ.get("MMROUTE_DATA") or REPO.parent / "shared" / "data")
K = 10

BACKENDS: dict[str, tuple[str, dict[str, Any]]] = {
    "edge": ("edge", {}),
    "faiss_flat": ("faiss", {"index": "flat", "gpu": False}),
    "faiss_hnsw": ("faiss", {"index": "hnsw", "gpu": False}),
    "qdrant_local": ("qdrant", {}),
}
SWEEP_EF = [8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512]
EQUAL_RECALL_EF = [16, 24, 32, 48, 64, 96, 128]
HNSW_BACKENDS = ("edge", "faiss_hnsw")


# -- data -----------------------------------------------------------------------------------------


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def clustered(n: int, nq: int, dim: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    c = max(10, n // 50)
    centres = _unit(rng.standard_normal((c, dim)))
    sigma = 1.3 / np.sqrt(dim)  # noise norm ~1.3 -> cosine to the centre ~0.6

    def draw(m: int) -> np.ndarray:
        out = np.empty((m, dim), np.float32)
        for s in range(0, m, 100_000):
            e = min(m, s + 100_000)
            out[s:e] = _unit(centres[rng.integers(0, c, e - s)] + sigma * rng.standard_normal((e - s, dim)))
        return out

    return draw(n), draw(nq)


def uniform(n: int, nq: int, dim: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return _unit(rng.standard_normal((n, dim))), _unit(rng.standard_normal((nq, dim)))


def _read_texts() -> tuple[list[str], list[str]]:
    docs, questions = [], []
    for corpus in ("squad2_dev", "multihop_ircot"):
        d = DATA / "text" / corpus
        for line in (d / "corpus.jsonl").read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            docs.append(((rec.get("title") or "") + ". " + rec["text"]).strip())
        for line in (d / "questions.jsonl").read_text(encoding="utf-8").splitlines():
            questions.append(json.loads(line)["question"])
    return docs, questions


def minilm(n: int, nq: int, dim: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Real MiniLM embeddings; beyond the real texts, copies with small noise (cosine ~0.9 to the original)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mmroute" / "bench_minilm.npz"
    if cache.is_file():
        z = np.load(cache)
        base, qs = z["docs"], z["questions"]
    else:
        from mmroute.encoders.text import default_text_encoder

        docs, questions = _read_texts()
        enc = default_text_encoder()
        base = _unit(enc.encode_texts(docs))
        qs = _unit(enc.encode_queries(questions))
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, docs=base, questions=qs)
    if base.shape[1] != dim:
        raise SystemExit(f"--data minilm gives {base.shape[1]}-d vectors; pass --dim {base.shape[1]}")
    rng = np.random.default_rng(seed)
    reps = -(-n // len(base))
    x = np.concatenate(
        [base] + [_unit(base + (0.45 / np.sqrt(dim)) * rng.standard_normal(base.shape)) for _ in range(reps - 1)]
    )[:n]
    q = qs[rng.permutation(len(qs))[:nq]] if nq <= len(qs) else qs[rng.integers(0, len(qs), nq)]
    return x.astype(np.float32), q.astype(np.float32)


def _anchor_texts() -> list[str]:
    """Real texts that are *not* benchmark queries: corpus paragraphs, router and NQ questions."""
    docs, _ = _read_texts()
    texts = list(docs)
    for line in (DATA / "routing" / "universalrag_train.jsonl").read_text(encoding="utf-8").splitlines():
        texts.append(json.loads(line)["question"])
    for line in (DATA / "text" / "flashrag_skr" / "nq_test_sample.jsonl").read_text(encoding="utf-8").splitlines():
        texts.append(json.loads(line)["question"])
    return texts


def mixture(n: int, nq: int, dim: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic points on the manifold of real MiniLM embeddings, at any n.

    Each point blends a real anchor embedding with one of its 16 nearest real neighbours (random
    weight), plus noise drawn from the real embeddings' own covariance (so the noise follows their
    anisotropic spectrum instead of being isotropic), scaled to a cosine of about 0.8 to the blend.
    Anchors are ~3.9k real texts (corpus paragraphs, router and NQ questions); queries are the real
    SQuAD and multi-hop questions, which are not anchors.
    """
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mmroute" / "bench_mixture.npz"
    if cache.is_file():
        z = np.load(cache)
        base, qs = z["anchors"], z["questions"]
    else:
        from mmroute.encoders.text import default_text_encoder

        enc = default_text_encoder()
        base = _unit(enc.encode_texts(_anchor_texts()))
        qs = _unit(enc.encode_queries(_read_texts()[1]))
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, anchors=base, questions=qs)
    if base.shape[1] != dim:
        raise SystemExit(f"--data mixture gives {base.shape[1]}-d vectors; pass --dim {base.shape[1]}")
    rng = np.random.default_rng(seed)
    centred = base - base.mean(axis=0)
    evals, evecs = np.linalg.eigh(np.cov(centred, rowvar=False))
    shape = (evecs * np.sqrt(np.clip(evals, 0, None))).T  # z @ shape ~ N(0, cov)
    scale = 0.75 / np.sqrt(np.clip(evals, 0, None).sum())  # noise norm ~0.75 -> cosine ~0.8
    nbrs = np.argsort(-(base @ base.T), axis=1)[:, 1:17]
    out = np.empty((n, dim), np.float32)
    for s in range(0, n, 100_000):
        e = min(n, s + 100_000)
        a = rng.integers(0, len(base), e - s)
        b = nbrs[a, rng.integers(0, nbrs.shape[1], e - s)]
        w = rng.random((e - s, 1)).astype(np.float32)
        blend = _unit(w * base[a] + (1 - w) * base[b])
        out[s:e] = _unit(blend + scale * (rng.standard_normal((e - s, dim)) @ shape))
    q = qs[rng.permutation(len(qs))[:nq]] if nq <= len(qs) else qs[rng.integers(0, len(qs), nq)]
    return out, q.astype(np.float32)


def exact_topk(x: np.ndarray, q: np.ndarray, k: int = K) -> np.ndarray:
    out = np.empty((len(q), k), np.int64)
    for s in range(0, len(q), 256):
        sims = q[s : s + 256] @ x.T
        part = np.argpartition(-sims, k, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(sims, part, 1), axis=1)
        out[s : s + 256] = np.take_along_axis(part, order, 1)
    return out


# -- one backend, in a worker process ------------------------------------------------------------


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _points(x: np.ndarray, start: int, end: int) -> list:
    from mmroute.stores import Point
    from mmroute.types import point_id

    kinds = ("paragraph", "document", "image", "clip")
    return [
        Point(point_id("bench", str(i)), x[i], {"item_id": str(i), "kind": kinds[i % 4]}) for i in range(start, end)
    ]


def build(backend: str, options: dict[str, Any], x: np.ndarray, path: Path) -> tuple[Any, dict[str, float]]:
    from mmroute.stores import open_store

    t0 = time.perf_counter()
    store = open_store(backend, path, options)
    store.open(x.shape[1])
    for s in range(0, len(x), 1000):
        store.upsert(_points(x, s, min(len(x), s + 1000)))
    store.flush()
    t1 = time.perf_counter()
    if hasattr(store, "optimize"):  # edge: build the HNSW graph now (close() would otherwise)
        store.optimize()
    t2 = time.perf_counter()
    return store, {"insert_s": t1 - t0, "index_s": t2 - t1, "build_s": t2 - t0}


def truth_ids(truth: np.ndarray) -> list[set[str]]:
    """Rows of exact top-k indices -> sets of the benchmark's point ids."""
    return [{_pid(i) for i in row} for row in truth]


def measure(store: Any, q: np.ndarray, truth_ids: list[set[str]], warmup: int = 10) -> dict[str, float]:
    """Single-query latency, batch throughput and recall@10 against ``truth_ids`` (point-id sets)."""
    for v in q[:warmup]:
        store.search(v, K)
    lat, cpu, hits = [], [], 0
    for v, t in zip(q, truth_ids):
        c0, t0 = time.process_time(), time.perf_counter()
        res = store.search(v, K)
        lat.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)  # steadier than wall time on a shared machine
        hits += len({r.id for r in res} & t)
    t0 = time.perf_counter()
    store.search_batch(q, K)
    batch_s = time.perf_counter() - t0
    return {
        "p50_ms": float(np.percentile(lat, 50)),
        "p95_ms": float(np.percentile(lat, 95)),
        "p50_cpu_ms": float(np.percentile(cpu, 50)),
        "qps_batch": len(q) / batch_s,
        "recall_at_10": hits / (len(q) * K),
    }


_PID_CACHE: dict[int, str] = {}


def _pid(i: int) -> str:
    from mmroute.types import point_id

    if i not in _PID_CACHE:
        _PID_CACHE[i] = point_id("bench", str(int(i)))
    return _PID_CACHE[i]


def worker(args: argparse.Namespace) -> dict[str, Any]:
    z = np.load(args.worker_data)
    x, q, truth = z["x"], z["q"], z["truth"]
    backend, options = BACKENDS[args.worker]
    options = {**options, **json.loads(args.options or "{}")}
    path = Path(tempfile.mkdtemp(prefix=f"bench_{args.worker}_", dir=args.tmp))
    try:
        rss0 = rss_mb()
        store, times = build(backend, options, x, path)
        want = truth_ids(truth)
        res = {**times, **measure(store, q, want)}
        res["rss_mb"] = rss_mb() - rss0
        res["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        res["disk_mb"] = store.disk_bytes() / 2**20
        res["options"] = options
        if args.sweep:
            res["sweep"] = sweep(store, q, want)
        elif args.worker_efs:
            res["sweep"] = sweep(store, q, want, [int(e) for e in args.worker_efs.split(",")])
        store.close()
        return res
    finally:
        shutil.rmtree(path, ignore_errors=True)


def sweep(
    store: Any, q: np.ndarray, truth_ids: list[set[str]], efs: Sequence[int] = SWEEP_EF
) -> list[dict[str, float]]:
    """Recall and latency over the search beam; the store's own beam is restored afterwards."""
    out = []
    attr = "hnsw_ef" if hasattr(store, "hnsw_ef") else "ef_search"  # edge / faiss hnsw
    default = getattr(store, attr)
    try:
        for ef in efs:
            setattr(store, attr, ef)
            m = measure(store, q, truth_ids)
            out.append({"hnsw_ef": ef, **m})
            print(
                f"  ef={ef:4d}  recall@10={m['recall_at_10']:.4f}  p50={m['p50_ms']:.3f} ms  p95={m['p95_ms']:.3f} ms",
                file=sys.stderr,
            )
    finally:
        setattr(store, attr, default)
    return out


def run_worker(
    name: str,
    data_file: Path,
    tmp: Path,
    options: dict[str, Any] | None = None,
    sweep_mode: bool = False,
    timeout: float | None = None,
    efs: Sequence[int] | None = None,
) -> dict[str, Any]:
    cmd = [
        sys.executable,
        "-m",
        "evals.bench.bench_store",
        "--worker",
        name,
        "--worker-data",
        str(data_file),
        "--tmp",
        str(tmp),
        "--options",
        json.dumps(options or {}),
    ]
    if sweep_mode:
        cmd.append("--sweep-worker")
    elif efs:
        cmd += ["--worker-efs", ",".join(map(str, efs))]
    print(f"[bench_store] {name} ...", file=sys.stderr)
    try:
        proc = subprocess.run(cmd, cwd=REPO, stdout=subprocess.PIPE, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"worker timed out after {timeout:.0f} s", "options": options or {}}
    if proc.returncode != 0:
        return {"error": f"worker exited with {proc.returncode}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- main ------------------------------------------------------------------------------------------


def make_data(kind: str, n: int, nq: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    return {"clustered": clustered, "uniform": uniform, "minilm": minilm, "mixture": mixture}[kind](n, nq, dim)


def plot_sweep(points: list[dict[str, Any]], title: str, png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for label, pts in _group(points).items():
        ax.plot([p["p50_ms"] for p in pts], [p["recall_at_10"] for p in pts], marker="o", label=label)
        for p in pts:
            ax.annotate(
                str(p["hnsw_ef"]),
                (p["p50_ms"], p["recall_at_10"]),
                fontsize=7,
                textcoords="offset points",
                xytext=(3, -8),
            )
    ax.axhline(0.95, color="grey", ls="--", lw=0.8)
    ax.set_xlabel("p50 latency per query (ms)")
    ax.set_ylabel("recall@10 vs exact")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    plt.close(fig)


def equal_recall(results: dict[str, Any], target: float) -> dict[str, Any]:
    """Per HNSW backend, the fastest swept beam whose recall@10 reaches ``target``; ratios between backends."""
    out: dict[str, Any] = {"target_recall_at_10": target}
    for name in HNSW_BACKENDS:
        pts = [p for p in results.get(name, {}).get("sweep", []) if p["recall_at_10"] >= target]
        if pts:
            best = min(pts, key=lambda p: p["p50_ms"])
            out[name] = {k: best[k] for k in ("hnsw_ef", "p50_ms", "p95_ms", "p50_cpu_ms", "recall_at_10")}
    edge, faiss, local = out.get("edge"), out.get("faiss_hnsw"), results.get("qdrant_local", {})
    if edge and faiss:
        out["edge_over_faiss_hnsw_p50"] = edge["p50_ms"] / faiss["p50_ms"]
        out["edge_over_faiss_hnsw_p50_cpu"] = edge["p50_cpu_ms"] / faiss["p50_cpu_ms"]
    if edge and "p50_ms" in local:
        out["qdrant_local_over_edge_p50"] = local["p50_ms"] / edge["p50_ms"]
        out["qdrant_local_over_edge_p50_cpu"] = local["p50_cpu_ms"] / edge["p50_cpu_ms"]
    return out


def _group(points: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for p in points:
        out.setdefault(p["config"], []).append(p)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.bench.bench_store", description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--data", choices=["clustered", "uniform", "minilm", "mixture"], default="clustered")
    ap.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated subset of " + ",".join(BACKENDS))
    ap.add_argument("--max-local", type=int, default=20_000, help="skip qdrant_local above this n")
    ap.add_argument("--ef-sweep", action="store_true", help="edge only: recall vs latency over hnsw_ef, JSON + PNG")
    ap.add_argument(
        "--sweep-configs",
        default='{"m16_efc128": {"m": 16, "ef_construct": 128}}',
        help="JSON {label: edge options} built and swept in --ef-sweep mode",
    )
    ap.add_argument("--edge-options", default="{}", help="JSON options for the edge backend")
    ap.add_argument(
        "--backend-options",
        default="{}",
        help='JSON {backend: options} overriding any backend\'s defaults, e.g. {"faiss_hnsw": {"M": 16}}',
    )
    ap.add_argument(
        "--sweep-backend",
        default="edge",
        choices=["edge", "faiss_hnsw"],
        help="backend built and swept in --ef-sweep mode (faiss_hnsw sweeps ef_search)",
    )
    ap.add_argument("--timeout", type=float, default=None, help="seconds per backend worker (then: error)")
    ap.add_argument("--tag", default="", help="suffix for the result file name (keeps earlier runs)")
    ap.add_argument("--json", action="store_true", help="print the result JSON on stdout")
    ap.add_argument(
        "--equal-recall",
        type=float,
        default=None,
        metavar="R",
        help="also sweep the beam of edge and faiss_hnsw and compare them at recall@10 >= R",
    )
    ap.add_argument("--efs", default=",".join(map(str, EQUAL_RECALL_EF)), help="beams swept for --equal-recall")
    ap.add_argument(
        "--out",
        type=Path,
        default=SCRATCH,
        help=f"folder for the JSON/PNG (default {SCRATCH}; committed results live in {RESULTS})",
    )
    ap.add_argument("--tmp", type=Path, default=None, help="where stores are built (default: system temp)")
    # internal: worker mode
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--worker-data", help=argparse.SUPPRESS)
    ap.add_argument("--options", help=argparse.SUPPRESS)
    ap.add_argument("--sweep-worker", dest="sweep", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--worker-efs", default="", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker:
        print(json.dumps(worker(args)))
        return 0

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    t0 = time.perf_counter()
    x, q = make_data(args.data, args.n, args.queries, args.dim)
    truth = exact_topk(x, q)
    print(
        f"[bench_store] data {args.data} n={args.n} dim={x.shape[1]} queries={len(q)} "
        f"({time.perf_counter() - t0:.1f} s)",
        file=sys.stderr,
    )
    tmp = Path(tempfile.mkdtemp(prefix="bench_store_", dir=args.tmp))
    data_file = tmp / "data.npz"
    np.savez(data_file, x=x, q=q, truth=truth)
    meta = {
        "n": args.n,
        "dim": int(x.shape[1]),
        "queries": len(q),
        "data": args.data,
        "k": K,
        "cpus": os.cpu_count(),
        "load_avg_at_start": os.getloadavg()[0],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        if args.ef_sweep:
            configs = json.loads(args.sweep_configs)
            points, builds = [], {}
            for label, opts in configs.items():
                res = run_worker(args.sweep_backend, data_file, tmp, opts, sweep_mode=True, timeout=args.timeout)
                builds[label] = {k: v for k, v in res.items() if k != "sweep"}
                points += [{"config": label, **p} for p in res.get("sweep", [])]
            result = {**meta, "mode": "ef_sweep", "builds": builds, "points": points}
            stem = f"{args.sweep_backend}_ef_sweep_{args.data}_{args.n}"
            if args.tag:
                stem += f"_{args.tag}"
            title = "Qdrant Edge" if args.sweep_backend == "edge" else "FAISS HNSW"
            plot_sweep(points, f"{title}, {args.data} n={args.n} d={x.shape[1]}, 2 cores", args.out / f"{stem}.png")
        else:
            results: dict[str, Any] = {}
            for name in [b.strip() for b in args.backends.split(",") if b.strip()]:
                if name not in BACKENDS:
                    raise SystemExit(f"unknown backend {name!r}; choose from {', '.join(BACKENDS)}")
                if name == "qdrant_local" and args.n > args.max_local:
                    results[name] = {
                        "skipped": f"n={args.n} > --max-local {args.max_local}: qdrant-client local "
                        "mode is a brute-force Python emulation (~130 s insert and "
                        "~150 ms/query at 100k)"
                    }
                    continue
                opts = {
                    **(json.loads(args.edge_options) if name == "edge" else {}),
                    **json.loads(args.backend_options).get(name, {}),
                }
                efs = (
                    [int(e) for e in args.efs.split(",")]
                    if args.equal_recall is not None and name in HNSW_BACKENDS
                    else None
                )
                results[name] = run_worker(name, data_file, tmp, opts, timeout=args.timeout, efs=efs)
            edge, local = results.get("edge", {}), results.get("qdrant_local", {})
            if "p50_ms" in edge and "p50_ms" in local:
                meta["edge_speedup_vs_qdrant_local_p50"] = local["p50_ms"] / edge["p50_ms"]
                # CPU time: local mode is pure Python and its wall time balloons on a loaded machine
                meta["edge_speedup_vs_qdrant_local_p50_cpu"] = local["p50_cpu_ms"] / edge["p50_cpu_ms"]
            if args.equal_recall is not None:
                meta["equal_recall"] = equal_recall(results, args.equal_recall)
            meta["load_avg_at_end"] = os.getloadavg()[0]
            result = {**meta, "backends": results}
            stem = f"bench_store_{args.data}_{args.n}"
            stem += f"_{args.tag}" if args.tag else ""
        (args.out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
        print(f"[bench_store] wrote {args.out / (stem + '.json')}", file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        _print_table(result)
    return 0


def _print_table(result: dict[str, Any]) -> None:
    if result.get("mode") == "ef_sweep":
        for p in result["points"]:
            print(f"{p['config']:>14} ef={p['hnsw_ef']:4d} recall@10={p['recall_at_10']:.4f} p50={p['p50_ms']:.3f} ms")
        return
    cols = ["build_s", "p50_ms", "p95_ms", "qps_batch", "recall_at_10", "rss_mb", "disk_mb"]
    print(f"{'backend':14} " + " ".join(f"{c:>12}" for c in cols))
    for name, r in result["backends"].items():
        if "skipped" in r or "error" in r:
            print(f"{name:14} {r.get('skipped') or r.get('error')}")
            continue
        print(f"{name:14} " + " ".join(f"{r[c]:12.3f}" for c in cols))


if __name__ == "__main__":
    sys.exit(main())
