"""The answer-or-abstain policy: signals in, the probability that the answer is correct out.

A logistic regression over standardised signals, with a decision threshold. Both are fitted by
``python -m evals.build.calibrate_verifier`` on shared data (SQuAD 2.0 dev articles, cross-validated by
article) and stored as JSON in ``mmroute/data/verifier/``; nothing here is tuned by hand. The
threshold maximises truthfulness (+1 correct, 0 abstain, -1 wrong) under a cap on the wrong-answer rate.

>>> policy = Policy.load()                     # mmroute/data/verifier/policy.json
>>> p = policy.probability({"cov_window": 1.0, ...})
>>> answer = p >= policy.threshold
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError

DATA_DIR = Path(__file__).resolve().parents[1] / "data" / "verifier"
DEFAULT_POLICY_PATH = DATA_DIR / "policy.json"


@dataclass(frozen=True)
class Policy:
    features: tuple[str, ...]
    coef: tuple[float, ...]
    intercept: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    threshold: float
    meta: Mapping[str, Any] = field(default_factory=dict)
    source: str = ""

    def probability(self, signals: Mapping[str, float]) -> float:
        z = self.intercept
        for f, c, m, s in zip(self.features, self.coef, self.mean, self.scale):
            z += c * (float(signals.get(f, m)) - m) / (s or 1.0)
        return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))

    def contributions(self, signals: Mapping[str, float]) -> list[tuple[str, float]]:
        """Each signal's push on the log-odds, largest magnitude first (for human-readable reasons)."""
        out = [
            (f, c * (float(signals.get(f, m)) - m) / (s or 1.0))
            for f, c, m, s in zip(self.features, self.coef, self.mean, self.scale)
        ]
        return sorted(out, key=lambda x: -abs(x[1]))

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "coef": list(self.coef),
            "intercept": self.intercept,
            "mean": list(self.mean),
            "scale": list(self.scale),
            "threshold": self.threshold,
            "meta": dict(self.meta),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], source: str = "") -> Policy:
        try:
            feats = tuple(str(f) for f in d["features"])
            p = cls(
                feats,
                tuple(float(x) for x in d["coef"]),
                float(d["intercept"]),
                tuple(float(x) for x in d["mean"]),
                tuple(float(x) for x in d["scale"]),
                float(d["threshold"]),
                dict(d.get("meta") or {}),
                source,
            )
        except (KeyError, TypeError, ValueError) as e:
            raise ConfigError(
                f"verifier policy {source or '(dict)'} is malformed: {e}",
                hint="re-create it with `python -m evals.build.calibrate_verifier`",
            ) from e
        if not (len(p.coef) == len(p.mean) == len(p.scale) == len(feats)):
            raise ConfigError(
                f"verifier policy {source} has mismatched lengths",
                hint="re-create it with `python -m evals.build.calibrate_verifier`",
            )
        return p

    @classmethod
    def load(cls, path: Path | str | None = None) -> Policy:
        path = Path(path) if path else DEFAULT_POLICY_PATH
        if not path.is_file():
            if path != DEFAULT_POLICY_PATH:
                raise ConfigError(
                    f"verifier policy {path} not found",
                    hint="create it with `python -m evals.build.calibrate_verifier --out-dir DIR`",
                )
            warnings.warn(
                f"no calibrated verifier policy at {path}; using a conservative fallback "
                "(answer only when every question word is in the supporting sentences)",
                stacklevel=2,
            )
            return FALLBACK
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(
                f"verifier policy {path} is not JSON: {e}",
                hint="re-create it with `python -m evals.build.calibrate_verifier`",
            ) from e
        if isinstance(d, dict) and "kinds" in d:
            return PolicySet.load(path).for_kind(GENERIC)
        return cls.from_dict(d, source=str(path))

    def save(self, path: Path) -> None:
        from ..fsutil import atomic_write_text

        atomic_write_text(path, json.dumps(self.to_dict(), indent=2) + "\n")


EVIDENCE_AGAINST = frozenset(
    {
        "missing_terms",
        "missing_idf_max",
        "key_missing",
        "key_missing_any",
        "number_conflict",
        "negation_mismatch",
        "opposite_conflict",
        "answer_repeats_question",
        "reader_null_prob",
    }
)
"""Signals that only ever count against an answer: a question word missing near it, a conflicting number, a
negation only one side has, a word whose opposite the sentence says, an answer made of the question's words, the
reader's probability for "no answer". Fitted freely, the reader policy gave
``missing_terms`` and ``missing_idf_max`` positive weights (+0.30, +0.28 per standard deviation: collinear with
the coverage signals on 2 articles), so "director" and "die" missing near a film's year raised the chance
that the year was the director's death date. :func:`fit_policy` holds their weights at or below 0. Held out by
article on the 3 dev articles (``calibrate_verifier``), that moved the reader kind from correct 11.1% / wrong
8.8% (truthfulness 0.022) to 10.5% / 7.9% (0.026), and the generic kind's other questions' answers let through
from 11.9% to 10.6% with right answers 79.3% to 78.4% and plausible answers 48.8% either way."""


