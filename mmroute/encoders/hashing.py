"""A model-free lexical encoder: signed feature hashing of word uni- and bigrams.

Useful where no model can load (a minimal install) and as a fast, deterministic encoder for
tests of indexing, crash safety and stores. Similarity is lexical (shared words), not semantic.

>>> enc = HashingTextEncoder(dim=256)
>>> enc.encode_queries(["red apple"]) @ enc.encode_queries(["apple red"]).T
array([[0.66...]], dtype=float32)
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..types import EncoderSpec, Item, Modality
from .base import normalize
from .text import item_text

_TOKEN = re.compile(r"\w+", re.UNICODE)


class HashingTextEncoder:
    modality = Modality.TEXT

    def __init__(self, dim: int | float = 512) -> None:
        if isinstance(dim, float) and dim.is_integer():
            dim = int(dim)
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 8:
            raise ConfigError(
                f"the hashing encoder's dim must be a whole number of at least 8, not {dim!r:.40}",
                hint="e.g. --encoder-option dim=256",
            )
        self._dim = int(dim)

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def spec(self) -> EncoderSpec:
        return EncoderSpec("hashing", {"dim": self._dim})

    def warm_up(self) -> None:
        return None

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self._dim, np.float32)
        toks = [t.lower() for t in _TOKEN.findall(text)]
        feats = toks + [f"{a} {b}" for a, b in zip(toks, toks[1:])]
        for f in feats:
            h = zlib.crc32(f.encode("utf-8"))
            v[h % self._dim] += 1.0 if (h >> 31) & 1 else -1.0
        return v

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dim), np.float32)
        return normalize(np.stack([self._vec(t) for t in texts]))

    def encode_items(self, items: Sequence[Item]) -> np.ndarray:
        return self.encode_queries([item_text(it) for it in items])

    def encode_image_queries(self, paths: Sequence[Path]) -> np.ndarray:
        raise NotImplementedError("the hashing encoder embeds text only")
