"""Question + passage -> model windows, the way Hugging Face extractive QA models expect them.

A passage longer than the model's window is cut into overlapping windows (``stride`` tokens of overlap)
so that every answer lies wholly inside at least one of them. Each window keeps, for every token, the
character span it covers in the passage (``None`` for question and special tokens), which turns the
model's start/end token positions back into an exact substring of the passage.

Training windows also carry the gold start/end token positions; a window that does not contain the
whole gold answer (and every window of an unanswerable question) points at the ``[CLS]`` token (0, 0),
the SQuAD 2.0 "no answer" convention.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Window:
    passage_index: int
    input_ids: tuple[int, ...]
    token_type_ids: tuple[int, ...]
    offsets: tuple[tuple[int, int] | None, ...]
    start_position: int = 0
    end_position: int = 0

    def __len__(self) -> int:
        return len(self.input_ids)


def make_windows(
    tokenizer: Any,
    questions: Sequence[str],
    passages: Sequence[str],
    *,
    max_length: int,
    stride: int,
    answers: Sequence[tuple[int, int] | None] | None = None,
    max_question_tokens: int = 64,
) -> list[Window]:
    """Windows for each (question, passage) pair; ``answers[i]`` is the gold (char start, char end) or None.

    Questions longer than ``max_question_tokens`` are cut so that a window always has room for the passage.
    """
    qs = [_clip_question(tokenizer, q, max_question_tokens) for q in questions]
    enc = tokenizer(
        qs,
        list(passages),
        truncation="only_second",
        max_length=max_length,
        stride=stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding=False,
    )
    out: list[Window] = []
    for w in range(len(enc["input_ids"])):
        pi = int(enc["overflow_to_sample_mapping"][w])
        seq_ids = enc.sequence_ids(w)
        offsets = tuple(tuple(o) if s == 1 else None for o, s in zip(enc["offset_mapping"][w], seq_ids))
        tt = enc["token_type_ids"][w] if "token_type_ids" in enc else [0] * len(enc["input_ids"][w])
        start = end = 0
        span = answers[pi] if answers is not None else None
        if span is not None:
            a_start, a_end = span
            ctx = [(i, o) for i, o in enumerate(offsets) if o is not None]
            if ctx and ctx[0][1][0] <= a_start and ctx[-1][1][1] >= a_end:
                start = next(i for i, o in ctx if o[1] > a_start)
                end = next(i for i, o in reversed(ctx) if o[0] < a_end)
                if end < start:
                    start = end = 0
        out.append(Window(pi, tuple(enc["input_ids"][w]), tuple(tt), offsets, start, end))
    return out


def _clip_question(tokenizer: Any, question: str, max_tokens: int) -> str:
    ids = tokenizer(question, add_special_tokens=False, return_offsets_mapping=True)
    if len(ids["input_ids"]) <= max_tokens:
        return question
    return question[: ids["offset_mapping"][max_tokens - 1][1]]


def collate(windows: Sequence[Window], pad_id: int) -> dict[str, np.ndarray]:
    """Pad a batch to its longest window (dynamic padding)."""
    n, L = len(windows), max(len(w) for w in windows)
    ids = np.full((n, L), pad_id, dtype=np.int64)
    tt = np.zeros((n, L), dtype=np.int64)
    mask = np.zeros((n, L), dtype=np.int64)
    for i, w in enumerate(windows):
        ids[i, : len(w)] = w.input_ids
        tt[i, : len(w)] = w.token_type_ids
        mask[i, : len(w)] = 1
    return {
        "input_ids": ids,
        "token_type_ids": tt,
        "attention_mask": mask,
        "start_positions": np.array([w.start_position for w in windows], dtype=np.int64),
        "end_positions": np.array([w.end_position for w in windows], dtype=np.int64),
    }
