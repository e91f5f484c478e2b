"""Per-query latency of the shipped router, MiniLM embedding included: wall clock and CPU time.

One query at a time (``TrainedRouter.route``: canonical text, one MiniLM forward pass, the linear
model), over a seeded sample of the shared routing questions, after a warm-up. The machine's load
average is recorded before and after: on a shared machine the wall clock measures the neighbours as
much as the router, and the CPU time of the process (``time.process_time``, all torch threads) is the
steadier figure. The issue's target is p50 <= 15 ms wall clock on two quiet cores.

    python -m evals.bench.bench_router --n 300 --threads 2     # writes to the scratch folder unless --out
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from ..paths import SCRATCH, report_path

REPO = Path(__file__).resolve().parents[2]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "routing" / "universalrag_train.jsonl"))
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--threads", type=int, default=2, help="torch threads (the target is for two cores)")
    ap.add_argument(
        "--out",
        default=str(SCRATCH / "bench_router.json"),
        help="the report (default: a scratch folder; evals/results/bench_router.json is the recorded one)",
    )
    args = ap.parse_args()
    args.out = report_path(Path(args.out), "bench_router.json")  # a folder or a .json file, checked before the run

    import torch

    from mmroute.routing import TrainedRouter
    from mmroute.routing.dataset import load_routing_jsonl

    torch.set_num_threads(args.threads)
    examples = load_routing_jsonl(args.data)
    idx = np.random.default_rng(0).choice(len(examples), size=min(args.n, len(examples)), replace=False)
    router = TrainedRouter()
    router.warm_up()
    for q in ("warm up", examples[0].question, examples[1].question):
        router.route(q, [])
    load0 = os.getloadavg()
    wall, cpu = [], []
    for i in idx:
        q = examples[int(i)].question
        t, c = time.perf_counter(), time.process_time()
        router.route(q, [])
        cpu.append((time.process_time() - c) * 1000)
        wall.append((time.perf_counter() - t) * 1000)
    load1 = os.getloadavg()
    res = {
        "n": len(wall),
        "p50_ms": float(np.percentile(wall, 50)),
        "p95_ms": float(np.percentile(wall, 95)),
        "cpu_ms_p50": float(np.percentile(cpu, 50)),
        "cpu_ms_p95": float(np.percentile(cpu, 95)),
        "torch_threads": args.threads,
        "cpus": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
        "load_average_before": [round(x, 2) for x in load0],
        "load_average_after": [round(x, 2) for x in load1],
        "router": router.model.meta.get("config", {}),
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    Path(args.out).write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps({k: res[k] for k in ("p50_ms", "p95_ms", "cpu_ms_p50", "load_average_before")}))


if __name__ == "__main__":
    main()
