"""Experiment: should the verifier retrieve its own evidence with the question *and the draft*?

For answerable questions of the 3 shared SQuAD 2.0 dev articles, two drafts each - the gold answer and
another question's gold answer from the same article (the endpoint benchmark's "plausibly wrong" draft) -
are judged by the reader signals over two evidence sets: the top-5 paragraphs for the question (what the
pipeline retrieves) and the top-5 for "question + draft". Reported: ROC AUC of each signal, right vs wrong.

    python -m evals.experiments.exp_claim_retrieval --n 150 --out evals/results/exp_claim_retrieval.json

Result (n=150): every signal separates right from wrong *worse* with the draft in the query (draft gap
AUC 0.963 -> 0.949, expected F1 0.883 -> 0.876, answer in evidence 0.877 -> 0.719): the wrong draft pulls
in the paragraph that holds it. Not adopted; the verifier reads what the question retrieved.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SIGNALS = ("reader_expected_f1", "reader_draft_gap", "reader_draft_margin", "answer_in_evidence")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=150, help="answerable questions (every other one, in file order)")
    ap.add_argument("--out", type=Path, default=None, help="write the JSON here (default: print only)")
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.path.insert(0, str(REPO))
    import numpy as np
    from sklearn.metrics import roc_auc_score

    from evals.build.calibrate_verifier import DATA, load_jsonl, plausible_wrong
    from mmroute.encoders.text import default_text_encoder
    from mmroute.generation.embedding import shared_embedder
    from mmroute.reading.reader import shared_reader
    from mmroute.types import Draft, Granularity, Hit, Item
    from mmroute.verification.verifier import signal_vector

    corpus, qs = load_jsonl(DATA / "corpus.jsonl"), load_jsonl(DATA / "questions.jsonl")
    squad = json.loads((DATA / "dev-v2.0-shared3articles.json").read_text(encoding="utf-8"))
    art = {q["id"]: a["title"] for a in squad["data"] for p in a["paragraphs"] for q in p["qas"]}
    items = [
        Item(id=r["id"], kind=Granularity.PARAGRAPH, text=r["text"], title=r.get("title"), doc_id=r.get("doc_id"))
        for r in corpus
    ]
    enc = default_text_encoder()
    X = enc.encode_items(items)
    by_article: dict[str, list[int]] = {}
    for i, q in enumerate(qs):
        by_article.setdefault(art[q["id"]], []).append(i)
    rng = random.Random(0)
    chosen = [i for i, q in enumerate(qs) if q.get("answers")][::2][: args.n]
    emb, reader = shared_embedder(), shared_reader("packaged")

    def top5(text: str) -> list[Hit]:
        s = X @ enc.encode_queries([text])[0]
        return [Hit(item=items[j], score=float(s[j]), kb="c", rank=r + 1) for r, j in enumerate(np.argsort(-s)[:5])]

    rows: dict[str, list[tuple[int, dict[str, float]]]] = {"question": [], "question_and_draft": []}
    for i in chosen:
        q = qs[i]
        wrong = plausible_wrong(qs, i, by_article[art[q["id"]]], rng)
        if not wrong:
            continue
        for text, ok in ((q["answers"][0], 1), (wrong, 0)):
            for mode, hits in (
                ("question", top5(q["question"])),
                ("question_and_draft", top5(q["question"] + " " + text)),
            ):
                sig, _ = signal_vector(
                    q["question"], Draft(text, (), None, generator="openai"), hits, None, emb, reader
                )
                rows[mode].append((ok, sig))
    out = {
        "what": __doc__.split("\n\n")[1].replace("\n", " "),
        "n_questions": len(rows["question"]) // 2,
        "auc": {
            mode: {f: round(float(roc_auc_score([y for y, _ in r], [s[f] for _, s in r])), 4) for f in SIGNALS}
            for mode, r in rows.items()
        },
    }
    if args.out:
        args.out.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
