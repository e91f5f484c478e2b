"""Indexing throughput per modality against the raw encoder's throughput, measured in one run.

For each modality the same items are (a) encoded directly with the encoder (raw) and (b) indexed
end to end by :class:`mmroute.indexer.Indexer` into a fresh KB on the embedded default store
(load, hash, encode, upsert, flush, manifest). Rounds alternate raw/pipeline and the best of each
is kept, so background load on a shared machine hits both alike. Overhead = pipeline/raw - 1. For text,
each round also encodes with fixed batches of 64 rows padded to their longest (the encoder before its
token-budget batches), so ``speedup_vs_fixed_batches`` is measured in the same run.

    python -m evals.bench.bench_indexing --json                 # text, image, video
    python -m evals.bench.bench_indexing --modality text --rounds 3
Writes bench_indexing.json to ``--out`` (default: a scratch folder; ``--out evals/results`` replaces the committed one).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from ..paths import SCRATCH

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _cases(data: Path, work: Path) -> dict[str, tuple[Path, str]]:
    from mmroute.corpora.shared import _bbb

    return {
        "text": (data / "text/multihop_ircot/corpus.jsonl", "paragraph"),
        "image": (data / "images/skimage/images", "image"),
        "video": (_bbb(data, work), "clip"),
    }


def bench(modality: str, src: Path, granularity: str, rounds: int, work: Path) -> dict[str, object]:
    from mmroute.indexer import DEFAULT_ENCODERS, Indexer
    from mmroute.kb import Home
    from mmroute.loaders.detect import get_loader, plan_sources
    from mmroute.types import Granularity

    mod, plans, _ = plan_sources(src)
    gran = Granularity(granularity)
    root = src if src.is_dir() else src.parent
    items = []
    for plan in plans:
        items += [it for it in get_loader(plan.loader).load(plan.path, [gran], root=root).items if it.kind is gran]
    home = Home(work / f"home-{modality}")
    enc = home.encoders.get(DEFAULT_ENCODERS[mod])
    enc.warm_up()
    enc.encode_items(items[:2])  # first-call costs (allocations, kernels) out of the timing
    batch = 64

    def encode_all() -> float:
        t = time.perf_counter()
        for s in range(0, len(items), batch):
            enc.encode_items(items[s : s + batch])
        return time.perf_counter() - t

    budget = getattr(enc, "batch_tokens", None)
    raw_s, pipe_s, fixed_s = [], [], []
    for _ in range(rounds):
        if budget is not None:  # the text encoder before token-budget batches: rows of 64, padded to the longest
            enc.batch_tokens = enc.batch_size * enc.max_length
            try:
                fixed_s.append(encode_all())
            finally:
                enc.batch_tokens = budget
        raw_s.append(encode_all())
        shutil.rmtree(home.root, ignore_errors=True)
        t = time.perf_counter()
        rep = Indexer(home, batch_size=batch).index(f"bench-{modality}", src, granularity=granularity)[0]
        pipe_s.append(time.perf_counter() - t)
        assert rep.count == len(items), (rep.count, len(items))
    raw, pipe = min(raw_s), min(pipe_s)
    fixed: dict[str, object] = {}
    if fixed_s:
        fixed = {
            "fixed_batches_s": round(min(fixed_s), 3),
            "fixed_batches_items_per_s": round(len(items) / min(fixed_s), 2),
            "speedup_vs_fixed_batches": round(min(fixed_s) / pipe, 2),
            "fixed_batches_all_s": [round(x, 3) for x in fixed_s],
        }
    return {
        "items": len(items),
        "encoder": enc.spec.name,
        "raw_s": round(raw, 3),
        "pipeline_s": round(pipe, 3),
        "raw_items_per_s": round(len(items) / raw, 2),
        "pipeline_items_per_s": round(len(items) / pipe, 2),
        "overhead": round(pipe / raw - 1.0, 4),
        "rounds": rounds,
        "raw_all_s": [round(x, 3) for x in raw_s],
        "pipeline_all_s": [round(x, 3) for x in pipe_s],
        **fixed,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--modality", action="append", choices=["text", "image", "video"])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument(
        "--data",
        type=Path,
        default=Path(os.environ.get("MMROUTE_DATA") or Path(__file__).resolve().parents[3] / "shared/data"),
    )
    ap.add_argument("--json", action="store_true")
    ap.add_argument(
        "--out", type=Path, default=SCRATCH, help="folder for bench_indexing.json (default: a scratch folder)"
    )
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mmroute-bench-"))
    try:
        cases = _cases(args.data, work)
        out = {"rounds": args.rounds, "cpu_count": os.cpu_count(), "modalities": {}}
        for m in args.modality or ["text", "image", "video"]:
            src, gran = cases[m]
            out["modalities"][m] = bench(m, src, gran, args.rounds, work)
            if not args.json:
                print(m, out["modalities"][m])
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "bench_indexing.json").write_text(json.dumps(out, indent=2) + "\n")
        if args.json:
            print(json.dumps(out))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
