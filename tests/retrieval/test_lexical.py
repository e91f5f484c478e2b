"""Title mentions, the per-KB title index cache, and BM25 through the KB's store (sparse and hybrid search)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmroute.errors import StoreError
from mmroute.indexer import Indexer
from mmroute.kb import Home
from mmroute.retrieval.lexical import TitleIndex, title_index_for, title_key, tokens
from mmroute.types import Granularity, Item, StoreSpec
from tests.retrieval.conftest import HASH, WIKI, make_kb


def _index() -> TitleIndex:
    items = [Item(id=i, kind=Granularity.PARAGRAPH, title=t, text=x) for i, t, x in WIKI]
    items.append(Item(id="who", kind=Granularity.PARAGRAPH, title="The Who", text="The Who are an English rock band."))
    return TitleIndex(items)


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
    # a title word found in many items' texts is less specific than a rare one
    assert idx.title_weight(("dijon",)) < idx.title_weight(("imagine",))  # in two items vs one


def test_index_is_built_from_the_store_and_cached_until_the_kb_changes(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    make_kb(home, tmp_path, "wiki", WIKI[:4])
    kb = home.open("wiki")
    a = title_index_for(kb)
    assert set(a.titled_ids()) == {"w1", "w2", "w3", "w4"} and a.modality == "text"
    assert title_index_for(kb) is a
    make_kb(home, tmp_path, "wiki", WIKI)
    home.forget("wiki")
    b = title_index_for(home.open("wiki"))
    assert b is not a and len(b) == len(WIKI)


@pytest.mark.parametrize("backend", ["edge", "faiss", "qdrant"])
def test_kb_search_modes(tmp_path: Path, backend: str) -> None:
    home = Home(tmp_path / "home")
    src = tmp_path / "wiki.jsonl"
    src.write_text("".join(json.dumps({"id": i, "title": t, "text": x}) + "\n" for i, t, x in WIKI))
    Indexer(home).index("wiki", src, granularity="paragraph", encoder=HASH, store=StoreSpec(backend))
    kb = home.open("wiki")
    assert kb.has_lexical and kb.info.store.options["lexical"]["tokenizer"] == "words-v1"
    sparse = kb.search("fifth studio album Apple Records", k=3, mode="sparse")
    assert sparse[0].item.id == "w2" and sparse[0].score > sparse[-1].score > 0
    assert kb.search("zzz unknown words", k=3, mode="sparse") == []
    hybrid = kb.search("Which city was Gustave Eiffel born in, Dijon?", k=4, mode="hybrid")
    assert {"w5", "w6"} <= {h.item.id for h in hybrid}
    assert [h.score for h in hybrid] == sorted((h.score for h in hybrid), reverse=True)  # cosine scale, fused order
    assert all(-1.0 <= h.score <= 1.0 for h in hybrid)
    dense = kb.search("Which city was Gustave Eiffel born in, Dijon?", k=4, mode="dense")
    assert len(dense) == 4
    # candidate pools: the same ranking by point id, without reading items; items_at reads the kept ones
    q = "Which city was Gustave Eiffel born in, Dijon?"
    pool = kb.dense_pool(kb.embed_queries([q])[0], 4)
    assert [(i, round(s, 5)) for i, s in pool] == [(kb.point_of(h.item.id), round(h.score, 5)) for h in dense]
    words = kb.sparse_pool("fifth studio album Apple Records", 3)
    assert [(i, round(s, 5)) for i, s in words] == [(kb.point_of(h.item.id), round(h.score, 5)) for h in sparse]
    items = kb.items_at([i for i, _ in pool] + [kb.point_of("no-such-item")])
    assert [items[i].id for i, _ in pool] == [h.item.id for h in dense] and len(items) == len(pool)
    home.forget("wiki")


def test_dense_only_kb_falls_back_with_a_hint(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    home = Home(tmp_path / "home")
    src = tmp_path / "wiki.jsonl"
    src.write_text("".join(json.dumps({"id": i, "title": t, "text": x}) + "\n" for i, t, x in WIKI))
    Indexer(home).index("old", src, granularity="paragraph", encoder=HASH, store=StoreSpec("edge", {"lexical": None}))
    kb = home.open("old")
    assert not kb.has_lexical
    with caplog.at_level("WARNING"):
        assert len(kb.search("Dijon", k=3, mode="hybrid")) == 3
    assert "reindex-lexical old" in caplog.text
    with pytest.raises(StoreError, match="no lexical index") as e:
        kb.search("Dijon", k=3, mode="sparse")
    assert "reindex-lexical old" in (e.value.hint or "")
    home.forget("old")
