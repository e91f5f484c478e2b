"""Distillation machinery: teacher features, out-of-fold soft labels, the distilled training path.

A tiny randomly initialised BERT stands in for the teacher encoder (all-mpnet-base-v2 in `make router`
terms); the MiniLM features are replaced by a deterministic bag-of-characters, so nothing downloads.
"""

from __future__ import annotations

import numpy as np
import pytest

from mmroute.errors import ModelUnavailableError
from mmroute.routing.canonical import CANONICAL_VERSION
from mmroute.training.router import cross_validate, train_model
from mmroute.training.router_distill import LayerFeatures, fold_teacher, oof_teacher_probabilities
from mmroute.training.router_fit import TrainConfig, prepare_rows
from tests.routing.test_finetuned import tiny_encoder  # noqa: F401 - the fixture
from tests.routing.test_training import _data, _fake_featurize


def test_layer_features_concatenate_every_layer(tiny_encoder):  # noqa: F811
    X = LayerFeatures(tiny_encoder).features(["what colour is the roof", "how do i cook", ""])
    assert X.shape == (3, 32) and np.isfinite(X).all()  # 1 layer x 32 hidden
    assert not np.allclose(X[0], X[1])


def test_missing_teacher_is_a_clear_error(tmp_path):
    with pytest.raises(ModelUnavailableError, match="no teacher encoder"):
        LayerFeatures(tmp_path / "nope")


def test_soft_labels_are_out_of_fold_and_the_fold_teacher_never_sees_the_test_rows():
    ex, _ = _data(20)
    cfg = TrainConfig(folds=4, augment=0, classifier="logreg", soft_weight=0.5)
    rows = prepare_rows(ex, _fake_featurize, cfg)
    labels = sorted(set(rows.y))
    # a teacher encoder whose features *are* the labels: its out-of-fold probabilities must be right
    X = np.eye(len(labels))[[labels.index(v) for v in rows.y]] + np.random.default_rng(0).normal(0, 0.1, (len(ex), 2))
    soft = oof_teacher_probabilities(rows, X, np.arange(len(ex)), cfg, folds=4, student_weight=0.0)
    assert soft.shape == (len(ex), 2) and np.allclose(soft.sum(1), 1.0)
    assert np.mean(np.asarray(labels)[soft.argmax(1)] == np.asarray(rows.y)) == 1.0
    seen = []
    teach = fold_teacher(X, cfg, folds=3, student_weight=0.5)

    def spy(r, train):
        seen.append(set(train.tolist()))
        return teach(r, train)

    rep = cross_validate(ex, _fake_featurize, cfg, teacher=spy)
    assert rep.accuracy > 0.9 and len(seen) == 4
    assert all(not (s & set(np.flatnonzero(rep.fold_of == f).tolist())) for f, s in enumerate(seen))


def test_train_model_distils_from_a_teacher_directory(tiny_encoder):  # noqa: F811
    ex, _ = _data(12)
    cfg = TrainConfig(folds=3, augment=1, classifier="logreg", soft_weight=0.5, teacher=str(tiny_encoder), centroids=4)
    m = train_model(ex, cfg=cfg, featurizer=_fake_featurize)
    assert m.meta["distilled"] and m.meta["n_augmented"] == len(ex) and m.canonical == CANONICAL_VERSION
    assert set(m.routes) == {"image", "paragraph"}
