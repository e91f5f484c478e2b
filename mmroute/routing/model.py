"""The trained router's model: a linear classifier over n-gram, embedding and cue features.

Why linear: it routes in well under a millisecond after the MiniLM embedding, its weights fit in a
small committed artifact (numpy ``.npz`` + JSON, no pickle), and with the right features it is as
accurate as much larger routers on the UniversalRAG sources. The classes may be finer than routes
(e.g. the source datasets): each class maps to one route and route probabilities are the sums.

Probabilities are temperature-scaled softmax outputs; the temperature is fitted on out-of-fold
logits at training time (:func:`mmroute.training.router.train_model`), so a probability of 0.8
means right about 80% of the time on queries like the training ones.

>>> model = RouterModel.load(default_artifact_dir())
>>> text = model.routing_text("Q: What are the steps to repot an orchid?")   # "what are the steps to repot an orchid"
>>> model.route_probabilities(text, dense_features_of_text)
{'video': 0.97, ...}
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, ModelUnavailableError
from ..fsutil import atomic_write_json
from .canonical import routing_text
from .features import CUE_NAMES, NgramVocabulary, cue_vector

ARTIFACT_VERSION = 2
"""2: the artifact names the canonicalisation of its routing text (``canonical``, see :mod:`.canonical`), and
the n-gram terms live in ``weights.npz`` (``terms_json``), compressed."""
MODEL_FILE = "router.json"
WEIGHTS_FILE = "weights.npz"


def default_artifact_dir() -> Path:
    """The router shipped in the package (rebuilt by ``make router``)."""
    return Path(__file__).resolve().parents[1] / "data" / "router"


def question_fingerprint(question: str) -> int:
    """A 64-bit fingerprint of ``question``, case and spacing ignored."""
    text = " ".join(question.casefold().split()).encode("utf-8")
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


def question_fingerprints(questions: Iterable[str]) -> np.ndarray:
    """Sorted unique :func:`question_fingerprint` s: what an artifact keeps of its training questions, so that an
    evaluation can tell a question it was trained on without shipping the text."""
    return np.array(sorted({question_fingerprint(q) for q in questions}), dtype=np.uint64)


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def ordered_routes(label_routes: Sequence[str]) -> list[str]:
    """The distinct routes of a classifier's classes, in first-seen order."""
    return sorted(set(label_routes), key=list(label_routes).index)


def route_sums(label_probs: np.ndarray, label_routes: Sequence[str]) -> np.ndarray:
    """(n, routes) route probabilities from (n, classes) class probabilities: the sum over the
    classes of each route, columns in :func:`ordered_routes` order."""
    routes = ordered_routes(label_routes)
    agg = np.zeros((label_probs.shape[0], len(routes)), dtype=np.float64)
    for j, r in enumerate(label_routes):
        agg[:, routes.index(r)] += label_probs[:, j]
    return agg


