"""Fit the lexical extractor's candidate ranker (the ``offline`` generator) on shared data, reproducibly.

    python -m evals.build.fit_offline_ranker                         # SQuAD 2.0 dev sample in ../shared
    python -m evals.build.fit_offline_ranker --corpus C.jsonl --questions Q.jsonl --out-dir DIR --json

What it fits (logistic regressions; nothing is set by hand):

1. the offline generator's candidate ranker (features of :mod:`mmroute.generation.extractive`,
   label = the candidate matches a gold answer under the acceptance metric), on answerable questions;
2. for the cross-validation report only, a verifier policy over that generator's drafts (the shipped
   verifier policies are fitted by ``python -m evals.build.calibrate_verifier``).

Evidence comes from exact MiniLM search over the corpus paragraphs (what a paragraph KB returns).
To estimate how this transfers to unseen articles, everything is cross-validated by article
(``doc_id``): fit on all articles but one, test on the held-out one. The final files are then
fitted on all questions and written to ``mmroute/data/verifier/offline_ranker.json`` with the
cross-validation results in its ``meta``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
DEFAULT_DATA = Path(os.environ.get("MMROUTE_DATA") or REPO.parent / "shared" / "data") / "text" / "squad2_dev"


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def assign_groups(questions: list[dict[str, Any]], corpus: list[dict[str, Any]]) -> list[str]:
    """Article (doc_id) of each question: from its gold ids, else from the nearest answerable
    neighbour in file order (SQuAD files list questions article by article)."""
    doc_of = {r["id"]: r.get("doc_id") or r["id"] for r in corpus}
    groups: list[str | None] = [
        next((doc_of.get(g) for g in q.get("gold_ids") or () if g in doc_of), None) for q in questions
    ]
    last = None
    for i, g in enumerate(groups):
        if g is None:
            groups[i] = last
        else:
            last = g
    first = next((g for g in groups if g), "all")
    return [g or first for g in groups]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_DATA / "corpus.jsonl")
    ap.add_argument("--questions", type=Path, default=DEFAULT_DATA / "questions.jsonl")
    ap.add_argument("--k", type=int, default=5, help="evidence paragraphs per question")
    ap.add_argument(
        "--max-wrong",
        type=float,
        default=0.08,
        help="cap on wrong answers / questions when choosing the threshold (acceptance: 0.10)",
    )
    ap.add_argument(
        "--answer-window",
        type=int,
        default=None,
        help="offline generator's answer window in words (0: single span; default: the generator's)",
    )
    ap.add_argument("--out-dir", type=Path, default=REPO / "mmroute" / "data" / "verifier")
    ap.add_argument("--no-write", action="store_true", help="only report the cross-validation")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    from sklearn.linear_model import LogisticRegression

    from mmroute.encoders.text import default_text_encoder
    from mmroute.generation.embedding import shared_embedder
    from mmroute.generation.extractive import DEFAULT_ANSWER_WINDOW, FEATURES, ExtractiveGenerator, RankerWeights
    from mmroute.text import answer_matches
    from mmroute.types import Granularity, Hit, Item
    from mmroute.verification.policy import choose_threshold, fit_policy
    from mmroute.verification.verifier import signal_vector

    t_start = time.time()
    corpus = load_jsonl(args.corpus)
    qs = load_jsonl(args.questions)
    groups = assign_groups(qs, corpus)
    items = [
        Item(id=r["id"], kind=Granularity.PARAGRAPH, text=r["text"], title=r.get("title"), doc_id=r.get("doc_id"))
        for r in corpus
    ]
    enc = default_text_encoder()
    cv = enc.encode_items(items)
    qv = enc.encode_queries([q["question"] for q in qs])
    sims = qv @ cv.T
    hits_of = []
    for i in range(len(qs)):
        top = np.argsort(-sims[i])[: args.k]
        hits_of.append(
            [Hit(item=items[j], score=float(sims[i, j]), kb="calibration", rank=r + 1) for r, j in enumerate(top)]
        )
    emb = shared_embedder()
    window = DEFAULT_ANSWER_WINDOW if args.answer_window is None else args.answer_window
    if window != DEFAULT_ANSWER_WINDOW and not args.no_write:
        ap.error(
            f"--answer-window {window} differs from the generator's default ({DEFAULT_ANSWER_WINDOW}); "
            "the shipped files must match what the generator does: add --no-write"
        )
    gen = ExtractiveGenerator(ranker=RankerWeights({}, "unfitted"), embedder=emb, answer_window=window)
    golds = [q.get("answers") or [] for q in qs]

    # candidate features do not depend on the ranker's weights: compute them once
    prim, alt = [], []
    for i, q in enumerate(qs):
        for dense, store in ((True, prim), (False, alt)):
            cands = gen.candidates(q["question"], hits_of[i], dense=dense)
            X = np.array([[c.features.get(f, 0.0) for f in FEATURES] for c in cands], dtype=np.float64).reshape(
                -1, len(FEATURES)
            )
            y = np.array([bool(golds[i]) and answer_matches(c.text, golds[i]) for c in cands], dtype=bool)
            store.append((cands, X, y))
        if not args.json and (i + 1) % 100 == 0:
            print(f"  candidates: {i + 1}/{len(qs)} questions ({time.time() - t_start:.0f}s)", file=sys.stderr)

    def fit_ranker(idx: list[int]) -> np.ndarray:
        tr = [i for i in idx if golds[i] and len(prim[i][2])]
        X = np.concatenate([prim[i][1] for i in tr])
        y = np.concatenate([prim[i][2] for i in tr])
        m = LogisticRegression(C=1.0, max_iter=3000).fit(X[:, 1:], y)  # column 0 is the bias feature
        return np.concatenate([[float(m.intercept_[0])], m.coef_[0]])

    def drafts(w: np.ndarray, i: int):  # noqa: ANN202
        out = []
        for cands, X, _ in (prim[i], alt[i]):
            for c, s in zip(cands, X @ w if len(cands) else []):
                c.score = float(s)
            ranked = sorted(cands, key=lambda c: -c.score)
            out.append(gen._draft(ranked, hits_of[i], time.perf_counter(), gen.name))
        return out

    def signals_for(w: np.ndarray, idx: list[int]) -> tuple[list[dict[str, float]], list[bool]]:
        sigs, correct = [], []
        for i in idx:
            d, a = drafts(w, i)
            s, _ = signal_vector(qs[i]["question"], d, hits_of[i], a, emb)
            sigs.append(s)
            correct.append(bool(golds[i]) and bool(d.text) and answer_matches(d.text, golds[i]))
        return sigs, correct

    def evaluate(probs: list[float], correct: list[bool], thr: float, n: int) -> dict[str, float]:
        ans = [p >= thr for p in probs]
        c = sum(1 for a, k in zip(ans, correct) if a and k)
        w = sum(1 for a, k in zip(ans, correct) if a and not k)
        return {"n": n, "correct": c / n, "wrong": w / n, "abstain": 1 - (c + w) / n, "truthfulness": (c - w) / n}

    all_idx = list(range(len(qs)))
    folds = []
    names: list[str] = []
    for test in sorted(set(groups)):
        tr = [i for i in all_idx if groups[i] != test]
        te = [i for i in all_idx if groups[i] == test]
        w = fit_ranker(tr)
        s_tr, c_tr = signals_for(w, tr)
        names = sorted(s_tr[0])
        pol = fit_policy([[s[f] for f in names] for s in s_tr], [int(c) for c in c_tr], names)
        thr = choose_threshold([pol.probability(s) for s in s_tr], c_tr, args.max_wrong)
        s_te, c_te = signals_for(w, te)
        p_te = [pol.probability(s) for s in s_te]
        folds.append(
            {
                "test_article": test,
                "threshold": round(thr, 4),
                "verifier_on": {k: round(v, 4) for k, v in evaluate(p_te, c_te, thr, len(te)).items()},
                "verifier_off": {k: round(v, 4) for k, v in evaluate(p_te, c_te, -1.0, len(te)).items()},
            }
        )
        if not args.json:
            f = folds[-1]
            print(f"fold test={test}: on {f['verifier_on']}  off {f['verifier_off']}", file=sys.stderr)

    def pooled(key: str) -> dict[str, float]:
        n = sum(f[key]["n"] for f in folds)
        return {
            m: round(sum(f[key][m] * f[key]["n"] for f in folds) / n, 4)
            for m in ("correct", "wrong", "abstain", "truthfulness")
        } | {"n": n}

    report: dict[str, Any] = {
        "cross_validation": {
            "folds": folds,
            "pooled_verifier_on": pooled("verifier_on"),
            "pooled_verifier_off": pooled("verifier_off"),
        },
        "k": args.k,
        "max_wrong": args.max_wrong,
        "answer_window": window,
        "corpus": str(args.corpus),
        "questions": str(args.questions),
    }
    # final fit on everything
    w = fit_ranker(all_idx)
    s_all, c_all = signals_for(w, all_idx)
    pol = fit_policy([[s[f] for f in names] for s in s_all], [int(c) for c in c_all], names)
    thr = choose_threshold([pol.probability(s) for s in s_all], c_all, args.max_wrong)
    report["in_sample"] = {
        k: round(v, 4) for k, v in evaluate([pol.probability(s) for s in s_all], c_all, thr, len(qs)).items()
    }
    report["elapsed_s"] = round(time.time() - t_start, 1)
    if not args.no_write:
        from mmroute.fsutil import atomic_write_text

        args.out_dir.mkdir(parents=True, exist_ok=True)
        meta = {
            "command": "python -m evals.build.fit_offline_ranker " + " ".join(argv or sys.argv[1:]),
            "data": Path(args.questions).parent.name,
            "n_questions": len(qs),
            "answer_window": window,
            "cross_validation": report["cross_validation"],
        }
        atomic_write_text(
            args.out_dir / "offline_ranker.json",
            json.dumps({"weights": {f: round(float(v), 6) for f, v in zip(FEATURES, w)}, "meta": meta}, indent=1)
            + "\n",
        )
        report["written"] = [str(args.out_dir / "offline_ranker.json")]
    if args.json:
        print(json.dumps(report))
    else:
        print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
