"""Experiment: can a learnt re-ranker over the reader's n-best spans beat its top span?

With the gold paragraph, the packaged reader's best span is an exact match for 49% of the answerable
questions of the 3 shared SQuAD dev articles, but a gold span is among its top 3 for 66%, its top 5 for
74% and its top 10 for 83%. This asks whether cheap features pick better among them: the span's logit gap
to the best span, its probability, its length, how many of its words the question already uses (answers
rarely repeat the question), how much of the question its sentence covers, its shape (digits, a year,
capitalised words) crossed with the question's answer type (``analyze_question``), its rank. A logistic regression (label: exact
match) is fitted on two articles and picks the span for the third (leave one article out); the reader's
top span under the same decoding (the packaged span-length penalty) is the baseline.

    python -m evals.experiments.exp_reader_rerank                 # reads the 473 questions (a few minutes)
    python -m evals.experiments.exp_reader_rerank --readings R.pkl   # reuse (or save) the readings

Measured 2026-11-30 (473 answerable questions; baseline EM 0.4926 / F1 0.5879):
top 10 with C=0.1: EM 0.4841 / F1 0.5808; C=1: 0.4820 / 0.5777; top 5 with C=0.1: 0.4799 / 0.5767; C=1:
0.4736 / 0.5719. Never better than the top span: the features that separate right from wrong spans
on two articles do not carry to the third. Not kept. The decoding grid (span-length penalty x maximum
answer length, chosen leave one article out) is flat too: EM 0.4947 / F1 0.5923.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pickle
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..paths import SCRATCH

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("MMROUTE_DATA") or REPO.parent / "shared" / "data")


def span_features(question: str, reading: Any, spans: Sequence[Any]) -> np.ndarray:
    from mmroute.generation.question import AnswerType, analyze_question
    from mmroute.text import content_stems, split_sentences, tokenize

    q_stems = set(content_stems(tokenize(question)))
    qtype = analyze_question(question).answer_type
    rows = []
    for rank, sp in enumerate(spans):
        stems = content_stems(tokenize(sp.text))
        overlap = sum(1 for w in stems if w in q_stems) / max(1, len(stems))
        passage = reading.passages[sp.passage_index]
        a, b = next(((a, b) for a, b in split_sentences(passage) if a <= sp.char_start < b), (0, len(passage)))
        covered = len(q_stems & set(content_stems(tokenize(passage[a:b])))) / max(1, len(q_stems))
        words = sp.text.split()
        digits = float(bool(re.search(r"\d", sp.text)))
        year = float(bool(re.search(r"\b1\d{3}\b|\b20\d{2}\b", sp.text)))
        caps = sum(1 for w in words if w[:1].isupper()) / max(1, len(words))
        base = [
            sp.score - spans[0].score,
            math.log(max(sp.probability, 1e-9)),
            sp.tokens,
            math.log(sp.tokens),
            overlap,
            float(overlap > 0),
            covered,
            digits,
            year,
            caps,
            float(rank == 0),
            rank,
            sp.window_margin,
        ]
        crossed = [v * float(qtype is t) for t in AnswerType for v in (digits, year, caps, sp.tokens)]
        rows.append(base + crossed)
    return np.array(rows)


def main(argv: list[str] | None = None) -> int:
    from sklearn.linear_model import LogisticRegression

    from mmroute.reading.decode import redecode
    from mmroute.reading.reader import shared_reader
    from mmroute.reading.squad import exact_match, f1_score, load_squad

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--readings", type=Path, help="pickle of (question, reading) pairs: reused if present, else saved")
    ap.add_argument("--out", type=Path, default=SCRATCH / "exp_reader_rerank.json", help="the report")
    args = ap.parse_args(argv)
    examples = [e for e in load_squad(DATA / "text/squad2_dev/dev-v2.0-shared3articles.json") if e.answerable]
    if args.readings and args.readings.is_file():
        pairs = [(e, r) for e, r in pickle.loads(args.readings.read_bytes()) if e.answerable]
    else:
        reader = shared_reader("packaged")
        pairs = [(e, reader.read(e.question, [e.context])) for e in examples]
        if args.readings:
            args.readings.write_bytes(pickle.dumps(pairs))
    penalty = shared_reader("packaged").length_penalty
    articles = sorted({e.title for e, _ in pairs})
    report: dict[str, Any] = {"questions": len(pairs), "articles": articles, "length_penalty": penalty, "runs": {}}

    def scores(rows: list[Any], picks: Sequence[int]) -> tuple[float, float]:
        em = sum(exact_match(r[1][i].text, r[0].answers) for r, i in zip(rows, picks))
        f1 = sum(f1_score(r[1][i].text, r[0].answers) for r, i in zip(rows, picks))
        return em, f1

    for k in (5, 10):
        data = []
        for e, reading in pairs:
            decoded = redecode(reading, length_penalty=penalty)
            spans = decoded.spans[:k]
            if not spans:
                continue
            X = span_features(e.question, decoded, spans)
            y = np.array([exact_match(sp.text, e.answers) for sp in spans])
            data.append((e, spans, X, y))
        report["top_k_contains_gold"] = report.get("top_k_contains_gold", {}) | {
            str(k): round(sum(bool(d[3].any()) for d in data) / len(pairs), 4)
        }
        for C in (0.1, 1.0):
            em = f1 = bem = bf1 = 0.0
            per: dict[str, Any] = {}
            for art in articles:
                train = [d for d in data if d[0].title != art]
                test = [d for d in data if d[0].title == art]
                X = np.vstack([d[2] for d in train])
                y = np.concatenate([d[3] for d in train])
                mu, sd = X.mean(0), X.std(0) + 1e-6
                model = LogisticRegression(C=C, max_iter=2000).fit((X - mu) / sd, y)
                picks = [int(np.argmax(model.decision_function((d[2] - mu) / sd))) for d in test]
                a, b = scores(test, picks)
                c, d_ = scores(test, [0] * len(test))
                em, f1, bem, bf1 = em + a, f1 + b, bem + c, bf1 + d_
                per[art] = {"n": len(test), "rerank_em": round(a / len(test), 4), "top1_em": round(c / len(test), 4)}
            n = len(pairs)
            report["runs"][f"top{k}_C{C:g}"] = {
                "rerank": {"em": round(em / n, 4), "f1": round(f1 / n, 4)},
                "top1": {"em": round(bem / n, 4), "f1": round(bf1 / n, 4)},
                "per_article": per,
            }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(json.dumps(report["runs"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