@dataclass
class RouterModel:
    """Weights and feature definitions of a trained router (see module doc)."""

    labels: list[str]
    """Classifier classes, e.g. source datasets."""
    label_routes: list[str]
    """The route each class maps to."""
    vocab: NgramVocabulary
    w_ngram: np.ndarray
    w_dense: np.ndarray
    """Weights of the standardised layer-pooled encoder features (see :mod:`.embedding`)."""
    dense_mean: np.ndarray
    dense_std: np.ndarray
    w_cue: np.ndarray
    bias: np.ndarray
    dense_scale: float = 1.0
    cue_scale: float = 1.0
    temperature: float = 1.0
    encoder: str = "minilm"
    centroids: np.ndarray | None = None
    """Unit vectors summarising the training queries; the guard measures out-of-domain-ness against them."""
    ood_threshold: float = 0.0
    canonical: int = 0
    """Canonicalisation version the model was trained with (:mod:`.canonical`); 0: raw text (version-1 artifacts)."""
    meta: dict[str, Any] = field(default_factory=dict)
    training_questions: np.ndarray | None = None
    """:func:`question_fingerprints` of the questions it was trained on (None: an artifact from before they were
    kept); ``mmroute route eval`` counts an evaluation's questions among them."""

    def seen_in_training(self, questions: Sequence[str]) -> int | None:
        """How many of ``questions`` the model was trained on (None when the artifact does not say)."""
        if self.training_questions is None:
            return None
        known = set(self.training_questions.tolist())
        return sum(question_fingerprint(q) in known for q in questions)

    def routing_text(self, query: str) -> str:
        """The text this model featurises for ``query``: every feature (n-grams, cues, the encoder's)
        is computed on it, never on the raw query."""
        return routing_text(query, self.canonical)

    @property
    def routes(self) -> list[str]:
        return ordered_routes(self.label_routes)

    @property
    def dense_dim(self) -> int:
        return int(self.w_dense.shape[0])

    def dense_block(self, dense: np.ndarray) -> np.ndarray:
        """Standardised, scaled dense features (also used at training time, so both agree exactly)."""
        d = np.asarray(dense, dtype=np.float32).reshape(-1, self.dense_dim)
        return (d - self.dense_mean) / self.dense_std * (self.dense_scale / np.sqrt(self.dense_dim))

    def logits(self, texts: Sequence[str], dense: np.ndarray) -> np.ndarray:
        """(n, classes) raw scores, before temperature, of routing texts (:meth:`routing_text`);
        ``dense`` are the encoder features of the same texts."""
        out = self.dense_block(dense) @ self.w_dense + self.bias
        w_cue = self.w_cue * self.cue_scale
        for i, t in enumerate(texts):
            idx, val = self.vocab.transform_one(t)
            if len(idx):
                out[i] += val @ self.w_ngram[idx]
            out[i] += cue_vector(t) @ w_cue
        return out

    def label_probabilities(self, texts: Sequence[str], dense: np.ndarray) -> np.ndarray:
        return softmax(self.logits(texts, dense) / self.temperature)

    def aggregate(self, label_probs: np.ndarray) -> np.ndarray:
        """(n, routes) route probabilities: sums over the classes of each route, in :attr:`routes` order."""
        return route_sums(label_probs, self.label_routes)

    def route_probabilities(self, text: str, dense: np.ndarray) -> dict[str, float]:
        """Route probabilities of one routing text (:meth:`routing_text`) with its encoder features."""
        p = self.aggregate(self.label_probabilities([text], dense))[0]
        return {r: float(x) for r, x in zip(self.routes, p)}

    def domain_similarity(self, embedding: np.ndarray) -> float:
        """Cosine of the query to the nearest training-query centroid (1.0 when no centroids are stored)."""
        if self.centroids is None or not len(self.centroids):
            return 1.0
        return float(np.max(self.centroids.astype(np.float32) @ np.asarray(embedding, dtype=np.float32).ravel()))

    # ---------------------------------------------------------------- persistence

    def save(self, directory: str | Path) -> Path:
        """Write ``router.json`` (config, classes, vocabulary) and ``weights.npz`` (float16 weights)."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, np.ndarray] = {
            "idf": self.vocab.idf.astype(np.float32),
            "w_ngram": self.w_ngram.astype(np.float16),
            "w_dense": self.w_dense.astype(np.float16),
            "dense_mean": self.dense_mean.astype(np.float32),
            "dense_std": self.dense_std.astype(np.float32),
            "w_cue": self.w_cue.astype(np.float32),
            "bias": self.bias.astype(np.float32),
        }
        if self.centroids is not None:
            arrays["centroids"] = self.centroids.astype(np.float16)
        if self.training_questions is not None:
            arrays["training_questions"] = self.training_questions.astype(np.uint64)
        # the n-gram vocabulary, JSON-encoded bytes: compressed with the weights (a JSON list of 100k+
        # terms, one per line, would be most of the artifact)
        arrays["terms_json"] = np.frombuffer(
            json.dumps(self.vocab.terms(), ensure_ascii=False).encode("utf-8"), np.uint8
        )
        tmp = d / (WEIGHTS_FILE + ".tmp.npz")
        np.savez_compressed(tmp, **arrays)  # type: ignore[arg-type]  # numpy's stub: **kwargs could be allow_pickle
        tmp.replace(d / WEIGHTS_FILE)
        atomic_write_json(
            d / MODEL_FILE,
            {
                "artifact_version": ARTIFACT_VERSION,
                "kind": "linear-ngram-embedding-cues",
                "labels": self.labels,
                "label_routes": self.label_routes,
                "encoder": self.encoder,
                "dense_scale": self.dense_scale,
                "cue_scale": self.cue_scale,
                "temperature": self.temperature,
                "ood_threshold": self.ood_threshold,
                "canonical": self.canonical,
                "cue_names": list(CUE_NAMES),
                "char_range": list(self.vocab.char_range),
                "word_range": list(self.vocab.word_range),
                "meta": self.meta,
            },
        )
        for name in (MODEL_FILE, WEIGHTS_FILE):  # package data: world-readable like any source file
            (d / name).chmod(0o644)
        return d

    @classmethod
    def load(cls, directory: str | Path) -> RouterModel:
        d = Path(directory)
        if not (d / MODEL_FILE).is_file() or not (d / WEIGHTS_FILE).is_file():
            raise ModelUnavailableError(
                f"no trained router at {d} (expected {MODEL_FILE} and {WEIGHTS_FILE})",
                hint="train one with `mmroute route train --data ROUTING.jsonl --out DIR` (or `make router`)",
            )
        cfg = json.loads((d / MODEL_FILE).read_text(encoding="utf-8"))
        if int(cfg.get("artifact_version", 0)) > ARTIFACT_VERSION:
            raise ConfigError(
                f"router artifact at {d} is newer than this mmroute understands",
                hint="upgrade mmroute or retrain the router",
            )
        if list(cfg.get("cue_names") or []) != list(CUE_NAMES):
            raise ConfigError(
                f"router artifact at {d} was trained with different query cues",
                hint="retrain it with `mmroute route train` (or `make router`)",
            )
        with np.load(d / WEIGHTS_FILE) as z:
            arrays = {k: z[k] for k in z.files}
        terms = (
            json.loads(arrays["terms_json"].tobytes().decode("utf-8")) if "terms_json" in arrays else cfg["terms"]
        )  # artifacts before version 2 keep the terms in router.json
        vocab = NgramVocabulary(
            index={t: i for i, t in enumerate(terms)},
            idf=arrays["idf"].astype(np.float32),
            char_range=tuple(cfg["char_range"]),
            word_range=tuple(cfg["word_range"]),
        )
        return cls(
            labels=list(cfg["labels"]),
            label_routes=list(cfg["label_routes"]),
            vocab=vocab,
            w_ngram=arrays["w_ngram"].astype(np.float32),
            w_dense=arrays["w_dense"].astype(np.float32),
            dense_mean=arrays["dense_mean"],
            dense_std=arrays["dense_std"],
            w_cue=arrays["w_cue"].astype(np.float32),
            bias=arrays["bias"].astype(np.float32),
            dense_scale=float(cfg.get("dense_scale", 1.0)),
            cue_scale=float(cfg.get("cue_scale", 1.0)),
            temperature=float(cfg.get("temperature", 1.0)),
            encoder=str(cfg.get("encoder", "minilm")),
            centroids=arrays.get("centroids"),
            ood_threshold=float(cfg.get("ood_threshold", 0.0)),
            canonical=int(cfg.get("canonical", 0)),
            training_questions=arrays.get("training_questions"),
            meta=dict(cfg.get("meta") or {}),
        )
