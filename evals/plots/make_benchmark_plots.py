"""Regenerate every plot of ``docs/benchmarks.md`` from the recorded results in ``evals/results/``.

    python -m evals.plots.make_benchmark_plots                  # writes docs/img/*.png
    python -m evals.plots.make_benchmark_plots --only hybrid_retrieval --out /tmp/plots

Each plot reads one or more result files; a plot whose files are missing (or lack a field it needs) is
skipped with a one-line message, and the others are still written. Needs matplotlib (the ``eval`` extra).
The script only reads ``evals/results/``: to change a figure, re-run its benchmark (the command is in
``docs/benchmarks.md``) with ``--out evals/results`` and run this script again.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "evals" / "results"
IMG = REPO / "docs" / "img"
DPI = 100

Results = dict[str, Any]


@dataclass(frozen=True)
class Plot:
    name: str
    files: tuple[str, ...]
    """Result files the plot needs (all of them), relative to the results folder."""
    draw: Callable[[Any, dict[str, Results]], None]
    """Draws into the figure from the loaded files (keyed by file name)."""
    size: tuple[float, float] = (9.0, 3.6)
    optional: tuple[str, ...] = ()
    """Files used when present."""


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 8, "axes.titlesize": 9, "legend.fontsize": 7})
    return plt


def _label_bars(ax: Any, bars: Any, fmt: str = "{:.2f}") -> None:
    for b in bars:
        h = b.get_height()
        ax.annotate(
            fmt.format(h),
            (b.get_x() + b.get_width() / 2, h),
            ha="center",
            va="bottom",
            fontsize=6,
            xytext=(0, 1),
            textcoords="offset points",
        )


def _plain_log(ax: Any, axis: str = "x") -> None:
    """A log axis labelled 0.2, 0.5, 1, 2 ... instead of powers of ten."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    a = ax.xaxis if axis == "x" else ax.yaxis
    (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
    a.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    a.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    a.set_minor_formatter(FuncFormatter(lambda v, _: ""))


# --- vector stores -------------------------------------------------------------------------------------------------


def draw_store_backends(fig: Any, r: dict[str, Results]) -> None:
    runs = [r[f] for f in sorted(r)]
    ax1, ax2 = fig.subplots(1, 2)
    series = {
        "Edge, first pass": [d["backends"]["edge"]["p50_ms"] for d in runs],
        "Edge, warm (hnsw_ef 128)": [
            next(s["p50_ms"] for s in d["backends"]["edge"]["sweep"] if s["hnsw_ef"] == 128) for d in runs
        ],
        "FAISS HNSW (M 32)": [d["backends"]["faiss_hnsw"]["p50_ms"] for d in runs],
        "qdrant-client local mode (CPU time)": [d["backends"]["qdrant_local"]["p50_cpu_ms"] for d in runs],
    }
    width = 0.8 / len(series)
    for i, (name, vals) in enumerate(series.items()):
        bars = ax1.bar([x + i * width for x in range(len(runs))], vals, width, label=name)
        _label_bars(ax1, bars, "{:.3g}")
    _plain_log(ax1, "y")
    ax1.set_xticks([x + 0.4 - width / 2 for x in range(len(runs))], [f"run {i + 1}" for i in range(len(runs))])
    ax1.set_ylabel("query p50 (ms, log)")
    ax1.set_title("100k x 384 clustered, k=10, one query at a time")
    ax1.set_ylim(top=40 * max(max(v) for v in series.values()))
    ax1.legend(loc="upper left", ncol=2)
    for i, d in enumerate(runs):
        for backend, style in (("edge", "-o"), ("faiss_hnsw", "--s")):
            sw = d["backends"][backend]["sweep"]
            ax2.plot(
                [s["p50_ms"] for s in sw],
                [s["recall_at_10"] for s in sw],
                style,
                ms=3,
                color=f"C{i}",
                label=f"run {i + 1} {'Edge' if backend == 'edge' else 'FAISS HNSW'}",
            )
    ax2.axhline(0.95, color="grey", lw=0.6, ls=":")
    ax2.set_xlabel("query p50 (ms), beam hnsw_ef 16-128")
    ax2.set_ylabel("recall@10")
    ax2.set_title("Recall vs latency, Edge vs FAISS HNSW, same runs")
    ax2.legend(ncol=2)


def draw_edge_int8(fig: Any, r: dict[str, Results]) -> None:
    d = r["edge_ef_sweep_mixture_100000_int8_vs_float32.json"]
    ax = fig.subplots(1, 1)
    names = {"float32": "float32", "scalar_auto": "int8 + exact rescoring (default)"}
    for config in sorted({p["config"] for p in d["points"]}):
        pts = [p for p in d["points"] if p["config"] == config]
        ax.plot(
            [p["p50_ms"] for p in pts],
            [p["recall_at_10"] for p in pts],
            "-o",
            ms=3,
            lw=0.8,
            label=names.get(config, config),
        )
        for p in pts:
            if p["hnsw_ef"] in (16, 128, 512):
                ax.annotate(
                    f"ef {p['hnsw_ef']}",
                    (p["p50_ms"], p["recall_at_10"]),
                    fontsize=6,
                    xytext=(3, -8),
                    textcoords="offset points",
                )
    _plain_log(ax)
    ax.set_xlabel("query p50 (ms, log)")
    ax.set_ylabel("recall@10")
    ax.set_title(f"Qdrant Edge, {d['n']:,} real-embedding-like vectors ({d['data']}), int8 vs float32")
    ax.legend(loc="lower right")


def draw_scale_1m(fig: Any, r: dict[str, Results]) -> None:
    ax = fig.subplots(1, 1)
    e2e = r["bench_scale_e2e_1000000.json"]
    sw = e2e["search_ef_sweep"]
    ax.plot(
        [p["p50_ms"] for p in sw],
        [p["recall_at_10"] for p in sw],
        "-o",
        ms=3,
        lw=0.8,
        label="real-embedding manifold (MiniLM), real questions",
    )
    cl = r["edge_ef_sweep_clustered_1000000_m16.json"]["points"]
    ax.plot(
        [p["p50_ms"] for p in cl],
        [p["recall_at_10"] for p in cl],
        "-s",
        ms=3,
        lw=0.8,
        label="clustered synthetic (20k isolated clusters)",
    )
    _plain_log(ax)
    ax.set_xlabel("search p50 (ms, log), beam hnsw_ef swept")
    ax.set_ylabel("recall@10 vs exact")
    ax.set_title("Qdrant Edge at 1M x 384 (float32 vectors)")
    ax.legend(loc="lower right")


# --- retrieval -----------------------------------------------------------------------------------------------------


def draw_hybrid(fig: Any, r: dict[str, Results]) -> None:
    d = r["eval_hybrid.json"]
    sets = d["datasets"]
    axes = fig.subplots(1, len(sets), sharey=True)
    for ax, (name, ds) in zip(axes, sets.items()):
        bars = {
            "dense": ds["single"]["dense"],
            "BM25": ds["single"]["sparse"],
            "hybrid": ds["hybrid_chosen"],
        }
        if "stepwise" in ds:
            bars["step-wise"] = ds["stepwise"]
        cut = ["all@2", "all@5", "all@10"]
        width = 0.8 / len(bars)
        for i, (label, v) in enumerate(bars.items()):
            b = ax.bar([x + i * width for x in range(len(cut))], [v[c] for c in cut], width, label=label)
            _label_bars(ax, b)
        ax.set_xticks([x + 0.4 - width / 2 for x in range(len(cut))], [f"recall_{c}" for c in cut])
        held = "fusion tuned here" if name == d["tuned_on"] else "held out"
        ax.set_title(f"{name} ({held}): {ds['questions']} questions, {ds['paragraphs']} paragraphs")
        ax.set_ylim(0, 1.08)
    axes[0].legend(loc="lower right")


def draw_answer_risk_coverage(fig: Any, r: dict[str, Results]) -> None:
    d = r["bench_answers.json"]["offline_e2e"]["pooled"]
    cov, prec = zip(*((c, p) for c, p, _ in d["risk_coverage"]))
    ax = fig.subplots()
    ax.plot(cov, prec, label="answering in order of the verifier's estimate")
    shown = d["correct"] + d["wrong"]
    ax.plot(
        [shown / d["n"]],
        [d["correct"] / max(1, shown)],
        "o",
        c="C3",
        label=f"shipped threshold: {d['correct']} right, {d['wrong']} wrong of {d['n']}",
    )
    for level in (0.8, 0.9):
        ax.axhline(level, ls=":", c="grey")
    ax.set_xlabel(f"coverage (share of the {d['n']} questions answered)")
    ax.set_ylabel("precision (exactly right)")
    ax.set_ylim(0, 1.02)
    ax.set_title("Offline defaults end to end, held out by article: risk-coverage")
    ax.legend(fontsize=8)


def draw_widening(fig: Any, r: dict[str, Results]) -> None:
    ax1, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 1]})
    rec = r["exp_route_widening.json"]["recall_report_half"]
    groups = [
        ("multi-hop\nsingle-shot", "single", "multihop_recall_all@5"),
        ("multi-hop\nstep-wise", "stepwise", "multihop_recall_all@5"),
        ("SQuAD\nsingle-shot", "single", "squad_recall@5"),
        ("SQuAD\nstep-wise", "stepwise", "squad_recall@5"),
    ]
    for i, (kind, label) in enumerate((("routed_only", "routed KBs only"), ("widened", "widened by evidence"))):
        vals = [rec[f"{mode}_{kind}"][key] for _, mode, key in groups]
        _label_bars(ax1, ax1.bar([x + i * 0.4 for x in range(len(groups))], vals, 0.4, label=label))
    ax1.set_xticks([x + 0.2 for x in range(len(groups))], [g[0] for g in groups])
    ax1.set_ylabel("top-5 recall (multi-hop: all gold)")
    ax1.set_ylim(0, 1.05)
    ax1.set_title("Routes widened by evidence (held-out half)")
    ax1.legend(loc="upper left")
    if "exp_no_route_evidence.json" in r:
        nr = r["exp_no_route_evidence.json"]["squad_recall_report_half"]
        vals = [nr["routed_only"]["recall@5"], nr["with_the_rule"]["recall@5"]]
        _label_bars(ax2, ax2.bar(["routed\n'no'", "text KB\nsearched"], vals, 0.6, color=["C0", "C1"]))
        ax2.set_ylim(0, 1.05)
        ax2.set_title(f"SQuAD questions routed 'no' ({nr['routed_only']['questions']})")
    else:
        ax2.set_axis_off()


