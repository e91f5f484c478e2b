"""Held-out questions for the verifier and the pipeline: data neither the reader nor the verifier policies saw.

The packaged reader was trained on the 10 shared SQuAD 2.0 *train* articles, and the verifier policies were
fitted on the 3 shared SQuAD 2.0 *dev* articles (``evals/calibrate_verifier.py``). Neither set is clean for a
test of the two together: on train paragraphs the reader is overconfident, and on dev paragraphs the policy
is scored on what it was fitted on. These questions are written for this test over paragraphs of the shared
multi-hop corpus (``text/multihop_ircot/corpus.jsonl``: Wikipedia paragraphs from HotpotQA/2Wiki/MuSiQue),
which no component was trained or calibrated on. Each answerable question has its answer verbatim in the
paragraph; each twin asks about the same subject something the paragraph does not say; each wrong
answer is another span of the same paragraph (what a plausible but wrong generator would say).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from mmroute.types import Granularity, Hit, Item


@dataclass(frozen=True)
class HeldOut:
    paragraph: str  # id in text/multihop_ircot/corpus.jsonl
    question: str
    answers: tuple[str, ...]  # verbatim spans of the paragraph
    twin: str  # same subject, not answerable from the paragraph
    wrong: str  # a span of the same paragraph that does not answer the question


KNOWN_REGRESSION = (
    "known regression since 2026-12-04 (issue 28, open): the reader policy, refitted for the reader trained on "
    "45k questions, withholds more right answers on held-out paragraphs (threshold 0.45 keeps wrong answers at 8% "
    "of the dev questions); the reader's no-answer AUC (0.626) does not separate them"
)
"""Why the held-out answer-quality tests are strict expected failures (they pass again once the reader separates
answerable from unanswerable questions well enough)."""

QUESTIONS = (
    HeldOut(
        "ircot/0",
        "When did the John Lennon Museum open?",
        ("October 9, 2000",),
        "How much did a ticket to the John Lennon Museum cost?",
        "September 30, 2010",
    ),
    HeldOut(
        "ircot/18", "Who directed Nosferatu?", ("F. W. Murnau",), "Who composed the music for Nosferatu?", "Max Schreck"
    ),
    HeldOut(
        "ircot/45",
        "In what year did Kurt Cobain form Nirvana?",
        ("1987",),
        "In what year did Kurt Cobain get married?",
        "1989",
    ),
    HeldOut(
        "ircot/54",
        "What was the population of Lake Wales at the 2010 census?",
        ("14,225",),
        "How large is the area of Lake Wales in square miles?",
        "15,140",
    ),
    HeldOut(
        "ircot/63",
        "Who flew over Mount Everest together with the Duke of Hamilton?",
        ("D.F. McIntyre",),
        "Who was the wife of the 14th Duke of Hamilton?",
        "Mount Everest",
    ),
    HeldOut(
        "ircot/81",
        "In which city was the band Hurricane #1 formed?",
        ("Oxford",),
        "Which record label signed the band Hurricane #1?",
        "Andy Bell",
    ),
    HeldOut(
        "ircot/90",
        "Which team does Mario Lemieux own?",
        ("Pittsburgh Penguins", "the Pittsburgh Penguins"),
        "How many Stanley Cups did Mario Lemieux win?",
        "1984",
    ),
    HeldOut(
        "ircot/108",
        "When did the DreamWorks Experience officially open?",
        ("31 March 2012",),
        "How much did it cost to build the DreamWorks Experience?",
        "Gold Coast",
    ),
    HeldOut(
        "ircot/117",
        "Which rifle replaced the L42A1?",
        ("Accuracy International L96", "the Accuracy International L96"),
        "Which factory manufactured the L42A1?",
        "1970",
    ),
    HeldOut(
        "ircot/126",
        "Where was the 40th Annual American Music Awards held?",
        ("Nokia Theatre", "the Nokia Theatre", "the Nokia Theatre in Los Angeles"),
        "Who hosted the 40th Annual American Music Awards?",
        "Christina Aguilera",
    ),
    HeldOut(
        "ircot/189", "What position did Martin Hodge play?", ("goalkeeper",), "How tall is Martin Hodge?", "Southport"
    ),
    HeldOut(
        "ircot/315",
        "Who performed the song 867-5309/Jenny?",
        ("Tommy Tutone",),
        "Who directed the music video for 867-5309/Jenny?",
        "Alex Call and Jim Keller",
    ),
    HeldOut(
        "ircot/351",
        "When was Pacific National University established?",
        ("1958",),
        "Who is the rector of Pacific National University?",
        "Khabarovsk",
    ),
    HeldOut(
        "ircot/405",
        "Who designed the Auditorium Building in Chicago?",
        ("Dankmar Adler and Louis Sullivan",),
        "How many seats does the Auditorium Theatre have?",
        "Roosevelt University",
    ),
    HeldOut(
        "ircot/423", "In what year was A.C. Milan founded?", ("1899",), "Who is the president of A.C. Milan?", "1929"
    ),
)


def corpus(data_dir: Path) -> dict[str, dict]:
    with open(data_dir / "text" / "multihop_ircot" / "corpus.jsonl", encoding="utf-8") as f:
        return {r["id"]: r for r in map(json.loads, f)}


def hits_for(data_dir: Path, q: HeldOut, distractors: int = 2) -> list[Hit]:
    """The question's paragraph first, then the next paragraphs of the corpus (other subjects), as a KB returns them."""
    recs = corpus(data_dir)
    n = int(q.paragraph.split("/")[1])
    ids = [q.paragraph] + [f"ircot/{n + 3 + i}" for i in range(distractors)]
    return [
        Hit(
            item=Item(id=i, kind=Granularity.PARAGRAPH, text=recs[i]["text"], title=recs[i].get("title")),
            score=0.6 - 0.05 * r,
            kb="hop",
            rank=r + 1,
        )
        for r, i in enumerate(ids)
    ]
