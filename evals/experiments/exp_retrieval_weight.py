"""Experiment: how much should a span's retrieval score count when the reader's spans of several passages compete?

The reader generator ranks every span of the passages it reads by the reader's length-penalised margin plus
``RETRIEVAL_WEIGHT`` x its hit's score. The weight (30) was chosen on *cosine* scores of an exact MiniLM
search. The pipeline's hits carry the step-wise retriever's hybrid relevance instead (dense cosine, BM25,
a title bonus; a follow-up's items 0.7 of their score for the follow-up), whose differences between hits
are larger and say less: on the shared multi-hop questions a bridge paragraph whose title the question
names outbids the paragraph holding the answer.

This reads each question once through the pipeline's own retrieval (default router, step-wise hybrid,
k=5) and the packaged reader, caches the readings, and then scores ways of adding the retrieval score:

- ``raw``: w x the hit's score (the rule before 2026-12-06, with w=30);
- ``rank``: -w x the hit's rank among the passages read (0 for the first);
- ``spread``: w x (score - best score) / (best - worst score among the passages read), so the bonus
  ranges over [-w, 0] whatever the scale of the scores;
- ``cosine``: w x the dense cosine of question and passage (what the weight was chosen on).

Data: the 473 answerable questions of the 3 shared SQuAD 2.0 dev articles (home: squad-paragraph and
squad-document, as ``bench_answers`` builds it) and the 89 shared multi-hop questions of 4 source datasets
(the ``make demo`` home). Each of the 7 groups (3 articles, 4 datasets) is held out in turn: the
form and weight are chosen on the other 6 (pooled exact match), and the held-out group is scored with
them, so the figure reported is never on data the choice was made on.

    python -m evals.experiments.exp_retrieval_weight --demo-home .mmroute/demo --max-passages 5 --out evals/results
    python -m evals.experiments.exp_retrieval_weight --demo-home .mmroute/demo --max-passages 3 \
        --out evals/results/exp_retrieval_weight_3_passages.json

Measured 2026-12-06 (2 cores): ``rank`` with w=2 was chosen for 6 of the 7 held-out groups (w=0.5 for the
computational complexity article). Held-out draft exact match, 5 hits read: SQuAD 0.541 (30 x score: 0.550),
multi-hop 0.124 (0.067), pooled 0.475 (0.473); 3 hits read: SQuAD 0.546 (0.550), multi-hop 0.112 (0.056). The
packaged reader generator ranks by rank with w=2 and reads 3 hits (``RANK_PENALTY``, ``MAX_PASSAGES``).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mmroute.generation.reader_gen import MAX_PASSAGES

from ..paths import SCRATCH, report_path

REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("MMROUTE_DATA") or REPO.parent / "shared" / "data")

WEIGHTS: dict[str, tuple[float, ...]] = {
    "raw": (0.0, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 50.0),
    "rank": (0.0, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0),
    "spread": (0.0, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0),
    "cosine": (0.0, 3.0, 10.0, 20.0, 30.0),
}


@dataclass
class Case:
    """One question's reading: each span's reader margin and its passage's retrieval facts."""

    group: str
    question: str
    golds: tuple[str, ...]
    span_text: list[str]
    span_margin: np.ndarray  # the reader's length-penalised ranking margin
    span_hit: np.ndarray  # index of the hit (among those read) whose chunk holds the span
    hit_score: np.ndarray  # the retriever's score of each hit read
    hit_cosine: np.ndarray  # dense cosine of question and hit text


def bonus(form: str, w: float, case: Case) -> np.ndarray:
    """The retrieval bonus of each hit read, under one rule."""
    s = case.hit_score
    if form == "raw":
        return w * s
    if form == "rank":
        return -w * np.arange(len(s), dtype=float)
    if form == "spread":
        spread = float(s.max() - s.min()) if len(s) > 1 else 0.0
        return w * (s - s.max()) / spread if spread > 1e-9 else np.zeros_like(s)
    if form == "cosine":
        return w * case.hit_cosine
    raise ValueError(form)


def top_answer(case: Case, form: str, w: float) -> str | None:
    if not case.span_text:
        return None
    total = case.span_margin + bonus(form, w, case)[case.span_hit]
    return case.span_text[int(np.argmax(total))]


def em_of(cases: Sequence[Case], form: str, w: float) -> float:
    from mmroute.reading.squad import exact_match

    if not cases:
        return 0.0
    return float(np.mean([exact_match(top_answer(c, form, w) or "", list(c.golds)) for c in cases]))


def f1_of(cases: Sequence[Case], form: str, w: float) -> float:
    from mmroute.reading.squad import f1_score

    if not cases:
        return 0.0
    return float(np.mean([f1_score(top_answer(c, form, w) or "", list(c.golds)) for c in cases]))


