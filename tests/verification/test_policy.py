from __future__ import annotations

import json

import numpy as np
import pytest

from mmroute.errors import ConfigError
from mmroute.verification.policy import (
    DEFAULT_POLICY_PATH,
    EVIDENCE_AGAINST,
    EVIDENCE_FOR,
    Policy,
    choose_threshold,
    fit_policy,
    threshold_for_right_pass_rate,
    threshold_for_wrong_pass_rate,
)


def _outcome(probs, correct, t):
    shown = [c for p, c in zip(probs, correct) if p >= t]
    return sum(shown), len(shown) - sum(shown)  # (right answers shown, wrong answers shown)


def test_threshold_maximises_truthfulness_under_wrong_cap():
    probs = [0.9, 0.8, 0.7, 0.6, 0.4, 0.3]
    # answering the top 4 gives (3-1)/6 with one wrong; the top 2 gives 2/6 with none: a tie, the safer one wins
    correct = [True, True, False, True, False, False]
    t = choose_threshold(probs, correct, max_wrong_rate=0.2)
    assert t == pytest.approx(0.75) and _outcome(probs, correct, t) == (2, 0)
    # here answering the top 4 is strictly better, (3-1)/6 > 1/6, and its one wrong answer is within a 20% cap ...
    correct = [True, False, True, True, False, False]
    t = choose_threshold(probs, correct, max_wrong_rate=0.2)
    assert t == pytest.approx(0.5) and _outcome(probs, correct, t) == (3, 1)
    # ... but not within a 0% cap, which leaves only the top answer
    t = choose_threshold(probs, correct, max_wrong_rate=0.0)
    assert t == pytest.approx(0.85) and _outcome(probs, correct, t) == (1, 0)
    assert choose_threshold([0.5, 0.4], [False, False]) > 1.0  # never answering is best
    # tied probabilities cannot be split: the right 0.7 cannot be shown without the wrong 0.7, and showing both
    # is no better than the top answer alone ((2-1)/4 = 1/4), so only the top answer is shown
    probs, correct = [0.9, 0.7, 0.7, 0.2], [True, True, False, False]
    t = choose_threshold(probs, correct, max_wrong_rate=0.25)
    assert t == pytest.approx(0.8) and _outcome(probs, correct, t) == (1, 0)


def test_endpoint_thresholds_bound_wrong_answers_from_below_and_right_answers_from_above():
    probs = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05]
    right = [True, False, True, True, False, True, False, True, False, False]
    # the highest threshold that still passes 80% of the 5 right drafts (4 of them): the 4th best right one
    t = threshold_for_right_pass_rate(probs, right, 0.8)
    assert t == 0.4 and sum(p >= t for p, c in zip(probs, right) if c) == 4
    assert threshold_for_right_pass_rate(probs, right, 1.0) == 0.2  # every right draft passes
    assert sum(p >= threshold_for_right_pass_rate(probs, right, 0.5) for p, c in zip(probs, right) if c) == 3
    # the lowest threshold that passes at most 40% of the 5 wrong drafts (2 of them)
    w = threshold_for_wrong_pass_rate(probs, right, 0.4)
    assert sum(p >= w for p, c in zip(probs, right) if not c) == 2 and w > 0.3
    assert threshold_for_right_pass_rate(probs, [False] * len(probs), 0.8) == 0.0  # no right drafts: no bound


def test_fit_policy_learns_direction_and_round_trips(tmp_path):
    X = [[i / 10.0, 0.0] for i in range(10)] * 3
    y = [int(i >= 5) for i in range(10)] * 3
    pol = fit_policy(X, y, ["cov", "const"])
    assert pol.probability({"cov": 0.9, "const": 0}) > 0.8 > 0.2 > pol.probability({"cov": 0.1, "const": 0})
    p = tmp_path / "p.json"
    pol.save(p)
    again = Policy.load(p)
    assert again.probability({"cov": 0.9}) == pytest.approx(pol.probability({"cov": 0.9}))


