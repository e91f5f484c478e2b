"""Training and cross-validating the trained router (needs scikit-learn; routing itself does not).

Recipe (chosen by cross-validation on UniversalRAG's router split, see ``evals/eval/eval_router.py``):

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..errors import InputError
from ..types import Route
from .embedding import QueryFeatures, QueryFeaturizer
from .features import NgramVocabulary, cue_vector
from .model import RouterModel, softmax

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
                raise InputError(f"{p}:{n}: not a routing record ({e.__class__.__name__})",
                                 hint='each line must be {"question": str, "route": "no|paragraph|document|image|clip|video"}') from e
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
                raise InputError(f"source {e.source!r} has examples of more than one route",
                                 hint="train with use_sources=False")
        return [str(e.source) for e in examples], mapping
    return [e.route for e in examples], {r: r for r in {e.route for e in examples}}


def _fit_linear(texts: Sequence[str], dense: np.ndarray, y: Sequence[str], mapping: dict[str, str],
                cfg: TrainConfig) -> RouterModel:
    from scipy.sparse import csr_matrix, hstack
    from sklearn.svm import LinearSVC

    vocab = NgramVocabulary.fit(texts, min_df=cfg.min_df, char_range=cfg.char_range, word_range=cfg.word_range)
    mean = dense.mean(axis=0).astype(np.float32)
    std = (dense.std(axis=0) + 1e-6).astype(np.float32)
    labels = sorted(set(y))
    model = RouterModel(labels=labels, label_routes=[mapping[x] for x in labels], vocab=vocab,
                        w_ngram=np.zeros((vocab.size, len(labels)), np.float32),
                        w_dense=np.zeros((dense.shape[1], len(labels)), np.float32),
                        dense_mean=mean, dense_std=std,
                        w_cue=np.zeros((len(cue_vector("")), len(labels)), np.float32),
                        bias=np.zeros(len(labels), np.float32),
                        dense_scale=cfg.dense_scale, cue_scale=cfg.cue_scale)
    cues = np.stack([cue_vector(t) for t in texts]) * cfg.cue_scale
    X = hstack([vocab.transform(texts), csr_matrix(model.dense_block(dense)), csr_matrix(cues)]).tocsr()
    clf = LinearSVC(C=cfg.C, class_weight="balanced", max_iter=5000, random_state=cfg.seed).fit(X, list(y))
    coef = clf.coef_.astype(np.float32)
    if len(labels) == 2:  # binary SVM: one margin; make it two symmetric class scores
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        icpt = np.asarray([-clf.intercept_[0] / 2, clf.intercept_[0] / 2], np.float32)
    else:
        icpt = clf.intercept_.astype(np.float32)
    assert list(clf.classes_) == labels
    v, dd = vocab.size, dense.shape[1]
    model.w_ngram = np.ascontiguousarray(coef[:, :v].T)
    model.w_dense = np.ascontiguousarray(coef[:, v: v + dd].T)
    model.w_cue = np.ascontiguousarray(coef[:, v + dd:].T)  # cue_scale is applied at query time
    model.bias = icpt
    return model


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


def stratified_folds(y: Sequence[str], k: int, seed: int, groups: Sequence[Any] | None) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import GroupKFold, StratifiedKFold

    idx = np.arange(len(y))
    if groups is not None:
        return [(tr, te) for tr, te in GroupKFold(n_splits=k).split(idx, list(y), list(groups))]
    return [(tr, te) for tr, te in StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(idx, list(y))]


def cross_validate(examples: Sequence[RoutingExample], feats: QueryFeatures, cfg: TrainConfig | None = None,
                   groups: Sequence[Any] | None = None,
                   extra: tuple[Sequence[RoutingExample], QueryFeatures] | None = None) -> CVReport:
    """K-fold out-of-fold predictions (stratified by class, or grouped when ``groups`` is given).

    Each fold fits its own vocabulary, standardisation, classifier and temperature (on an inner
    split of the training folds), so no test query influences its own prediction. ``extra``
    examples (with their features) join every training part and are never tested on, so the
    accuracy stays an estimate on ``examples`` alone.
    """
    cfg = cfg or TrainConfig()
    n_main = len(examples)
    if extra is not None and len(extra[0]):
        examples = list(examples) + list(extra[0])
        feats = QueryFeatures(np.concatenate([feats.embedding, extra[1].embedding]),
                              np.concatenate([feats.layers, extra[1].layers]))
    texts = [e.question for e in examples]
    y, mapping = route_labels(examples, cfg.use_sources)
    routes = [e.route for e in examples]
    extra_idx = np.arange(n_main, len(examples))
    order = sorted(set(mapping.values()), key=ROUTE_VALUES.index)
    probs = np.zeros((n_main, len(order)))
    fold_of = np.zeros(n_main, dtype=int)
    for f, (tr, te) in enumerate(stratified_folds(y[:n_main], cfg.folds, cfg.seed, groups)):
        tr = np.concatenate([tr, extra_idx])
        m = _fit_linear([texts[i] for i in tr], feats.layers[tr], [y[i] for i in tr], mapping, cfg)
        # inner temperature: out-of-fold margins inside the training part
        inner_logits = np.zeros((len(tr), len(m.labels)), np.float32)
        inner_complete = True
        for itr, ite in stratified_folds([y[i] for i in tr], 3, cfg.seed, None):
            a, b = tr[itr], tr[ite]
            mi = _fit_linear([texts[i] for i in a], feats.layers[a], [y[i] for i in a], mapping, cfg)
            if mi.labels != m.labels:  # a class missing in an inner fold: fall back to T=1
                inner_complete = False
                break
            inner_logits[ite] = mi.logits([texts[i] for i in b], feats.layers[b])
        m.temperature = fit_temperature(inner_logits, m, [routes[i] for i in tr]) if inner_complete else 1.0
        p = m.aggregate(m.label_probabilities([texts[i] for i in te], feats.layers[te]))
        for j, r in enumerate(m.routes):
            probs[te, order.index(r)] = p[:, j]
        fold_of[te] = f
    pred = [order[j] for j in probs.argmax(axis=1)]
    return CVReport(routes_true=routes[:n_main], routes_pred=pred, probabilities=probs, route_order=order, fold_of=fold_of)


def train_model(examples: Sequence[RoutingExample], feats: QueryFeatures | None = None, cfg: TrainConfig | None = None,
                featurizer: QueryFeaturizer | None = None, log: Callable[[str], None] | None = None) -> RouterModel:
    """Fit the router on all examples; temperature and the out-of-domain threshold come from
    out-of-fold estimates (see module doc)."""
    from sklearn.cluster import KMeans

    cfg = cfg or TrainConfig()
    say = log or (lambda _m: None)
    texts = [e.question for e in examples]
    if feats is None:
        t0 = time.perf_counter()
        feats = (featurizer or QueryFeaturizer()).features(texts)
        say(f"encoded {len(texts)} queries in {time.perf_counter() - t0:.1f} s")
    y, mapping = route_labels(examples, cfg.use_sources)
    routes = [e.route for e in examples]
    model = _fit_linear(texts, feats.layers, y, mapping, cfg)
    oof = np.zeros((len(texts), len(model.labels)), np.float32)
    oof_sim = np.zeros(len(texts), np.float32)
    k = max(2, min(cfg.folds, min(np.unique(y, return_counts=True)[1])))
    n_cent = max(1, min(cfg.centroids, len(texts) // 10))
    for tr, te in stratified_folds(y, k, cfg.seed, None):
        m = _fit_linear([texts[i] for i in tr], feats.layers[tr], [y[i] for i in tr], mapping, cfg)
        oof[te] = m.logits([texts[i] for i in te], feats.layers[te])
        km = KMeans(n_clusters=min(n_cent, len(tr)), n_init=2, random_state=cfg.seed).fit(feats.embedding[tr])
        c = km.cluster_centers_ / np.linalg.norm(km.cluster_centers_, axis=1, keepdims=True)
        oof_sim[te] = (feats.embedding[te] @ c.T).max(axis=1)
    model.temperature = fit_temperature(oof, model, routes)
    oof_pred = [model.routes[j] for j in model.aggregate(softmax(oof / model.temperature)).argmax(axis=1)]
    km = KMeans(n_clusters=n_cent, n_init=2, random_state=cfg.seed).fit(feats.embedding)
    model.centroids = (km.cluster_centers_ / np.linalg.norm(km.cluster_centers_, axis=1, keepdims=True)).astype(np.float32)
    model.ood_threshold = float(np.quantile(oof_sim, cfg.ood_quantile))
    model.meta = {
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "n_examples": len(texts),
        "config": cfg.to_dict(),
        "oof_accuracy": float(np.mean([a == b for a, b in zip(oof_pred, routes)])),
        "vocabulary_terms": model.vocab.size,
    }
    say(f"trained on {len(texts)} queries; out-of-fold accuracy {model.meta['oof_accuracy']:.4f}, "
        f"temperature {model.temperature:.3f}, vocabulary {model.vocab.size} terms")
    return model
