"""An image query keeps its image through every step of step-wise retrieval: the image picks the items,
the words of a generic question ("what is in this picture?") cannot pull in another image by its caption."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mmroute.encoders.base import ENCODERS, normalize
from mmroute.encoders.hashing import HashingTextEncoder
from mmroute.indexer import Indexer
from mmroute.kb import Home
from mmroute.retrieval.stepwise import StepwiseRetriever
from mmroute.types import EncoderSpec, Item, Modality

PIL = pytest.importorskip("PIL.Image")
NAME = "test-colour-and-words"


class ColourAndWords:
    """Mean RGB of the pixels (3 dims) next to hashed caption words (16 dims): enough to tell
    an image by its colour and a caption by its words, with no model."""

    modality = Modality.IMAGE

    def __init__(self) -> None:
        self.words = HashingTextEncoder(dim=16)

    @property
    def dim(self) -> int:
        return 19

    @property
    def spec(self) -> EncoderSpec:
        return EncoderSpec(NAME, {})

    def warm_up(self) -> None:
        return None

    @staticmethod
    def _colour(path: str | Path) -> np.ndarray:
        return np.asarray(PIL.open(path).convert("RGB"), np.float32).reshape(-1, 3).mean(0) / 255.0

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return normalize(np.hstack([np.zeros((len(texts), 3), np.float32), self.words.encode_queries(list(texts))]))

    def encode_items(self, items: Sequence[Item]) -> np.ndarray:
        rows = [
            np.concatenate([3 * self._colour(it.source), 0.3 * self.words.encode_queries([" ".join(it.captions)])[0]])
            for it in items
        ]
        return normalize(np.stack(rows).astype(np.float32))

    def encode_image_queries(self, paths: Sequence[Path]) -> np.ndarray:
        return normalize(np.stack([np.concatenate([self._colour(p), np.zeros(16, np.float32)]) for p in paths]))


if NAME not in ENCODERS.names():
    ENCODERS.register(NAME)(lambda **_: ColourAndWords())


def _png(path: Path, rgb: tuple[int, int, int]) -> Path:
    PIL.new("RGB", (16, 16), rgb).save(path)
    return path


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> tuple[Home, Path]:
    tmp = tmp_path_factory.mktemp("photos")
    folder = tmp / "photos"
    folder.mkdir()
    for name, rgb, caption in (
        ("apple", (220, 20, 20), "a picture of a red apple on a table"),
        ("sky", (20, 40, 220), "clear sky over the sea"),
        ("grass", (20, 200, 30), "grass in a meadow"),
    ):
        _png(folder / f"{name}.png", rgb)
        (folder / f"{name}.txt").write_text(caption)
    home = Home(tmp / "home")
    Indexer(home).index("photos", folder, modality="image", encoder=EncoderSpec(NAME, {}))
    query = _png(tmp / "my-upload.png", (30, 50, 230))  # a blue photo, not one of the KB's files
    return home, query


def test_the_query_image_decides_over_a_caption_that_matches_the_words(photos: tuple[Home, Path]) -> None:
    home, query = photos
    res = StepwiseRetriever(home, max_steps=3).retrieve(
        "What is shown in this picture?", k=3, kbs=["photos"], image=query
    )
    assert res.ids[0].endswith("sky.png"), res.ids
    assert all(s.hits and s.hits[0].item.id.endswith("sky.png") for s in res.steps), [
        (s.query, [h.item.id for h in s.hits]) for s in res.steps
    ]


def test_every_step_searches_with_the_image(photos: tuple[Home, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    home, query = photos
    kb = home.open("photos")
    seen: list[Any] = []
    original = type(kb).search_image

    def spy(self, path, k=10, flt=None):  # noqa: ANN001, ANN202
        seen.append(Path(path))
        return original(self, path, k, flt)

    monkeypatch.setattr(type(kb), "search_image", spy)
    r = StepwiseRetriever(home, max_steps=3, stop_when_sufficient=False)
    res = r.retrieve("What is shown in this picture?", k=3, kbs=["photos"], image=query)
    searches = len(res.steps) + 1  # each step's search, plus the question's terms over the KB
    assert seen == [query] * searches, (seen, [s.query for s in res.steps])