def test_evidence_against_an_answer_never_raises_its_chance():
    """A signal that only counts against an answer keeps a weight <= 0 even where the data, through a
    collinear signal, would give it a positive one; the other weights stay free."""
    rng = np.random.default_rng(0)
    cov = rng.uniform(0, 1, 400)
    missing = cov + rng.normal(0, 0.05, 400)  # collinear with coverage: fitted freely, it takes a positive weight
    y = (cov + rng.normal(0, 0.2, 400) > 0.5).astype(int)
    X = np.column_stack([cov, missing]).tolist()
    free = fit_policy(X, y, ["cov", "missing_terms"], non_positive=())
    held = fit_policy(X, y, ["cov", "missing_terms"])
    assert free.coef[1] > 0 and held.coef[1] <= 1e-9
    assert held.coef[0] > 0


def test_evidence_for_an_answer_never_lowers_its_chance():
    """The mirror image: a signal that only counts in an answer's favour (the question's words around it) keeps a
    weight >= 0 where a collinear sibling would drive it negative when fitted freely; the sibling stays free."""
    rng = np.random.default_rng(2)
    window = rng.uniform(0, 1, 400)
    sentence = window + rng.normal(0, 0.05, 400)
    y = (2 * sentence - window + rng.normal(0, 0.2, 400) > 0.5).astype(int)  # the difference carries the label
    X = np.column_stack([sentence, window]).tolist()
    free = fit_policy(X, y, ["cov_sentence", "cov_window"], non_negative=())
    held = fit_policy(X, y, ["cov_sentence", "cov_window"], non_negative={"cov_window"})
    assert free.coef[1] < 0 and held.coef[1] >= -1e-9
    assert held.coef[0] > 0
    assert "cov_sentence" in EVIDENCE_FOR and "reader_null_prob" in EVIDENCE_AGAINST
    assert not EVIDENCE_FOR & EVIDENCE_AGAINST


def test_unconstrained_fit_is_sklearns_logistic_regression():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 3))
    y = (X @ [1.0, -2.0, 0.5] + rng.normal(size=300) > 0).astype(int)
    pol = fit_policy(X.tolist(), y.tolist(), ["a", "b", "c"], C=0.5, non_positive=(), non_negative=())
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    ref = LogisticRegression(C=0.5, max_iter=5000, tol=1e-10).fit(Z, y)
    assert np.allclose(pol.coef, ref.coef_[0], atol=1e-3) and pol.intercept == pytest.approx(
        ref.intercept_[0], abs=1e-3
    )


def test_malformed_policy_is_a_config_error(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text(json.dumps({"features": ["a"], "coef": []}))
    with pytest.raises(ConfigError):
        Policy.load(p)
    with pytest.raises(ConfigError):
        Policy.load(tmp_path / "missing.json")


def test_shipped_policy_is_calibrated_per_generator_kind():
    from mmroute.verification.policy import PolicySet, policy_kind

    assert DEFAULT_POLICY_PATH.is_file(), "run python -m evals.build.calibrate_verifier"
    ps = PolicySet.load()
    assert ps.meta.get("cross_validation") and set(ps.policies) == {"reader", "generic"}
    for kind, pol in ps.policies.items():
        assert 0.0 < pol.threshold <= 1.0
        assert "reader_expected_f1" in pol.features and "draft_score" not in pol.features
        # the direction a working policy must have (every other signal at its calibration mean): the more the
        # reader expects the draft to be right, the likelier it passes; a key term of the question missing from
        # the evidence makes it less likely (a policy fitted on shuffled labels or with flipped signs fails here)
        assert pol.probability({"reader_expected_f1": 1.0}) > pol.probability({"reader_expected_f1": 0.0}), kind
        assert pol.probability({"key_missing": 1.0}) < pol.probability({"key_missing": 0.0}), kind
    assert policy_kind("reader") == "reader" and policy_kind("openai") == policy_kind("smollm2") == "generic"
    assert Policy.load().threshold == ps.for_kind("generic").threshold  # a kinds file still loads as one policy
