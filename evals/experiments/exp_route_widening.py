"""Experiment: widening a route by evidence (:mod:`mmroute.retrieval.widening`), chosen on half of the
questions and measured on the other half.

The home is the README's layout (the demo's sample KBs: ``hop`` as paragraphs, ``squad`` as paragraphs
and documents, ``photos``, ``bbb`` as clips and whole videos). The questions are the 89 of
``multihop_ircot`` (gold in ``hop``) and the 950 of ``squad2_dev`` (gold in ``squad-*``), routed by the
default router. Even-numbered questions of each file choose (FLOOR, MARGIN) from a grid: the most
questions given their corpus back net of those given a wrong-corpus KB, ties to the lower floor and the
larger margin. Odd-numbered questions report:

- ``fixed``: questions routed away from their corpus that widening gives their corpus back;
- ``polluted``: questions routed to their corpus that widening adds another corpus to;
- recall with widening (the shipped FLOOR and MARGIN) on and off, single-shot and step-wise, top 5, routed (no KB named):
  ``multihop_ircot`` recall_all@5 (every gold paragraph in the top 5), ``squad2_dev`` recall@5 (the
  gold paragraph of an answerable question in the top 5).

    python -m evals.experiments.exp_route_widening [--home DIR] [--out FILE]

Writes ``exp_route_widening.json`` (to ``--out``; default: a scratch folder).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from ..paths import SCRATCH, write_result

os.environ.setdefault("HF_HUB_OFFLINE", "1")

TEXT_KBS = {"hop": "hop", "squad-paragraph": "squad", "squad-document": "squad"}
FLOORS = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45)
MARGINS = (0.1, 0.15, 0.2, 0.25, 0.3)


def load_questions() -> list[dict[str, Any]]:
    from mmroute.corpora.shared import data_root

    out: list[dict[str, Any]] = []
    for corpus, name in (("multihop_ircot", "hop"), ("squad2_dev", "squad")):
        path = data_root() / "text" / corpus / "questions.jsonl"
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
            q = json.loads(line)
            q.update(corpus=name, half="choose" if i % 2 == 0 else "report")
            out.append(q)
    return out


def probe(home: Any, router: Any, questions: list[dict[str, Any]]) -> None:
    """Each question's routed KBs and its best dense cosine in every text KB."""
    from mmroute.routing.base import kbs_with_fallback

    infos = [home.open(n).info for n in home.names()]
    vectors = home.open("hop").embed_queries([q["question"] for q in questions])
    for q, v in zip(questions, vectors):
        decision = router.route(q["question"], infos)
        q["routed"] = list(kbs_with_fallback(decision)[0])
        q["best"] = {n: float(home.open(n).search_vector(v, 1)[0].score) for n in TEXT_KBS}


def effect(questions: list[dict[str, Any]], floor: float, margin: float) -> dict[str, int]:
    from mmroute.retrieval.widening import kbs_to_add

    fixed = polluted = away = right = 0
    for q in questions:
        routed = [n for n in q["routed"] if n in TEXT_KBS]
        if not routed:
            continue
        top = max(q["best"][n] for n in routed)
        added = kbs_to_add(top, {n: s for n, s in q["best"].items() if n not in routed}, floor, margin)
        if any(TEXT_KBS[n] == q["corpus"] for n in routed):
            right += 1
            polluted += any(TEXT_KBS[n] != q["corpus"] for n in added)
        else:
            away += 1
            fixed += any(TEXT_KBS[n] == q["corpus"] for n in added)
    return {"fixed": fixed, "routed_away": away, "polluted": polluted, "routed_right": right}


def choose(questions: list[dict[str, Any]]) -> tuple[float, float, list[dict[str, Any]]]:
    grid = [{"floor": f, "margin": m, **effect(questions, f, m)} for f in FLOORS for m in MARGINS]
    best = max(grid, key=lambda g: (g["fixed"] - g["polluted"], -g["floor"], g["margin"]))
    return best["floor"], best["margin"], grid


def recall(home: Any, router: Any, questions: list[dict[str, Any]], stepwise: bool, widen: bool) -> dict[str, float]:
    from mmroute.retrieval.base import RETRIEVERS

    name = "stepwise" if stepwise else "single"
    retriever = RETRIEVERS.create(name, home=home, router=router, widen=widen)
    hits = {"hop": [0, 0], "squad": [0, 0]}
    for q in questions:
        if q["corpus"] == "squad" and not q.get("answerable", True):
            continue
        ids = {h.item.id for h in retriever.retrieve(q["question"], k=5).hits}
        gold = set(q["gold_ids"])
        ok = gold <= ids if q["corpus"] == "hop" else bool(gold & ids)
        hits[q["corpus"]][0] += int(ok)
        hits[q["corpus"]][1] += 1
    return {
        "multihop_recall_all@5": round(hits["hop"][0] / max(hits["hop"][1], 1), 4),
        "multihop_questions": hits["hop"][1],
        "squad_recall@5": round(hits["squad"][0] / max(hits["squad"][1], 1), 4),
        "squad_questions": hits["squad"][1],
    }


def layout_args(prog: str, doc: str, argv: list[str] | None) -> argparse.Namespace:
    """``--home`` (the README's layout, built there if missing) and ``--out``, for this experiment and its kin
    (``prog`` and ``doc``: the experiment module's name and docstring)."""
    ap = argparse.ArgumentParser(prog=f"python -m evals.experiments.{prog}", description=doc.split("\n\n")[0])
    ap.add_argument("--home", type=Path, default=Path.home() / ".cache" / "mmroute" / "exp_route_widening")
    ap.add_argument("--out", type=Path, default=SCRATCH, help="a .json file or a folder (default: a scratch folder)")
    return ap.parse_args(argv)


def layout_home(path: Path) -> tuple[Any, Any]:
    """The README's layout (the demo's sample KBs) at ``path``, indexed if needed, and the default router."""
    from evals.bench.bench_e2e import build_home
    from mmroute.corpora.shared import SAMPLE_KBS
    from mmroute.kb import Home
    from mmroute.routing.base import ROUTERS

    build_home(path, [s.kb for s in SAMPLE_KBS])
    return Home(path), ROUTERS.create("default")


def main(argv: list[str] | None = None) -> int:
    args = layout_args("exp_route_widening", __doc__ or "", argv)
    say = lambda m: print(f"[exp_route_widening] {m}", file=sys.stderr, flush=True)  # noqa: E731
    home, router = layout_home(args.home)
    questions = load_questions()
    probe(home, router, questions)
    floor, margin, grid = choose([q for q in questions if q["half"] == "choose"])
    report = [q for q in questions if q["half"] == "report"]
    say(f"chosen on the even half: floor {floor}, margin {margin}")
    from mmroute.retrieval.widening import FLOOR, MARGIN

    result: dict[str, Any] = {
        "home_kbs": home.names(),
        "chosen": {"floor": floor, "margin": margin},
        "shipped": {"floor": FLOOR, "margin": MARGIN},
        "report_half_shipped": effect(report, FLOOR, MARGIN),
        "report_half": effect(report, floor, margin),
        "grid_on_choose_half": grid,
        "recall_report_half": {},
    }
    for stepwise in (False, True):
        for widen in (False, True):
            key = f"{'stepwise' if stepwise else 'single'}_{'widened' if widen else 'routed_only'}"
            result["recall_report_half"][key] = recall(home, router, report, stepwise, widen)
            say(f"{key}: {result['recall_report_half'][key]}")
    out = write_result(args.out, "exp_route_widening.json", result)
    say(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
