"""The learned support model: does this evidence support this answer to this question?

A MiniLM cross-encoder (the packaged reader's encoder with a two-class head) reads

    [CLS] question [SEP] answer [SEP] evidence window with the answer marked *like this* [SEP]

and returns the probability that the answer is right. The window is the evidence sentence holding the
answer with one neighbour on each side (:func:`answer_window`), the same function at training and at
run time. It was trained by ``python -m evals.build.train_support_model`` on the shared *training*
articles only (SQuAD 2.0 train and SQuADShifts): the packaged reader's own right and wrong drafts, gold
answers, other questions' answers from the same paragraph, and the plausible answers of real and
rule-made unanswerable questions (:mod:`mmroute.training.unanswerables`). Its log-odds is one signal among the
verifier's (``support_model``), weighed by the calibrated per-generator policies, which were fitted on
held-out articles.

>>> model = shared_support_model()
>>> model.probability("Who led the Normans?", "Rollo", [paragraph])
0.93
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelUnavailableError
from ..inference.onnx_models import OnnxModel, onnx_model
from ..text import split_sentences
from .claim import occurs_in

PACKAGED_DIR = Path(__file__).resolve().parents[1] / "data" / "verifier" / "support"
META_FILE = "support.json"
WEIGHTS_FILE = "support.safetensors"
MAX_LENGTH = 192
MARK = "*"
_CLIP = 12.0


def answer_window(answer: str, passages: Sequence[str], support: str = "") -> str:
    """The sentence holding ``answer`` with one neighbour each side, from the first passage holding it
    (the one holding ``support`` first), with the answer's first literal occurrence marked; ``support`` (or
    the first passage's opening) when no sentence holds it."""
    ordered = sorted(passages, key=lambda p: not (support and support in p))
    for text in ordered:
        spans = [text[a:b] for a, b in split_sentences(text)] or [text]
        for i, sentence in enumerate(spans):
            if occurs_in(answer, sentence):
                return mark(answer, " ".join(spans[max(0, i - 1) : i + 2]))
    fallback = support or (ordered[0] if ordered else "")
    return mark(answer, fallback[:1000])


def mark(answer: str, window: str) -> str:
    """``window`` with the first case-insensitive occurrence of ``answer`` wrapped in :data:`MARK`."""
    a = answer.strip()
    if not a:
        return window
    m = re.search(re.escape(a), window, re.IGNORECASE)
    if m is None:
        return window
    return f"{window[: m.start()]}{MARK} {window[m.start() : m.end()]} {MARK}{window[m.end() :]}"


def pair(question: str, answer: str, window: str) -> tuple[str, str]:
    """The two segments the model reads (see module doc)."""
    return question.strip(), f"{answer.strip()} [SEP] {window}"


