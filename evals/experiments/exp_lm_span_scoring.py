"""Experiment: does a small LM's answer likelihood help the verifier beyond the reader's own signals?

For answerable questions of the 3 shared SQuAD dev articles (never used to train the reader), two drafts
each, given the gold paragraph: the gold answer (correct) and another question's gold answer from the same
article (plausible but wrong) - the drafts an LLM endpoint might send. Each draft gets

- ``lm``: mean log p(answer tokens | paragraph, question) under the packaged SmolLM2-135M-Instruct, and
- ``reader``: the packaged reader's expected F1 of the draft (``reader_expected_f1``, what the verifier uses).

Reported: ROC AUC of each signal for separating correct from wrong drafts, and of a logistic regression
on both, cross-validated by article (fit on two articles, score the third).

    python -m evals.experiments.exp_lm_span_scoring --n 100

Measured 2026-11-30 (100 questions, 200 drafts, 2 cores): AUC reader 0.977, SmolLM2 0.758; cross-validated by
article, reader alone 0.965 and reader + LM 0.927, at 1.25 s of LM time per draft. Not kept.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

from ..paths import SCRATCH

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("MMROUTE_DATA") or REPO.parent / "shared" / "data")


def main(argv: list[str] | None = None) -> int:
    import numpy as np
    import torch
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from mmroute.generation.local_lm import SMOLLM2_GGUF, smollm2_dir
    from mmroute.reading.reader import shared_reader
    from mmroute.reading.squad import f1_score, load_squad
    from mmroute.verification.reading import reader_signals

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=150, help="answerable questions (spread over the articles)")
    ap.add_argument(
        "--out",
        type=Path,
        default=SCRATCH / "exp_lm_span_scoring.json",
        help="the report (default: a scratch folder; evals/results/exp_lm_span_scoring.json is the recorded one)",
    )
    args = ap.parse_args(argv)
    torch.set_num_threads(os.cpu_count() or 1)
    ex = [e for e in load_squad(DATA / "text/squad2_dev/dev-v2.0-shared3articles.json") if e.answerable]
    rng = random.Random(0)
    sample = rng.sample(ex, min(args.n, len(ex)))
    d = smollm2_dir()
    tok = AutoTokenizer.from_pretrained(d, gguf_file=SMOLLM2_GGUF)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    lm = AutoModelForCausalLM.from_pretrained(d, gguf_file=SMOLLM2_GGUF, dtype=torch.float32).eval()
    reader = shared_reader("packaged")

    def lm_score(ctx: str, q: str, a: str) -> float:
        prompt = f"{ctx}\n\nQuestion: {q}\nAnswer:"
        p_ids = tok(prompt, return_tensors="pt").input_ids
        a_ids = tok(" " + a, return_tensors="pt", add_special_tokens=False).input_ids
        ids = torch.cat([p_ids, a_ids], dim=1)
        with torch.inference_mode():
            logits = lm(ids).logits[0, p_ids.shape[1] - 1 : -1]
        lp = torch.log_softmax(logits.float(), -1).gather(1, a_ids[0][:, None]).squeeze(1)
        return float(lp.mean())

    rows = []
    t0 = time.time()
    for e in sample:
        pool = [
            o
            for o in ex
            if o.title == e.title and o is not e and max(f1_score(o.answers[0], [g]) for g in e.answers) == 0
        ]
        for text, ok in ((e.answers[0], True), (rng.choice(pool).answers[0], False)):
            rs = reader_signals(text, reader.read(e.question, [e.context]))
            rows.append(
                {
                    "article": e.title,
                    "ok": ok,
                    "lm": lm_score(e.context, e.question, text),
                    "reader": rs["reader_expected_f1"],
                    "reader_margin": rs["reader_margin"],
                }
            )
    elapsed = time.time() - t0
    y = np.array([r["ok"] for r in rows], dtype=int)
    res = {
        "drafts": len(rows),
        "questions": len(sample),
        "lm_seconds_per_draft": round(elapsed / len(rows), 3),
        "auc": {k: round(float(roc_auc_score(y, [r[k] for r in rows])), 4) for k in ("lm", "reader")},
    }
    for feats in (("reader",), ("reader", "lm")):
        probs = np.zeros(len(rows))
        for art in sorted({r["article"] for r in rows}):
            tr = [i for i, r in enumerate(rows) if r["article"] != art]
            te = [i for i, r in enumerate(rows) if r["article"] == art]
            X = np.array([[rows[i][f] for f in feats] for i in range(len(rows))])
            m = LogisticRegression(max_iter=1000).fit(X[tr], y[tr])
            probs[te] = m.predict_proba(X[te])[:, 1]
        res["auc"]["cv_" + "+".join(feats)] = round(float(roc_auc_score(y, probs)), 4)
    res["verdict"] = (
        "keep: the LM adds separation"
        if res["auc"]["cv_reader+lm"] > res["auc"]["cv_reader"] + 0.01
        else "not kept: the LM adds no separation beyond the reader (or costs more than it adds)"
    )
    args.out.write_text(json.dumps(res, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
