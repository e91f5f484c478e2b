"""Query features from the shared MiniLM in one forward pass: the usual sentence embedding and
mean-pooled hidden states of every transformer layer.

Why all layers: the routes follow the *style* of a question as much as its topic, and the lower
layers of MiniLM keep more of the surface form (casing, punctuation, phrasing) than the final
sentence embedding. Concatenating the per-layer means raised cross-validated routing accuracy by
about one point over the last layer alone, at no extra cost (the forward pass is the same).

The encoder is :func:`mmroute.encoders.text.default_text_encoder` (shared process-wide), so routing
does not load a second copy of the model.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..encoders.text import TransformerTextEncoder, default_text_encoder


@dataclass(frozen=True)
class QueryFeatures:
    """``embedding``: (n, d) unit sentence vectors (same space as the MiniLM KBs);
    ``layers``: (n, L*d) concatenated mean-pooled hidden states of layers 1..L (not normalised)."""

    embedding: np.ndarray
    layers: np.ndarray


class QueryFeaturizer:
    """Runs the shared text encoder once per batch of queries and returns :class:`QueryFeatures`.

    >>> f = QueryFeaturizer().features(["Who wrote Hamlet?"])
    >>> f.embedding.shape, f.layers.shape
    ((1, 384), (1, 2304))
    """

    def __init__(self, encoder: TransformerTextEncoder | None = None, batch_size: int = 64) -> None:
        self._encoder = encoder
        self.batch_size = batch_size

    @property
    def encoder(self) -> TransformerTextEncoder:
        if self._encoder is None:
            self._encoder = default_text_encoder()
        return self._encoder

    def warm_up(self) -> None:
        self.encoder.warm_up()

    def features(self, texts: Sequence[str]) -> QueryFeatures:
        enc = self.encoder
        if len(texts) > self.batch_size:  # many texts (training): batch similar lengths, less padding
            order = np.argsort([len(t) for t in texts], kind="stable")
            emb_s, layers_s = enc.embed_with_layers([texts[i] for i in order], self.batch_size)
            emb, layers = np.empty_like(emb_s), np.empty_like(layers_s)
            emb[order], layers[order] = emb_s, layers_s
            return QueryFeatures(embedding=emb, layers=layers)
        emb, layers = enc.embed_with_layers(list(texts), self.batch_size)
        if len(texts) <= 8:  # interactive queries: the KB search that follows reuses the vector
            enc.remember_queries([t if t and t.strip() else " " for t in texts], emb)
        return QueryFeatures(embedding=emb, layers=layers)


class FeatureCache:
    """A disk cache of :class:`QueryFeatures` per exact text, for training and evaluation that re-run.

    Cross-validation, augmentation and invariance checks featurise the same texts again and again, and
    on two CPU cores MiniLM reads ~100 texts/s; ``mmroute route train --feature-cache FILE`` and
    ``python -m evals.eval.eval_router --cache DIR`` keep what they computed in an ``npz`` (float32, so a cached run
    trains exactly the model an uncached one does). Not for query time: a router featurises one query.
    """

    def __init__(self, path: str | Path, featurizer: QueryFeaturizer | None = None) -> None:
        self.path = Path(path)
        self.featurizer = featurizer or QueryFeaturizer()
        self.index: dict[str, int] = {}
        self.emb = np.zeros((0, 0), np.float32)
        self.layers = np.zeros((0, 0), np.float32)
        if self.path.is_file():
            with np.load(self.path, allow_pickle=False) as z:
                self.index = {t: i for i, t in enumerate(z["texts"].tolist())}
                self.emb, self.layers = z["emb"].astype(np.float32), z["layers"].astype(np.float32)

    def features(self, texts: Sequence[str], log: Callable[[str], None] | None = None) -> QueryFeatures:
        missing = list(dict.fromkeys(t for t in texts if t not in self.index))
        if missing:
            if log:
                log(f"featurising {len(missing)} new texts")
            f = self.featurizer.features(missing)
            n0 = len(self.index)
            for k, t in enumerate(missing):
                self.index[t] = n0 + k
            self.emb = f.embedding if not n0 else np.concatenate([self.emb, f.embedding])
            self.layers = f.layers if not n0 else np.concatenate([self.layers, f.layers])
            self.save()
        idx = np.asarray([self.index[t] for t in texts], dtype=np.int64)
        return QueryFeatures(embedding=self.emb[idx], layers=self.layers[idx])

    def save(self) -> None:
        texts = [""] * len(self.index)
        for t, i in self.index.items():
            texts[i] = t
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp.npz")
        np.savez(tmp, texts=np.asarray(texts, dtype=str), emb=self.emb, layers=self.layers)
        tmp.replace(self.path)
