"""Plots of latency and recall against KB size from the bench_store results in evals/results (or ``--results``).

Reads every ``bench_store_<data>_<n>[_tag].json`` (one point per backend and run) and every
``<backend>_ef_sweep_<data>_<n>[_tag].json`` (for each swept build: the cheapest hnsw_ef/ef_search
reaching recall@10 >= --target, or the most exact one when none does), and draws, per data kind:

- ``scaling_latency_<data>.png``: p50 single-query latency vs n (log-log), one line per backend,
- ``scaling_recall_<data>.png``: recall@10 vs n,

into ``--out`` (default: a scratch folder; ``--out evals/results`` replaces the committed plots).

    python -m evals.bench.plot_scaling                 # all results found
    python -m evals.bench.plot_scaling --target 0.95
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from ..paths import RESULTS, SCRATCH

_STORE = re.compile(r"^bench_store_(?P<data>[a-z]+)_(?P<n>\d+)(?:_(?P<tag>.+))?\.json$")
_SWEEP = re.compile(r"^(?P<backend>[a-z_]+)_ef_sweep_(?P<data>[a-z]+)_(?P<n>\d+)(?:_(?P<tag>.+))?\.json$")


def collect(results: Path, target: float) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """data kind -> series label -> points {n, p50_ms, p95_ms, recall_at_10, rss_mb, source}."""
    out: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for f in sorted(results.glob("*.json")):
        m = _STORE.match(f.name)
        if m:
            res = json.loads(f.read_text())
            for backend, r in res.get("backends", {}).items():
                if "p50_ms" not in r:
                    continue
                label = backend + _opts_label(r.get("options", {}), backend)
                out.setdefault(m["data"], {}).setdefault(label, []).append(
                    {
                        "n": res["n"],
                        "p50_ms": r["p50_ms"],
                        "p95_ms": r["p95_ms"],
                        "recall_at_10": r["recall_at_10"],
                        "rss_mb": r.get("rss_mb"),
                        "source": f.name,
                    }
                )
            continue
        m = _SWEEP.match(f.name)
        if m:
            res = json.loads(f.read_text())
            by_cfg: dict[str, list[dict[str, Any]]] = {}
            for p in res.get("points", []):
                by_cfg.setdefault(p["config"], []).append(p)
            for cfg, pts in by_cfg.items():
                ok = [p for p in pts if p["recall_at_10"] >= target]
                best = min(ok, key=lambda p: p["p50_ms"]) if ok else max(pts, key=lambda p: p["recall_at_10"])
                label = f"{m['backend']} {cfg} (ef={best['hnsw_ef']}, swept)"
                build = res.get("builds", {}).get(cfg, {})
                out.setdefault(m["data"], {}).setdefault(label, []).append(
                    {
                        "n": res["n"],
                        "p50_ms": best["p50_ms"],
                        "p95_ms": best["p95_ms"],
                        "recall_at_10": best["recall_at_10"],
                        "rss_mb": build.get("rss_mb"),
                        "source": f.name,
                    }
                )
    for series in out.values():  # one point per size: the most recent run
        for label, pts in series.items():
            latest: dict[int, dict[str, Any]] = {}
            for p in sorted(pts, key=lambda p: (results / p["source"]).stat().st_mtime):
                latest[p["n"]] = p
            series[label] = sorted(latest.values(), key=lambda p: p["n"])
    return out


def _opts_label(options: dict[str, Any], backend: str) -> str:
    keys = [
        k
        for k in ("m", "ef_construct", "hnsw_ef", "quantization", "M", "ef_construction", "ef_search")
        if k in options and options[k] is not None
    ]
    if backend.startswith("faiss"):
        keys = [k for k in keys if k in ("M", "ef_construction", "ef_search")]
    return (" " + ",".join(f"{k}={options[k]}" for k in keys)) if keys else " (defaults)"


def plot(
    series: dict[str, list[dict[str, Any]]],
    data: str,
    key: str,
    ylabel: str,
    png: Path,
    logy: bool,
    hline: float | None,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, pts in sorted(series.items()):
        ax.plot([p["n"] for p in pts], [p[key] for p in pts], marker="o", label=label)
    ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    if hline is not None:
        ax.axhline(hline, color="grey", ls="--", lw=0.8)
    ax.set_xlabel("vectors in the KB (384-d)")
    ax.set_ylabel(ylabel)
    ax.set_title(f"{ylabel} vs size, {data} data, 2 shared CPU cores", fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evals.bench.plot_scaling", description=__doc__.split("\n\n")[0])
    ap.add_argument("--results", type=Path, default=RESULTS, help="folder of bench_store/ef-sweep JSON to read")
    ap.add_argument("--out", type=Path, default=SCRATCH, help="folder for the PNGs (default: a scratch folder)")
    ap.add_argument("--target", type=float, default=0.95, help="recall@10 a swept build must reach")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    data = collect(args.results, args.target)
    for kind, series in data.items():
        plot(
            series, kind, "p50_ms", "p50 single-query latency (ms)", args.out / f"scaling_latency_{kind}.png", True, 3.0
        )
        plot(
            series,
            kind,
            "recall_at_10",
            "recall@10 vs exact",
            args.out / f"scaling_recall_{kind}.png",
            False,
            args.target,
        )
        print(
            f"{kind}: "
            + "; ".join(
                f"{lbl}: " + ", ".join(f"n={p['n']} p50={p['p50_ms']:.2f}ms r={p['recall_at_10']:.3f}" for p in pts)
                for lbl, pts in series.items()
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
