"""Local causal LMs: a tiny random Llama saved to disk (fast), and the real SmolLM2 GGUF (slow)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmroute.errors import ModelUnavailableError
from mmroute.generation import create_generator
from mmroute.generation.prompts import clean_answer


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A 2-layer random Llama with MiniLM's real WordPiece tokenizer (no chat template: plain prompt path)."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    from mmroute.encoders.text import minilm_path

    d = tmp_path_factory.mktemp("tiny-llama")
    tok = AutoTokenizer.from_pretrained(minilm_path())
    tok.save_pretrained(d)
    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        bos_token_id=tok.cls_token_id,
        eos_token_id=tok.sep_token_id,
        pad_token_id=tok.pad_token_id,
    )
    LlamaForCausalLM(cfg).save_pretrained(d)
    return d


def test_hf_causal_from_local_path(tiny_model_dir, normans_hits):
    g = create_generator("hf-causal", model=str(tiny_model_dir), max_new_tokens=6)
    d = g.generate("Who was the Norse leader?", normans_hits)
    assert d.generator == "hf-causal"
    assert d.evidence_ids == tuple(h.item.id for h in normans_hits[:3])
    assert d.text is None or (0 < len(d.text.split()) <= 30)
    cb = g.closed_book("Who was the Norse leader?", normans_hits)
    assert cb is not None and cb.generator == "hf-causal:closed-book"


def test_missing_model_is_a_clear_error(tmp_path, normans_hits):
    g = create_generator("hf-causal", model=str(tmp_path / "nope"))
    with pytest.raises(ModelUnavailableError):
        g.generate("Who?", normans_hits)


def test_clean_answer():
    assert clean_answer("Answer: Rollo.\nMore text") == "Rollo"
    assert clean_answer("I don't know.") is None
    assert clean_answer("  ") is None


@pytest.mark.slow
def test_smollm2_answers_from_evidence(normans_hits):
    g = create_generator("smollm2")
    d = g.generate("Who was the Norse leader?", normans_hits[:1])
    assert d.generator == "smollm2" and d.text
    assert "rollo" in d.text.lower()
