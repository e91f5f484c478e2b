"""BM25, title mentions and the per-KB lexical index cache."""
from __future__ import annotations

from pathlib import Path

from mmroute.kb import Home
from mmroute.retrieval.lexical import LexicalIndex, lexical_index_for, title_key, tokens
from mmroute.types import Granularity, Item
from tests.retrieval.conftest import WIKI, make_kb


def _index() -> LexicalIndex:
    items = [Item(id=i, kind=Granularity.PARAGRAPH, title=t, text=x) for i, t, x in WIKI]
    items.append(Item(id="who", kind=Granularity.PARAGRAPH, title="The Who", text="The Who are an English rock band."))
    return LexicalIndex(items)


def test_tokens_fold_case_and_accents_and_titles_drop_disambiguation() -> None:
    assert tokens("Fährmann MARIA's") == ["fahrmann", "maria", "s"]
    assert title_key("Mind Games (album)") == ("mind", "games")


def test_mentions_longest_match_specific_titles_only() -> None:
    idx = _index()
    found = idx.mentions("Lennon recorded Mind Games and Walls and Bridges; The Who did not.")
    assert [m.title for m in found] == ["mind games", "walls and bridges"]
    assert found[0].ids == ("w4",) and 0 < found[0].weight <= 1
    assert idx.mentions("He was born in Dijon.", exclude={"w6"}) == []
    assert idx.ids_with_title("Imagine (song)") == ("w8",)


def test_bm25_ranks_the_matching_item_first() -> None:
    idx = _index()
    top = idx.bm25("fifth studio album Apple Records", k=3)
    assert top[0][0] == "w2" and top[0][1] > top[-1][1] >= 0
    assert idx.bm25("zzz unknown words") == []


def test_index_is_built_from_the_store_and_cached_until_the_kb_changes(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    make_kb(home, tmp_path, "wiki", WIKI[:4])
    kb = home.open("wiki")
    a = lexical_index_for(kb)
    assert set(a.items) == {"w1", "w2", "w3", "w4"} and a.modality == "text"
    assert lexical_index_for(kb) is a
    make_kb(home, tmp_path, "wiki", WIKI)
    home.forget("wiki")
    b = lexical_index_for(home.open("wiki"))
    assert b is not a and len(b) == len(WIKI)
