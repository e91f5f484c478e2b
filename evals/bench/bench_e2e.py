"""End-to-end latency of ``mmroute ask``, stage by stage, on the sample KBs.

The stages are the ones :class:`mmroute.pipeline.Pipeline` runs, timed one by one with the
pipeline's own parts (its router, retriever's home, generator and verifier):

- ``embed``: the query embedding for each KB the route picked (KBs sharing an encoder embed once,
  as the encoder cache makes them do in the pipeline),
- ``route``: the router's decision over the home's KBs,
- ``search``: the vector search in each chosen KB's store,
- ``fuse``: merging the per-KB hit lists,
- ``generate``: the draft answer (plus the closed-book draft when dual-path verification is on),
- ``verify``: the evidence verifier.

Each question is also asked through ``Pipeline.ask`` and its ``timings_ms["total"]`` is reported
next to the sum of the stages, so the breakdown can be checked against the real command.
Medians over the questions; the first question of each kind warms the models and is not timed.

    python -m evals.bench.bench_e2e --json                     # builds the sample home once if missing
    python -m evals.bench.bench_e2e --home /tmp/demo --questions 30

Writes ``bench_e2e.json`` and ``bench_e2e.png`` (stacked bars) (to ``--out``; default: a scratch folder, ``--out evals/results`` replaces the committed one).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..paths import SCRATCH

os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "evals" / "results"
STAGES = ("embed", "route", "search", "fuse", "generate", "verify")


def build_home(home_dir: Path, kbs: list[str], store: Any = None) -> dict[str, float]:
    """Index the sample KBs that are missing from ``home_dir`` (resumable); seconds per KB.
    ``store``: a :class:`mmroute.types.StoreSpec` for new KBs (default: the embedded default)."""
    from mmroute.corpora.shared import SAMPLE_KBS, data_root
    from mmroute.indexer import Indexer
    from mmroute.kb import Home

    home = Home(home_dir)
    root = data_root()
    out = {}
    for sample in SAMPLE_KBS:
        if sample.kb not in kbs:
            continue
        t = time.perf_counter()
        Indexer(home).index(
            sample.kb,
            sample.input_path(root, home_dir / "inputs"),
            granularity=sample.granularity,
            description=sample.description,
            store=store,
        )
        out[sample.kb] = time.perf_counter() - t
    return out


def questions(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """(kind, question): real text questions from the sample corpora plus image/video-style queries."""
    from mmroute.corpora.shared import data_root

    root = data_root()
    rng = random.Random(seed)
    out: list[tuple[str, str]] = []
    for corpus in ("squad2_dev", "multihop_ircot"):
        lines = (root / "text" / corpus / "questions.jsonl").read_text(encoding="utf-8").splitlines()
        qs = [json.loads(line)["question"] for line in lines]
        out += [(corpus, q) for q in rng.sample(qs, min(n, len(qs)))]
    visual = [
        "Show me a photo of a cup of coffee",
        "Which picture shows an astronaut?",
        "Where does the big rabbit appear in the video?",
        "When do the three rodents attack the butterfly?",
        "Is there an image of a horse?",
        "Find the scene where Bunny wakes up",
    ]
    out += [("visual", q) for q in visual[: max(1, min(len(visual), n // 2))]]
    return out


class _Clock:
    """Wall and process-CPU milliseconds per stage. CPU time (all threads of this process) does not
    grow when other processes take the cores, so on a shared machine it is the steadier measure of
    what a stage costs; wall time is what a user waits."""

    def __init__(self) -> None:
        self.wall = {s: 0.0 for s in STAGES}
        self.cpu = {s: 0.0 for s in STAGES}
        self._stage = ""
        self._t = self._c = 0.0

    def start(self, stage: str) -> None:
        self._stage, self._t, self._c = stage, time.perf_counter(), time.process_time()

    def stop(self) -> None:
        self.wall[self._stage] += (time.perf_counter() - self._t) * 1000
        self.cpu[self._stage] += (time.process_time() - self._c) * 1000


def staged(pipe: Any, question: str, k: int) -> dict[str, Any]:
    """One question through the pipeline's parts, each stage timed on its own."""
    from mmroute.retrieval.fusion import fuse_hits

    retr = pipe.retriever
    home = retr.home
    clk = _Clock()
    clk.start("route")
    names, weights, decision = retr._decide(question, None, None)[:3]  # (names, weights, decision[, note])
    clk.stop()
    per: dict[str, list] = {}
    vecs: dict[Any, np.ndarray] = {}
    for name in names:
        kb = home.open(name)
        key = id(kb.encoder)
        clk.start("embed")
        if key not in vecs:
            vecs[key] = kb.embed_queries([question])[0]
        clk.stop()
        clk.start("search")
        per[name] = kb.search_vector(vecs[key], getattr(retr, "per_kb_k", None) or k)
        clk.stop()
    clk.start("fuse")
    hits = fuse_hits(per, k, weights)
    clk.stop()
    clk.start("generate")
    draft = pipe.generator.generate(question, hits, None)
    alt = None
    if pipe.verifier is not None and pipe.config.dual_path and hits and draft.text:
        alt = pipe.generator.closed_book(question, hits, None)
    clk.stop()
    if pipe.verifier is not None:
        clk.start("verify")
        pipe.verifier.verify(question, draft, hits, alt)
        clk.stop()
    return {"stages_ms": clk.wall, "stages_cpu_ms": clk.cpu, "kbs": names, "router": decision is not None}


