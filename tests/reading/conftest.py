"""Fixtures for the reader tests: a tiny randomly initialised BERT checkpoint (built here, never downloaded)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer, 32-wide BERT QA checkpoint with the packaged MiniLM's tokenizer, as a local folder."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForQuestionAnswering

    from mmroute.encoders.text import minilm_path

    out = tmp_path_factory.mktemp("tiny_bert")
    tok = AutoTokenizer.from_pretrained(minilm_path())
    torch.manual_seed(0)
    cfg = BertConfig(
        vocab_size=tok.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
    )
    BertForQuestionAnswering(cfg).save_pretrained(out)
    tok.save_pretrained(out)
    return out
