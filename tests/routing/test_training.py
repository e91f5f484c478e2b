"""Router training internals: cross-validation with training-only extra examples and augmented rows."""

from __future__ import annotations

import numpy as np
import pytest

from mmroute.errors import InputError
from mmroute.routing.dataset import RoutingExample
from mmroute.routing.embedding import QueryFeatures
from mmroute.training.router import cross_validate
from mmroute.training.router_fit import TrainConfig, prepare_rows, stratified_folds


def _data(n_per: int, seed: int = 0) -> tuple[list[RoutingExample], QueryFeatures]:
    rng = np.random.default_rng(seed)
    ex = [
        RoutingExample(f"What colour is the {w} roof number {i}?", "image", "webqa")
        for i, w in enumerate(rng.choice(["red", "green", "blue"], n_per))
    ]
    ex += [
        RoutingExample(f"what year did team {w} win the cup {i}", "paragraph", "nq")
        for i, w in enumerate(rng.choice(["north", "south", "east"], n_per))
    ]
    dense = rng.normal(size=(len(ex), 8)).astype(np.float32)
    return ex, QueryFeatures(dense / np.linalg.norm(dense, axis=1, keepdims=True), dense)


def test_extra_examples_train_every_fold_and_are_never_scored():
    ex, feats = _data(20)
    base = cross_validate(ex, feats, TrainConfig(folds=4, augment=0))
    assert base.accuracy == 1.0 and len(base.routes_true) == len(ex) and len(base.fold_of) == len(ex)

    # Many copies of the main questions with the opposite label: if the extras reach training,
    # the out-of-fold predictions must get worse; the report still covers the main examples only.
    flipped = [
        RoutingExample(
            e.question, "paragraph" if e.route == "image" else "image", "nq" if e.source == "webqa" else "webqa"
        )
        for e in ex
    ] * 3
    fl = QueryFeatures(np.tile(feats.embedding, (3, 1)), np.tile(feats.layers, (3, 1)))
    poisoned = cross_validate(ex, feats, TrainConfig(folds=4, augment=0), extra=(flipped, fl))
    assert len(poisoned.routes_true) == len(ex) and poisoned.routes_true == base.routes_true
    assert poisoned.probabilities.shape == base.probabilities.shape
    assert poisoned.accuracy < 0.5

    empty = cross_validate(
        ex, feats, TrainConfig(folds=4, augment=0), extra=([], QueryFeatures(np.zeros((0, 8)), np.zeros((0, 8))))
    )
    np.testing.assert_allclose(empty.probabilities, base.probabilities)


def _fake_featurize(texts):
    """Deterministic stand-in for MiniLM: a hashed bag of characters per text (no model needed)."""
    out = np.zeros((len(texts), 16), np.float32)
    for i, t in enumerate(texts):
        for ch in t:
            out[i, hash(ch) % 16] += 1.0
    out += 1e-3
    return QueryFeatures(out / np.linalg.norm(out, axis=1, keepdims=True), out)


def test_augmented_copies_of_a_test_row_never_train_its_fold():
    ex, _ = _data(15)
    cfg = TrainConfig(folds=3, augment=2)
    rows = prepare_rows(ex, _fake_featurize, cfg)
    assert len(rows.texts) == 3 * len(ex) and rows.n_main == rows.n_base == len(ex)
    # most copies read differently; canonicalisation version 2 undoes some (a swap of letters, a framing sentence)
    differ = [rows.texts[i] != rows.texts[rows.parent[i]] for i in range(len(ex), len(rows.texts))]
    assert sum(differ) >= len(differ) / 2
    for tr, te in stratified_folds(rows.y[: rows.n_main], 3, 0, None):
        train = rows.training_rows(tr)
        assert not set(rows.parent[train]) & set(te)
        assert set(tr) <= set(train) and len(train) == 3 * len(tr)
    rep = cross_validate(ex, _fake_featurize, cfg, probes={"lower": [e.question.lower() for e in ex]})
    assert len(rep.routes_true) == len(ex) and rep.extra["probes"]["lower"].shape == rep.probabilities.shape


def test_augmentation_needs_a_featurizer():
    ex, feats = _data(5)
    with pytest.raises(InputError, match="featurizer"):
        cross_validate(ex, feats, TrainConfig(folds=2, augment=1))


def test_soft_labels_move_the_student_towards_the_teacher():
    ex, _ = _data(20)
    cfg = TrainConfig(folds=4, augment=0, classifier="logreg", soft_weight=0.0)
    hard = cross_validate(ex, _fake_featurize, cfg)
    # a teacher that puts most mass on the wrong class for every training row
    labels = sorted({e.source for e in ex})

    def wrong_teacher(rows, idx):
        p = np.full((len(idx), len(labels)), 0.05)
        for r, i in enumerate(idx):
            p[r, 1 - labels.index(ex[i].source)] = 0.95
        return p

    soft = cross_validate(
        ex,
        _fake_featurize,
        TrainConfig(folds=4, augment=0, classifier="logreg", soft_weight=0.9),
        teacher=wrong_teacher,
    )
    assert soft.accuracy < hard.accuracy
