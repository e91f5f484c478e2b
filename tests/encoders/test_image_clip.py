"""open-clip and hf-clip encoders with tiny randomly initialised models built in the test.

No CLIP weights exist offline, so these check the wiring (loading from a local checkpoint,
preprocessing, shapes, normalisation, determinism, batching, fusion), not semantics.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmroute.encoders.base import create_encoder
from mmroute.errors import ItemError
from mmroute.types import Granularity, Item

torch = pytest.importorskip("torch")


def _images(tmp: Path) -> list[Path]:
    rng = np.random.default_rng(0)
    paths = []
    for i in range(3):
        p = tmp / f"img{i}.png"
        Image.fromarray(rng.integers(0, 255, (40 + 8 * i, 48, 3), dtype=np.uint8)).save(p)
        paths.append(p)
    return paths


def _byte_chars() -> list[str]:
    """The 256 printable stand-ins byte-level BPE uses for raw bytes (the GPT-2/CLIP mapping)."""
    keep = (
        list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    )
    extra = iter(range(256, 512))
    return [chr(b) if b in keep else chr(next(extra)) for b in range(256)]


@pytest.fixture(scope="module")
def hf_clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizer

    d = tmp_path_factory.mktemp("hfclip")
    chars = _byte_chars()
    vocab = {t: i for i, t in enumerate(chars + [c + "</w>" for c in chars] + ["<|startoftext|>", "<|endoftext|>"])}
    (d / "vocab.json").write_text(json.dumps(vocab))
    (d / "merges.txt").write_text("#version: 0.2\n")
    tok = CLIPTokenizer(str(d / "vocab.json"), str(d / "merges.txt"))
    cfg = CLIPConfig(
        text_config=dict(
            vocab_size=len(vocab),
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=1,
            num_attention_heads=2,
            max_position_embeddings=77,
            bos_token_id=vocab["<|startoftext|>"],
            eos_token_id=vocab["<|endoftext|>"],
            pad_token_id=vocab["<|endoftext|>"],
        ),
        vision_config=dict(
            image_size=32,
            patch_size=8,
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=1,
            num_attention_heads=2,
        ),
        projection_dim=16,
    )
    torch.manual_seed(0)
    CLIPModel(cfg).save_pretrained(d)
    proc = CLIPProcessor(
        image_processor=CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}),
        tokenizer=tok,
    )
    proc.save_pretrained(d)
    return d


@pytest.fixture(scope="module")
def open_clip_ckpt(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    open_clip = pytest.importorskip("open_clip")
    d = tmp_path_factory.mktemp("openclip")
    cfg = {
        "embed_dim": 16,
        "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16, "patch_size": 8},
        "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
    }
    cfg_path = d / "mmroute-tiny-clip.json"
    cfg_path.write_text(json.dumps(cfg))
    open_clip.add_model_config(str(cfg_path))
    torch.manual_seed(0)
    model = open_clip.create_model("mmroute-tiny-clip", pretrained=None)
    ckpt = d / "tiny.pt"
    torch.save(model.state_dict(), ckpt)
    return cfg_path, ckpt


def _specs(hf_clip_dir: Path, open_clip_ckpt: tuple[Path, Path]) -> dict[str, dict]:
    cfg_path, ckpt = open_clip_ckpt
    return {
        "hf-clip": {"model": str(hf_clip_dir)},
        "open-clip": {"model": "mmroute-tiny-clip", "pretrained": str(ckpt), "model_config": str(cfg_path)},
    }


@pytest.mark.parametrize("name", ["hf-clip", "open-clip"])
def test_clip_encoder_contract(name: str, hf_clip_dir: Path, open_clip_ckpt: tuple[Path, Path], tmp_path: Path) -> None:
    opts = _specs(hf_clip_dir, open_clip_ckpt)[name]
    enc = create_encoder(name, **opts)
    assert enc.dim == 16
    paths = _images(tmp_path)
    items = [Item(id=p.name, kind=Granularity.IMAGE, source=str(p)) for p in paths]
    v = enc.encode_items(items)
    assert v.shape == (3, 16) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    # batch == single, and a fresh instance from the same spec gives the same vectors
    single = np.concatenate([enc.encode_items([it]) for it in items])
    assert np.allclose(v, single, atol=1e-5)
    again = create_encoder(enc.spec)
    assert np.allclose(again.encode_items(items), v, atol=1e-5)
    assert np.allclose(enc.encode_image_queries(paths), v, atol=1e-5)  # no captions: visual only
    q = enc.encode_queries(["a cat", "a dog on a skateboard"])
    assert q.shape == (2, 16) and np.allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-5)
    assert np.allclose(enc.encode_queries(["a cat"])[0], q[0], atol=1e-5)
    # fusion: normalise(0.8 visual + 0.2 caption)
    cap = Item(id="c", kind=Granularity.IMAGE, source=str(paths[0]), captions=("a red bicycle",))
    expected = 0.8 * v[0] + 0.2 * enc.encode_queries(["a red bicycle"])[0]
    assert np.allclose(enc.encode_items([cap])[0], expected / np.linalg.norm(expected), atol=1e-5)
    only_text = create_encoder(name, **opts, visual_weight=0.0, text_weight=1.0)
    assert np.allclose(only_text.encode_items([cap])[0], enc.encode_queries(["a red bicycle"])[0], atol=1e-5)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"garbage")
    with pytest.raises(ItemError, match="bad.png"):
        enc.encode_items([Item(id="bad.png", kind=Granularity.IMAGE, source=str(bad))])
