"""The saved title index (``<store folder>.titles.npz`` in the KB folder): written at index time, loaded
on a KB's first step-wise search instead of reading every payload, re-stamped by a run that changes
nothing, and detected as missing or stale (rebuilt from the payloads, with a hint) when it does not
match the KB."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from mmroute import indexer as indexer_mod
from mmroute.kb import Home
from mmroute.migrate import copy_kb, move_kb, reindex_lexical
from mmroute.retrieval import lexical
from mmroute.retrieval.lexical import (
    TitleIndex,
    load_title_index,
    make_stamp,
    read_stamp,
    save_title_index,
    title_index_for,
    title_index_path,
)
from mmroute.retrieval.stepwise import StepwiseRetriever
from mmroute.types import Granularity, Item, StoreSpec
from tests.retrieval.conftest import WIKI, make_kb

TEXT = "Lennon recorded Mind Games and Walls and Bridges; Gustave Eiffel was born in Dijon. The Who did not."
BRIDGE_Q = "Which record label issued the album that Nobody Loves You was released on?"


def _items() -> list[Item]:
    items = [Item(id=i, kind=Granularity.PARAGRAPH, title=t, text=x) for i, t, x in WIKI]
    items.append(Item(id="w4b", kind=Granularity.PARAGRAPH, title="Mind Games", text="Another Mind Games item."))
    items.append(Item(id="who", kind=Granularity.PARAGRAPH, title="The Who", text="The Who are an English rock band."))
    return items


def _no_rebuild(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*a: object, **k: object) -> None:
        raise AssertionError("the title index was rebuilt from the payloads instead of loaded")

    monkeypatch.setattr(lexical._IndexCache, "_build", boom)


def test_round_trip_keeps_every_answer(tmp_path: Path) -> None:
    built = TitleIndex(_items(), modality="text")
    stamp = make_stamp("store", 10, "2026-01-01T00:00:00Z")
    path = save_title_index(tmp_path, built, stamp)
    assert path == title_index_path(tmp_path, "store") and path.name == "store.titles.npz"
    assert read_stamp(tmp_path, "store") == stamp
    fetched: list[list[str]] = []
    by_id = {it.id: it for it in _items()}

    def fetch(ids: list[str]) -> list[Item]:
        fetched.append(list(ids))
        return [by_id[i] for i in ids]

    loaded = load_title_index(tmp_path, stamp, fetch=fetch)
    assert loaded is not None
    assert loaded.mentions(TEXT) == built.mentions(TEXT) != []
    assert loaded.mentions(TEXT, exclude={"w4"}) == built.mentions(TEXT, exclude={"w4"})
    assert [m.ids for m in loaded.mentions(TEXT)][0] == ("w4", "w4b")  # two items share a title
    assert loaded.ids_with_title("Imagine (song)") == ("w8",) == built.ids_with_title("Imagine (song)")
    assert len(loaded) == len(built) == len(WIKI) + 2 and loaded.modality == "text" and loaded.has_titles
    assert sorted(loaded.titled_ids()) == sorted(built.titled_ids())
    for key in [("dijon",), ("imagine",), ("walls", "and", "bridges"), ("unknown", "title")]:
        assert loaded.title_weight(key) == pytest.approx(built.title_weight(key), abs=1e-6)
    assert loaded.idf("dijon") == built.idf("dijon")
    # the items themselves come from the KB on demand, in one call for several
    assert fetched == []
    loaded.prefetch(["w2", "w5"])
    assert fetched == [["w2", "w5"]]
    got = loaded.item("w2")
    assert got is not None and got.title == "Walls and Bridges" and fetched == [["w2", "w5"]]
    with np.load(path, allow_pickle=False) as z:  # a plain, pickle-free npz
        meta = json.loads(z["meta"].tobytes())
    assert meta["format"] == "mmroute-title-index" and meta["version"] == 1 and meta["tokenizer"] == "words-v1"


def test_load_refuses_other_stamps_versions_and_damaged_files(tmp_path: Path) -> None:
    stamp = make_stamp("store", 10, "t1")
    save_title_index(tmp_path, TitleIndex(_items()), stamp)
    assert load_title_index(tmp_path, stamp) is not None
    assert load_title_index(tmp_path, make_stamp("store", 11, "t1")) is None  # an item more
    assert load_title_index(tmp_path, make_stamp("store", 10, "t2")) is None  # written since
    assert load_title_index(tmp_path, make_stamp("store-edge-1", 10, "t1")) is None  # another store folder
    path = title_index_path(tmp_path, "store")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # torn (atomic writes prevent it; a copy by hand may not)
    assert load_title_index(tmp_path, stamp) is None and read_stamp(tmp_path, "store") is None
    path.write_bytes(data)
    with np.load(path, allow_pickle=False) as z:
        arrays = dict(z)
    meta = json.loads(arrays["meta"].tobytes())
    meta["version"] = 99
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(path, **arrays)
    assert load_title_index(tmp_path, stamp) is None


def test_indexer_saves_it_and_search_loads_it_without_reading_payloads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = Home(tmp_path / "home")
    make_kb(home, tmp_path, "wiki", WIKI)
    kb = home.open("wiki")
    path = title_index_path(kb.directory, kb.manifest.store_dir)
    assert path.is_file()
    assert read_stamp(kb.directory, "store") == make_stamp("store", len(WIKI), kb.info.updated_at)
    _no_rebuild(monkeypatch)
    index = title_index_for(kb)
    assert index is title_index_for(kb)  # cached
    assert [m.title for m in index.mentions(TEXT)] == ["mind games", "walls and bridges", "gustave eiffel", "dijon"]
    res = StepwiseRetriever(home, search_k=2, stop_when_sufficient=False).retrieve(BRIDGE_Q, k=2, kbs=["wiki"])
    assert set(res.ids) == {"w1", "w2"} and res.steps[1].query.startswith("Walls and Bridges")
    home.forget("wiki")


def _snapshot(index: TitleIndex) -> tuple:
    texts = [x for _, _, x in WIKI] + [TEXT, "Imagine by Lennon; Dijon and Yoko Ono"]
    return (
        len(index),
        sorted(index.titled_ids()),
        [[(m.title, m.ids, round(m.weight, 6)) for m in index.mentions(t)] for t in texts],
    )


def _from_scratch(home: Home, name: str) -> TitleIndex:
    kb = home.open(name)
    return lexical.build_from_points(kb.store.iter_points(), "text")


def test_index_runs_update_the_saved_index_without_reading_the_kb_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run that adds, replaces (a changed source: new text, a new title) or changes nothing updates the
    saved index from its own writes; the result equals a build from every payload."""
    home = Home(tmp_path / "home")
    builds: list[int] = []
    real = indexer_mod.build_from_points

    def counting(pages: object, modality: str | None) -> TitleIndex:
        builds.append(1)
        return real(pages, modality)  # type: ignore[arg-type]

    monkeypatch.setattr(indexer_mod, "build_from_points", counting)
    make_kb(home, tmp_path, "wiki", WIKI[:4])
    first = read_stamp(home.kb_dir("wiki"), "store")
    time.sleep(1.05)  # updated_at has whole seconds
    make_kb(home, tmp_path, "wiki", WIKI[:4])  # same source: nothing indexed
    second = read_stamp(home.kb_dir("wiki"), "store")
    assert second is not None and first is not None
    assert second[:2] == first[:2] and second[2] == home.manifest("wiki").info.updated_at != first[2]
    make_kb(home, tmp_path, "wiki", WIKI)  # the source grew
    changed = [*WIKI]
    changed[4] = ("w5", "Alexandre Gustave Eiffel", "Eiffel, an engineer, was born in Dijon in 1832; Dijon again.")
    changed[6] = ("w7", "Yoko Ono", "Yoko Ono is an artist; Imagine was her idea too.")
    make_kb(home, tmp_path, "wiki", changed)  # replaced items: old text and title out, new in
    assert builds == []
    kb = home.open("wiki")
    saved = load_title_index(kb.directory, lexical.kb_stamp(kb), fetch=kb.get_items)
    assert saved is not None and _snapshot(saved) == _snapshot(_from_scratch(home, "wiki"))
    assert saved.ids_with_title("Alexandre Gustave Eiffel") == ("w5",) and saved.ids_with_title("Gustave Eiffel") == ()
    home.forget("wiki")
    # a stale file (here: missing) is rebuilt from every payload at the end of the next run
    title_index_path(kb.directory, "store").unlink()
    make_kb(home, tmp_path, "wiki", changed[:-1] + [("w8", "Imagine", "Imagine is a song.")])
    assert builds == [1]
    kb = home.open("wiki")
    saved = load_title_index(kb.directory, lexical.kb_stamp(kb))
    assert saved is not None and _snapshot(saved) == _snapshot(_from_scratch(home, "wiki"))
    home.forget("wiki")


