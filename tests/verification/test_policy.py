from __future__ import annotations

import json

import pytest

from mmroute.errors import ConfigError
from mmroute.verification.policy import DEFAULT_POLICY_PATH, Policy, choose_threshold, fit_policy


def test_threshold_maximises_truthfulness_under_wrong_cap():
    probs = [0.9, 0.8, 0.7, 0.6, 0.4, 0.3]
    correct = [True, True, False, True, False, False]
    t = choose_threshold(probs, correct, max_wrong_rate=0.2)
    # answering the top 4 gives (3-1)/6; the top 2 gives 2/6 with no wrong answers: both 0.333, first wins
    assert 0.6 < t <= 0.85 or 0.4 < t <= 0.6
    assert choose_threshold(probs, correct, max_wrong_rate=0.0) == pytest.approx(0.75)
    assert choose_threshold([0.5, 0.4], [False, False]) > 1.0     # never answering is best


def test_fit_policy_learns_direction_and_round_trips(tmp_path):
    X = [[i / 10.0, 0.0] for i in range(10)] * 3
    y = [int(i >= 5) for i in range(10)] * 3
    pol = fit_policy(X, y, ["cov", "const"])
    assert pol.probability({"cov": 0.9, "const": 0}) > 0.8 > 0.2 > pol.probability({"cov": 0.1, "const": 0})
    p = tmp_path / "p.json"
    pol.save(p)
    again = Policy.load(p)
    assert again.probability({"cov": 0.9}) == pytest.approx(pol.probability({"cov": 0.9}))


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
    for pol in ps.policies.values():
        assert 0.0 < pol.threshold <= 1.0
        assert "reader_expected_f1" in pol.features and "draft_score" not in pol.features
    assert policy_kind("reader") == "reader" and policy_kind("openai") == policy_kind("smollm2") == "generic"
    assert Policy.load().threshold == ps.for_kind("generic").threshold   # a kinds file still loads as one policy
