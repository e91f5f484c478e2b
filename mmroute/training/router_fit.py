"""Fitting one linear router model on prepared training rows (needs scikit-learn; routing does not).

The pieces both :mod:`.router` (cross-validation and training of the shipped router) and
:mod:`.router_distill` (the teacher's hard-label half) use: the hyper-parameters (:class:`TrainConfig`),
the training rows with their augmented copies (:func:`prepare_rows`), the linear classifier
(:func:`fit_rows`), temperature scaling and the stratified folds. The recipe is described in
:mod:`.router`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..errors import InputError
from ..routing.canonical import CANONICAL_VERSION, routing_text
from ..routing.dataset import RoutingExample
from ..routing.embedding import QueryFeatures, QueryFeaturizer
from ..routing.features import NgramVocabulary, cue_vector
from ..routing.model import RouterModel, softmax
from .perturbations import augment

Featurize = Callable[[Sequence[str]], QueryFeatures]
"""Texts -> their :class:`QueryFeatures` (a :class:`QueryFeaturizer`'s ``features``, or a cache of it)."""


@dataclass
class TrainConfig:
    """Hyper-parameters of :func:`train_model` (defaults = the shipped router)."""

    min_df: int = 2
    char_range: tuple[int, int] = (2, 5)
    word_range: tuple[int, int] = (1, 2)
    dense_scale: float = 1.0
    cue_scale: float = 1.0
    C: float = 1.0
    use_sources: bool = True
    folds: int = 5
    centroids: int = 64
    ood_quantile: float = 0.005
    seed: int = 0
    canonical: int = CANONICAL_VERSION
    """Canonicalisation version of the routing text (:mod:`mmroute.routing.canonical`); 0 featurises the raw text."""
    augment: int = 2
    """Perturbed copies of each training row (:func:`.perturbations.augment`); 0 for none."""
    classifier: str = "svm"
    """``svm`` (one-vs-rest linear SVM, hard labels) or ``logreg`` (multinomial logistic regression,
    which also takes soft labels, see :func:`cross_validate`'s ``teacher``)."""
    soft_weight: float = 0.0
    """With a teacher: the weight of its probabilities in the training targets (the rest: the label)."""
    teacher: str = ""
    """Distillation teacher: a local encoder directory (see :mod:`.router_distill`); empty for none."""
    teacher_student_weight: float = 0.5
    """Weight of the fast router's own (hard-label) model in the teacher's average with the encoder probe."""

    distilled_soft_weight: ClassVar[float] = 0.5
    """``soft_weight`` that ``route train --teacher-model`` uses by default."""

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


def route_labels(examples: Sequence[RoutingExample], use_sources: bool) -> tuple[list[str], dict[str, str]]:
    if use_sources and all(e.source for e in examples):
        mapping: dict[str, str] = {}
        for e in examples:
            if mapping.setdefault(str(e.source), e.route) != e.route:
                raise InputError(
                    f"source {e.source!r} has examples of more than one route", hint="train with use_sources=False"
                )
        return [str(e.source) for e in examples], mapping
    return [e.route for e in examples], {r: r for r in {e.route for e in examples}}


def _fit_linear(
    texts: Sequence[str],
    dense: np.ndarray,
    y: Sequence[str],
    mapping: dict[str, str],
    cfg: TrainConfig,
    soft: np.ndarray | None = None,
    soft_labels: Sequence[str] | None = None,
) -> RouterModel:
    """Fit the linear model on routing ``texts`` (already canonical) with their dense features.

    ``soft`` ((n, len(soft_labels)) teacher probabilities, rows aligned with ``texts``) turns the targets
    into ``soft_weight * soft + (1 - soft_weight) * one-hot`` (``classifier="logreg"`` only): each row
    enters once per class, weighted by its target mass (the exact soft-label cross-entropy).
    """
    from scipy.sparse import csr_matrix, hstack

    vocab = NgramVocabulary.fit(texts, min_df=cfg.min_df, char_range=cfg.char_range, word_range=cfg.word_range)
    mean = dense.mean(axis=0).astype(np.float32)
    std = (dense.std(axis=0) + 1e-6).astype(np.float32)
    labels = sorted(set(y))
    model = RouterModel(
        labels=labels,
        label_routes=[mapping[x] for x in labels],
        vocab=vocab,
        w_ngram=np.zeros((vocab.size, len(labels)), np.float32),
        w_dense=np.zeros((dense.shape[1], len(labels)), np.float32),
        dense_mean=mean,
        dense_std=std,
        w_cue=np.zeros((len(cue_vector("")), len(labels)), np.float32),
        bias=np.zeros(len(labels), np.float32),
        dense_scale=cfg.dense_scale,
        cue_scale=cfg.cue_scale,
        canonical=cfg.canonical,
    )
    cues = np.stack([cue_vector(t) for t in texts]) * cfg.cue_scale
    X = hstack([vocab.transform(texts), csr_matrix(model.dense_block(dense)), csr_matrix(cues)]).tocsr()
    if cfg.classifier == "svm":
        from sklearn.svm import LinearSVC

        clf = LinearSVC(C=cfg.C, class_weight="balanced", max_iter=5000, random_state=cfg.seed).fit(X, list(y))
    elif cfg.classifier == "logreg":
        clf = _fit_logreg(X, y, labels, cfg, soft, soft_labels)
    else:
        raise InputError(f"unknown router classifier {cfg.classifier!r}", hint="use svm or logreg")
    coef = clf.coef_.astype(np.float32)
    if len(labels) == 2:  # binary: one margin; make it two symmetric class scores
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        icpt = np.asarray([-clf.intercept_[0] / 2, clf.intercept_[0] / 2], np.float32)
    else:
        icpt = clf.intercept_.astype(np.float32)
    assert list(clf.classes_) == labels
    v, dd = vocab.size, dense.shape[1]
    model.w_ngram = np.ascontiguousarray(coef[:, :v].T)
    model.w_dense = np.ascontiguousarray(coef[:, v : v + dd].T)
    model.w_cue = np.ascontiguousarray(coef[:, v + dd :].T)  # cue_scale is applied at query time
    model.bias = icpt
    return model


def _fit_logreg(
    X: Any,
    y: Sequence[str],
    labels: list[str],
    cfg: TrainConfig,
    soft: np.ndarray | None,
    soft_labels: Sequence[str] | None,
) -> Any:
    """Class-balanced multinomial logistic regression on hard or mixed soft targets (see :func:`_fit_linear`)."""
    from sklearn.linear_model import LogisticRegression

    n = X.shape[0]
    yi = np.asarray([labels.index(v) for v in y])
    target = np.zeros((n, len(labels)))
    target[np.arange(n), yi] = 1.0
    if soft is not None and cfg.soft_weight > 0:
        cols = [list(soft_labels or []).index(lab) for lab in labels]
        t = np.asarray(soft, dtype=np.float64)[:, cols]
        t /= np.maximum(t.sum(axis=1, keepdims=True), 1e-12)
        target = cfg.soft_weight * t + (1.0 - cfg.soft_weight) * target
    counts = np.bincount(yi, minlength=len(labels))
    balance = n / (len(labels) * np.maximum(counts, 1))
    rows, cls, w = [], [], []
    for k in range(len(labels)):
        keep = np.flatnonzero(target[:, k] > 1e-3)
        rows.append(keep)
        cls.append(np.full(len(keep), k))
        w.append(target[keep, k] * balance[yi[keep]])
    r, c, sw = np.concatenate(rows), np.concatenate(cls), np.concatenate(w)
    clf = LogisticRegression(C=cfg.C, max_iter=3000, tol=1e-5)
    clf.fit(X[r], np.asarray(labels, dtype=object)[c], sample_weight=sw * len(sw) / sw.sum())
    return clf


def fit_temperature(logits: np.ndarray, model: RouterModel, y_routes: Sequence[str]) -> float:
    """The temperature minimising the negative log-likelihood of the true routes (grid + refinement)."""
    routes = model.routes
    idx = np.asarray([routes.index(r) for r in y_routes])

    def nll(t: float) -> float:
        p = model.aggregate(softmax(logits / t))
        return float(-np.mean(np.log(np.clip(p[np.arange(len(idx)), idx], 1e-12, 1.0))))

    grid = np.exp(np.linspace(math.log(0.02), math.log(10.0), 60))
    best = min(grid, key=nll)
    fine = np.exp(np.linspace(math.log(best) - 0.15, math.log(best) + 0.15, 31))
    return float(min(fine, key=nll))


def stratified_folds(
    y: Sequence[str], k: int, seed: int, groups: Sequence[Any] | None
) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import GroupKFold, StratifiedKFold

    idx = np.arange(len(y))
    if groups is not None:
        return [(tr, te) for tr, te in GroupKFold(n_splits=k).split(idx, list(y), list(groups))]
    return [(tr, te) for tr, te in StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(idx, list(y))]


@dataclass
class TrainingRows:
    """Training material: the main rows, training-only extras, and augmented copies of both.

    Row ``i`` descends from main/extra row ``parent[i]`` (itself for main and extra rows); a fold trains
    on every row whose parent is in its training part or is an extra, so the copies of a test row never
    reach training.
    """

    texts: list[str]
    y: list[str]
    routes: list[str]
    feats: QueryFeatures
    parent: np.ndarray
    n_main: int
    n_base: int
    """Main + extra rows (the augmented ones follow)."""
    mapping: dict[str, str]
    """Class label -> route."""

    def training_rows(self, parents: np.ndarray) -> np.ndarray:
        keep = np.zeros(self.n_base, bool)
        keep[parents] = True
        keep[self.n_main :] = True
        return np.flatnonzero(keep[self.parent])


def features_of(source: Featurize | QueryFeatures | None, texts: Sequence[str]) -> QueryFeatures:
    if isinstance(source, QueryFeatures):
        return source
    return (source or QueryFeaturizer().features)(list(texts))


def concat_features(feats: Sequence[QueryFeatures]) -> QueryFeatures:
    """The rows of several feature sets, in order (empty ones left out)."""
    feats = [f for f in feats if len(f.layers)]
    return QueryFeatures(np.concatenate([f.embedding for f in feats]), np.concatenate([f.layers for f in feats]))


def routing_texts(questions: Sequence[str], cfg: TrainConfig) -> list[str]:
    """The texts the router featurises for ``questions`` under ``cfg`` (canonical forms, see :mod:`mmroute.routing.canonical`)."""
    return [routing_text(q, cfg.canonical) for q in questions]


def prepare_rows(
    examples: Sequence[RoutingExample],
    features: Featurize | QueryFeatures | None,
    cfg: TrainConfig,
    extra: tuple[Sequence[RoutingExample], QueryFeatures | None] | None = None,
) -> TrainingRows:
    base = list(examples) + (list(extra[0]) if extra is not None else [])
    texts = routing_texts([e.question for e in base], cfg)
    feats = features_of(features, texts[: len(examples)])
    if extra is not None and len(extra[0]):
        feats = concat_features(
            [feats, features_of(extra[1] if extra[1] is not None else features, texts[len(examples) :])]
        )
    y, mapping = route_labels(base, cfg.use_sources)
    parent = list(range(len(base)))
    if cfg.augment > 0:
        if isinstance(features, QueryFeatures):
            raise InputError(
                "augmented training needs a featurizer, not precomputed features",
                hint="pass a callable (texts -> QueryFeatures) or set augment=0",
            )
        pairs = augment([e.question for e in base], per_text=cfg.augment, seed=cfg.seed)
        aug_texts = routing_texts([t for _, t in pairs], cfg)
        feats = concat_features([feats, features_of(features, aug_texts)])
        texts += aug_texts
        y += [y[i] for i, _ in pairs]
        parent += [i for i, _ in pairs]
    routes = [mapping[v] for v in y]
    return TrainingRows(texts, y, routes, feats, np.asarray(parent), len(examples), len(base), mapping)


def fit_rows(
    rows: TrainingRows, idx: np.ndarray, cfg: TrainConfig, soft: np.ndarray | None, soft_labels: Sequence[str] | None
) -> RouterModel:
    return _fit_linear(
        [rows.texts[i] for i in idx],
        rows.feats.layers[idx],
        [rows.y[i] for i in idx],
        rows.mapping,
        cfg,
        None if soft is None else soft[rows.parent[idx]],
        soft_labels,
    )
