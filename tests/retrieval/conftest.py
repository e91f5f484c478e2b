"""Tiny KBs for retrieval tests, built with the real indexer and the model-free ``hashing`` encoder."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest

from mmroute.indexer import Indexer
from mmroute.kb import Home
from mmroute.types import EncoderSpec, KBInfo, RouteDecision, RouteScore

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
