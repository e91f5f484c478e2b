"""Fixtures the verification tests share."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def emb():
    """The process-wide MiniLM embedder, warmed up."""
    from mmroute.generation.embedding import shared_embedder

    e = shared_embedder()
    e.warm_up()
    return e
