"""The lexical side at scale: step-wise retrieval on a KB of N paragraphs whose BM25 index lives in the store.

The KB is ``bench_scale_e2e``'s: the real ``hop`` KB (458 multi-hop Wikipedia paragraphs, indexed with the
normal indexer, so with its sparse BM25 vectors) grown to N points on the embedded Qdrant Edge store with
filler vectors near the real ones (:func:`near_real`: a real vector plus noise). Unlike the dense
benchmark's filler ("synthetic filler point i"), each filler paragraph here has 60 words drawn from the
word distribution of the shared text corpora, so the sparse index has realistic posting lists
(a common word like "film" is in a large share of the N items).

Measured in a fresh process (``--measure``), with the MiniLM encoder already loaded (the model's own
load time is not the lexical side's):

- ``first_answer_s``: from ``Home(...)`` to the first step-wise answer (opening the store, loading the
  KB's saved title index, the first retrieval) — the target is 1 s;
- ``step_ms``: per retrieval step of the step-wise retriever over the multi-hop questions (p50/p95;
  target p50 <= 30 ms); ``sparse_ms``/``hybrid_ms``: one BM25 / hybrid store query;
- ``lexical_rss_mb``: RSS added by the first step-wise answer over the process with the KB open and
  searched densely (the title index, the sparse index pages) — target <= 300 MB;
- gold recall_all@5 of step-wise retrieval on the multi-hop questions with N - 458 distractors;
- ``indexing``: the lexical cost at index time against the raw encoder: tokenising (:func:`payload_terms`)
  and the extra upsert time of sparse vectors, per item, over MiniLM's encode time per item (target
  <= 15% together with the rest of the indexing overhead; see ``bench_indexing``).

    python -m evals.bench.bench_scale_lexical --n 100000 --out /tmp/bench_scale_lexical_100000.json

Writes ``bench_scale_lexical_<n>.json`` (to ``--out``; default: a scratch folder); ``--plot RESULT...``
draws result files against the targets (``bench_scale_lexical_<n>.png``). The home is cached
(``--home``); a grown home is measured as it is (its store is not opened for writing again).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..paths import SCRATCH, write_result

os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[2]
KB = "hop"
WORDS_PER_FILLER = 60


def _vocabulary() -> tuple[list[str], np.ndarray]:
    from collections import Counter

    from mmroute.corpora.shared import data_root
    from mmroute.terms import words

    counts: Counter[str] = Counter()
    for corpus in ("multihop_ircot", "squad2_dev", "squad2_train_partial"):
        for line in (data_root() / "text" / corpus / "corpus.jsonl").read_text(encoding="utf-8").splitlines():
            counts.update(words(json.loads(line).get("text") or ""))
    vocab = sorted(counts)
    p = np.asarray([counts[w] for w in vocab], dtype=np.float64)
    return vocab, p / p.sum()


class FillerText:
    """Filler paragraph i: WORDS_PER_FILLER words drawn (seeded by i) from the corpora's word distribution."""

    def __init__(self) -> None:
        self.vocab, self.p = _vocabulary()
        self.cdf = np.cumsum(self.p)

    def __call__(self, i: int) -> str:
        u = np.random.default_rng(1_000_003 + i).random(WORDS_PER_FILLER)
        return " ".join(self.vocab[j] for j in np.searchsorted(self.cdf, u).clip(0, len(self.vocab) - 1))


