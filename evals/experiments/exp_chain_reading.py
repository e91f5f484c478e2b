"""Experiment: does reading a linked pair of hits as one passage help the reader answer two-hop questions?

The packaged reader was trained on single paragraphs. Asked "When was the director of film P.S. Jerusalem born?"
with the film's paragraph ("... a 2015 documentary film directed by ... Danae Elon") and the director's
("Danae Elon (born December 23, 1970) ...") read apart, it drafts "2015": the second paragraph never says whose
birth it gives. :func:`mmroute.generation.reader_gen.reading_chunks` also reads the first two hits as one passage
when one names the other's title (the link the step-wise retriever ranks by). This compares the drafts with and
without that chain passage; nothing is chosen or tuned, so every group is held out.

Data: the 89 shared multi-hop questions (4 source datasets) and the 473 answerable questions of the 3 shared
SQuAD 2.0 dev articles, all retrieved by the pipeline (router, step-wise, k=5) on the ``make demo`` home, read by the
packaged reader with the shipped rank penalty and 3 hits read. Strict SQuAD-official exact match and F1.

``verified_multihop`` asks the multi-hop questions through the whole pipeline with its verifier (defaults),
``without`` and ``with`` chains, and counts the answers shown right and wrong (exact match).

Measured 2026-12-06 (2 cores, 141 s): multi-hop draft exact match 10/89 -> 13/89 (F1 0.137 -> 0.176; 51 questions
form a chain; 4 drafts turn right, among them "When was the director of film P.S. Jerusalem born?" ('2015' ->
'December 23, 1970'), 1 turns wrong: 'Ferrari 250 GTO' -> 'Ferrari 250'); SQuAD 2.0 dev unchanged (14 chains,
EM 0.520 either way). Through the verifier: 1 right / 5 wrong shown -> 1 right / 4 wrong. The new right drafts are
withheld: the verifier judges the answer's own sentence and passage ("the passage the answer comes from does not
mention P, Jerusalem").

Tried and not shipped: a verifier that judged an answer in a chain's second hit by the chain (the sentence naming
its passage leading the answer's sentence, the pair as its passage) showed 3 right / 6 wrong: it lifted four
chain answers from under 26% to over 52%, two of them wrong (a 2010 census figure for a 2014 population). Its
policy was calibrated on single SQuAD paragraphs; chain answers need calibration data of their own.

    python -m evals.experiments.exp_chain_reading --demo-home .mmroute/demo --out evals/results/exp_chain_reading.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..paths import SCRATCH, report_path

REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("MMROUTE_DATA") or REPO.parent / "shared" / "data")


HOP_GROUPS = frozenset({"2wikimultihopqa", "hotpotqa", "iirc", "musique"})
"""The source datasets of the shared multi-hop questions (the other groups are SQuAD 2.0 article titles)."""


def questions() -> list[tuple[str, str, tuple[str, ...]]]:
    """(group, question, gold answers): multi-hop by source dataset, SQuAD 2.0 dev by article."""
    from mmroute.reading.squad import load_squad

    hop = [
        (str(r["dataset"]), str(r["question"]), tuple(r["answers"]))
        for r in map(json.loads, (DATA / "text/multihop_ircot/questions.jsonl").read_text().splitlines())
    ]
    squad = [
        (e.title, e.question, tuple(e.answers))
        for e in load_squad(DATA / "text/squad2_dev/dev-v2.0-shared3articles.json")
        if e.answerable
    ]
    return hop + squad


def draft(reader: Any, question: str, chunks: Sequence[Any]) -> str:
    from mmroute.generation.reader_gen import ranked_spans

    if not chunks:
        return ""
    ranked = ranked_spans(reader.read(question, [c.text for c in chunks]), chunks)
    return ranked[0][0].text if ranked else ""


def shown(home: Any, qs: Sequence[tuple[str, tuple[str, ...]]], chains: bool) -> dict[str, Any]:
    """Answers shown right / wrong through the default pipeline, with chains read or with
    :func:`~mmroute.generation.reader_gen.chain_order` switched off (for the generator and the verifier's reader
    signals alike)."""
    from unittest import mock

    from mmroute.generation import reader_gen
    from mmroute.pipeline import Pipeline
    from mmroute.reading.squad import exact_match

    def off(use: Any) -> None:
        return None

    right = wrong = 0
    with mock.patch.object(reader_gen, "chain_order", reader_gen.chain_order if chains else off):
        pipe = Pipeline.from_home(home)
        for q, golds in qs:
            ans = pipe.ask(q)
            if ans.abstained or not ans.text:
                continue
            ok = exact_match(ans.text, list(golds)) > 0
            right, wrong = right + ok, wrong + (not ok)
    n = max(len(qs), 1)
    return {
        "n": len(qs),
        "right": right,
        "wrong": wrong,
        "right_rate": round(right / n, 4),
        "wrong_rate": round(wrong / n, 4),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--demo-home", type=Path, required=True, help="the make demo home (hop, squad-* KBs)")
    ap.add_argument("--out", type=Path, default=SCRATCH / "exp_chain_reading.json")
    args = ap.parse_args(argv)
    args.out = report_path(Path(args.out), "exp_chain_reading.json")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from mmroute.config import PipelineConfig
    from mmroute.generation.reader_gen import reading_chunks
    from mmroute.kb import Home
    from mmroute.pipeline import Pipeline
    from mmroute.reading.reader import shared_reader
    from mmroute.reading.squad import exact_match, f1_score

    t0 = time.time()
    home = Home(args.demo_home)
    pipe = Pipeline.from_home(home, PipelineConfig(verify=False))
    pipe.warm_up()
    reader = shared_reader("packaged")
    rows: list[dict[str, Any]] = []
    qs = questions()
    for i, (group, q, golds) in enumerate(qs):
        _, chunks = reading_chunks(q, pipe.retriever.retrieve(q, k=pipe.config.k).hits)
        apart = [c for c in chunks if c.continued is None]
        with_chain = draft(reader, q, chunks)
        without = with_chain if len(apart) == len(chunks) else draft(reader, q, apart)
        rows.append(
            {"group": group, "question": q, "golds": golds, "chain": len(apart) < len(chunks)}
            | {"with": with_chain, "without": without}
        )
        if i % 100 == 0:
            print(f"read {i}/{len(qs)}", file=sys.stderr)

    def score(rs: Sequence[dict[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {"n": len(rs), "chains": sum(r["chain"] for r in rs)}
        for k in ("without", "with"):
            out[f"em_{k}"] = round(sum(exact_match(r[k], list(r["golds"])) for r in rs) / max(len(rs), 1), 4)
            out[f"f1_{k}"] = round(sum(f1_score(r[k], list(r["golds"])) for r in rs) / max(len(rs), 1), 4)
        return out

    hop_qs = [(q, g) for grp, q, g in qs if grp in HOP_GROUPS]
    verified = {"without": shown(home, hop_qs, chains=False), "with": shown(home, hop_qs, chains=True)}
    groups = sorted({r["group"] for r in rows})
    hop = [r for r in rows if r["group"] in HOP_GROUPS]
    report = {
        "data": "89 shared multi-hop questions and 473 answerable SQuAD 2.0 dev questions (3 shared articles); "
        "pipeline retrieval (router, step-wise, k=5) on the make demo home; packaged reader, 3 hits read, rank "
        "penalty 2; nothing tuned",
        "by_group": {g: score([r for r in rows if r["group"] == g]) for g in groups},
        "multihop": score(hop),
        "squad": score([r for r in rows if r not in hop]),
        "verified_multihop": verified,
        "changed": [
            {k: r[k] for k in ("group", "question", "golds", "without", "with")}
            for r in rows
            if r["with"] != r["without"]
        ],
        "elapsed_s": round(time.time() - t0, 1),
        "command": f"python -m evals.experiments.exp_chain_reading --demo-home .mmroute/demo --out {args.out}",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps({k: report[k] for k in ("multihop", "squad")}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