def test_missing_or_stale_file_falls_back_with_a_hint_and_reindex_lexical_saves_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    home = Home(tmp_path / "home")
    make_kb(home, tmp_path, "old", WIKI)
    directory = home.kb_dir("old")
    title_index_path(directory, "store").unlink()  # a KB indexed before the file existed
    kb = home.open("old")
    with caplog.at_level("WARNING"):
        index = title_index_for(kb)
    assert "mmroute kb reindex-lexical old" in caplog.text and f"from its {len(WIKI)} items" in caplog.text
    assert index.ids_with_title("Walls and Bridges") == ("w2",)
    got = index.item("w2")  # the fallback build holds the items it read
    assert got is not None and got.text.startswith("Walls and Bridges")
    home.forget("old")

    reindex_lexical(home, "old")
    kb = home.open("old")
    store_dir = kb.manifest.store_dir
    assert store_dir != "store" and title_index_path(directory, store_dir).is_file()
    assert not title_index_path(directory, "store").exists()
    assert read_stamp(directory, store_dir) == make_stamp(store_dir, len(WIKI), kb.info.updated_at)
    caplog.clear()
    with caplog.at_level("WARNING"):
        assert title_index_for(kb).ids_with_title("Dijon") == ("w6",)
    assert "reindex-lexical" not in caplog.text
    home.forget("old")

    # stale: the manifest says the KB changed after the file was written (a run killed in between)
    manifest = directory / "manifest.json"
    data = json.loads(manifest.read_text())
    data["kb"]["updated_at"] = "2099-01-01T00:00:00Z"
    manifest.write_text(json.dumps(data))
    home.forget("old")
    kb = home.open("old")
    assert load_title_index(directory, lexical.kb_stamp(kb)) is None
    assert title_index_for(kb).ids_with_title("Dijon") == ("w6",)
    home.forget("old")


