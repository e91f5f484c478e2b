"""Experiment: searching a KB despite the ``no`` route (:func:`mmroute.retrieval.widening.evidence_despite_no_route`),
its floor chosen on half of the questions and measured on the other half.

The home is the README's layout (the demo's sample KBs, as in ``exp_route_widening``). Only questions the
default router sends to ``no`` count:

- positives: ``squad2_dev`` (950) and ``multihop_ircot`` (89) questions, whose paragraphs are in the home;
  a positive is *served* when the rule searches a KB of its corpus (answerable SQuAD questions also report
  whether the gold paragraph is then in the top 5);
- negatives: the routing data's ``no`` questions (85 MMLU exam questions; no KB of the home is about
  them); a negative is *searched* when the rule searches any KB for it.

A question counts as routed ``no`` when its decision searches nothing
(:func:`mmroute.retrieval.widening.is_no_route`; ``("no", "paragraph")`` searches the paragraph KBs). The
grids use each question's best cosines (probed once); the report half at the shipped floor is computed by
the shipped function.

Even-numbered questions of each file choose the floor from a grid: the most positives served net of
negatives searched, ties to the higher floor. Odd-numbered ones report.

    python -m evals.experiments.exp_no_route_evidence [--home DIR] [--out FILE]

Writes ``exp_no_route_evidence.json`` (to ``--out``; default: a scratch folder).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from ..paths import write_result

os.environ.setdefault("HF_HUB_OFFLINE", "1")

CORPUS_OF_KB = {"hop": "hop", "squad-paragraph": "squad", "squad-document": "squad"}
FLOORS = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6)


def load_questions() -> list[dict[str, Any]]:
    from mmroute.corpora.shared import data_root

    root = data_root()
    files = (
        ("hop", root / "text" / "multihop_ircot" / "questions.jsonl"),
        ("squad", root / "text" / "squad2_dev" / "questions.jsonl"),
        ("none", root / "routing" / "universalrag_train.jsonl"),
    )
    out: list[dict[str, Any]] = []
    for corpus, path in files:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        if corpus == "none":
            rows = [r for r in rows if r.get("route") == "no"]
        for i, q in enumerate(rows):
            q.update(corpus=corpus, half="choose" if i % 2 == 0 else "report")
            out.append(q)
    return out


def probe(home: Any, router: Any, questions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The questions routed ``no``, each with its best dense cosine in every text KB."""
    from mmroute.retrieval.widening import BestCosines, is_no_route

    infos = [home.open(n).info for n in home.names()]
    kept = []
    for q in questions:
        if not is_no_route(router.route(q["question"], infos)):
            continue
        best = BestCosines(home, q["question"])
        q["best"] = {n: best(n) for n in CORPUS_OF_KB}
        kept.append(q)
    return kept


def effect(questions: list[dict[str, Any]], floor: float, home: Any = None) -> dict[str, int]:
    """Positives served and negatives searched at ``floor``: from the probed cosines, or, given ``home``,
    by the shipped function itself (:func:`mmroute.retrieval.widening.evidence_despite_no_route`)."""
    from mmroute.retrieval.widening import evidence_despite_no_route

    served = positives = searched = negatives = 0
    for q in questions:
        if home is None:
            added = [n for n, s in q["best"].items() if s >= floor]
        else:
            added = list(evidence_despite_no_route(home, q["question"], home.names(), floor).added)
        if q["corpus"] == "none":
            negatives += 1
            searched += bool(added)
        else:
            positives += 1
            served += any(CORPUS_OF_KB[n] == q["corpus"] for n in added)
    return {"positives_served": served, "positives": positives, "negatives_searched": searched, "negatives": negatives}


def choose(questions: list[dict[str, Any]]) -> tuple[float, list[dict[str, Any]]]:
    grid = [{"floor": f, **effect(questions, f)} for f in FLOORS]
    best = max(grid, key=lambda g: (g["positives_served"] - g["negatives_searched"], g["floor"]))
    return best["floor"], grid


def squad_recall(home: Any, router: Any, questions: list[dict[str, Any]], widen: bool) -> dict[str, Any]:
    """Top-5 recall of the gold paragraph, single shot, for the answerable SQuAD questions routed ``no``."""
    from mmroute.retrieval.base import RETRIEVERS

    retriever = RETRIEVERS.create("single", home=home, router=router, widen=widen)
    asked = [q for q in questions if q["corpus"] == "squad" and q.get("answerable", True)]
    found = sum(bool(set(q["gold_ids"]) & set(retriever.retrieve(q["question"], k=5).ids)) for q in asked)
    return {"recall@5": round(found / max(len(asked), 1), 4), "questions": len(asked)}


def main(argv: list[str] | None = None) -> int:
    from mmroute.retrieval.widening import NO_ROUTE_FLOOR

    from .exp_route_widening import layout_args, layout_home

    args = layout_args("exp_no_route_evidence", __doc__ or "", argv)
    say = lambda m: print(f"[exp_no_route_evidence] {m}", file=sys.stderr, flush=True)  # noqa: E731
    home, router = layout_home(args.home)
    routed_no = probe(home, router, load_questions())
    floor, grid = choose([q for q in routed_no if q["half"] == "choose"])
    report = [q for q in routed_no if q["half"] == "report"]
    say(f"chosen on the even half: floor {floor} (shipped {NO_ROUTE_FLOOR})")
    result: dict[str, Any] = {
        "home_kbs": home.names(),
        "routed_no": {c: sum(q["corpus"] == c for q in routed_no) for c in ("squad", "hop", "none")},
        "chosen": floor,
        "shipped": NO_ROUTE_FLOOR,
        "report_half_shipped": effect(report, NO_ROUTE_FLOOR, home),
        "grid_on_choose_half": grid,
        "grid_on_report_half": [{"floor": f, **effect(report, f)} for f in FLOORS],
        "squad_recall_report_half": {
            "routed_only": squad_recall(home, router, report, widen=False),
            "with_the_rule": squad_recall(home, router, report, widen=True),
        },
    }
    out = write_result(args.out, "exp_no_route_evidence.json", result)
    say(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