def draw_stepwise_scale(fig: Any, r: dict[str, Results]) -> None:
    cases = [
        ("100k, default", "bench_scale_lexical_100000_pools_by_point_id.json"),
        ("1M, default", "bench_scale_lexical_1000000.json"),
        ("1M, on_disk=true", "bench_scale_lexical_1000000_on_disk.json"),
    ]
    cases = [(label, f) for label, f in cases if f in r]
    ax1, ax2, ax3 = fig.subplots(1, 3)
    for i, (_label, f) in enumerate(cases):
        d = r[f]
        runs = d.get("runs") or [d]
        ax1.bar(i, d["first_answer_s"], 0.6, color=f"C{i}")
        ax1.plot([i] * len(runs), [x["first_answer_s"] for x in runs], "k.", ms=4)
        ax2.bar(i - 0.15, d["step_ms"]["p50"], 0.3, color=f"C{i}", label="p50" if i == 0 else None)
        ax2.bar(i + 0.15, d["step_ms"]["p95"], 0.3, color=f"C{i}", alpha=0.45, label="p95" if i == 0 else None)
        ax3.bar(i, d["rss_mb_after_first_answer"] / 1024, 0.6, color=f"C{i}")
    for ax, title, unit, target in (
        (ax1, "first step-wise answer after opening the home", "s", 1.0),
        (ax2, "one step-wise step", "ms", 30.0),
        (ax3, "RSS with the KB open (models included)", "GB", None),
    ):
        ax.set_xticks(range(len(cases)), [c[0] for c in cases])
        ax.set_title(title)
        ax.set_ylabel(unit)
        if target is not None:
            ax.axhline(target, color="grey", ls=":", lw=0.8)
            ax.annotate("target" if ax is ax1 else "p50 target", (len(cases) - 0.9, target), fontsize=6, va="bottom")
    ax2.legend(loc="upper left")
    fig.suptitle("Step-wise retrieval at scale: 458 real + filler paragraphs, Qdrant Edge (dots: fresh-process runs)")