def run(home_dir: Path, n: int, k: int) -> dict[str, Any]:
    from mmroute.kb import Home
    from mmroute.pipeline import Pipeline

    home = Home(home_dir)
    t0 = time.perf_counter()
    pipe = Pipeline.from_home(home)
    pipe.warm_up()
    load_s = time.perf_counter() - t0
    router = getattr(pipe.retriever, "router", None)
    qs = questions(n)
    seen: set[str] = set()
    rows = []
    for kind, q in qs:
        if kind not in seen:  # warm-up: model loads, first-call allocations, store opens
            seen.add(kind)
            staged(pipe, q, k)
            pipe.ask(q)
        row = staged(pipe, q, k)
        ans = pipe.ask(q)
        row.update(kind=kind, question=q, pipeline_ms=dict(ans.timings_ms), abstained=ans.abstained)
        rows.append(row)
    med = {s: float(np.median([r["stages_ms"][s] for r in rows])) for s in STAGES}
    med_cpu = {s: float(np.median([r["stages_cpu_ms"][s] for r in rows])) for s in STAGES}
    rr_cpu = [sum(r["stages_cpu_ms"][s] for s in ("embed", "route", "search", "fuse")) for r in rows]
    rr = [
        r["stages_ms"]["embed"] + r["stages_ms"]["route"] + r["stages_ms"]["search"] + r["stages_ms"]["fuse"]
        for r in rows
    ]
    by_kind = {}
    for kind in dict.fromkeys(r["kind"] for r in rows):
        sel = [r for r in rows if r["kind"] == kind]
        by_kind[kind] = {s: float(np.median([r["stages_ms"][s] for r in sel])) for s in STAGES}
        by_kind[kind]["cpu_ms"] = {s: float(np.median([r["stages_cpu_ms"][s] for r in sel])) for s in STAGES}
        by_kind[kind]["pipeline_total"] = float(np.median([r["pipeline_ms"].get("total", 0.0) for r in sel]))
        by_kind[kind]["questions"] = len(sel)
    return {
        "home": str(home_dir),
        "kbs": {i.name: i.count for i in home.list()},
        "router": type(router).__name__ if router is not None else None,
        "questions": len(rows),
        "k": k,
        "pipeline_load_s": load_s,
        "cpus": os.cpu_count(),
        "load_avg_at_start": os.getloadavg()[0],
        "median_ms": med,
        "median_cpu_ms": med_cpu,
        "route_retrieve_cpu_p50_ms": float(np.median(rr_cpu)),
        "median_stage_sum_ms": float(sum(med.values())),
        "median_pipeline_total_ms": float(np.median([r["pipeline_ms"].get("total", 0.0) for r in rows])),
        "route_retrieve_p50_ms": float(np.median(rr)),
        "route_retrieve_p95_ms": float(np.percentile(rr, 95)),
        "by_kind": by_kind,
        "rows": rows,
    }


def plot(result: dict[str, Any], png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = {
        "all (wall)": result["median_ms"],
        "all (CPU)": result["median_cpu_ms"],
        **{f"{k} (wall)": v for k, v in result["by_kind"].items()},
    }
    fig, ax = plt.subplots(figsize=(9, 4))
    bottom = np.zeros(len(groups))
    for s in STAGES:
        vals = np.array([g[s] for g in groups.values()])
        ax.bar(list(groups), vals, bottom=bottom, label=s)
        bottom += vals
    ax.set_ylabel("median per question (ms)")
    ax.tick_params(axis="x", labelsize=7)
    ax.set_title(f"mmroute ask, per stage (router: {result['router']}, {result['cpus']} CPU cores)", fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.bench.bench_e2e", description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--home",
        type=Path,
        default=Path(os.environ.get("MMROUTE_BENCH_HOME") or "/tmp/mmroute-bench-e2e"),
        help="home with the sample KBs; missing ones are indexed first",
    )
    ap.add_argument("--kbs", default="squad,hop,photos,bbb", help="sample KBs to build if missing")
    ap.add_argument("--questions", type=int, default=20, help="text questions per corpus")
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--no-build", action="store_true", help="use the home as it is")
    ap.add_argument("--out", type=Path, default=SCRATCH, help="folder for the JSON and PNG (default: a scratch folder)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(REPO))
    built = {} if args.no_build else build_home(args.home, [s.strip() for s in args.kbs.split(",") if s.strip()])
    result = run(args.home, args.questions, args.k)
    result["index_s"] = built
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_e2e.json").write_text(json.dumps(result, indent=2) + "\n")
    plot(result, args.out / "bench_e2e.png")
    summary = {k: v for k, v in result.items() if k != "rows"}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for s in STAGES:
            print(f"{s:>9} {result['median_ms'][s]:9.2f} ms")
        print(
            f"route+retrieve p50 {result['route_retrieve_p50_ms']:.2f} ms; "
            f"ask total p50 {result['median_pipeline_total_ms']:.1f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
