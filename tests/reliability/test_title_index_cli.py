"""The saved title index through the CLI, in subprocesses: ``mmroute index`` writes it beside the store,
``kb copy`` and ``kb move`` carry it, a KB without it (indexed by an older mmroute) answers step-wise
from its payloads with a hint, and ``kb reindex-lexical`` saves it; step-wise answers follow the
bridge title in every case."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .cli import index_args, mmroute

ROWS = [
    ("w1", "Nobody Loves You", "Nobody Loves You is a song by John Lennon, released on his album Walls and Bridges."),
    ("w2", "Walls and Bridges", "Walls and Bridges is an album by John Lennon, issued by Apple Records in 1974."),
    ("w3", "Double Fantasy", "Double Fantasy is a 1980 album by John Lennon and Yoko Ono, issued by Geffen."),
    ("w4", "Mind Games (album)", "Mind Games is the fourth studio album by John Lennon, released in 1973."),
    ("w5", "Gustave Eiffel", "Gustave Eiffel was a French civil engineer, born in 1832 in Dijon."),
    ("w6", "Dijon", "Dijon is a city in eastern France."),
]
QUESTION = "Which record label issued the album that Nobody Loves You was released on?"


def _titles(kb_dir: Path) -> list[str]:
    return sorted(p.name for p in kb_dir.iterdir() if p.name.endswith(".titles.npz"))


def _store_dir(kb_dir: Path) -> str:
    return json.loads((kb_dir / "manifest.json").read_text()).get("store_dir", "store")


def _ask(home: Path, kb: str) -> tuple[dict, str]:
    res = mmroute(
        "ask",
        QUESTION,
        "--generator",
        "offline",
        "--kb",
        kb,
        "--stepwise",
        "--retriever-option",
        "search_k=2",  # the first hop alone does not reach w2: a follow-up on the title it names must
        "--no-verify",
        "--json",
        home=home,
    )
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout), res.stderr


def _assert_bridged(answer: dict) -> None:
    steps = answer["retrieval"]["steps"]
    assert len(steps) >= 2 and steps[1]["query"].startswith("Walls and Bridges"), steps
    ids = [e["id"] for e in answer["evidence"]]  # shown by score: the bridge passage need not be second
    assert ids[0] == "w1" and "w2" in ids, ids  # the first hop did not reach w2 (search_k=2): the follow-up did
    scores = [e["score"] for e in answer["evidence"]]
    assert scores == sorted(scores, reverse=True)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("titlecli")
    src = tmp / "wiki.jsonl"
    src.write_text("".join(json.dumps({"id": i, "title": t, "text": x}) + "\n" for i, t, x in ROWS))
    home = tmp / "home"
    res = mmroute(*index_args("wiki", src), home=home)
    assert res.returncode == 0, res.stderr
    return home


def test_index_writes_it_and_stepwise_uses_it(home: Path) -> None:
    kb_dir = home / "kbs" / "wiki"
    assert _titles(kb_dir) == ["store.titles.npz"]
    answer, err = _ask(home, "wiki")
    _assert_bridged(answer)
    assert "reindex-lexical" not in err


def test_copy_and_move_carry_it(home: Path, tmp_path: Path) -> None:
    import shutil

    h = tmp_path / "home"
    shutil.copytree(home, h)
    res = mmroute("kb", "copy", "wiki", "wcopy", "--store", "faiss", home=h)
    assert res.returncode == 0, res.stderr
    assert _titles(h / "kbs" / "wcopy") == ["store.titles.npz"]
    res = mmroute("kb", "move", "wiki", "--store", "faiss", home=h)
    assert res.returncode == 0, res.stderr
    moved = h / "kbs" / "wiki"
    assert _store_dir(moved) != "store" and _titles(moved) == [f"{_store_dir(moved)}.titles.npz"]
    for kb in ("wcopy", "wiki"):
        answer, err = _ask(h, kb)
        _assert_bridged(answer)
        assert "reindex-lexical" not in err


def test_old_kb_answers_with_a_hint_until_reindex_lexical_saves_it(home: Path, tmp_path: Path) -> None:
    import shutil

    h = tmp_path / "home"
    shutil.copytree(home, h)
    kb_dir = h / "kbs" / "wiki"
    (kb_dir / "store.titles.npz").unlink()  # as indexed by mmroute before the file existed
    answer, err = _ask(h, "wiki")
    _assert_bridged(answer)
    assert "mmroute kb reindex-lexical wiki" in err
    res = mmroute("kb", "reindex-lexical", "wiki", home=h)
    assert res.returncode == 0, res.stderr
    assert _titles(kb_dir) == [f"{_store_dir(kb_dir)}.titles.npz"]
    answer, err = _ask(h, "wiki")
    _assert_bridged(answer)
    assert "reindex-lexical" not in err