# --- routing -------------------------------------------------------------------------------------------------------


def draw_router(fig: Any, r: dict[str, Results]) -> None:
    d = r["router_eval.json"]
    ax1, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    routes = list(d["cv_stratified"]["per_route"])
    for i, (key, label) in enumerate(
        (("cv_stratified", "stratified 5-fold"), ("cv_source_grouped", "source held out"))
    ):
        if key not in d:
            continue
        cv = d[key]
        vals = [cv["per_route"][x] for x in routes] + [cv["accuracy"]]
        _label_bars(ax1, ax1.bar([x + i * 0.4 for x in range(len(vals))], vals, 0.4, label=f"{label}"))
    ax1.set_xticks([x + 0.2 for x in range(len(routes) + 1)], [*routes, "all"])
    ax1.set_ylim(0, 1.1)
    ax1.set_title(f"Route accuracy, out of fold ({d['n']:,} UniversalRAG routing questions)")
    ax1.legend(loc="lower left")
    inv = d.get("invariance_out_of_fold") or {}
    names = list(inv)
    vals = [inv[n]["unchanged"] for n in names]
    ax2.barh(range(len(names)), vals, color=["C2" if v >= 0.98 else "C3" for v in vals])
    ax2.set_yticks(range(len(names)), [n.replace("_", " ") for n in names])
    ax2.axvline(0.98, color="grey", ls=":", lw=0.8)
    ax2.set_xlim(min([0.9, *vals]), 1.0)
    ax2.set_title("Routes kept under each perturbation, out of fold")
    if "bench_router_quiet.json" in r:
        q = r["bench_router_quiet.json"]
        ax1.annotate(
            f"one routed query, embedding included: p50 {q['p50_ms']:.1f} ms, p95 {q['p95_ms']:.1f} ms",
            (0.0, -0.22),
            xycoords="axes fraction",
            fontsize=7,
        )


