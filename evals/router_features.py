"""A disk cache of the router's MiniLM features per text, for evaluation scripts that re-run.

Cross-validation, augmentation and invariance checks featurise the same texts again and again; on two
shared CPU cores MiniLM does ~100 texts/s, so each script keeps an ``npz`` of the features it computed
(default ``$MMROUTE_ROUTER_CACHE`` or ``/tmp/mmroute-router-features.npz``), keyed by the exact text.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from mmroute.routing.embedding import QueryFeatures, QueryFeaturizer

DEFAULT_PATH = Path(os.environ.get("MMROUTE_ROUTER_CACHE", "/tmp/mmroute-router-features.npz"))


class FeatureCache:
    """:meth:`features` of a list of texts, computing only the ones not cached yet (float16 on disk)."""

    def __init__(self, path: str | Path = DEFAULT_PATH, featurizer: QueryFeaturizer | None = None) -> None:
        self.path = Path(path)
        self.featurizer = featurizer or QueryFeaturizer()
        self.index: dict[str, int] = {}
        self.emb = np.zeros((0, 0), np.float16)
        self.layers = np.zeros((0, 0), np.float16)
        if self.path.is_file():
            with np.load(self.path, allow_pickle=False) as z:
                self.index = {t: i for i, t in enumerate(z["texts"].tolist())}
                self.emb, self.layers = z["emb"], z["layers"]

    def features(self, texts: Sequence[str], log=None) -> QueryFeatures:  # noqa: ANN001
        missing = sorted({t for t in texts if t not in self.index})
        if missing:
            if log:
                log(f"featurising {len(missing)} new texts")
            f = self.featurizer.features(missing)
            n0 = len(self.index)
            for k, t in enumerate(missing):
                self.index[t] = n0 + k
            e16, l16 = f.embedding.astype(np.float16), f.layers.astype(np.float16)
            self.emb = e16 if not n0 else np.concatenate([self.emb, e16])
            self.layers = l16 if not n0 else np.concatenate([self.layers, l16])
            self.save()
        idx = np.asarray([self.index[t] for t in texts], dtype=np.int64)
        emb = self.emb[idx].astype(np.float32)
        emb /= np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-8)
        return QueryFeatures(embedding=emb, layers=self.layers[idx].astype(np.float32))

    def save(self) -> None:
        texts = [""] * len(self.index)
        for t, i in self.index.items():
            texts[i] = t
        tmp = self.path.with_suffix(".tmp.npz")
        np.savez(tmp, texts=np.asarray(texts, dtype=str), emb=self.emb, layers=self.layers)
        tmp.replace(self.path)
