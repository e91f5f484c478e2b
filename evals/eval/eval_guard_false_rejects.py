"""False rejections of the query guard: every real question in the shared data must pass its text checks.

    python -m evals.eval.eval_guard_false_rejects --out evals/results/guard_false_rejects.json

Reads every question of ``../shared/data`` (JSON Lines ``question`` fields, SQuAD-format files, routing data)
and generated real questions with acronyms, numbers, names and non-English proper nouns, and reports the
share the default router's guard rejects as empty, gibberish or another language (target 0), with each one.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("MMROUTE_DATA") or REPO.parent / "shared" / "data")

GENERATED = (
    "Who won the 2018 FIFA World Cup?",
    "What does NASA stand for?",
    "When was the BBC founded?",
    "Which HTML tag makes a link?",
    "Who founded IKEA?",
    "What is the GDP of the USA in 2020?",
    "Where is Llanfairpwllgwyngyll?",
    "Who is Björk Guðmundsdóttir?",
    "What did Nguyễn Phú Trọng lead?",
    "Who designed the Schrödinger equation?",
    "When did Xi Jinping become president?",
    "What is the population of Szczecin?",
    "Who wrote Cien años de soledad?",
    "How tall is the Burj Khalifa in m?",
    "What is 17 x 23?",
    "Which CPU does the PS5 use?",
    "Who sang SOS by ABBA?",
    "What is the capital of Kyrgyzstan?",
    "Who is Tsitsipas?",
    "When was MP3 invented?",
)


def shared_questions() -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for path in sorted(DATA.rglob("*.jsonl")):
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue
                q = rec.get("question") if isinstance(rec, dict) else None
                if isinstance(q, str) and q.strip():
                    out.append((str(path.relative_to(DATA)), q))
    for path in sorted(DATA.rglob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        if isinstance(data, dict) and isinstance(data.get("data"), list):
            for art in data["data"]:
                for p in art.get("paragraphs", []):
                    out.extend((str(path.relative_to(DATA)), qa["question"]) for qa in p.get("qas", []))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    from mmroute.routing.default import default_router
    from mmroute.routing.guard import GuardedRouter

    router = default_router()
    guard = router.guard if isinstance(router, GuardedRouter) else GuardedRouter(router).guard
    questions = shared_questions() + [("generated", q) for q in GENERATED]
    rejected: list[dict[str, Any]] = []
    by_source: dict[str, list[int]] = {}
    for src, q in questions:
        v = guard.check_text(q)
        by_source.setdefault(src, [0, 0])[0] += 1
        if v.action == "reject":
            by_source[src][1] += 1
            rejected.append({"source": src, "question": q, "check": v.check, "score": round(v.score, 3)})
    report = {
        "questions": len(questions),
        "rejected": len(rejected),
        "false_reject_rate": round(len(rejected) / len(questions), 6),
        "by_source": {s: {"questions": n, "rejected": r} for s, (n, r) in sorted(by_source.items())},
        "rejected_questions": rejected[:200],
    }
    text = json.dumps(report, indent=1, ensure_ascii=False)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(json.dumps({k: report[k] for k in ("questions", "rejected", "false_reject_rate")}))
    for r in rejected[:15]:
        print(" ", r)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