# --- serving, indexing, GPU ----------------------------------------------------------------------------------------


def draw_serve(fig: Any, r: dict[str, Results]) -> None:
    d = r["bench_serve.json"]
    ax = fig.subplots(1, 1)
    cmds = list(d["warm_cli"])
    cmds = [c for c in cmds if isinstance(d["warm_cli"][c], dict) and "median" in d["warm_cli"][c]]
    cold = [d["cold_cli"].get(c, {}).get("median", float("nan")) for c in cmds]
    warm = [d["warm_cli"][c]["median"] for c in cmds]
    _label_bars(ax, ax.bar([x for x in range(len(cmds))], cold, 0.4, label="no server (in-process)"), "{:.2f}")
    _label_bars(ax, ax.bar([x + 0.4 for x in range(len(cmds))], warm, 0.4, label="mmroute serve running"), "{:.2f}")
    ax.set_xticks([x + 0.2 for x in range(len(cmds))], [f"mmroute {c}" for c in cmds])
    ax.set_ylabel("median wall time of the CLI call (s)")
    ax.set_title(f"CLI calls with and without a warm server ({len(d['kbs'])} KBs)")
    ax.legend()


def draw_indexing(fig: Any, r: dict[str, Results]) -> None:
    d = r["bench_indexing.json"]["modalities"]
    mods = [m for m in ("text", "image") if m in d]
    ax = fig.subplots(1, 1)
    raw = [d[m]["raw_items_per_s"] for m in mods]
    pipe = [d[m]["pipeline_items_per_s"] for m in mods]
    _label_bars(ax, ax.bar([x for x in range(len(mods))], raw, 0.4, label="the encoder alone"), "{:.1f}")
    _label_bars(ax, ax.bar([x + 0.4 for x in range(len(mods))], pipe, 0.4, label="mmroute index"), "{:.1f}")
    ax.set_xticks(
        [x + 0.2 for x in range(len(mods))],
        [f"{m} ({d[m]['items']} items, {d[m]['encoder']})\noverhead {d[m]['overhead']:+.1%}" for m in mods],
    )
    ax.set_ylabel("items per second")
    ax.set_title("Indexing throughput vs the raw encoder")
    ax.legend()


def draw_gpu(fig: Any, r: dict[str, Results]) -> None:
    d = r["gpu_paths_check.json"]
    ax1, ax2 = fig.subplots(1, 2)
    t = d["text"]
    _label_bars(
        ax1,
        ax1.bar(
            ["GPU", f"CPU ({t['cpu_threads']} threads)"],
            [t["docs_per_s_gpu"], t["docs_per_s_cpu"]],
            0.6,
            color=["C1", "C0"],
        ),
        "{:.0f}",
    )
    ax1.set_ylabel("documents per second")
    ax1.set_title("MiniLM text encoding")
    ft = d["finetuned_router"]
    _label_bars(
        ax2,
        ax2.bar(
            ["GPU", "2 CPU cores"], [ft["train_seconds_cuda"], ft["train_seconds_2_cpu_cores"]], 0.6, color=["C1", "C0"]
        ),
        "{:.0f}",
    )
    _plain_log(ax2, "y")
    ax2.set_ylabel("seconds (log)")
    ax2.set_title("route finetune (MiniLM, routing split)")
    fig.suptitle(f"GPU paths: {d['gpu']}")