class SupportModel:
    """The learned support model (see module doc); ``folder`` holds :data:`META_FILE` + :data:`WEIGHTS_FILE`."""

    name = "support"

    def __init__(self, folder: Path | str = PACKAGED_DIR) -> None:
        self.folder = Path(folder)
        self._model: Any = None
        self._tok: Any = None
        self.meta: Mapping[str, Any] = {}
        self._memo: OrderedDict[tuple[str, str, str], float] = OrderedDict()
        self._lock = threading.RLock()

    @classmethod
    def from_loaded(cls, model: Any, tokenizer: Any, meta: Mapping[str, Any]) -> SupportModel:
        m = cls(str(meta.get("source", "in-memory")))
        m._model, m._tok, m.meta = model, tokenizer, meta
        return m

    @property
    def available(self) -> bool:
        return self._model is not None or all((self.folder / f).is_file() for f in (META_FILE, WEIGHTS_FILE))

    def warm_up(self) -> None:
        with self._lock:
            self._load()

    def _load(self) -> None:
        if self._model is not None:
            return
        if self.folder.resolve() == PACKAGED_DIR.resolve():
            session = onnx_model("support")
            if session is not None:  # the packaged model, exported: no torch on this path
                from ..inference.tokenizer import shared_tokenizer

                meta = json.loads((self.folder / META_FILE).read_text(encoding="utf-8"))
                self._model, self._tok, self.meta = session, shared_tokenizer(), {**meta, "source": str(self.folder)}
                return
        self._model, self._tok, self.meta = load_support_model(self.folder)

    @property
    def runtime(self) -> str:
        """``onnx`` or ``torch``: what runs this model (after :meth:`warm_up`)."""
        self.warm_up()
        return "onnx" if isinstance(self._model, OnnxModel) else "torch"

    def logits(self, rows: Sequence[tuple[str, str, str]]) -> list[float]:
        """The log-odds that each (question, answer, window) is supported (memoised, batched)."""
        with self._lock:
            known = {r: self._memo[r] for r in dict.fromkeys(rows) if r in self._memo}
            todo = [r for r in dict.fromkeys(rows) if r not in known]
            if todo:
                self._load()
                known.update(zip(todo, self._score(todo)))
            for r in todo[-512:]:
                self._memo[r] = known[r]
            while len(self._memo) > 512:
                self._memo.popitem(last=False)
            return [known[r] for r in rows]

    def _score(self, rows: Sequence[tuple[str, str, str]], batch_size: int = 32) -> list[float]:
        if isinstance(self._model, OnnxModel):
            scores: list[float] = []
            for b in range(0, len(rows), batch_size):
                pairs = [pair(*r) for r in rows[b : b + batch_size]]
                enc = self._tok(
                    [a for a, _ in pairs],
                    [c for _, c in pairs],
                    truncation="only_second",
                    max_length=MAX_LENGTH,
                    padding=True,
                    return_tensors="np",
                )
                (logit,) = self._model.run(enc)
                scores.extend(np.clip(logit[:, 1] - logit[:, 0], -_CLIP, _CLIP).astype(float).tolist())
            return scores
        import torch

        out: list[float] = []
        dev = next(self._model.parameters()).device
        for b in range(0, len(rows), batch_size):
            pairs = [pair(*r) for r in rows[b : b + batch_size]]
            enc = self._tok(
                [a for a, _ in pairs],
                [c for _, c in pairs],
                truncation="only_second",
                max_length=MAX_LENGTH,
                padding=True,
                return_tensors="pt",
            )
            with torch.inference_mode():
                logit = self._model(**{k: v.to(dev) for k, v in enc.items()}).logits.float()
            out.extend((logit[:, 1] - logit[:, 0]).clamp(-_CLIP, _CLIP).cpu().tolist())
        return out

    def logit(self, question: str, answer: str, passages: Sequence[str], support: str = "") -> float:
        return self.logits([(question, answer, answer_window(answer, passages, support))])[0]

    def probability(self, question: str, answer: str, passages: Sequence[str], support: str = "") -> float:
        return 1.0 / (1.0 + math.exp(-self.logit(question, answer, passages, support)))


def load_support_model(folder: Path, device: str = "cpu") -> tuple[Any, Any, Mapping[str, Any]]:
    """(model in eval mode, tokenizer, metadata) of a support-model folder (a delta over its base encoder)."""
    hint = "rebuild it with `make support-model` (python -m evals.build.train_support_model)"
    for f in (META_FILE, WEIGHTS_FILE):
        if not (folder / f).is_file():
            raise ModelUnavailableError(f"the support model file {folder / f} is missing", hint=hint)
    try:
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
        if not isinstance(meta, dict) or "base" not in meta:
            raise ValueError("no base named")
    except (ValueError, UnicodeDecodeError) as e:
        raise ModelUnavailableError(
            f"support model file {folder / META_FILE} is corrupt ({str(e).splitlines()[0][:80]})", hint=hint
        ) from None
    from ..inference.extras import require_torch

    require_torch(f"the support model in {folder} on PyTorch")
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    from ..reading.weights import apply_delta, base_path

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    base = base_path(str(meta["base"]))
    tok = AutoTokenizer.from_pretrained(base)
    model = AutoModelForSequenceClassification.from_pretrained(base, num_labels=2)
    try:
        apply_delta(model, folder / WEIGHTS_FILE)
    except Exception as e:  # safetensors' own error types: a truncated or foreign file
        raise ModelUnavailableError(
            f"support model file {folder / WEIGHTS_FILE} is corrupt or does not fit its base "
            f"({str(e).splitlines()[0][:80]})",
            hint=hint,
        ) from None
    model.to(torch.device(device)).eval()
    return model, tok, {**meta, "source": str(folder)}


_SHARED: dict[str, SupportModel] = {}
_SHARED_LOCK = threading.Lock()


def shared_support_model(folder: Path | str = PACKAGED_DIR) -> SupportModel:
    """One loaded support model per folder in this process."""
    with _SHARED_LOCK:
        key = str(folder)
        if key not in _SHARED:
            _SHARED[key] = SupportModel(folder)
        return _SHARED[key]
