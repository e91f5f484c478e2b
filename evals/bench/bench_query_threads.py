"""One query at a time through MiniLM: all of torch's threads vs :data:`mmroute.encoders.text.QUERY_THREADS`.

Each of ``--queries`` real multi-hop questions (distinct, so the query cache never hits) is embedded
alone, alternately with every thread (torch's default: one per core) and with the encoder's few-query
thread count, and the load average is recorded: the gap between the two grows with the other work on
the machine (a spinning thread pool waits for a thread that another process holds).

    python -m evals.bench.bench_query_threads --queries 60

Writes ``query_threads_<cpus>cpu.json`` (to ``--out``; default: a scratch folder).
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

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.bench.bench_query_threads", description=__doc__.split("\n\n")[0])
    ap.add_argument("--queries", type=int, default=60)
    ap.add_argument("--out", type=Path, default=SCRATCH)
    args = ap.parse_args(argv)
    import torch

    from evals.bench.bench_scale_e2e import questions
    from mmroute.encoders import text as text_mod
    from mmroute.encoders.text import TransformerTextEncoder

    enc = TransformerTextEncoder(registered_name=text_mod.MINILM_NAME)
    enc.warm_up()
    enc.encode_queries(["warm up the encoder", "and a second query"])
    qs = [q for c, q, _ in questions() if c == "multihop_ircot"][: args.queries]
    threads = torch.get_num_threads()
    few = text_mod.QUERY_THREADS
    times: dict[str, list[float]] = {"all_threads": [], "query_threads": []}
    loads = [os.getloadavg()[0]]
    for i, q in enumerate(qs):
        for name in ("all_threads", "query_threads") if i % 2 else ("query_threads", "all_threads"):
            text_mod.QUERY_THREADS = threads if name == "all_threads" else few
            t = time.perf_counter()
            enc._embed([f"{q} ({name})"])
            times[name].append((time.perf_counter() - t) * 1000)
    text_mod.QUERY_THREADS = few
    loads.append(os.getloadavg()[0])
    pct = lambda a, p: round(float(np.percentile(a, p)), 2)  # noqa: E731
    result = {
        "queries": len(qs),
        "torch_threads": threads,
        "few_query_threads": few,
        **{
            name: {"p50_ms": pct(v, 50), "p95_ms": pct(v, 95), "mean_ms": round(float(np.mean(v)), 2)}
            for name, v in times.items()
        },
        "cpus": os.cpu_count(),
        "load_avg_start_end": loads,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"query_threads_{os.cpu_count()}cpu.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(f"[bench_query_threads] wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
