"""Training and cross-validating the trained router (needs scikit-learn; routing itself does not).

Recipe (chosen by cross-validation on UniversalRAG's router split, see ``evals/eval/eval_router.py``):

* every text is first put in its canonical routing form (:mod:`mmroute.routing.canonical`: answer options, leading
  instructions, trailing pleasantries and first-person framing sentences removed, whitespace collapsed,
  case-folded, no final "?", swapped neighbouring letters restored toward known words);
* training rows are augmented with surface perturbations the canonicaliser cannot undo (typos, very
  short and very long forms, unlisted leading phrases; :func:`.perturbations.augment`), each labelled like
  its original; in cross-validation only the training part of a fold is augmented;
* classes are the *source datasets* when the data has a ``source`` field (each maps to one route;
  route probability = sum over its sources), else the routes themselves: sources are more
  homogeneous than routes, which helps a linear model;
* features: sublinear TF-IDF of raw-case char 2-5-grams and word 1-2-grams, standardised per-layer
  MiniLM means (:mod:`mmroute.routing.embedding`), and question-form cues (:mod:`mmroute.routing.features`);
* a one-vs-rest linear SVM with balanced class weights;
* probabilities = softmax(margins / T), with T fitted on out-of-fold margins (temperature scaling),
  so the multi-route thresholds and the federated threshold act on calibrated numbers;
* k-means centroids of the training queries' embeddings, with an out-of-domain threshold taken
  from the out-of-fold similarity distribution (used by the guard).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..routing.dataset import ROUTE_VALUES, RoutingExample
from ..routing.embedding import QueryFeatures, QueryFeaturizer
from ..routing.model import RouterModel, question_fingerprints, softmax
from .router_distill import LayerFeatures, oof_teacher_probabilities
from .router_fit import (
    Featurize,
    TrainConfig,
    TrainingRows,
    concat_features,
    features_of,
    fit_rows,
    fit_temperature,
    prepare_rows,
    routing_texts,
    stratified_folds,
)


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


Teacher = Callable[[TrainingRows, np.ndarray], np.ndarray]
"""(rows, main-row indices of a training part) -> (n, len(labels)) class probabilities over
``sorted(set(rows.y))`` for those rows, produced by no model that saw the rest of the data (the
fold's test part); see :func:`cross_validate` and :func:`.router_distill.fold_teacher`."""


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
        probe_feats[name] = (pt, features_of(features if not isinstance(features, QueryFeatures) else None, pt))
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


PROGRESS_TEXTS = 2000
"""Texts featurised between two progress lines of a training run that reports (``train_model(log=...)``)."""


def reporting(featurize: Featurize, say: Callable[[str], None], every: int = PROGRESS_TEXTS) -> Featurize:
    """``featurize``, saying how far it got every ``every`` texts: featurising the routing data and its augmented
    copies is most of a training run (minutes on 2 cores), and `mmroute route train` printed nothing meanwhile."""

    def run(texts: Sequence[str]) -> QueryFeatures:
        if len(texts) <= every:
            return featurize(texts)
        t0, parts = time.perf_counter(), []
        for start in range(0, len(texts), every):
            parts.append(featurize(texts[start : start + every]))
            done = min(start + every, len(texts))
            say(f"  featurised {done} of {len(texts)} texts ({time.perf_counter() - t0:.0f} s)")
        return concat_features(parts)

    return run


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
    teacher probabilities of each example over ``sorted(labels)`` (distillation, see :mod:`.router_distill`).
    """
    from sklearn.cluster import KMeans

    cfg = cfg or TrainConfig()
    say = log or (lambda _m: None)
    fz = featurizer.features if isinstance(featurizer, QueryFeaturizer) else featurizer
    t0 = time.perf_counter()
    if feats is None:
        copies = f" and {cfg.augment} augmented copies of each" if cfg.augment > 0 else ""
        say(f"featurising {len(examples)} routing texts{copies}")
    fz = fz or QueryFeaturizer().features
    rows = prepare_rows(examples, feats if feats is not None else (reporting(fz, say) if log else fz), cfg)
    say(
        f"featurised {len(rows.texts)} routing texts ({len(rows.texts) - rows.n_main} augmented) "
        f"in {time.perf_counter() - t0:.1f} s"
    )
    n = rows.n_main
    y, routes = rows.y[:n], rows.routes[:n]
    labels_all = sorted(set(rows.y))
    if soft is None and cfg.teacher and cfg.soft_weight > 0:
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
    say(f"fitting {k} folds for the out-of-fold temperature and out-of-domain threshold")
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
    model.training_questions = question_fingerprints(e.question for e in examples)
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


def source_grouped_folds(
    sources: Sequence[str], routes: Sequence[str], seed: int = 0
) -> tuple[list[tuple[np.ndarray, np.ndarray]], dict[str, Any]]:
    """Folds that test on source datasets the training part never saw, where that is possible.

    A route served by several sources (paragraph: SQuAD and Natural Questions; video: two VideoRAG
    sets) has its sources dealt to different folds, so each fold tests on a *held-out source* of the
    route: what a new dataset of the same kind would see. A route with one source cannot be held out
    that way (training without its only source leaves the route unlearnable, so the accuracy would be
    0 by construction and say nothing); its rows are split at random instead, which makes its numbers
    an ordinary cross-validation estimate. ``k`` = the largest number of sources of a route (>= 2).
    Returns the folds and a description (which sources each fold holds out, which routes were split
    at random).
    """
    by_route: dict[str, list[str]] = {}
    for s, r in zip(sources, routes):
        if s not in by_route.setdefault(r, []):
            by_route[r].append(s)
    k = max(2, max(len(v) for v in by_route.values()))
    rng = np.random.default_rng(seed)
    fold_of = np.zeros(len(sources), dtype=int)
    held: dict[int, list[str]] = {f: [] for f in range(k)}
    for r, srcs in by_route.items():
        idx = np.flatnonzero(np.asarray(routes) == r)
        if len(srcs) > 1:
            for j, s in enumerate(sorted(srcs)):
                held[j % k].append(s)
                fold_of[[i for i in idx if sources[int(i)] == s]] = j % k
        else:
            perm = rng.permutation(idx)
            for f in range(k):
                fold_of[perm[f::k]] = f
    folds = [(np.flatnonzero(fold_of != f), np.flatnonzero(fold_of == f)) for f in range(k)]
    info = {
        "k": k,
        "held_out_sources": {str(f): v for f, v in held.items()},
        "source_held_out_routes": sorted(r for r, v in by_route.items() if len(v) > 1),
        "random_split_routes": sorted(r for r, v in by_route.items() if len(v) == 1),
    }
    return folds, info