def near_real(real: np.ndarray, m: int, seed: int = 7) -> np.ndarray:
    """m unit vectors near the real ones: a random real vector plus Gaussian noise (cosine about 0.75 to it).
    Cheaper than ``mixture`` (which encodes ~3.9k anchor texts first); the dense side is not what is measured."""
    rng = np.random.default_rng(seed)
    base = real[rng.integers(0, len(real), m)]
    x = base + rng.standard_normal(base.shape).astype(np.float32) * (0.9 / np.sqrt(real.shape[1]))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def indexing_cost(log: Any) -> dict[str, Any]:
    """Lexical work per item at index time vs. MiniLM's encode time per item (hop's 458 paragraphs)."""
    import tempfile

    from mmroute.corpora.shared import data_root
    from mmroute.encoders.base import normalize
    from mmroute.indexer import Indexer
    from mmroute.kb import Home
    from mmroute.stores.base import Point, open_store
    from mmroute.terms import lexical_spec, payload_terms
    from mmroute.types import Granularity, Item, StoreSpec, point_id

    src = data_root() / "text" / "multihop_ircot" / "corpus.jsonl"
    rows = [json.loads(x) for x in src.read_text(encoding="utf-8").splitlines() if x.strip()]
    items = [Item(id=r["id"], kind=Granularity.PARAGRAPH, text=r["text"], title=r.get("title")) for r in rows]
    payloads = [it.to_payload() for it in items]
    out: dict[str, Any] = {"items": len(items)}
    with tempfile.TemporaryDirectory() as tmp:
        runs = {}
        for name, opts in (("dense_only", {"lexical": None}), ("lexical", {})):
            t = time.perf_counter()
            rep = Indexer(Home(Path(tmp) / name)).index(
                "hop", src, granularity="paragraph", store=StoreSpec("edge", opts)
            )[0]
            runs[name] = {"elapsed_s": round(time.perf_counter() - t, 3), "encode_s": round(rep.encode_s, 3)}
            log(f"index hop {name}: {runs[name]}")
        out["index_runs"] = runs
        enc = Home(Path(tmp) / "lexical").open("hop").encoder
        t = time.perf_counter()
        vecs = normalize(enc.encode_items(items))
        encode_per_item = (time.perf_counter() - t) / len(items)
        t = time.perf_counter()
        for _ in range(5):
            terms = [payload_terms(p) for p in payloads]
        tokenize_per_item = (time.perf_counter() - t) / (5 * len(items))
        reps = 20  # upsert the same 458 points 20 times (replacing them) with and without sparse vectors
        upsert = {}
        for name, lexical in (("dense_only", None), ("lexical", lexical_spec(55.0))):
            store = open_store("edge", Path(tmp) / f"up-{name}", {"lexical": lexical})
            store.open(vecs.shape[1])
            pts = [
                Point(point_id("u", it.id), v, p, sparse=s if lexical else None)
                for it, v, p, s in zip(items, vecs, payloads, terms)
            ]
            t = time.perf_counter()
            for _ in range(reps):
                store.upsert(pts)
            store.flush()
            upsert[name] = (time.perf_counter() - t) / (reps * len(items))
            store.close()
    extra = tokenize_per_item + max(0.0, upsert["lexical"] - upsert["dense_only"])
    out.update(
        {
            "encode_ms_per_item": round(1000 * encode_per_item, 4),
            "tokenize_ms_per_item": round(1000 * tokenize_per_item, 4),
            "sparse_upsert_extra_ms_per_item": round(1000 * (upsert["lexical"] - upsert["dense_only"]), 4),
            "lexical_overhead_vs_encoder": round(extra / encode_per_item, 4),
        }
    )
    return out