def read_cases(
    home: Any,
    questions: Sequence[tuple[str, str, tuple[str, ...]]],
    encode: Callable[[list[str]], np.ndarray],
    max_passages: int,
) -> list[Case]:
    from mmroute.config import PipelineConfig
    from mmroute.generation.reader_gen import passage_text, reading_chunks
    from mmroute.pipeline import Pipeline
    from mmroute.reading.reader import shared_reader

    pipe = Pipeline.from_home(home, PipelineConfig(verify=False))
    pipe.warm_up()
    reader = shared_reader("packaged")
    out: list[Case] = []
    for i, (group, q, golds) in enumerate(questions):
        res = pipe.retriever.retrieve(q, k=pipe.config.k)
        use, chunks = reading_chunks(q, res.hits, max_passages)
        if not chunks:
            out.append(Case(group, q, golds, [], np.zeros(0), np.zeros(0, int), np.zeros(0), np.zeros(0)))
            continue
        reading = reader.read(q, [c.text for c in chunks])
        vecs = encode([q] + [passage_text(h) for h in use])
        out.append(
            Case(
                group,
                q,
                golds,
                [sp.text for sp in reading.spans],
                np.array([reading.ranking_margin(sp.window_margin, sp.tokens) for sp in reading.spans]),
                np.array([chunks[sp.passage_index].hit_index for sp in reading.spans], dtype=int),
                np.array([float(h.score) for h in use]),
                vecs[1:] @ vecs[0],
            )
        )
        if i % 50 == 0:
            print(f"read {i}/{len(questions)}", file=sys.stderr)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--demo-home", type=Path, required=True, help="the make demo home (its hop KB)")
    ap.add_argument("--squad-home", type=Path, default=None, help="a home with squad-paragraph/-document (else built)")
    ap.add_argument("--max-passages", type=int, default=MAX_PASSAGES, help="hits read per question")
    ap.add_argument(
        "--cases", type=Path, default=None, help="reading cache (default: a scratch file per --max-passages)"
    )
    ap.add_argument("--out", type=Path, default=SCRATCH / "exp_retrieval_weight.json")
    args = ap.parse_args(argv)
    args.out = report_path(Path(args.out), "exp_retrieval_weight.json")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from mmroute.encoders.text import default_text_encoder
    from mmroute.kb import Home
    from mmroute.reading.squad import load_squad

    t0 = time.time()
    args.cases = args.cases or SCRATCH / f"retrieval_weight_cases_{args.max_passages}.pkl"
    if args.cases.is_file():
        cases: list[Case] = pickle.loads(args.cases.read_bytes())
    else:
        enc = default_text_encoder()

        def encode(texts: list[str]) -> np.ndarray:
            return np.asarray(enc.encode_queries(texts), dtype=np.float32)

        squad = [
            (e.title, e.question, tuple(e.answers))
            for e in load_squad(DATA / "text/squad2_dev/dev-v2.0-shared3articles.json")
            if e.answerable
        ]
        hop = [
            (f"{r['dataset']}", r["question"], tuple(r["answers"]))
            for r in map(json.loads, (DATA / "text/multihop_ircot/questions.jsonl").read_text().splitlines())
        ]
        tmp = None
        squad_home = args.squad_home
        if squad_home is None:
            from mmroute.indexer import Indexer

            tmp = tempfile.TemporaryDirectory(prefix="mmroute-exp-rw-")
            squad_home = Path(tmp.name)
            Indexer(Home(squad_home)).index(
                "squad",
                DATA / "text/squad2_dev/corpus.jsonl",
                granularity="both",
                description="Wikipedia articles on the Normans, computational "
                "complexity theory and Southern California",
            )
        cases = read_cases(Home(squad_home), squad, encode, args.max_passages) + read_cases(
            Home(args.demo_home), hop, encode, args.max_passages
        )
        args.cases.parent.mkdir(parents=True, exist_ok=True)
        args.cases.write_bytes(pickle.dumps(cases))

    groups = sorted({c.group for c in cases})
    grid = [(form, w) for form, ws in WEIGHTS.items() for w in ws]
    by_group = {g: [c for c in cases if c.group == g] for g in groups}
    squad_groups = [g for g in groups if g[:1].isupper()]  # SQuAD article titles; the multi-hop datasets are lowercase
    hop_groups = [g for g in groups if g not in squad_groups]
    squad_cases = [c for c in cases if c.group in squad_groups]
    sweep = {
        f"{form}:{w:g}": {g: round(em_of(by_group[g], form, w), 4) for g in groups}
        | {"squad": round(em_of(squad_cases, form, w), 4)}
        for form, w in grid
    }
    held: dict[str, Any] = {}
    for g in groups:
        rest = [c for c in cases if c.group != g]
        form, w = max(grid, key=lambda fw: (em_of(rest, *fw), -fw[1]))
        held[g] = {
            "chosen": f"{form}:{w:g}",
            "n": len(by_group[g]),
            "em": round(em_of(by_group[g], form, w), 4),
            "f1": round(f1_of(by_group[g], form, w), 4),
            "score_x30_em": round(em_of(by_group[g], "raw", 30.0), 4),
            "score_x30_f1": round(f1_of(by_group[g], "raw", 30.0), 4),
        }

    def pooled(key: str, names: Sequence[str]) -> float:
        n = sum(held[g]["n"] for g in names)
        return round(sum(held[g][key] * held[g]["n"] for g in names) / n, 4)

    best_all = max(grid, key=lambda fw: (em_of(cases, *fw), -fw[1]))
    report = {
        "data": "473 answerable questions of the 3 shared SQuAD 2.0 dev articles (squad-paragraph + squad-document "
        "home) and the 89 shared multi-hop questions (make demo home); pipeline retrieval (router, step-wise, k=5)",
        "held_out": held,
        "held_out_pooled": {
            part: {k: pooled(k, names) for k in ("em", "f1", "score_x30_em", "score_x30_f1")}
            for part, names in (("squad", squad_groups), ("multihop", hop_groups), ("all", groups))
        },
        "chosen_on_all": f"{best_all[0]}:{best_all[1]:g}",
        "max_passages": args.max_passages,
        "sweep_em": sweep,
        "elapsed_s": round(time.time() - t0, 1),
        "command": "python -m evals.experiments.exp_retrieval_weight --demo-home .mmroute/demo "
        f"--max-passages {args.max_passages} --out {args.out}",
    }
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report["held_out_pooled"], indent=1), report["chosen_on_all"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