PLOTS: tuple[Plot, ...] = (
    Plot(
        "store_backends_100k",
        tuple(f"bench_store_clustered_100000_same_run_{i}.json" for i in (1, 2, 3)),
        draw_store_backends,
        (11.0, 3.8),
    ),
    Plot(
        "edge_int8_vs_float32_100k", ("edge_ef_sweep_mixture_100000_int8_vs_float32.json",), draw_edge_int8, (6.0, 3.6)
    ),
    Plot(
        "edge_1m_recall_latency",
        ("bench_scale_e2e_1000000.json", "edge_ef_sweep_clustered_1000000_m16.json"),
        draw_scale_1m,
        (6.0, 3.6),
    ),
    Plot("answer_risk_coverage", ("bench_answers.json",), draw_answer_risk_coverage, (6.0, 3.6)),
    Plot("hybrid_retrieval", ("eval_hybrid.json",), draw_hybrid, (10.0, 3.4)),
    Plot("route_widening", ("exp_route_widening.json",), draw_widening, (10.0, 3.4), ("exp_no_route_evidence.json",)),
    Plot(
        "stepwise_at_scale",
        ("bench_scale_lexical_1000000.json", "bench_scale_lexical_1000000_on_disk.json"),
        draw_stepwise_scale,
        (11.0, 3.4),
        ("bench_scale_lexical_100000_pools_by_point_id.json",),
    ),
    Plot("router_accuracy", ("router_eval.json",), draw_router, (11.0, 3.8), ("bench_router_quiet.json",)),
    Plot("serve_latency", ("bench_serve.json",), draw_serve, (6.0, 3.4)),
    Plot("indexing_overhead", ("bench_indexing.json",), draw_indexing, (6.0, 3.4)),
    Plot("gpu_paths", ("gpu_paths_check.json",), draw_gpu, (8.0, 3.0)),
)


def make(plot: Plot, results: Path, out: Path) -> Path | None:
    """Write ``out/<plot.name>.png``; None (with a message on stderr) when its results are missing or incomplete."""
    missing = [f for f in plot.files if not (results / f).is_file()]
    if missing:
        print(f"skip {plot.name}: missing {', '.join(str(results / f) for f in missing)}", file=sys.stderr)
        return None
    loaded: dict[str, Results] = {}
    for f in (*plot.files, *plot.optional):
        path = results / f
        if path.is_file():
            try:
                loaded[f] = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as e:
                print(f"skip {plot.name}: cannot read {path}: {e}", file=sys.stderr)
                return None
    plt = _plt()
    fig = plt.figure(figsize=plot.size)
    try:
        plot.draw(fig, loaded)
    except (KeyError, IndexError, TypeError, StopIteration) as e:
        plt.close(fig)
        print(f"skip {plot.name}: a field it needs is missing from {', '.join(loaded)} ({e!r})", file=sys.stderr)
        return None
    fig.tight_layout()
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{plot.name}.png"
    fig.savefig(path, dpi=DPI, metadata={"Software": None})
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--results", type=Path, default=RESULTS, help="folder of result JSON files (default evals/results)")
    p.add_argument("--out", type=Path, default=IMG, help="folder for the PNGs (default docs/img)")
    p.add_argument("--only", action="append", default=[], metavar="NAME", help="only this plot (repeatable)")
    p.add_argument("--list", action="store_true", help="list the plots and the files each reads, and exit")
    args = p.parse_args(argv)
    plots = [x for x in PLOTS if not args.only or x.name in args.only]
    if args.list:
        for x in PLOTS:
            print(f"{x.name}.png <- {', '.join(x.files + x.optional)}")
        return 0
    unknown = set(args.only) - {x.name for x in PLOTS}
    if unknown:
        print(f"unknown plot(s): {', '.join(sorted(unknown))} (see --list)", file=sys.stderr)
        return 2
    written = [path for x in plots if (path := make(x, args.results, args.out)) is not None]
    for path in written:
        print(f"wrote {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")
    print(f"{len(written)} of {len(plots)} plots written", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