def measure(home_dir: Path, nq: int) -> dict[str, Any]:
    import torch

    from evals.bench.bench_scale_e2e import questions
    from evals.bench.bench_store import rss_mb
    from mmroute.kb import Home
    from mmroute.manifest import Manifest
    from mmroute.retrieval.stepwise import StepwiseRetriever
    from mmroute.stores.base import Fusion
    from mmroute.terms import query_terms

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    spec = Manifest.load(home_dir / "kbs" / KB).info.encoder
    probe = Home(home_dir)
    enc = probe.encoders.get(spec)
    enc.warm_up()
    enc.encode_queries(["warm up the encoder"])
    qs = questions()
    hop = [q for q in qs if q[0] == "multihop_ircot"][:nq]
    rss_model = rss_mb()
    probe_vec = enc.encode_queries(["a dense probe with the KB open"])[0]
    t0 = time.perf_counter()
    home = Home(home_dir)
    kb = home.open(KB)
    kb.search_vector(probe_vec / np.linalg.norm(probe_vec), 10)  # the store open and searched densely
    rss_dense = rss_mb()
    first_q = hop[0][1]
    r = StepwiseRetriever(home)
    first = r.retrieve(first_q, k=5, kbs=[KB])
    first_answer_s = time.perf_counter() - t0
    rss_first = rss_mb()
    count = kb.count()
    if hasattr(enc, "QUERY_CACHE_SIZE"):
        enc.QUERY_CACHE_SIZE = max(enc.QUERY_CACHE_SIZE, 8192)
    kb.embed_queries([q for _, q, _ in hop])  # the questions' vectors up front; follow-ups are embedded live
    embed = {"s": 0.0}
    encode = enc.encode_queries

    def timed(texts: Any) -> Any:
        t = time.perf_counter()
        try:
            return encode(texts)
        finally:
            embed["s"] += time.perf_counter() - t

    enc.encode_queries = timed  # type: ignore[method-assign]
    steps, steps_no_embed, recall = [], [], []
    for _, q, gold in hop[1:]:
        embed["s"] = 0.0
        res = r.retrieve(q, k=5, kbs=[KB])
        steps.extend(s.elapsed_ms for s in res.steps)
        steps_no_embed.append((sum(s.elapsed_ms for s in res.steps) - 1000 * embed["s"]) / max(1, len(res.steps)))
        if gold:
            recall.append(gold <= set(res.ids))
    enc.encode_queries = encode  # type: ignore[method-assign]
    sparse_ms, hybrid_ms, dense_ms = [], [], []
    for _, q, _ in hop:
        v = kb.embed_queries([q])[0]
        t = time.perf_counter()
        kb.store.search(v, 10)
        dense_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        kb.store.search_sparse(query_terms(q), 10)
        sparse_ms.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        kb.store.search_hybrid(v, query_terms(q), 10, fusion=Fusion(k=2))
        hybrid_ms.append((time.perf_counter() - t) * 1000)
    pct = lambda a, p: round(float(np.percentile(a, p)), 2)  # noqa: E731
    return {
        "n": count,
        "first_answer_s": round(first_answer_s, 3),
        "first_answer_steps": len(first.steps),
        "step_ms": {"p50": pct(steps, 50), "p95": pct(steps, 95), "steps": len(steps)},
        "step_ms_without_query_embedding": {"p50": pct(steps_no_embed, 50), "p95": pct(steps_no_embed, 95)},
        "dense_ms": {"p50": pct(dense_ms, 50)},
        "sparse_ms": {"p50": pct(sparse_ms, 50), "p95": pct(sparse_ms, 95)},
        "hybrid_ms": {"p50": pct(hybrid_ms, 50), "p95": pct(hybrid_ms, 95)},
        "rss_mb_model_loaded": round(rss_model, 1),
        "rss_mb_kb_open_dense": round(rss_dense, 1),
        "rss_mb_after_first_answer": round(rss_first, 1),
        "lexical_rss_mb": round(rss_first - rss_dense, 1),
        "stepwise_recall_all@5_multihop": round(float(np.mean(recall)), 4) if recall else None,
        "questions": len(hop),
        "disk_mb": round(kb.store.disk_bytes() / 2**20, 1),
        "cpus": os.cpu_count(),
        "load_avg": os.getloadavg()[0],
    }


