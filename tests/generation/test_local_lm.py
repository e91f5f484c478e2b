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


@pytest.mark.slow
def test_smollm2_kept_dequantised_answers_the_same(normans_hits, tmp_path, monkeypatch):
    """The real GGUF: the first load de-quantises it and keeps the copy, the second loads the copy, and both answer
    alike (about 30 s and a few seconds on 2 cores)."""
    from mmroute.generation.local_lm import LocalLMGenerator

    monkeypatch.setenv("MMROUTE_CACHE", str(tmp_path))
    first, second = LocalLMGenerator.smollm2(), LocalLMGenerator.smollm2()
    q = "Who was the Norse leader?"
    said = first.generate(q, normans_hits[:1]).text
    assert first.loaded_from is not None and first.loaded_from.suffix == ".gguf"
    assert second.generate(q, normans_hits[:1]).text == said
    assert second.loaded_from is not None and second.loaded_from.parent == tmp_path / "gguf"


def test_a_dequantised_copy_loads_as_the_same_model(tiny_model_dir, normans_hits, tmp_path):
    """What :mod:`mmroute.generation.gguf_cache` writes is an ordinary model folder: the same tensors, the same
    answers; a second writer finds the copy in place and leaves no temporary folder behind."""
    import torch

    from mmroute.generation.gguf_cache import is_complete, save_dequantised
    from mmroute.generation.local_lm import LocalLMGenerator

    first = LocalLMGenerator(str(tiny_model_dir), max_new_tokens=6)
    first.warm_up()
    kept = tmp_path / "gguf" / "tiny-1-2"
    assert save_dequantised(first._tok, first._lm, kept) and is_complete(kept)
    again = LocalLMGenerator(str(kept), max_new_tokens=6)
    again.warm_up()
    a, b = first._lm.state_dict(), again._lm.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    q = "Who was the Norse leader?"
    assert again.generate(q, normans_hits).text == first.generate(q, normans_hits).text
    assert save_dequantised(first._tok, first._lm, kept)  # another process got there first: still a copy
    assert sorted(p.name for p in kept.parent.iterdir()) == ["tiny-1-2"]


def test_an_unwritable_cache_costs_only_the_slow_load(tiny_model_dir, tmp_path, caplog):
    from mmroute.generation.gguf_cache import save_dequantised
    from mmroute.generation.local_lm import LocalLMGenerator

    g = LocalLMGenerator(str(tiny_model_dir))
    g.warm_up()
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    assert not save_dequantised(g._tok, g._lm, blocker / "gguf" / "tiny-1-2")
    assert "could not keep the de-quantised model" in caplog.text


def test_a_gguf_model_loads_from_its_kept_copy_and_a_damaged_copy_is_discarded(tiny_model_dir, tmp_path, monkeypatch):
    """The GGUF file here is a stand-in (de-quantising the real SmolLM2 takes half a minute: the slow tier does):
    with a complete copy kept for it, the copy is what loads and the file is never read; with the copy damaged,
    the copy is removed and the file itself is loaded (here: a clear error, the stand-in being no GGUF)."""
    import shutil

    from mmroute.generation.gguf_cache import dequantised_dir, is_complete, save_dequantised
    from mmroute.generation.local_lm import LocalLMGenerator

    monkeypatch.setenv("MMROUTE_CACHE", str(tmp_path / "cache"))
    model_dir = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model_dir)
    (model_dir / "m.gguf").write_bytes(b"not a gguf file")
    source = LocalLMGenerator(str(tiny_model_dir))
    source.warm_up()
    kept = dequantised_dir(model_dir / "m.gguf")
    assert kept.parent == tmp_path / "cache" / "gguf" and save_dequantised(source._tok, source._lm, kept)

    g = LocalLMGenerator(str(model_dir), gguf_file="m.gguf")
    g.warm_up()
    assert g.loaded_from == kept

    (kept / "model.safetensors").write_bytes(b"\0" * 64)
    damaged = LocalLMGenerator(str(model_dir), gguf_file="m.gguf")
    with pytest.raises(ModelUnavailableError):
        damaged.warm_up()
    assert not kept.exists() and not is_complete(kept)
