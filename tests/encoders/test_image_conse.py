"""ConSE image encoder on real photos: text queries find the right images, with and without captions."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from mmroute.encoders.base import ENCODERS, create_encoder
from mmroute.errors import ConfigError, ItemError
from mmroute.loaders.images import ImageLoader
from mmroute.types import Granularity, Item

QUERIES = {
    "a cat": "chelsea.png",
    "a cup of coffee": "coffee.png",
    "a rocket on a launch pad": "rocket.jpg",
    "an astronaut": "astronaut.png",
}


@pytest.fixture(scope="module")
def enc():
    e = create_encoder("conse")
    e.warm_up()
    return e


@pytest.fixture(scope="module")
def photos(data_dir: Path) -> list[Item]:
    root = data_dir / "images/skimage/images"
    return ImageLoader().load(root, [Granularity.IMAGE], root=root).items


def _ranks(enc, items: list[Item], vectors: np.ndarray) -> dict[str, int]:
    ids = [it.id for it in items]
    q = enc.encode_queries(list(QUERIES))
    scores = q @ vectors.T
    return {query: int((s > s[ids.index(gold)]).sum()) + 1 for (query, gold), s in zip(QUERIES.items(), scores)}


def test_acceptance_without_and_with_captions(enc, photos: list[Item]) -> None:
    bare = [dataclasses.replace(it, captions=(), text="", title=None) for it in photos]
    ranks = _ranks(enc, bare, enc.encode_items(bare))
    assert sum(r <= 3 for r in ranks.values()) >= 3, ranks
    assert ranks["a cat"] == 1 and ranks["a cup of coffee"] == 1
    with_caps = _ranks(enc, photos, enc.encode_items(photos))
    assert all(r <= 3 for r in with_caps.values()), with_caps


def test_contract_and_fusion(enc, photos: list[Item], data_dir: Path) -> None:
    assert enc.dim == 384 and enc.spec.name == "conse" and "conse-efficientnet" in ENCODERS
    few = [dataclasses.replace(it, captions=(), text="") for it in photos[:3]]
    v = enc.encode_items(few)
    assert v.shape == (3, 384) and np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert np.allclose(np.concatenate([enc.encode_items([it]) for it in few]), v, atol=1e-5)
    assert np.allclose(enc.encode_image_queries([Path(it.source) for it in few]), v, atol=1e-5)
    assert np.allclose(create_encoder(enc.spec).encode_items(few), v, atol=1e-5)
    cap = dataclasses.replace(few[0], captions=("a bowl of soup", "soup"))
    t = enc.encode_queries(["a bowl of soup", "soup"]).mean(axis=0)
    t /= np.linalg.norm(t)
    want = 0.8 * v[0] + 0.2 * t
    assert np.allclose(enc.encode_items([cap])[0], want / np.linalg.norm(want), atol=1e-5)
    # the classifier sees a cat in chelsea.png
    from mmroute.encoders.image import load_image
    from mmroute.encoders.imagenet_classes import IMAGENET_CLASSES

    p = enc.class_probabilities([load_image(data_dir / "images/skimage/images/chelsea.png")])[0]
    assert "cat" in IMAGENET_CLASSES[int(p.argmax())]


def test_bad_inputs(enc, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    with pytest.raises(ItemError, match="bad.jpg"):
        enc.encode_items([Item(id="bad.jpg", kind=Granularity.IMAGE, source=str(bad))])
    with pytest.raises(ItemError, match="not found"):
        enc.encode_items([Item(id="gone.jpg", kind=Granularity.IMAGE, source=str(tmp_path / "gone.jpg"))])
    with pytest.raises(ConfigError):
        create_encoder("conse", templates=["no placeholder"])
    with pytest.raises(ConfigError):
        create_encoder("conse", visual_weight=0, text_weight=0)
