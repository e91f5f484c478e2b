"""Sentence embeddings with a memo, shared by the offline generator and the verifier.

The same evidence paragraphs come back for many questions, so their sentences are embedded once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from ..encoders.base import Encoder


class SentenceEmbedder:
    """Unit vectors for short texts, memoised (LRU) by exact text.

    >>> emb = SentenceEmbedder()                      # the offline MiniLM
    >>> emb.similarity("Who led the Norse?", ["Rollo led the Norse raiders.", "Bread is baked."])
    array([0.7..., 0.0...], dtype=float32)
    """

    def __init__(self, encoder: Encoder | None = None, max_cache: int = 50_000) -> None:
        self._encoder = encoder
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._max = int(max_cache)
        self._lock = threading.Lock()

    @property
    def encoder(self) -> Encoder:
        if self._encoder is None:
            from ..encoders.text import default_text_encoder

            self._encoder = default_text_encoder()
        return self._encoder

    def warm_up(self) -> None:
        self.encoder.warm_up()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            vecs = np.asarray(self.encoder.encode_queries(missing), dtype=np.float32)
            vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-9)
            with self._lock:
                for t, v in zip(missing, vecs):
                    self._cache[t] = v
                while len(self._cache) > self._max:
                    self._cache.popitem(last=False)
        with self._lock:
            out = []
            for t in texts:
                v = self._cache.get(t)
                if v is None:  # evicted between the two locked sections: embed it alone
                    v = np.asarray(self.encoder.encode_queries([t]), dtype=np.float32)[0]
                    v = v / max(float(np.linalg.norm(v)), 1e-9)
                else:
                    self._cache.move_to_end(t)
                out.append(v)
        return np.stack(out) if out else np.zeros((0, 1), dtype=np.float32)

    def similarity(self, query: str, texts: Sequence[str]) -> np.ndarray:
        """Cosine similarity of ``query`` to each of ``texts``."""
        if not texts:
            return np.zeros(0, dtype=np.float32)
        m = self.embed([query, *texts])
        return (m[1:] @ m[0]).astype(np.float32)


_SHARED: SentenceEmbedder | None = None
_SHARED_LOCK = threading.Lock()


def shared_embedder() -> SentenceEmbedder:
    """One process-wide memoised MiniLM embedder."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = SentenceEmbedder()
        return _SHARED
