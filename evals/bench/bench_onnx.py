"""ONNX Runtime against PyTorch on the shared data: parity of every output users see, and speed.

Each backend runs in its own process (``MMROUTE_INFERENCE=torch`` / ``onnx``) on the same machine, one after
the other, and writes its raw outputs; this script compares them:

- **embeddings**: cosine between the two runtimes' MiniLM vectors for every text of the shared SQuAD 2.0 dev
  corpus, the IRCoT corpus and questions, and the UniversalRAG routing questions (target min >= 0.995);
- **retrieval**: dense all-gold@5 of the IRCoT questions over the IRCoT corpus, brute-force cosine (within
  0.5 points);
- **reader**: SQuAD-official EM/F1 of the packaged reader on the 950 shared dev questions, gold paragraph
  given (within 0.5 points);
- **router**: the shipped router's route for each of the 2,425 routing questions (its training questions:
  the accuracies are in-sample and only their difference means anything), agreement and accuracy (within
  0.3 points);
- **answers**: the whole offline pipeline (default router, step-wise retrieval, reader, verifier with the
  shipped policy) on the 950 dev questions: verifier decisions (answer or "I don't know") identical on
  >= 98%, and the answers given;
- **speed**: text-embedding throughput (IRCoT corpus, batches of 64), warm ask p50, and each backend's
  model-loading time;
- **cold CLI** (``--parts cold``, on the demo home): fresh ``mmroute ask`` and ``mmroute search`` processes
  without a server, median of five each, the backends interleaved; ``mmroute index`` of the IRCoT corpus.

    python -m evals.bench.bench_onnx [--limit N] [--parts parity,cold] [--out evals/results/bench_onnx.json]
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
from typing import Any

import numpy as np

from ..paths import REPO, SCRATCH, report_path

DATA = Path(os.environ.get("MMROUTE_DATA") or REPO.parent / "shared" / "data")

BACKENDS = ("torch", "onnx")


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def run_backend(backend: str, out: Path, limit: int | None) -> None:
    """Everything one runtime produces, written under ``out`` (runs inside the child process)."""
    from mmroute.encoders.text import default_text_encoder
    from mmroute.evaluation.answers import evaluate_answers  # noqa: F401  (same import cost in both runs)
    from mmroute.kb import Home
    from mmroute.pipeline import Pipeline, PipelineConfig
    from mmroute.reading.evaluation import evaluate_reader
    from mmroute.reading.reader import shared_reader
    from mmroute.reading.squad import load_squad
    from mmroute.routing import TrainedRouter
    from mmroute.routing.dataset import load_routing_jsonl
    from mmroute.routing.evaluation import predicted_route

    timings: dict[str, Any] = {}
    t0 = time.perf_counter()
    enc = default_text_encoder()
    enc.warm_up()
    timings["encoder_load_s"] = round(time.perf_counter() - t0, 3)
    assert enc.runtime == backend, (enc.runtime, backend)

    squad = [r["text"] for r in _jsonl(DATA / "text/squad2_dev/corpus.jsonl")]
    corpus = _jsonl(DATA / "text/multihop_ircot/corpus.jsonl")
    ircot_texts = [f"{r['title']}. {r['text']}" for r in corpus]
    ircot_q = _jsonl(DATA / "text/multihop_ircot/questions.jsonl")
    routing = load_routing_jsonl(DATA / "routing/universalrag_train.jsonl")
    if limit:
        routing = routing[: limit * 5]
    t = time.perf_counter()
    ircot_vecs = enc.encode_texts(ircot_texts)
    timings["ircot_embed_texts_per_s"] = round(len(ircot_texts) / (time.perf_counter() - t), 1)
    np.save(out / "ircot.npy", ircot_vecs)
    np.save(out / "ircot_q.npy", enc.encode_texts([q["question"] for q in ircot_q]))
    np.save(out / "squad.npy", enc.encode_texts(squad))
    np.save(out / "routing_q.npy", enc.encode_texts([r.question for r in routing]))

    examples = load_squad(DATA / "text/squad2_dev/dev-v2.0-shared3articles.json")
    if limit:
        examples = examples[:limit]
    t = time.perf_counter()
    reader = shared_reader("packaged")
    reader.warm_up()
    timings["reader_load_s"] = round(time.perf_counter() - t, 3)
    assert reader.runtime == backend
    reading = evaluate_reader(reader, examples)

    router = TrainedRouter()
    t = time.perf_counter()
    router.warm_up()
    timings["router_load_s"] = round(time.perf_counter() - t, 3)
    routes = [predicted_route(router.route(r.question, [])) for r in routing]

    from mmroute.indexer import Indexer

    with tempfile.TemporaryDirectory(prefix="mmroute-bench-onnx-") as tmp:
        home = Home(Path(tmp))
        Indexer(home).index(
            "squad",
            DATA / "text/squad2_dev/corpus.jsonl",
            granularity="both",
            description="Wikipedia articles on the Normans, computational complexity theory and Southern California",
        )
        pipe = Pipeline.from_home(home, PipelineConfig())
        t = time.perf_counter()
        pipe.warm_up()
        timings["pipeline_warm_up_s"] = round(time.perf_counter() - t, 3)
        answers, ask_ms = [], []
        for ex in examples:
            t = time.perf_counter()
            a = pipe.ask(ex.question)
            ask_ms.append((time.perf_counter() - t) * 1000)
            answers.append({"id": ex.id, "answer": None if a.abstained else a.text})
    ask_ms.sort()
    timings["ask_ms_p50"] = round(ask_ms[len(ask_ms) // 2], 1)
    timings["ask_ms_p95"] = round(ask_ms[int(len(ask_ms) * 0.95)], 1)
    result = {
        "backend": backend,
        "reader": {k: reading[k] for k in ("em", "f1", "squad2_em", "squad2_f1", "no_answer_auc", "p50_ms")},
        "routes": routes,
        "gold_routes": [r.route for r in routing],
        "answers": answers,
        "golds": {ex.id: list(ex.answers) for ex in examples},
        "ircot_gold": [q["gold_ids"] for q in ircot_q],
        "ircot_ids": [r["id"] for r in corpus],
        "timings": timings,
    }
    (out / "result.json").write_text(json.dumps(result), encoding="utf-8")


def all_gold_at(k: int, q: np.ndarray, docs: np.ndarray, ids: list[str], gold: list[list[str]]) -> float:
    top = np.argsort(-(q @ docs.T), axis=1)[:, :k]
    return float(np.mean([set(g) <= {ids[j] for j in row} for row, g in zip(top, gold)]))


def compare(dirs: dict[str, Path]) -> dict[str, Any]:
    from mmroute.reading.squad import exact_match

    res = {b: json.loads((d / "result.json").read_text(encoding="utf-8")) for b, d in dirs.items()}
    t, o = res["torch"], res["onnx"]
    emb: dict[str, Any] = {}
    for name in ("squad", "ircot", "ircot_q", "routing_q"):
        a, b = np.load(dirs["torch"] / f"{name}.npy"), np.load(dirs["onnx"] / f"{name}.npy")
        cos = (a * b).sum(1)
        emb[name] = {
            "n": len(cos),
            "min_cosine": round(float(cos.min()), 5),
            "mean_cosine": round(float(cos.mean()), 6),
        }
    retrieval = {
        b: round(
            all_gold_at(
                5,
                np.load(dirs[b] / "ircot_q.npy"),
                np.load(dirs[b] / "ircot.npy"),
                res[b]["ircot_ids"],
                res[b]["ircot_gold"],
            ),
            4,
        )
        for b in BACKENDS
    }
    router = {
        b: round(float(np.mean([p == g for p, g in zip(res[b]["routes"], res[b]["gold_routes"])])), 4) for b in BACKENDS
    }
    same_route = float(np.mean([a == b for a, b in zip(t["routes"], o["routes"])]))
    decided = [(x["answer"] is None) == (y["answer"] is None) for x, y in zip(t["answers"], o["answers"])]
    same_answer = [x["answer"] == y["answer"] for x, y in zip(t["answers"], o["answers"])]

    def rates(r: dict[str, Any]) -> dict[str, float]:
        correct = wrong = 0
        for a in r["answers"]:
            golds = r["golds"][a["id"]]
            if a["answer"] is None:
                continue
            if golds and exact_match(a["answer"], golds):
                correct += 1
            else:
                wrong += 1
        n = len(r["answers"])
        return {
            "correct": round(correct / n, 4),
            "wrong": round(wrong / n, 4),
            "truthfulness": round((correct - wrong) / n, 4),
        }

    return {
        "embeddings": emb,
        "retrieval_all_gold_at_5": {
            **retrieval,
            "diff_points": round(100 * (retrieval["onnx"] - retrieval["torch"]), 2),
        },
        "reader": {
            **{b: res[b]["reader"] for b in BACKENDS},
            "em_diff_points": round(100 * (o["reader"]["em"] - t["reader"]["em"]), 2),
            "f1_diff_points": round(100 * (o["reader"]["f1"] - t["reader"]["f1"]), 2),
        },
        "router": {
            "in_sample_accuracy": router,
            "diff_points": round(100 * (router["onnx"] - router["torch"]), 2),
            "same_route": round(same_route, 4),
            "n": len(t["routes"]),
        },
        "answers": {
            "n": len(decided),
            "same_decision": round(float(np.mean(decided)), 4),
            "same_answer": round(float(np.mean(same_answer)), 4),
            **{b: rates(res[b]) for b in BACKENDS},
        },
        "speed": {b: res[b]["timings"] for b in BACKENDS},
    }


COLD_ASK = "In what year did Eileen Collins retire?"
COLD_SEARCH = "Who conquered England in 1066?"


def cold_cli(home: Path, repeats: int) -> dict[str, Any]:
    """Wall time of fresh ``mmroute`` processes on ``home`` (no server), each backend, runs interleaved:
    median of ``repeats`` asks and searches; text indexing of the IRCoT corpus (458 passages) into a new KB."""
    exe = str(Path(sys.executable).with_name("mmroute"))
    out: dict[str, Any] = {b: {"ask_s": [], "search_s": []} for b in BACKENDS}
    for _ in range(repeats):
        for b in BACKENDS:
            env = {**os.environ, "MMROUTE_INFERENCE": b, "MMROUTE_HOME": str(home)}
            for key, cmd in (
                ("ask_s", [exe, "ask", COLD_ASK]),
                ("search_s", [exe, "search", "--kb", "squad-paragraph", COLD_SEARCH]),
            ):
                t = time.perf_counter()
                subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
                out[b][key].append(round(time.perf_counter() - t, 3))
    for b in BACKENDS:
        with tempfile.TemporaryDirectory(prefix="mmroute-index-") as tmp:
            env = {**os.environ, "MMROUTE_INFERENCE": b, "MMROUTE_HOME": tmp}
            t = time.perf_counter()
            subprocess.run(
                [exe, "index", "--kb", "ircot", "--input", str(DATA / "text/multihop_ircot/corpus.jsonl")],
                check=True,
                env=env,
                stdout=subprocess.DEVNULL,
            )
            out[b]["index_ircot_s"] = round(time.perf_counter() - t, 2)
        for key in ("ask_s", "search_s"):
            out[b][f"{key[:-2]}_median_s"] = float(np.median(out[b][key]))
    out["ask_speedup"] = round(out["torch"]["ask_median_s"] / out["onnx"]["ask_median_s"], 2)
    out["index_speedup"] = round(out["torch"]["index_ircot_s"] / out["onnx"]["index_ircot_s"], 2)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=int, default=None, help="dev questions (and 5x routing questions) for a quick run")
    ap.add_argument("--out", type=Path, default=SCRATCH / "bench_onnx.json")
    ap.add_argument("--home", type=Path, default=REPO / ".mmroute" / "demo", help="the demo home, for cold CLI runs")
    ap.add_argument("--repeats", type=int, default=5, help="cold CLI runs per command and backend")
    ap.add_argument("--parts", default="parity,cold")
    ap.add_argument("--backend", choices=BACKENDS, help=argparse.SUPPRESS)
    ap.add_argument("--raw", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.out = report_path(Path(args.out), "bench_onnx.json")  # a folder or a .json file, checked before the run
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if args.backend:
        run_backend(args.backend, args.raw, args.limit)
        return 0
    parts = set(args.parts.split(","))
    report: dict[str, Any] = {"data": "shared: squad2_dev, multihop_ircot, routing/universalrag_train"}
    if "cold" in parts:
        if not (args.home / "kbs").is_dir():
            raise SystemExit(f"{args.home} has no KBs: run `make demo` first (or pass --home)")
        report["cold_cli"] = cold_cli(args.home, args.repeats)
        print("cold:", json.dumps(report["cold_cli"]), file=sys.stderr)
    if "parity" in parts:
        with tempfile.TemporaryDirectory(prefix="mmroute-onnx-parity-") as tmp:
            dirs = {b: Path(tmp) / b for b in BACKENDS}
            for b, d in dirs.items():
                d.mkdir()
                cmd = [sys.executable, "-m", "evals.bench.bench_onnx", "--backend", b, "--raw", str(d)]
                if args.limit:
                    cmd += ["--limit", str(args.limit)]
                t = time.perf_counter()
                subprocess.run(cmd, check=True, cwd=REPO, env={**os.environ, "MMROUTE_INFERENCE": b})
                print(f"{b}: {time.perf_counter() - t:.0f} s", file=sys.stderr)
            report.update(compare(dirs))
    report["measured"] = time.strftime("%Y-%m-%d")
    report["machine"] = f"{os.cpu_count()} CPU cores"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in report.items() if k != "data"}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
