"""Where one Qdrant Edge query spends its time: mmroute's wrapper vs the engine, and the engine's knobs.

Builds (or reuses, with ``--work DIR``) a Qdrant Edge shard of ``bench_store`` data through
:class:`~mmroute.stores.edge.EdgeStore`, then

1. times ``EdgeStore.search`` on the first pass after opening the store (first touch of the mmapped
   graph and vectors) and warm, with and without a ``kind`` filter, and splits it by function with
   cProfile (input check, search params, request building, the engine call, hit conversion);
2. closes the store and loads the same shard with ``qdrant_edge`` directly: the first and second
   pass after loading, each step of a query (vector to list, request, engine call with and without
   payloads, hit conversion), and over a range of ``hnsw_ef`` the bare call with and without payloads,
   numpy vs list query vectors, ``query`` vs ``search``, the default search pool vs one thread
   (recall@10 against exact search each time); plus the shard's segment layout;
3. optionally builds more shards (``--variants``: label -> EdgeStore options, e.g. float32 without
   quantization) and times the bare engine on them the same way.

The committed ``evals/results/edge_query_profile_clustered_100000.json`` profiles the default (int8)
shard with a ``{"float32": {"quantization": null}}`` variant.

    python -m evals.bench.bench_edge_query_profile --n 100000 --work /tmp/edgeprof --out /tmp/edge_query_profile.json

Every latency is the median (p50) over the queries, in ms; ``cpu`` figures are process CPU time,
steadier than wall time on a shared machine.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from evals.bench.bench_store import K, build, exact_topk, make_data, truth_ids
from evals.paths import SCRATCH, report_path

EFS = [16, 24, 32, 48, 64, 96, 128]


def _p50(xs: Sequence[float]) -> float:
    return float(np.percentile(xs, 50))


def _p95(xs: Sequence[float]) -> float:
    return float(np.percentile(xs, 95))


def _timed(
    fn: Callable[[np.ndarray], list],
    q: np.ndarray,
    want: list[set[str]] | None,
    ids: Callable[[list], set[str]] | None = None,
    repeat: int = 1,
    warmup: int = 10,
) -> dict[str, float]:
    """p50/p95 wall and CPU ms of ``fn(v)`` over the queries (best of ``repeat`` passes), and recall@10."""
    for v in q[:warmup]:
        fn(v)
    best: dict[str, float] | None = None
    for _ in range(repeat):
        lat, cpu, hits = [], [], 0
        for i, v in enumerate(q):
            c0, t0 = time.process_time(), time.perf_counter()
            res = fn(v)
            lat.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
            if want is not None and ids is not None:
                hits += len(ids(res) & want[i])
        out = {"p50_ms": _p50(lat), "p95_ms": _p95(lat), "p50_cpu_ms": _p50(cpu)}
        if want is not None and ids is not None:
            out["recall_at_10"] = hits / (len(q) * K)
        if best is None or out["p50_ms"] < best["p50_ms"]:
            best = out
    assert best is not None
    return best


def build_shard(work: Path, label: str, options: dict[str, Any], x: np.ndarray) -> dict[str, Any]:
    """Build the shard for ``label`` under ``work`` unless it is there already; its build record."""
    d = work / label
    rec = d / "build.json"
    if rec.is_file():
        return json.loads(rec.read_text())
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    print(f"[profile_edge_query] building {label} {options} ...", file=sys.stderr)
    store, times = build("edge", options, x, d / "store")
    store.close()
    out = {**times, "options": options}
    rec.write_text(json.dumps(out, indent=2))
    return out


def wrapper_profile(store: Any, q: np.ndarray, want: list[set[str]]) -> dict[str, Any]:
    """``EdgeStore.search`` timed as a whole, and split by function with cProfile (cumulative ms per query)."""
    from mmroute.stores import Filter

    # the first pass after opening pays first-touch page faults on the mmapped graph and vectors
    out: dict[str, Any] = {"search": _timed(lambda v: store.search(v, K), q, want, lambda r: {h.id for h in r})}
    flt = Filter(equals={"kind": "paragraph"})
    out["search_second_pass"] = _timed(lambda v: store.search(v, K), q, want, lambda r: {h.id for h in r})
    out["search_kind_filter"] = _timed(lambda v: store.search(v, K, flt), q, None)
    pr = cProfile.Profile()
    pr.enable()
    for v in q:
        store.search(v, K)
    pr.disable()
    st = pstats.Stats(pr)
    per_query: dict[str, float] = {}
    for (file, _line, name), (_cc, _nc, _tt, ct, _callers) in st.stats.items():  # type: ignore[attr-defined]
        key = f"{Path(file).name}:{name}" if file != "~" else name
        if "mmroute" in file or "qdrant_edge" in name or "EdgeShard" in name or file == "~":
            per_query[key] = per_query.get(key, 0.0) + ct * 1000 / len(q)
    out["cprofile_cum_ms_per_query"] = dict(sorted(per_query.items(), key=lambda kv: -kv[1])[:20])
    s = io.StringIO()
    pstats.Stats(pr, stream=s).sort_stats("cumulative").print_stats(15)
    out["cprofile_text"] = s.getvalue()
    return out


def raw_stages(shard: Any, q: np.ndarray, ef: int, quant: Any = None) -> dict[str, Any]:
    """The steps of one query with the bare extension: vector to list, request, engine call, hit conversion."""
    import qdrant_edge as qe

    stages: dict[str, list[float]] = {
        k: []
        for k in ("tolist", "request_numpy", "request_list", "engine_payload", "engine_no_payload", "convert_hits")
    }
    p = qe.SearchParams(hnsw_ef=ef, quantization=quant)
    for i, v in enumerate(np.concatenate([q[:10], q])):
        t0 = time.perf_counter()
        lv = v.tolist()
        t1 = time.perf_counter()
        qe.QueryRequest(limit=K, query=qe.Query.Nearest(v), with_payload=True, params=p)
        t2 = time.perf_counter()
        req = qe.QueryRequest(limit=K, query=qe.Query.Nearest(lv), with_payload=True, params=p)
        t3 = time.perf_counter()
        res = shard.query(req)
        t4 = time.perf_counter()
        shard.query(qe.QueryRequest(limit=K, query=qe.Query.Nearest(lv), with_payload=False, params=p))
        t5 = time.perf_counter()
        _ = [(str(h.id), float(h.score), h.payload or {}) for h in res]
        t6 = time.perf_counter()
        if i >= 10:
            for key, a, b in (
                ("tolist", t0, t1),
                ("request_numpy", t1, t2),
                ("request_list", t2, t3),
                ("engine_payload", t3, t4),
                ("engine_no_payload", t4, t5),
                ("convert_hits", t5, t6),
            ):
                stages[key].append((b - a) * 1000)
    return {"hnsw_ef": ef, **{k: {"p50_ms": _p50(v), "mean_ms": float(np.mean(v))} for k, v in stages.items()}}


def segment_layout(path: Path) -> list[dict[str, Any]]:
    """Index type and size on disk of each segment (from its ``segment.json``)."""
    out = []
    for seg in sorted((path / "segments").iterdir()):
        try:
            cfg = json.loads((seg / "segment.json").read_text())["config"]["vector_data"][""]
        except (OSError, ValueError, KeyError):
            continue
        size = sum(f.stat().st_blocks * 512 for f in seg.rglob("*") if f.is_file())
        out.append(
            {
                "index": cfg["index"]["type"],
                "quantized": bool(cfg.get("quantization_config")),
                "disk_mb": round(size / 2**20, 1),
            }
        )
    return out


def raw_engine(
    path: Path,
    q: np.ndarray,
    want: list[set[str]],
    efs: Sequence[int],
    threads: int | None,
    full: bool = True,
    repeat: int = 1,
    stage_ef: int = 128,
    oversampling: float = 2.0,
) -> dict[str, Any]:
    """The bare ``qdrant_edge`` query on the shard at ``path`` (no mmroute code in the loop)."""
    import qdrant_edge as qe

    stored = json.loads((path / "edge_config.json").read_text())
    size = stored["vectors"][""]["size"]
    # a quantized shard is searched as EdgeStore searches it: rescoring oversampling * k candidates
    quant = (
        qe.QuantizationSearchParams(rescore=True, oversampling=oversampling)
        if stored.get("quantization_config")
        else None
    )
    cfg = qe.EdgeConfig(
        vectors=qe.EdgeVectorParams(size=size, distance=qe.Distance.Cosine), max_search_threads=threads
    )  # persisted: pass it every time
    shard = qe.EdgeShard.load(str(path), cfg)

    def ids(r: Any) -> set[str]:
        return {str(p.id) for p in r}

    out: dict[str, Any] = {}
    try:
        info = shard.info()
        qlist = [v.tolist() for v in q]
        out["quantized"] = quant is not None
        out["segments"] = info.segments_count
        out["segment_layout"] = segment_layout(path)
        out["indexed_vectors"] = info.indexed_vectors_count
        if full:
            # right after loading, each query touches mmapped graph/vector pages for the first time
            first = qe.SearchParams(hnsw_ef=stage_ef, quantization=quant)

            def run(v: Any) -> Any:
                return shard.query(qe.QueryRequest(limit=K, query=qe.Query.Nearest(v), with_payload=True, params=first))

            out["fresh_load_first_pass"] = _timed(run, qlist, want, ids, warmup=0)
            out["fresh_load_second_pass"] = _timed(run, qlist, want, ids, warmup=0)
            out["stages_at_default_ef"] = raw_stages(shard, q, stage_ef, quant)
        for ef in efs:
            p = qe.SearchParams(hnsw_ef=ef, quantization=quant)
            row: dict[str, Any] = {"hnsw_ef": ef}
            row["query_list_no_payload"] = _timed(
                lambda v, p=p: shard.query(
                    qe.QueryRequest(limit=K, query=qe.Query.Nearest(v), with_payload=False, params=p)
                ),
                qlist,
                want,
                ids,
                repeat,
            )
            if full:
                row["query_numpy_payload"] = _timed(
                    lambda v, p=p: shard.query(
                        qe.QueryRequest(limit=K, query=qe.Query.Nearest(v), with_payload=True, params=p)
                    ),
                    q,
                    want,
                    ids,
                    repeat,
                )
                row["query_list_payload"] = _timed(
                    lambda v, p=p: shard.query(
                        qe.QueryRequest(limit=K, query=qe.Query.Nearest(v), with_payload=True, params=p)
                    ),
                    qlist,
                    want,
                    ids,
                    repeat,
                )
                row["search_list_no_payload"] = _timed(
                    lambda v, p=p: shard.search(
                        qe.SearchRequest(query=qe.Query.Nearest(v), limit=K, with_payload=False, params=p)
                    ),
                    qlist,
                    want,
                    ids,
                    repeat,
                )
            out.setdefault("by_ef", []).append(row)
            print(
                f"  threads={threads} ef={ef:4d} "
                + "  ".join(
                    f"{k}={v['p50_ms']:.3f}ms/r{v['recall_at_10']:.3f}" for k, v in row.items() if isinstance(v, dict)
                ),
                file=sys.stderr,
            )
        if full:
            out["exact"] = _timed(
                lambda v: shard.query(
                    qe.QueryRequest(
                        limit=K, query=qe.Query.Nearest(v), with_payload=False, params=qe.SearchParams(exact=True)
                    )
                ),
                qlist,
                want,
                ids,
            )
    finally:
        shard.close()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m evals.bench.bench_edge_query_profile", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--data", choices=["clustered", "uniform", "minilm", "mixture"], default="clustered")
    ap.add_argument(
        "--work",
        type=Path,
        default=None,
        help="keep the built shards here and reuse them on the next run (default: a temp dir, removed)",
    )
    ap.add_argument("--options", default="{}", help="JSON EdgeStore options of the profiled shard")
    ap.add_argument(
        "--variants",
        default="{}",
        help="JSON {label: EdgeStore options}: more shards whose bare engine is timed, "
        'e.g. {"scalar": {"quantization": "scalar"}}',
    )
    ap.add_argument("--efs", default=",".join(map(str, EFS)))
    ap.add_argument("--repeat", type=int, default=2, help="passes per bare-engine measurement (best p50 kept)")
    ap.add_argument(
        "--out",
        type=Path,
        default=SCRATCH / "edge_query_profile.json",
        help="result JSON (default: a scratch folder; copy into evals/results deliberately)",
    )
    args = ap.parse_args(argv)
    # a folder or a .json file, checked before the run
    args.out = report_path(Path(args.out), "edge_query_profile.json")

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from mmroute.stores import open_store

    work = args.work or Path(tempfile.mkdtemp(prefix="edge_profile_"))
    work.mkdir(parents=True, exist_ok=True)
    data = work / f"data_{args.data}_{args.n}_{args.dim}_{args.queries}.npz"
    if data.is_file():
        z = np.load(data)
        x, q, truth = z["x"], z["q"], z["truth"]
    else:
        x, q = make_data(args.data, args.n, args.queries, args.dim)
        truth = exact_topk(x, q)
        np.savez(data, x=x, q=q, truth=truth)
    want = truth_ids(truth)
    efs = [int(e) for e in args.efs.split(",") if e.strip()]
    meta: dict[str, Any] = {
        "n": args.n,
        "dim": args.dim,
        "queries": len(q),
        "data": args.data,
        "k": K,
        "cpus": os.cpu_count(),
        "load_avg_at_start": os.getloadavg()[0],
    }
    try:
        options = json.loads(args.options)
        base = build_shard(work, "profiled", options, x)
        store = open_store("edge", work / "profiled" / "store", options)
        store.open(args.dim)
        result: dict[str, Any] = {**meta, "build": base, "hnsw_ef_default": store.effective_hnsw_ef()}
        result["wrapper"] = wrapper_profile(store, q, want)
        ef0 = store.effective_hnsw_ef()
        store.close()
        result["raw_engine"] = {
            "threads_cpu_count": raw_engine(
                work / "profiled" / "store", q, want, efs, os.cpu_count(), repeat=args.repeat, stage_ef=ef0
            ),
            "one_search_thread": raw_engine(
                work / "profiled" / "store", q, want, efs, 1, full=False, repeat=args.repeat
            ),
        }
        variants = {}
        for label, opts in json.loads(args.variants).items():
            b = build_shard(work, label, opts, x)
            variants[label] = {
                "build": b,
                "raw_engine": raw_engine(
                    work / label / "store", q, want, efs, os.cpu_count(), full=False, repeat=args.repeat
                ),
            }
        result["variants"] = variants
        result["load_avg_at_end"] = os.getloadavg()[0]
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"[profile_edge_query] wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
