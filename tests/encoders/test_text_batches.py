"""Token-budget batches: every text once, within the row and padded-token limits, and the same vectors
as encoding each text alone (padding must not leak into a mean-pooled vector)."""

from __future__ import annotations

import numpy as np
import pytest

from mmroute.encoders.text import default_text_encoder

WORDS = "the river rises in the northern hills and flows south past three old mill towns to the sea".split()


@pytest.fixture(scope="module")
def texts() -> list[str]:
    rng = np.random.default_rng(3)
    return [" ".join(rng.choice(WORDS, size=int(n))) for n in rng.integers(1, 300, size=40)] + [""]


def test_batches_cover_every_text_once_within_limits(texts: list[str]) -> None:
    enc = default_text_encoder()
    enc.warm_up()
    batches = enc.token_batches(texts)
    assert sorted(i for b in batches for i in b) == list(range(len(texts)))
    lengths = enc.token_lengths(texts)
    for b in batches:
        assert len(b) <= enc.batch_size
        padded = len(b) * max(lengths[i] for i in b)
        assert len(b) == 1 or padded <= enc.batch_tokens, (len(b), padded)
    # short texts share wide batches, long ones narrow ones: more than one row count is used
    assert len({len(b) for b in batches}) > 1


def test_batched_vectors_match_one_text_at_a_time(texts: list[str]) -> None:
    enc = default_text_encoder()
    together = enc.encode_texts(texts)
    alone = np.stack([enc.encode_texts([t])[0] for t in texts])
    assert together.shape == (len(texts), enc.dim)
    np.testing.assert_allclose(together, alone, atol=2e-5)
