"""Moving KBs between stores (the scale-out path), tested against qdrant-client's local mode."""

import json
from pathlib import Path

import pytest

from mmroute.errors import KBExistsError
from mmroute.indexer import Indexer
from mmroute.kb import Home
from mmroute.migrate import copy_kb, move_kb
from mmroute.types import EncoderSpec, StoreSpec, point_id

HASH = EncoderSpec("hashing", {"dim": 64})
N = 40


@pytest.fixture
def home(tmp_path: Path) -> Home:
    src = tmp_path / "c.jsonl"
    src.write_text(
        "\n".join(json.dumps({"id": f"p{i}", "text": f"item {i} word{i % 9} colour{i % 4}"}) for i in range(N)) + "\n"
    )
    h = Home(tmp_path / "home")
    Indexer(h).index("kb", src, encoder=HASH)
    h.src = src  # type: ignore[attr-defined]
    return h


def _ranked(h: Home, name: str, q: str) -> set[tuple[str, float]]:
    """Top hits as (id, score) pairs: equal-score ties may come back in any order."""
    return {(x.item.id, round(x.score, 4)) for x in h.open(name).search(q, k=5)}


@pytest.mark.parametrize("target", [StoreSpec("qdrant"), StoreSpec("faiss", {"index": "flat"})])
def test_copy_keeps_items_scores_and_idempotent_reindex(home: Home, target: StoreSpec) -> None:
    before = _ranked(home, "kb", "word3 colour1")
    rep = copy_kb(home, "kb", "kb2", target)
    assert rep.points == N
    kb2 = home.open("kb2")
    assert kb2.info.store.backend == target.backend and kb2.count() == N
    assert kb2.store.all_ids() == {point_id("kb2", f"p{i}") for i in range(N)}
    assert _ranked(home, "kb2", "word3 colour1") == before
    home.forget("kb2")
    again = Indexer(home).index("kb2", home.src)[0]  # type: ignore[attr-defined]
    assert again.indexed == 0 and again.count == N
    with pytest.raises(KBExistsError):
        copy_kb(home, "kb", "kb2", target)


def test_move_to_qdrant_local_mode_and_back(home: Home) -> None:
    before = _ranked(home, "kb", "item 7")
    move_kb(home, "kb", StoreSpec("qdrant"))
    assert home.manifest("kb").info.store.backend == "qdrant"
    assert home.manifest("kb").info.store.options["collection"] == "kb"
    assert _ranked(home, "kb", "item 7") == before
    move_kb(home, "kb", StoreSpec("edge"))
    assert home.open("kb").count() == N and _ranked(home, "kb", "item 7") == before
    assert sorted(p.name for p in home.kbs_dir.iterdir()) == ["kb"]