EVIDENCE_FOR = frozenset(
    {
        "answer_in_evidence",
        "entities_in_evidence",
        "numbers_agree",
        "type_match",
        "cov_sentence",
        "cov_paragraph",
        "sim_q_support",
        "sim_q_best",
        "support_model",
        "reader_margin",
        "reader_best_f1",
        "reader_expected_f1",
        "reader_draft_margin",
        "reader_draft_gap",
        "reader_support_margin",
        "reader_support_draft",
        "retrieval_top",
    }
)
"""Signals that only ever count in an answer's favour: the question's words around it, its sentence close in meaning
to the question, its words in the evidence, the reader finding it. :func:`fit_policy` holds their weights at or
above 0. Fitted with only :data:`EVIDENCE_AGAINST` bounded, 9 of the 29 weights of the reader kind had the sign
against their signal's meaning (``cov_window`` -0.64, ``reader_support_margin`` -0.73, ``sim_q_best`` -0.15,
``reader_null_prob`` +0.08 ...): they fitted differences between correlated signals on two articles. Bounded, 11
weights of the reader kind are 0 (3 before) and the estimate no longer falls because the best evidence sentence is
close in meaning to the question. Held out by article: the reader kind's cross-validation (``calibrate_verifier``)
went from correct 10.2% / wrong 7.4% (truthfulness 0.028) to 10.1% / 6.3% (0.038), and the offline pipeline
(``bench_answers --parts offline_e2e``) from correct 97 / wrong 64 of 950 (0.035) to 106 / 68 (0.040). The generic
kind (endpoint drafts) did worse bounded (right answers let through 80.6% -> 79.7%, plausible answers 51.8% ->
53.0%), so ``calibrate_verifier`` bounds the reader kind's only (``--favour-bounds``).

Two signals stay free, because each is read beside a sibling that carries its plain meaning: ``cov_window`` (the
sentence's neighbours, between ``cov_sentence`` and ``cov_paragraph``) and ``sim_qa_support`` (the sentence's
closeness to the question *with the answer*, beside ``sim_q_support``'s to the question alone). What their free
weights learnt held on unseen articles: bounding them too gave reader truthfulness 0.021 (both choices were made on
the same three folds, so the figures above are a little optimistic). Whatever a weight's sign, a finding is only
called a point in an answer's favour when the policy counts it so (:func:`~mmroute.verification.explain.weighs_for`).
"""


def fit_policy(
    X: Sequence[Sequence[float]],
    y: Sequence[int],
    features: Sequence[str],
    *,
    C: float = 1.0,
    non_positive: Collection[str] = EVIDENCE_AGAINST,
    non_negative: Collection[str] = EVIDENCE_FOR,
) -> Policy:
    """Fit the L2-regularised logistic regression (threshold 0.5 until :func:`choose_threshold` sets it); the
    weights of the ``non_positive`` features are kept at or below 0 and those of the ``non_negative`` ones at or
    above 0 (see :data:`EVIDENCE_AGAINST` and :data:`EVIDENCE_FOR`)."""
    import numpy as np

    from ..inference.extras import require

    require("fitting a verifier policy", extra="train", modules=("scipy",))
    from scipy.optimize import minimize

    if len(set(int(v) for v in y)) < 2:
        raise ValueError(
            "the calibration data has only correct or only wrong drafts; a policy needs both "
            "(use more questions, or a reader that gets some right)"
        )
    Xa = np.asarray(X, dtype=np.float64)
    mean = Xa.mean(axis=0)
    scale = Xa.std(axis=0)
    scale[scale < 1e-9] = 1.0
    Z = (Xa - mean) / scale
    t = np.asarray(y, dtype=np.float64)
    d = Z.shape[1]

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = Z @ w[:d] + w[d]
        p = 1.0 / (1.0 + np.exp(-z))
        value = float(np.sum(np.logaddexp(0.0, z) - t * z) + 0.5 * np.sum(w[:d] ** 2) / C)
        return value, np.append(Z.T @ (p - t) + w[:d] / C, np.sum(p - t))

    bounds = [
        (None, 0.0) if f in non_positive else (0.0, None) if f in non_negative else (None, None) for f in features
    ] + [(None, None)]
    w = minimize(
        loss,
        np.zeros(d + 1),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": 5000, "ftol": 1e-12, "gtol": 1e-8},
    ).x
    return Policy(
        tuple(features),
        tuple(float(c) for c in w[:d]),
        float(w[d]),
        tuple(float(x) for x in mean),
        tuple(float(x) for x in scale),
        0.5,
    )


