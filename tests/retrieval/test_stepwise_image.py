"""An image query keeps its image through every step of step-wise retrieval: the image picks the items,
the words of a generic question ("what is in this picture?") cannot pull in another image by its caption."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mmroute.indexer import Indexer
from mmroute.kb import Home
from mmroute.retrieval.stepwise import StepwiseRetriever
from mmroute.types import EncoderSpec
from tests.retrieval.conftest import COLOUR_ENCODER as NAME
from tests.retrieval.conftest import png as _png

pytest.importorskip("PIL.Image")


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
