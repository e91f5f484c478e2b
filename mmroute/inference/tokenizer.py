"""A tokenizer over ``tokenizers`` alone (no transformers import) for the ONNX path.

It answers the calls mmroute's reader windows and support model make of a Hugging Face fast tokenizer,
with the same results: ``tok(texts)``, ``tok(questions, passages, truncation="only_second", max_length=...,
stride=..., return_overflowing_tokens=True, return_offsets_mapping=True)`` and padding to the longest row.
Overflowing windows are flattened after their first window, sample by sample, exactly as transformers does,
so ``make_windows`` cuts the same windows whichever tokenizer it is given (a test checks this on SQuAD
paragraphs).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .onnx_models import TOKENIZER_FILE


class FastEncoding(dict[str, Any]):
    """The encoded batch: lists per key (or arrays with ``return_tensors="np"``) and :meth:`sequence_ids`."""

    def __init__(self, data: dict[str, Any], encodings: Sequence[Any]) -> None:
        super().__init__(data)
        self.encodings = list(encodings)

    def sequence_ids(self, index: int = 0) -> list[int | None]:
        return list(self.encodings[index].sequence_ids)


class FastTokenizer:
    """See module doc; ``path`` is a ``tokenizer.json`` (default: the packaged MiniLM one)."""

    model_input_names = ("input_ids", "token_type_ids", "attention_mask")

    def __init__(self, path: Path | str = TOKENIZER_FILE) -> None:
        from tokenizers import Tokenizer

        self._json = Path(path).read_text(encoding="utf-8")
        base = Tokenizer.from_str(self._json)
        self.pad_token_id = base.token_to_id("[PAD]") or 0
        self._configured: dict[tuple[int | None, int, str], Any] = {}
        self._lock = threading.Lock()

    def _tokenizer(self, max_length: int | None, stride: int, strategy: str) -> Any:
        """A Tokenizer set up for one truncation (each setting has its own object: thread-safe, no re-setting)."""
        from tokenizers import Tokenizer

        key = (max_length, stride, strategy)
        with self._lock:
            tok = self._configured.get(key)
            if tok is None:
                tok = Tokenizer.from_str(self._json)
                tok.no_padding()
                if max_length is None:
                    tok.no_truncation()
                else:
                    tok.enable_truncation(max_length, stride=stride, strategy=strategy)
                self._configured[key] = tok
            return tok

    def __call__(
        self,
        text: str | Sequence[str],
        text_pair: Sequence[str] | None = None,
        *,
        truncation: bool | str = False,
        max_length: int | None = None,
        stride: int = 0,
        padding: bool | str = False,
        return_overflowing_tokens: bool = False,
        return_offsets_mapping: bool = False,
        add_special_tokens: bool = True,
        return_tensors: str | None = None,
    ) -> FastEncoding:
        single = isinstance(text, str)
        texts = [text] if isinstance(text, str) else list(text)
        strategy = "only_second" if truncation == "only_second" else "longest_first"
        tok = self._tokenizer(max_length if truncation else None, stride if truncation else 0, strategy)
        if text_pair is not None:
            batch = tok.encode_batch(list(zip(texts, text_pair)), add_special_tokens=add_special_tokens)
        else:
            batch = tok.encode_batch(texts, add_special_tokens=add_special_tokens)
        flat: list[Any] = []
        sample: list[int] = []
        for i, enc in enumerate(batch):
            windows = [enc, *enc.overflowing] if return_overflowing_tokens else [enc]
            flat.extend(windows)
            sample.extend([i] * len(windows))
        data: dict[str, Any] = {
            "input_ids": [list(e.ids) for e in flat],
            "token_type_ids": [list(e.type_ids) for e in flat],
            "attention_mask": [list(e.attention_mask) for e in flat],
        }
        if return_offsets_mapping:
            data["offset_mapping"] = [[tuple(o) for o in e.offsets] for e in flat]
        if return_overflowing_tokens:
            data["overflow_to_sample_mapping"] = sample
        if padding:
            width = max((len(r) for r in data["input_ids"]), default=0)
            for key, fill in (("input_ids", self.pad_token_id), ("token_type_ids", 0), ("attention_mask", 0)):
                data[key] = [r + [fill] * (width - len(r)) for r in data[key]]
        if return_tensors is not None:
            if return_tensors != "np":
                raise ValueError("the ONNX path's tokenizer returns numpy arrays only (return_tensors='np')")
            for key in ("input_ids", "token_type_ids", "attention_mask"):
                data[key] = np.asarray(data[key], dtype=np.int64)
        elif single and not return_overflowing_tokens:
            data = {k: v[0] for k, v in data.items()}
        return FastEncoding(data, flat)


_SHARED: FastTokenizer | None = None
_SHARED_LOCK = threading.Lock()


def shared_tokenizer() -> FastTokenizer:
    """The packaged MiniLM tokenizer, loaded once per process."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = FastTokenizer()
        return _SHARED