def choose_threshold(probs: Sequence[float], correct: Sequence[bool], max_wrong_rate: float = 0.08) -> float:
    """Threshold maximising (correct - wrong)/N among those keeping wrong/N <= ``max_wrong_rate``.

    ``correct[i]`` is whether the answer to question i is right (always False for unanswerable ones).
    """
    n = len(probs)
    order = sorted(range(n), key=lambda i: -probs[i])
    best_t, best_v = 1.01, 0.0
    c = w = 0
    for rank, i in enumerate(order):
        if correct[i]:
            c += 1
        else:
            w += 1
        nxt = probs[order[rank + 1]] if rank + 1 < n else -1.0
        if nxt == probs[i]:
            continue  # a threshold cannot split tied probabilities
        if w / n <= max_wrong_rate and (c - w) / n > best_v:
            best_v, best_t = (c - w) / n, (probs[i] + max(nxt, 0.0)) / 2
    return float(best_t)


def threshold_for_wrong_pass_rate(probs: Sequence[float], correct: Sequence[bool], max_pass: float = 0.08) -> float:
    """The lowest threshold that lets through at most ``max_pass`` of the wrong drafts.

    The rule for drafts of other generators (an LLM behind an endpoint): how often such a generator is
    right is unknown, so the policy bounds the share of *wrong* answers shown and shows as many right
    ones as that allows, instead of maximising truthfulness at one calibration set's error rate.
    """
    wrong = sorted((p for p, c in zip(probs, correct) if not c), reverse=True)
    if not wrong:
        return 0.0
    allowed = int(max_pass * len(wrong))  # this many wrong drafts may pass
    if allowed >= len(wrong):
        return 0.0
    return float(wrong[allowed]) + 1e-9


def threshold_for_right_pass_rate(probs: Sequence[float], correct: Sequence[bool], min_pass: float = 0.85) -> float:
    """The highest threshold that still lets through at least ``min_pass`` of the right drafts.

    With :func:`threshold_for_wrong_pass_rate` it bounds an endpoint's policy from the other side: the guard is as
    strict as it can be while letting the required share of right answers through (see ``calibrate_verifier``)."""
    right = sorted((p for p, c in zip(probs, correct) if c), reverse=True)
    if not right:
        return 0.0
    needed = min(len(right), max(1, math.ceil(min_pass * len(right))))  # this many right drafts must pass
    return float(right[needed - 1])


GENERIC = "generic"
"""The policy kind for drafts of any generator that has no policy of its own (LLMs, endpoints)."""


def policy_kind(generator: str) -> str:
    """The policy a draft is judged by: ``reader`` drafts have their own; everything else is generic."""
    return "reader" if generator.split(":")[0] == "reader" else GENERIC


@dataclass(frozen=True)
class PolicySet:
    """One calibrated :class:`Policy` per generator kind (see :func:`policy_kind`).

    The file holds ``{"kinds": {"reader": {...}, "generic": {...}}, "meta": {...}}``; a single-policy file
    (the format before kinds) is used for every kind.
    """

    policies: Mapping[str, Policy]
    meta: Mapping[str, Any] = field(default_factory=dict)
    source: str = ""

    def for_kind(self, kind: str) -> Policy:
        return self.policies.get(kind) or self.policies.get(GENERIC) or next(iter(self.policies.values()))

    def to_dict(self) -> dict[str, Any]:
        return {"kinds": {k: p.to_dict() for k, p in self.policies.items()}, "meta": dict(self.meta)}

    @classmethod
    def of(cls, policy: Policy | PolicySet) -> PolicySet:
        return policy if isinstance(policy, PolicySet) else cls({GENERIC: policy}, policy.meta, policy.source)

    @classmethod
    def load(cls, path: Path | str | None = None) -> PolicySet:
        path = Path(path) if path else DEFAULT_POLICY_PATH
        if not path.is_file():
            return cls.of(Policy.load(path))
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(
                f"verifier policy {path} is not JSON: {e}",
                hint="re-create it with `python -m evals.build.calibrate_verifier`",
            ) from e
        if not isinstance(d, dict) or "kinds" not in d:
            return cls.of(Policy.from_dict(d, source=str(path)))
        if not isinstance(d["kinds"], dict) or not d["kinds"]:
            raise ConfigError(
                f"verifier policy {path} has no kinds",
                hint="re-create it with `python -m evals.build.calibrate_verifier`",
            )
        return cls(
            {k: Policy.from_dict(v, source=f"{path}#{k}") for k, v in d["kinds"].items()},
            dict(d.get("meta") or {}),
            str(path),
        )

    def save(self, path: Path) -> None:
        from ..fsutil import atomic_write_text

        atomic_write_text(path, json.dumps(self.to_dict(), indent=2) + "\n")


FALLBACK = Policy(
    ("cov_window", "key_missing_any", "negation_mismatch"),
    (4.0, -4.0, -2.0),
    -2.0,
    (0.0, 0.0, 0.0),
    (1.0, 1.0, 1.0),
    0.8,
    {"fallback": True},
    "fallback",
)
