"""Router training internals: cross-validation with training-only extra examples."""
from __future__ import annotations

import numpy as np

from mmroute.routing.embedding import QueryFeatures
from mmroute.routing.training import RoutingExample, TrainConfig, cross_validate


def _data(n_per: int, seed: int = 0) -> tuple[list[RoutingExample], QueryFeatures]:
    rng = np.random.default_rng(seed)
    ex = [RoutingExample(f"What colour is the {w} roof number {i}?", "image", "webqa")
          for i, w in enumerate(rng.choice(["red", "green", "blue"], n_per))]
    ex += [RoutingExample(f"what year did team {w} win the cup {i}", "paragraph", "nq")
           for i, w in enumerate(rng.choice(["north", "south", "east"], n_per))]
    dense = rng.normal(size=(len(ex), 8)).astype(np.float32)
    return ex, QueryFeatures(dense / np.linalg.norm(dense, axis=1, keepdims=True), dense)


def test_extra_examples_train_every_fold_and_are_never_scored():
    ex, feats = _data(20)
    base = cross_validate(ex, feats, TrainConfig(folds=4))
    assert base.accuracy == 1.0 and len(base.routes_true) == len(ex) and len(base.fold_of) == len(ex)

    # Many copies of the main questions with the opposite label: if the extras reach training,
    # the out-of-fold predictions must get worse; the report still covers the main examples only.
    flipped = [RoutingExample(e.question, "paragraph" if e.route == "image" else "image",
                              "nq" if e.source == "webqa" else "webqa") for e in ex] * 3
    fl = QueryFeatures(np.tile(feats.embedding, (3, 1)), np.tile(feats.layers, (3, 1)))
    poisoned = cross_validate(ex, feats, TrainConfig(folds=4), extra=(flipped, fl))
    assert len(poisoned.routes_true) == len(ex) and poisoned.routes_true == base.routes_true
    assert poisoned.probabilities.shape == base.probabilities.shape
    assert poisoned.accuracy < 0.5

    empty = cross_validate(ex, feats, TrainConfig(folds=4), extra=([], QueryFeatures(np.zeros((0, 8)), np.zeros((0, 8)))))
    np.testing.assert_allclose(empty.probabilities, base.probabilities)