@pytest.mark.parametrize("backend", ["faiss", "qdrant"])
def test_copy_and_move_carry_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: str) -> None:
    home = Home(tmp_path / "home")
    make_kb(home, tmp_path, "wiki", WIKI)
    copy_kb(home, "wiki", "copy", StoreSpec(backend))
    move_kb(home, "wiki", StoreSpec(backend))
    _no_rebuild(monkeypatch)
    for name in ("copy", "wiki"):
        kb = home.open(name)
        assert kb.info.store.backend == backend
        files = sorted(p.name for p in kb.directory.iterdir() if p.name.endswith(".titles.npz"))
        assert files == [f"{kb.manifest.store_dir}.titles.npz"]  # the old store's index went with it
        assert title_index_for(kb).ids_with_title("Walls and Bridges") == ("w2",)
        item = title_index_for(kb).item("w5")
        assert item is not None and item.title == "Gustave Eiffel"
        home.forget(name)


def test_a_cached_index_fetches_through_the_kb_in_use(tmp_path: Path) -> None:
    """A KB reopened after ``forget`` gets the cached index, which must not reopen the forgotten KB's store
    (an embedded store would then stay open in this process and lock out the next indexing run)."""
    home = Home(tmp_path / "home")
    make_kb(home, tmp_path, "wiki", WIKI)
    old = home.open("wiki")
    index = title_index_for(old)
    home.forget("wiki")
    new = home.open("wiki")
    assert title_index_for(new) is index
    item = index.item("w5")
    assert item is not None and item.title == "Gustave Eiffel"
    assert old._store is None  # type: ignore[attr-defined]
    home.forget("wiki")