def plot(files: list[Path], path: Path) -> None:
    """First step-wise answer and step p50 of each result file's runs against the targets, with the runs
    recorded before step-wise pools became ids only (``before_pools_by_point_id``) where a file has them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (first, step) = plt.subplots(1, 2, figsize=(10, 4))
    names = []
    for i, f in enumerate(files):
        d = json.loads(f.read_text())
        name = "on_disk=true" if d.get("store_options", {}).get("on_disk") else "default layout"
        names.append(f"{name}\n({f.name})")
        runs = d.get("runs") or [d]
        before = d.get("before_pools_by_point_id", {})
        for ax, now, was in (
            (first, [r["first_answer_s"] for r in runs], before.get("first_answer_s", [])),
            (step, [r["step_ms"]["p50"] for r in runs], before.get("step_ms_p50", [])),
        ):
            if was:
                ax.scatter([i - 0.12] * len(was), was, marker="x", color="grey", label="before" if i == 0 else None)
            ax.scatter([i + 0.12] * len(now), now, color="C0" if i == 0 else "C1", label=name)
    for ax, target, unit in ((first, 1.0, "s"), (step, 30.0, "ms")):
        ax.axhline(target, color="red", linestyle="--", linewidth=1, label=f"target {target:g} {unit}")
        ax.set_xticks(range(len(files)), names, fontsize=7)
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=7)
    first.set_title("first step-wise answer after opening the home (s)", fontsize=9)
    step.set_title("retrieval step p50 (ms), 147 steps of 88 questions", fontsize=9)
    fig.suptitle("Step-wise retrieval over 1M paragraphs (Qdrant Edge, 2 cores), fresh process per run", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.bench.bench_scale_lexical", description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--home", type=Path, default=None, help="cached home (default ~/.cache/mmroute/bench_lexical_N)")
    ap.add_argument("--queries", type=int, default=89)
    ap.add_argument(
        "--store-option",
        action="append",
        default=[],
        metavar="KEY=JSON",
        help="an Edge store option for the grown KB (repeatable), e.g. on_disk=true; "
        "the default home then gets the options in its name",
    )
    ap.add_argument("--measure", action="store_true", help="(internal) measure in this process, print JSON")
    ap.add_argument(
        "--plot",
        type=Path,
        nargs="+",
        default=None,
        metavar="RESULT",
        help="draw these result files (e.g. evals/results/bench_scale_lexical_1000000*.json) into "
        "bench_scale_lexical.png under --out instead of measuring",
    )
    ap.add_argument("--skip-indexing", action="store_true")
    ap.add_argument(
        "--indexing-from",
        type=Path,
        default=None,
        help="reuse the 'indexing' section of an earlier result file instead of measuring it again",
    )
    ap.add_argument(
        "--out",
        type=Path,
        default=SCRATCH,
        help="a .json file or a folder for bench_scale_lexical_N.json (default: a scratch folder; "
        "evals/results replaces the committed one)",
    )
    args = ap.parse_args(argv)
    options = {k: json.loads(v) for k, v in (o.split("=", 1) for o in args.store_option)}
    suffix = "".join(f"_{k}-{v}" for k, v in sorted(options.items()))
    home = args.home or Path.home() / ".cache" / "mmroute" / f"bench_lexical_{args.n}{suffix}"
    if args.measure:
        print(json.dumps(measure(home, args.queries)))
        return 0
    if args.plot:
        out_dir = args.out if args.out.suffix != ".json" else args.out.parent
        out_dir.mkdir(parents=True, exist_ok=True)
        plot(args.plot, out_dir / f"bench_scale_lexical_{args.n}.png")
        print(out_dir / f"bench_scale_lexical_{args.n}.png")
        return 0
    from evals.bench.bench_scale_e2e import grow

    say = lambda m: print(f"[bench_scale_lexical] {m}", file=sys.stderr, flush=True)  # noqa: E731
    from mmroute.types import StoreSpec

    store = StoreSpec("edge", options) if options else None
    build = grow(home, args.n, say, text=FillerText(), vectors=near_real, store=store)
    say(f"build: {build}")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "evals.bench.bench_scale_lexical",
            "--measure",
            "--n",
            str(args.n),
            "--home",
            str(home),
            "--queries",
            str(args.queries),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
    )
    if proc.returncode != 0:
        say(proc.stderr[-3000:])
        return proc.returncode
    result: dict[str, Any] = {
        "build": build,
        "store_options": options,
        **json.loads(proc.stdout.strip().splitlines()[-1]),
    }
    say(f"measured: {result}")
    if args.indexing_from is not None:
        result["indexing"] = json.loads(args.indexing_from.read_text())["indexing"]
    elif not args.skip_indexing:
        result["indexing"] = indexing_cost(say)
    out = write_result(args.out, f"bench_scale_lexical_{args.n}.json", result)
    say(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
