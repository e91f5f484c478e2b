"""Training and cross-validating the trained router (needs scikit-learn; routing itself does not).

Recipe (chosen by cross-validation on UniversalRAG's router split, see ``evals/eval/eval_router.py``):

* every text is first put in its canonical routing form (:mod:`.canonical`: answer options, leading
  instructions, trailing pleasantries and first-person framing sentences removed, whitespace collapsed,
  case-folded, no final "?", swapped neighbouring letters restored toward known words);
* training rows are augmented with surface perturbations the canonicaliser cannot undo (typos, very
  short and very long forms, unlisted leading phrases; :func:`.perturb.augment`), each labelled like
  its original; in cross-validation only the training part of a fold is augmented;
* classes are the *source datasets* when the data has a ``source`` field (each maps to one route;
  route probability = sum over its sources), else the routes themselves: sources are more
  homogeneous than routes, which helps a linear model;
* features: sublinear TF-IDF of raw-case char 2-5-grams and word 1-2-grams, standardised per-layer
  MiniLM means (:mod:`.embedding`), and question-form cues (:mod:`.features`);
* a one-vs-rest linear SVM with balanced class weights;
* probabilities = softmax(margins / T), with T fitted on out-of-fold margins (temperature scaling),
  so the multi-route thresholds and the federated threshold act on calibrated numbers;
* k-means centroids of the training queries' embeddings, with an out-of-domain threshold taken
  from the out-of-fold similarity distribution (used by the guard).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..errors import InputError
from ..types import Route
from .canonical import CANONICAL_VERSION, routing_text
from .embedding import QueryFeatures, QueryFeaturizer
from .features import NgramVocabulary, cue_vector
from .model import RouterModel, softmax
from .perturb import augment

Featurize = Callable[[Sequence[str]], QueryFeatures]
"""Texts -> their :class:`QueryFeatures` (a :class:`QueryFeaturizer`'s ``features``, or a cache of it)."""

ROUTE_VALUES = tuple(r.value for r in Route)


@dataclass(frozen=True)
class RoutingExample:
    question: str
    route: str
    source: str | None = None


def load_routing_jsonl(path: str | Path) -> list[RoutingExample]:
    """Read routing data: one ``{"question", "route", "source"?}`` object per line."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"routing data not found: {p}", hint="give a JSON Lines file with question/route fields")
    out: list[RoutingExample] = []
    with p.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                q, r = d["question"], str(d["route"]).strip().lower()
            except (json.JSONDecodeError, KeyError, TypeError) as e:
                raise InputError(
                    f"{p}:{n}: not a routing record ({e.__class__.__name__})",
                    hint='each line must be {"question": str, "route": "no|paragraph|document|image|clip|video"}',
                ) from e
            if r not in ROUTE_VALUES:
                raise InputError(f"{p}:{n}: unknown route {r!r}", hint=f"use one of {', '.join(ROUTE_VALUES)}")
            out.append(RoutingExample(str(q), r, d.get("source")))
    if not out:
        raise InputError(f"{p} holds no routing records")
    return out


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
    """Canonicalisation version of the routing text (:mod:`.canonical`); 0 featurises the raw text."""
    augment: int = 2
    """Perturbed copies of each training row (:func:`.perturb.augment`); 0 for none."""
    classifier: str = "svm"
    """``svm`` (one-vs-rest linear SVM, hard labels) or ``logreg`` (multinomial logistic regression,
    which also takes soft labels, see :func:`cross_validate`'s ``teacher``)."""
    soft_weight: float = 0.0
    """With a teacher: the weight of its probabilities in the training targets (the rest: the label)."""
    teacher: str = ""
    """Distillation teacher: a local encoder directory (see :mod:`.distill`); empty for none."""
    teacher_student_weight: float = 0.5
    """Weight of the fast router's own (hard-label) model in the teacher's average with the encoder probe."""

    distilled_soft_weight: ClassVar[float] = 0.5
    """``soft_weight`` that ``route train --teacher-model`` uses by default."""

    def to_dict(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


@dataclass
class CVReport:
    """Out-of-fold predictions of a cross-validation run."""

    routes_true: list[str]
    routes_pred: list[str]
    probabilities: np.ndarray
    """(n, routes) calibrated route probabilities, columns in ``route_order``."""
    route_order: list[str]
    fold_of: np.ndarray
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def accuracy(self) -> float:
        return float(np.mean([a == b for a, b in zip(self.routes_true, self.routes_pred)]))


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


def _featurize(source: Featurize | QueryFeatures | None, texts: Sequence[str]) -> QueryFeatures:
    if isinstance(source, QueryFeatures):
        return source
    return (source or QueryFeaturizer().features)(list(texts))


def _concat(feats: Sequence[QueryFeatures]) -> QueryFeatures:
    feats = [f for f in feats if len(f.layers)]
    return QueryFeatures(np.concatenate([f.embedding for f in feats]), np.concatenate([f.layers for f in feats]))


def routing_texts(questions: Sequence[str], cfg: TrainConfig) -> list[str]:
    """The texts the router featurises for ``questions`` under ``cfg`` (canonical forms, see :mod:`.canonical`)."""
    return [routing_text(q, cfg.canonical) for q in questions]


def prepare_rows(
    examples: Sequence[RoutingExample],
    features: Featurize | QueryFeatures | None,
    cfg: TrainConfig,
    extra: tuple[Sequence[RoutingExample], QueryFeatures | None] | None = None,
) -> TrainingRows:
    base = list(examples) + (list(extra[0]) if extra is not None else [])
    texts = routing_texts([e.question for e in base], cfg)
    feats = _featurize(features, texts[: len(examples)])
    if extra is not None and len(extra[0]):
        feats = _concat([feats, _featurize(extra[1] if extra[1] is not None else features, texts[len(examples) :])])
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
        feats = _concat([feats, _featurize(features, aug_texts)])
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


Teacher = Callable[[TrainingRows, np.ndarray], np.ndarray]
"""(rows, main-row indices of a training part) -> (n, len(labels)) class probabilities over
``sorted(set(rows.y))`` for those rows, produced by no model that saw the rest of the data (the
fold's test part); see :func:`cross_validate` and :func:`.distill.fold_teacher`."""


def cross_validate(
    examples: Sequence[RoutingExample],
    features: Featurize | QueryFeatures | None = None,
    cfg: TrainConfig | None = None,
    groups: Sequence[Any] | None = None,
    extra: tuple[Sequence[RoutingExample], QueryFeatures | None] | None = None,
    probes: dict[str, Sequence[str]] | None = None,
    teacher: Teacher | None = None,
    folds: Sequence[tuple[np.ndarray, np.ndarray]] | None = None,
) -> CVReport:
    """K-fold out-of-fold predictions (stratified by class, grouped when ``groups`` is given, or the
    given ``folds``).

    ``features``: a featurizer (texts -> :class:`QueryFeatures`; default MiniLM) or, without
    augmentation, the precomputed features of the examples' routing texts (:func:`routing_texts`).
    Each fold fits its own vocabulary, standardisation, classifier and temperature (on an inner split
    of the training folds), and augments only its training rows, so no test query influences its own
    prediction. ``extra`` examples (with their features, or ``None`` to featurise them) join every
    training part and are never tested on, so the accuracy stays an estimate on ``examples`` alone.

    ``probes`` maps a name to one text per example (e.g. a perturbed question): each fold's model
    routes the probes of its test rows; their probabilities land in ``report.extra["probes"]``.
    ``teacher`` gives soft labels for the training rows of each fold (``logreg`` with ``soft_weight``).
    """
    cfg = cfg or TrainConfig()
    rows = prepare_rows(examples, features, cfg, extra)
    n_main = rows.n_main
    labels_all = sorted(set(rows.y))
    order = sorted(set(rows.routes), key=ROUTE_VALUES.index)
    probe_feats = {}
    for name, ptexts in (probes or {}).items():
        if len(ptexts) != n_main:
            raise InputError(f"probe {name!r} has {len(ptexts)} texts for {n_main} examples")
        pt = routing_texts(ptexts, cfg)
        probe_feats[name] = (pt, _featurize(features if not isinstance(features, QueryFeatures) else None, pt))
    probs = np.zeros((n_main, len(order)))
    probe_probs = {name: np.zeros((n_main, len(order))) for name in probe_feats}
    fold_of = np.zeros(n_main, dtype=int)
    y_main = rows.y[:n_main]
    split = folds if folds is not None else stratified_folds(y_main, cfg.folds, cfg.seed, groups)
    for f, (tr, te) in enumerate(split):
        soft = None
        if teacher is not None:
            soft = np.zeros((rows.n_base, len(labels_all)))
            soft[tr] = teacher(rows, np.asarray(tr))
            if rows.n_base > n_main:
                soft[n_main:] = np.eye(len(labels_all))[[labels_all.index(v) for v in rows.y[n_main : rows.n_base]]]
        m = fit_rows(rows, rows.training_rows(tr), cfg, soft, labels_all)
        # inner temperature: out-of-fold margins inside the training part (original rows only)
        inner_logits = np.zeros((len(tr), len(m.labels)), np.float32)
        inner_complete = True
        for itr, ite in stratified_folds([y_main[i] for i in tr], 3, cfg.seed, None):
            a, b = np.asarray(tr)[itr], np.asarray(tr)[ite]
            mi = fit_rows(rows, rows.training_rows(a), cfg, soft, labels_all)
            if mi.labels != m.labels:  # a class missing in an inner fold: fall back to T=1
                inner_complete = False
                break
            inner_logits[ite] = mi.logits([rows.texts[i] for i in b], rows.feats.layers[b])
        m.temperature = fit_temperature(inner_logits, m, [rows.routes[i] for i in tr]) if inner_complete else 1.0

        def fold_probs(texts: Sequence[str], layers: np.ndarray, m: Any = m) -> np.ndarray:
            out = np.zeros((len(texts), len(order)))
            p = m.aggregate(m.label_probabilities(texts, layers))
            for j, r in enumerate(m.routes):
                out[:, order.index(r)] = p[:, j]
            return out

        probs[te] = fold_probs([rows.texts[i] for i in te], rows.feats.layers[te])
        for name, (pt, pf) in probe_feats.items():
            probe_probs[name][te] = fold_probs([pt[i] for i in te], pf.layers[te])
        fold_of[te] = f
    pred = [order[j] for j in probs.argmax(axis=1)]
    rep = CVReport(
        routes_true=rows.routes[:n_main], routes_pred=pred, probabilities=probs, route_order=order, fold_of=fold_of
    )
    if probe_feats:
        rep.extra["probes"] = probe_probs
    return rep


def train_model(
    examples: Sequence[RoutingExample],
    feats: QueryFeatures | None = None,
    cfg: TrainConfig | None = None,
    featurizer: QueryFeaturizer | Featurize | None = None,
    log: Callable[[str], None] | None = None,
    soft: np.ndarray | None = None,
) -> RouterModel:
    """Fit the router on all examples; temperature and the out-of-domain threshold come from
    out-of-fold estimates (see module doc).

    ``feats`` (features of the routing texts) only without augmentation; otherwise ``featurizer``
    (a :class:`QueryFeaturizer` or texts -> features) featurises the texts. ``soft``: out-of-fold
    teacher probabilities of each example over ``sorted(labels)`` (distillation, see :mod:`.distill`).
    """
    from sklearn.cluster import KMeans

    cfg = cfg or TrainConfig()
    say = log or (lambda _m: None)
    fz = featurizer.features if isinstance(featurizer, QueryFeaturizer) else featurizer
    t0 = time.perf_counter()
    rows = prepare_rows(examples, feats if feats is not None else (fz or QueryFeaturizer().features), cfg)
    say(
        f"featurised {len(rows.texts)} routing texts ({len(rows.texts) - rows.n_main} augmented) "
        f"in {time.perf_counter() - t0:.1f} s"
    )
    n = rows.n_main
    y, routes = rows.y[:n], rows.routes[:n]
    labels_all = sorted(set(rows.y))
    if soft is None and cfg.teacher and cfg.soft_weight > 0:
        from .distill import LayerFeatures, oof_teacher_probabilities

        t0 = time.perf_counter()
        teacher_X = LayerFeatures(cfg.teacher).features(rows.texts[:n])
        soft = oof_teacher_probabilities(rows, teacher_X, np.arange(n), cfg, cfg.folds, cfg.teacher_student_weight)
        say(
            f"teacher {Path(cfg.teacher).name}: out-of-fold soft labels in {time.perf_counter() - t0:.1f} s "
            f"(teacher accuracy {np.mean(np.asarray(labels_all)[soft.argmax(1)] == np.asarray(y)):.4f} by class)"
        )
    emb = rows.feats.embedding[:n]
    model = fit_rows(rows, np.arange(len(rows.texts)), cfg, soft, labels_all)
    oof = np.zeros((n, len(model.labels)), np.float32)
    oof_sim = np.zeros(n, np.float32)
    k = max(2, min(cfg.folds, min(np.unique(y, return_counts=True)[1])))
    n_cent = max(1, min(cfg.centroids, n // 10))
    for tr, te in stratified_folds(y, k, cfg.seed, None):
        m = fit_rows(rows, rows.training_rows(tr), cfg, soft, labels_all)
        oof[te] = m.logits([rows.texts[i] for i in te], rows.feats.layers[te])
        km = KMeans(n_clusters=min(n_cent, len(tr)), n_init=2, random_state=cfg.seed).fit(emb[tr])
        c = km.cluster_centers_ / np.linalg.norm(km.cluster_centers_, axis=1, keepdims=True)
        oof_sim[te] = (emb[te] @ c.T).max(axis=1)
    model.temperature = fit_temperature(oof, model, routes)
    oof_pred = [model.routes[j] for j in model.aggregate(softmax(oof / model.temperature)).argmax(axis=1)]
    km = KMeans(n_clusters=n_cent, n_init=2, random_state=cfg.seed).fit(emb)
    model.centroids = (km.cluster_centers_ / np.linalg.norm(km.cluster_centers_, axis=1, keepdims=True)).astype(
        np.float32
    )
    model.ood_threshold = float(np.quantile(oof_sim, cfg.ood_quantile))
    model.meta = {
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "n_examples": n,
        "n_augmented": len(rows.texts) - n,
        "config": cfg.to_dict(),
        "distilled": soft is not None and cfg.soft_weight > 0,
        "oof_accuracy": float(np.mean([a == b for a, b in zip(oof_pred, routes)])),
        "vocabulary_terms": model.vocab.size,
    }
    say(
        f"trained on {n} queries; out-of-fold accuracy {model.meta['oof_accuracy']:.4f}, "
        f"temperature {model.temperature:.3f}, vocabulary {model.vocab.size} terms"
    )
    return model
