"""SQuAD 2.0 official JSON → mmroute corpus and questions JSONL (DESIGN.md §3).

    python -m mmroute.corpora.squad dev-v2.0.json OUT_DIR [--articles Normans,Oxygen] [--max-articles 5]

Writes ``OUT_DIR/corpus.jsonl`` (one record per paragraph: id ``squad2/<title>/<n>``, doc_id
``squad2/<title>``) and ``OUT_DIR/questions.jsonl`` (``answers: []`` and no gold ids for unanswerable
questions), the same layout as ``../shared/data/text/squad2_dev``, so held-out articles can be
indexed and evaluated with ``mmroute index`` and ``mmroute eval answers``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def convert(
    squad: dict[str, Any], articles: Iterable[str] | None = None, max_articles: int | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    wanted = set(articles) if articles else None
    corpus: list[dict[str, Any]] = []
    questions: list[dict[str, Any]] = []
    taken = 0
    for art in squad.get("data", []):
        title = str(art["title"])
        if wanted is not None and title not in wanted:
            continue
        if max_articles is not None and taken >= max_articles:
            break
        taken += 1
        doc = f"squad2/{title}"
        for n, para in enumerate(art.get("paragraphs", [])):
            pid = f"{doc}/{n}"
            corpus.append({"id": pid, "doc_id": doc, "title": title.replace("_", " "), "text": para["context"]})
            for qa in para.get("qas", []):
                impossible = bool(qa.get("is_impossible"))
                answers = [] if impossible else list(dict.fromkeys(a["text"] for a in qa.get("answers", [])))
                questions.append(
                    {
                        "id": qa["id"],
                        "question": qa["question"],
                        "answers": answers,
                        "gold_ids": [] if impossible else [pid],
                        "answerable": not impossible,
                    }
                )
    return corpus, questions


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Convert SQuAD 2.0 JSON to mmroute corpus/questions JSONL.")
    ap.add_argument("squad_json", type=Path)
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--articles", default=None, help="comma-separated article titles to keep")
    ap.add_argument("--max-articles", type=int, default=None)
    args = ap.parse_args(argv)
    data = json.loads(args.squad_json.read_text(encoding="utf-8"))
    corpus, qs = convert(data, args.articles.split(",") if args.articles else None, args.max_articles)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for name, rows in (("corpus.jsonl", corpus), ("questions.jsonl", qs)):
        with open(args.out_dir / name, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    print(
        f"{len(corpus)} paragraphs, {len(qs)} questions ({sum(not q['answerable'] for q in qs)} unanswerable) "
        f"-> {args.out_dir}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
