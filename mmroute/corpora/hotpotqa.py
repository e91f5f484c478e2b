"""HotpotQA (distractor setting) -> a pooled paragraph corpus + questions with gold ids.

The official JSON is a list of ``{"_id", "question", "answer", "type", "level",
"supporting_facts": [[title, sent_id], ...], "context": [[title, [sentence, ...]], ...]}``; each
question carries its own 10 paragraphs (2 gold + 8 distractors chosen to look relevant). Pooling
all questions' paragraphs into one corpus makes every question compete with every other
question's distractors, which is how mmroute evaluates it.

- ``corpus.jsonl``: one record per distinct title, ``{"id": "hotpot/<title>", "title", "text"}``
  (a Wikipedia title names one introductory paragraph, so a title seen again is skipped);
- ``questions.jsonl``: ``{"id", "question", "answers": [answer], "gold_ids", "dataset": "hotpotqa",
  "type", "level"}`` with the gold ids of the supporting-fact titles, in first-cited order.

Usage::

    python -m mmroute.corpora.hotpotqa --input hotpot_dev_distractor_v1.json --out-dir data/hotpot [--limit 500]
    python -m mmroute.corpora.hotpotqa --input DEV_URL --out-dir data/hotpot   # downloads once (needs internet)
    mmroute index --kb hotpot --input data/hotpot/corpus.jsonl --granularity paragraph
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .base import CorpusError, fetch

DEV_DISTRACTOR_URL = "http://curtis.ml.cmu.edu/datasets/hotpot/hotpot_dev_distractor_v1.json"


@dataclass(frozen=True)
class ConvertReport:
    paragraphs: int
    questions: int
    skipped: int
    """Questions left out because a supporting title has no paragraph in their context."""
    corpus: Path
    questions_path: Path


def paragraph_id(title: str) -> str:
    return f"hotpot/{title}"


def _records(data: Any, source: str) -> list[dict[str, Any]]:
    if not isinstance(data, list):
        raise CorpusError(
            f"{source} is not a HotpotQA file (expected a JSON list of questions)",
            hint="use the official hotpot_*_distractor_v1.json",
        )
    for i, rec in enumerate(data[:1]):
        missing = {"_id", "question", "context", "supporting_facts"} - set(rec if isinstance(rec, dict) else ())
        if missing:
            raise CorpusError(
                f"{source}: record {i} lacks {sorted(missing)}",
                hint="use the official hotpot_*_distractor_v1.json (the test file has no answers)",
            )
    return data


def convert(
    source: str | os.PathLike[str], out_dir: str | os.PathLike[str], *, limit: int | None = None
) -> ConvertReport:
    """Write ``corpus.jsonl`` and ``questions.jsonl`` under ``out_dir`` (see module doc)."""
    path = fetch(source)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise CorpusError(f"{path} is not valid JSON ({e.msg} at line {e.lineno})") from e
    records = _records(data, str(path))
    if limit:
        records = records[:limit]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
    n_par = n_q = skipped = 0
    corpus_path, questions_path = out / "corpus.jsonl", out / "questions.jsonl"
    with open(corpus_path, "w", encoding="utf-8") as cf, open(questions_path, "w", encoding="utf-8") as qf:
        for rec in records:
            titles_here: set[str] = set()
            for title, sentences in rec["context"]:
                titles_here.add(title)
                if title in seen:
                    continue
                seen.add(title)
                text = "".join(sentences).strip()
                cf.write(
                    json.dumps({"id": paragraph_id(title), "title": title, "text": text}, ensure_ascii=False) + "\n"
                )
                n_par += 1
            gold = list(dict.fromkeys(title for title, _ in rec["supporting_facts"]))
            if not gold or not set(gold) <= titles_here:
                skipped += 1
                continue
            answer = rec.get("answer")
            qf.write(
                json.dumps(
                    {
                        "id": str(rec["_id"]),
                        "question": rec["question"],
                        "answers": [answer] if answer is not None else [],
                        "gold_ids": [paragraph_id(t) for t in gold],
                        "dataset": "hotpotqa",
                        "type": rec.get("type"),
                        "level": rec.get("level"),
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
            n_q += 1
    return ConvertReport(n_par, n_q, skipped, corpus_path, questions_path)


def main(argv: Iterable[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="HotpotQA distractor JSON -> mmroute corpus.jsonl + questions.jsonl")
    ap.add_argument(
        "--input", default=DEV_DISTRACTOR_URL, help="local JSON file or URL (default: the dev distractor set)"
    )
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--limit", type=int, default=None, help="convert only the first N questions")
    args = ap.parse_args(list(argv) if argv is not None else None)
    try:
        rep = convert(args.input, args.out_dir, limit=args.limit)
    except CorpusError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(
        json.dumps(
            {
                "paragraphs": rep.paragraphs,
                "questions": rep.questions,
                "skipped": rep.skipped,
                "corpus": str(rep.corpus),
                "questions_path": str(rep.questions_path),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
