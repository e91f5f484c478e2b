"""The reader role: a question and passages in, ranked answer spans and a no-answer score out.

:class:`TransformerReader` runs any model in the Hugging Face ``AutoModelForQuestionAnswering``
convention (start/end logits; SQuAD 2.0 models put "no answer" on ``[CLS]``): the packaged reader
trained by ``mmroute reader train`` (the default), a local checkpoint folder, or a hub name. Long
passages are read in overlapping windows; spans are decoded by :func:`~mmroute.reading.decode.decode`.

>>> reader = create_reader("transformer", model="packaged")
>>> reading = reader.read("In what country is Normandy located?", [paragraph])
>>> reading.best.text, reading.best.probability, reading.margin
('France', 0.93, 7.1)
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..inference.batching import length_batches
from ..inference.onnx_models import OnnxModel
from ..registry import Registry
from .decode import Reading, decode
from .windows import Window, collate, make_windows

PACKAGED_NAMES = ("packaged", "default", "")


@runtime_checkable
class Reader(Protocol):
    name: str

    def warm_up(self) -> None: ...

    def read(self, question: str, passages: Sequence[str]) -> Reading:
        """Rank answer spans of ``passages`` for ``question`` (an empty ``Reading`` when there are none)."""
        ...


READERS: Registry[Reader] = Registry("reader", {"transformer": "mmroute.reading.reader:TransformerReader"})


class TransformerReader:
    """An extractive reader over a Hugging Face QA model (see module doc)."""

    name = "transformer"

    def __init__(
        self,
        model: str = "packaged",
        *,
        device: str = "auto",
        max_length: int | None = None,
        stride: int | None = None,
        n_best: int = 20,
        max_answer_tokens: int = 30,
        length_penalty: float | None = None,
        batch_size: int = 16,
    ) -> None:
        self.model_name = model
        self.device = device
        self._max_length = max_length
        self._stride = stride
        self.n_best = n_best
        self.max_answer_tokens = max_answer_tokens
        self._length_penalty = length_penalty
        self.batch_size = batch_size
        self._model: Any = None
        self._tok: Any = None
        self.meta: Mapping[str, Any] = {}
        self._memo: OrderedDict[tuple[str, tuple[str, ...]], Reading] = OrderedDict()
        self._lock = threading.RLock()

    @classmethod
    def from_loaded(cls, model: Any, tokenizer: Any, meta: Mapping[str, Any], **options: Any) -> TransformerReader:
        """Wrap a model already in memory (e.g. right after training)."""
        r = cls(str(meta.get("source", "in-memory")), **options)
        r._model, r._tok, r.meta = model, tokenizer, meta
        return r

    @property
    def max_length(self) -> int:
        return int(self._max_length or self.meta.get("max_length") or 384)

    @property
    def stride(self) -> int:
        return int(self._stride or self.meta.get("stride") or self.max_length // 3)

    @property
    def length_penalty(self) -> float:
        """Per-token penalty when ranking spans (see :mod:`~mmroute.reading.decode`): the option if given,
        else the value ``mmroute reader calibrate`` stored with the reader, else 0."""
        if self._length_penalty is not None:
            return float(self._length_penalty)
        if self._model is None:  # the stored value comes with the weights: 0 before loading would be wrong
            self.warm_up()
        return float((self.meta.get("decoding") or {}).get("length_penalty", 0.0))

    def warm_up(self) -> None:
        with self._lock:
            self._load()

    def _load(self) -> None:
        if self._model is not None:
            return
        if self.model_name in PACKAGED_NAMES and self.device in ("auto", "cpu"):
            from ..inference.onnx_models import onnx_model

            session = onnx_model("reader")
            if session is not None:  # the packaged reader, exported: no torch on this path
                from ..inference.tokenizer import shared_tokenizer
                from .weights import packaged_meta

                self._model, self._tok, self.meta = session, shared_tokenizer(), packaged_meta()
                return
        from ..encoders.base import resolve_device
        from .weights import load_reader_model

        self._model, self._tok, self.meta = load_reader_model(self.model_name, resolve_device(self.device))

    @property
    def runtime(self) -> str:
        """``onnx`` or ``torch``: what runs this reader (after :meth:`warm_up`)."""
        self.warm_up()
        return "onnx" if isinstance(self._model, OnnxModel) else "torch"

    def read(self, question: str, passages: Sequence[str]) -> Reading:
        """Read ``passages`` (memoised: the generator and the verifier read the same evidence)."""
        key = (question, tuple(passages))
        with self._lock:
            if key in self._memo:
                self._memo.move_to_end(key)
                return self._memo[key]
            reading = self._read(question, list(passages))
            self._memo[key] = reading
            if len(self._memo) > 64:
                self._memo.popitem(last=False)
            return reading

    def _read(self, question: str, passages: list[str]) -> Reading:
        if not question.strip() or not any(p.strip() for p in passages):
            return Reading((), 0.0, 1.0)
        self._load()
        windows = make_windows(
            self._tok, [question] * len(passages), passages, max_length=self.max_length, stride=self.stride
        )
        starts: list[np.ndarray] = [np.empty(0, np.float32)] * len(windows)
        ends: list[np.ndarray] = [np.empty(0, np.float32)] * len(windows)
        for idx in self._batches(windows):
            batch = collate([windows[i] for i in idx], self._tok.pad_token_id or 0)
            start, end = self._logits(batch)
            for row, i in enumerate(idx):
                starts[i], ends[i] = start[row], end[row]
        return self._decode(windows, starts, ends, passages)

    def _batches(self, windows: Sequence[Window]) -> list[list[int]]:
        """Windows in like-length batches; on a CPU at most one full window's tokens a batch. A 2-core CPU reads
        windows of up to 256 tokens (about 170 on the SQuAD dev home) fastest one at a time: 61 ms a question,
        against 67 ms at 1,024 padded tokens a batch and 79 ms in batches of 16."""
        on_cpu = isinstance(self._model, OnnxModel) or str(next(self._model.parameters()).device) == "cpu"
        budget = self.max_length if on_cpu else self.batch_size * self.max_length
        return length_batches([len(w) for w in windows], self.batch_size, budget)

    def _logits(self, batch: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(start logits, end logits) of one collated batch."""
        if isinstance(self._model, OnnxModel):
            start, end = self._model.run(batch)
            return start, end
        import torch

        dev = next(self._model.parameters()).device
        inputs = {k: torch.from_numpy(batch[k]).to(dev) for k in ("input_ids", "attention_mask", "token_type_ids")}
        if "token_type_ids" not in self._tok.model_input_names:
            inputs.pop("token_type_ids")
        with torch.inference_mode():
            out = self._model(**inputs)
        return out.start_logits.float().cpu().numpy(), out.end_logits.float().cpu().numpy()

    def _decode(
        self, windows: Sequence[Window], starts: list[np.ndarray], ends: list[np.ndarray], passages: list[str]
    ) -> Reading:
        return decode(
            windows,
            starts,
            ends,
            passages,
            n_best=self.n_best,
            max_answer_tokens=self.max_answer_tokens,
            length_penalty=self.length_penalty,
        )


def create_reader(name: str = "transformer", **options: Any) -> Reader:
    return READERS.create(name, **options)


_SHARED: dict[tuple[str, str], TransformerReader] = {}
_SHARED_LOCK = threading.Lock()


def shared_reader(model: str = "packaged", device: str = "auto") -> TransformerReader:
    """One loaded reader per (model, device) in this process, shared by the generator and the verifier."""
    with _SHARED_LOCK:
        key = (model, device)
        if key not in _SHARED:
            _SHARED[key] = TransformerReader(model, device=device)
        return _SHARED[key]
