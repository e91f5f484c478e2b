"""Tiny KBs for retrieval tests, built with the real indexer and the model-free ``hashing`` encoder."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmroute.encoders.base import ENCODERS, normalize
from mmroute.encoders.hashing import HashingTextEncoder
from mmroute.indexer import Indexer
from mmroute.kb import Home
from mmroute.types import EncoderSpec, Item, KBInfo, Modality, RouteDecision, RouteScore

HASH = EncoderSpec("hashing", {"dim": 256})

WIKI = [
    (
        "w1",
        "Nobody Loves You (When You're Down and Out)",
        '"Nobody Loves You" is a song written by John Lennon, released on his 1974 album "Walls and Bridges".',
    ),
    (
        "w2",
        "Walls and Bridges",
        "Walls and Bridges is the fifth studio album by English musician John Lennon. It was issued by Apple Records.",
    ),
    ("w3", "Double Fantasy", "Double Fantasy is a 1980 album by John Lennon and Yoko Ono, issued by Geffen."),
    ("w4", "Mind Games (album)", "Mind Games is the fourth studio album by John Lennon, released in 1973."),
    ("w5", "Gustave Eiffel", "Gustave Eiffel was a French civil engineer, born on 15 December 1832 in Dijon."),
    ("w6", "Dijon", "Dijon is a city in eastern France, the capital of the Cote-d'Or department."),
    ("w7", "Yoko Ono", "Yoko Ono is a Japanese artist, singer and peace activist."),
    ("w8", "Imagine (song)", "Imagine is a song by John Lennon from his 1971 album of the same name."),
]
PHOTOS = [
    (
        "p1",
        "Eiffel Tower at night",
        "Photo of the Eiffel Tower lit at night; the tower was designed and built by the company of Gustave Eiffel.",
    ),
    ("p2", "Louvre pyramid", "Photo of the glass pyramid in the courtyard of the Louvre in Paris, by day."),
    ("p3", "Tower Bridge", "Photo of Tower Bridge over the Thames in London at dusk."),
]


def make_kb(home: Home, tmp: Path, name: str, rows: Iterable[tuple[str, str, str]], description: str = "") -> None:
    src = tmp / f"{name}.jsonl"
    src.write_text("".join(json.dumps({"id": i, "title": t, "text": x}) + "\n" for i, t, x in rows), encoding="utf-8")
    Indexer(home, batch_size=16).index(name, src, granularity="paragraph", encoder=HASH, description=description)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Home:
    """A home with a text KB ``wiki`` and a caption KB ``photos`` (standing in for an image KB)."""
    tmp = tmp_path_factory.mktemp("world")
    home = Home(tmp / "home")
    make_kb(home, tmp, "wiki", WIKI, "encyclopedia paragraphs")
    make_kb(home, tmp, "photos", PHOTOS, "photos with captions")
    return home


class KeywordRouter:
    """Routes a query containing any of ``keywords`` to ``kb_if``, every other query to ``kb_else``."""

    name = "keyword-stub"

    def __init__(self, keywords: Sequence[str], kb_if: str, kb_else: str) -> None:
        self.keywords = [k.lower() for k in keywords]
        self.kb_if, self.kb_else = kb_if, kb_else
        self.queries: list[str] = []

    def warm_up(self) -> None:
        pass

    def route(self, query: str, kbs: Sequence[KBInfo], image: Path | None = None) -> RouteDecision:
        self.queries.append(query)
        hit = any(k in query.lower() for k in self.keywords)
        first, second = (self.kb_if, self.kb_else) if hit else (self.kb_else, self.kb_if)
        names = {k.name for k in kbs}
        ranked = tuple(RouteScore(f"kb:{n}", p, (n,)) for n, p in ((first, 0.9), (second, 0.1)) if n in names)
        return RouteDecision(
            query=query,
            ranked=ranked,
            chosen=(ranked[0].route,),
            kbs=ranked[0].kbs,
            reason="keyword" if hit else "default",
            router=self.name,
            elapsed_ms=0.0,
        )


class NoRetrievalRouter(KeywordRouter):
    """Says no KB is needed for any query."""

    def __init__(self) -> None:
        super().__init__([], "", "")

    def route(self, query: str, kbs: Sequence[KBInfo], image: Path | None = None) -> RouteDecision:
        return RouteDecision(
            query=query,
            ranked=(RouteScore("no", 1.0, ()),),
            chosen=("no",),
            kbs=(),
            reason="no retrieval",
            router=self.name,
            elapsed_ms=0.0,
        )


COLOUR_ENCODER = "test-colour-and-words"
NAME = COLOUR_ENCODER


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
        return np.asarray(Image.open(path).convert("RGB"), np.float32).reshape(-1, 3).mean(0) / 255.0

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


def png(path: Path, rgb: tuple[int, int, int]) -> Path:
    Image.new("RGB", (16, 16), rgb).save(path)
    return path
