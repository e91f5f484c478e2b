"""Experiment: media items scored by their words beside text KBs (:func:`mmroute.retrieval.stepwise.words_cosines`).

The home is the demo's (``make demo``: SQuAD paragraphs and documents, the multi-hop paragraphs, 21 captioned
photos, Big Buck Bunny as clips and as a whole video), searched by the pipeline's own retriever (default
router, step-wise, k=5) twice: with the words term off (``WORDS_TOP = 0``) and as shipped. It reports

- the positive control: questions whose answer is in a photo's caption (the demo's two, and six written for
  this experiment about the captions of other photos, not used to choose anything), and where that photo ranks
  among the 5 hits (null: not among them);
- the negative control: every ``squad2_dev`` (950) and ``multihop_ircot`` (89) question, whose evidence is text:
  the answer string in the top 5 (answerable SQuAD), all gold paragraphs in the top 5 (multi-hop), media items in
  the top 5, how many hit lists changed at all, and the retrieval time.

    python -m evals.experiments.exp_media_words [--home .mmroute/demo] [--out FILE]

Writes ``exp_media_words.json`` (to ``--out``; default: a scratch folder).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from ..paths import REPO, SCRATCH, write_result

os.environ.setdefault("HF_HUB_OFFLINE", "1")

CAPTION_QUESTIONS = (
    ("Who was the first woman to pilot the space shuttle?", "astronaut.png"),
    ("Who is the astronaut in the photo with the American flag?", "astronaut.png"),
    ("When did the astronaut Eileen Collins retire?", "astronaut.png"),
    ("Which rocket launched the DSCOVR satellite?", "rocket.jpg"),
    ("Where were the Greek coins found?", "coins.png"),
    ("Which telescope took the farthest ever view of the universe?", "hubble_deep_field.jpg"),
    ("Which protein is revealed by the IHC staining of colonic glands?", "ihc.png"),
    ("Which espresso bar is the coffee cup photograph courtesy of?", "coffee.png"),
)


def rank_of(hits: Any, name: str) -> int | None:
    return next((h.rank for h in hits if h.item.id.endswith(name)), None)


def run(pipe: Any, squad: list[Any], hop: list[dict[str, Any]]) -> tuple[dict[str, Any], list[list[str]]]:
    out: dict[str, Any] = {"caption_questions": {}}
    for q, photo in CAPTION_QUESTIONS:
        out["caption_questions"][q] = rank_of(pipe.retriever.retrieve(q, k=5).hits, photo)
    counts = {"squad_answer_in_top5": 0, "squad_answerable": 0, "hop_all_gold_in_top5": 0, "media_in_top5": 0}
    lists: list[list[str]] = []
    t0 = time.perf_counter()
    for q, golds, gold_ids in [(e.question, e.answers, None) for e in squad] + [
        (r["question"], r["answers"], r["gold_ids"]) for r in hop
    ]:
        hits = pipe.retriever.retrieve(q, k=5).hits
        counts["media_in_top5"] += sum(h.item.modality.value != "text" for h in hits)
        ids = [h.item.id for h in hits]
        if gold_ids is not None:
            counts["hop_all_gold_in_top5"] += all(g in ids for g in gold_ids)
        elif golds:
            counts["squad_answerable"] += 1
            counts["squad_answer_in_top5"] += any(any(a in (h.item.text or "") for a in golds) for h in hits)
        lists.append(ids)
    out.update(counts, text_questions=len(lists), retrieval_seconds=round(time.perf_counter() - t0, 1))
    return out, lists


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--home", type=Path, default=REPO / ".mmroute" / "demo")
    ap.add_argument("--out", type=Path, default=SCRATCH)
    args = ap.parse_args(argv)

    import mmroute.retrieval.stepwise as stepwise
    from mmroute.config import PipelineConfig
    from mmroute.corpora.shared import data_root
    from mmroute.kb import Home
    from mmroute.pipeline import Pipeline
    from mmroute.reading.squad import load_squad

    root = data_root()
    squad = load_squad(root / "text" / "squad2_dev" / "dev-v2.0-shared3articles.json")
    hop = [json.loads(line) for line in (root / "text" / "multihop_ircot" / "questions.jsonl").read_text().splitlines()]
    pipe = Pipeline.from_home(Home(args.home), PipelineConfig(verify=False))
    pipe.warm_up()
    shipped = stepwise.WORDS_TOP
    stepwise.WORDS_TOP = 0
    off, off_lists = run(pipe, squad, hop)
    stepwise.WORDS_TOP = shipped
    on, on_lists = run(pipe, squad, hop)
    report = {
        "what": __doc__.split("\n\n")[0],
        "home": str(args.home),
        "words_top": shipped,
        "off": off,
        "on": on,
        "text_hit_lists_changed": sum(a != b for a, b in zip(off_lists, on_lists, strict=True)),
    }
    path = write_result(args.out, "exp_media_words.json", report)
    print(json.dumps(report, indent=1), file=sys.stderr)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
