"""Loading a saved title index (``<store folder>.titles.npz``) at scale, in a fresh process.

The worst case for the loader: ``--items`` titled items, nearly every one with its own title (1 to 3
words drawn from a 300k-word vocabulary; real KBs share a title among an article's paragraphs, so they
have several times fewer titles). Measured: the file's size and save time, then, in a fresh process,
the load time, the RSS it adds, and one :meth:`TitleIndex.mentions` call.

    python -m evals.bench.bench_title_index --items 1000000

Writes ``bench_title_index_<items>.json`` (to ``--out``; default: a scratch folder).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ..paths import SCRATCH

REPO = Path(__file__).resolve().parents[2]
VOCAB = 300_000


def write(folder: Path, items: int) -> dict[str, float]:
    from mmroute.retrieval.lexical import TitleIndex, _title_hash, make_stamp, save_title_index

    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(VOCAB)]
    drawn = {" ".join(words[j] for j in rng.integers(0, VOCAB, rng.integers(1, 4))) for _ in range(items)}
    order = sorted((_title_hash(t), t) for t in drawn)  # the index's order: by title hash
    titles = [t for _, t in order]
    index = TitleIndex._from_parts(
        titles=titles,
        hashes=np.asarray([h for h, _ in order], dtype=np.uint64),
        starts=np.arange(len(titles) + 1, dtype=np.int64),
        ids=[f"para-{i:07d}" for i in range(len(titles))],
        weights=rng.random(len(titles)).astype(np.float32),
        df={w: int(c) for w, c in zip(words, rng.integers(1, 1000, VOCAB))},
        n=items,
        modality="text",
    )
    t = time.perf_counter()
    path = save_title_index(folder, index, make_stamp("store", items, "t"))
    return {
        "titles": len(titles),
        "save_s": round(time.perf_counter() - t, 3),
        "file_mb": round(path.stat().st_size / 2**20, 1),
    }


def load(folder: Path, items: int) -> dict[str, float]:
    from evals.bench.bench_store import rss_mb
    from mmroute.retrieval.lexical import load_title_index, make_stamp

    rss0 = rss_mb()
    t = time.perf_counter()
    index = load_title_index(folder, make_stamp("store", items, "t"))
    load_s = time.perf_counter() - t
    rss1 = rss_mb()
    assert index is not None
    t = time.perf_counter()
    found = index.mentions("in w5 w17 and w123 w9 there is w299999 " * 5)
    return {
        "load_s": round(load_s, 3),
        "rss_added_mb": round(rss1 - rss0, 1),
        "mentions_ms": round((time.perf_counter() - t) * 1000, 3),
        "mentions_found": len(found),
        "load_avg": os.getloadavg()[0],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.bench.bench_title_index", description=__doc__.split("\n\n")[0])
    ap.add_argument("--items", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3, help="fresh-process loads")
    ap.add_argument("--load", type=Path, default=None, help="(internal) load from this folder, print JSON")
    ap.add_argument("--out", type=Path, default=SCRATCH)
    args = ap.parse_args(argv)
    if args.load is not None:
        print(json.dumps(load(args.load, args.items)))
        return 0
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    with tempfile.TemporaryDirectory() as tmp:
        result: dict = {"items": args.items, **write(Path(tmp), args.items), "loads": []}
        for _ in range(args.runs):
            cmd = [sys.executable, "-m", "evals.bench.bench_title_index", "--items", str(args.items), "--load", tmp]
            out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, check=True).stdout
            result["loads"].append(json.loads(out.strip().splitlines()[-1]))
    result["load_s_median"] = float(np.median([r["load_s"] for r in result["loads"]]))
    result["cpus"] = os.cpu_count()
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"bench_title_index_{args.items}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
