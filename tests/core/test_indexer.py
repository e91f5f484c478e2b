"""Indexing: idempotence, resume after interruption, problem reports, KB compatibility checks.

These use the model-free ``hashing`` encoder so they run in seconds; the MiniLM path is
covered by the acceptance tests in ``tests/test_acceptance_text.py``.
"""

import json
from pathlib import Path

import pytest

from mmroute.errors import InputError, KBExistsError, KBNotFoundError
from mmroute.indexer import Indexer
from mmroute.kb import Home
from mmroute.manifest import Manifest
from mmroute.types import EncoderSpec, Granularity, point_id

HASH = EncoderSpec("hashing", {"dim": 512})  # small dims make signed-bucket collisions likely


def corpus(tmp_path: Path, n: int = 30, bad_line: bool = False) -> Path:
    p = tmp_path / "corpus.jsonl"
    lines = [
        json.dumps(
            {
                "id": f"p{i}",
                "doc_id": f"d{i // 3}",
                "title": f"Doc {i // 3}",
                "text": f"paragraph number {i} about topic {i % 7}",
            }
        )
        for i in range(n)
    ]
    if bad_line:
        lines.insert(5, "{not json")
    p.write_text("\n".join(lines) + "\n")
    return p


def test_index_twice_adds_nothing(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    src = corpus(tmp_path)
    r1 = Indexer(home, batch_size=8).index("kb", src, encoder=HASH)[0]
    assert (r1.indexed, r1.count, r1.skipped) == (30, 30, 0)
    r2 = Indexer(home, batch_size=8).index("kb", src, encoder=HASH)[0]
    assert (r2.indexed, r2.unchanged, r2.count, r2.sources_unchanged) == (0, 30, 30, 1)
    kb = home.open("kb")
    assert kb.store.all_ids() == {point_id("kb", f"p{i}") for i in range(30)}
    assert kb.search("paragraph number 7", k=1)[0].item.id == "p7"


def test_bad_lines_reported_and_rest_indexed(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    r = Indexer(home).index("kb", corpus(tmp_path, bad_line=True), encoder=HASH)[0]
    assert r.count == 30 and r.skipped == 1
    assert r.problems[0].line == 6 and "malformed JSON" in r.problems[0].message
    # the problem stays visible on a re-run that skips the unchanged source
    r2 = Indexer(home).index("kb", corpus(tmp_path, bad_line=True), encoder=HASH)[0]
    assert r2.skipped == 1 and r2.indexed == 0


def test_resume_encodes_only_missing_items(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    src = corpus(tmp_path)
    Indexer(home).index("kb", src, encoder=HASH)
    kb_dir = home.kb_dir("kb")
    # simulate a run killed after a third of the items: drop items and mark the source partial
    kb = home.open("kb")
    kb.store.delete([point_id("kb", f"p{i}") for i in range(10, 30)])
    kb.store.flush()
    home.forget("kb")
    m = Manifest.load(kb_dir)
    for rec in m.sources.values():
        rec.status = "partial"
    m.save(kb_dir)
    r = Indexer(home).index("kb", src, encoder=HASH)[0]
    assert (r.indexed, r.unchanged, r.count) == (20, 10, 30)


def test_changed_source_is_reencoded(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    src = corpus(tmp_path, n=10)
    Indexer(home).index("kb", src, encoder=HASH)
    src.write_text(src.read_text().replace("topic 3", "volcanoes"))
    r = Indexer(home).index("kb", src, encoder=HASH)[0]
    assert r.indexed == 10 and r.count == 10
    assert home.open("kb").search("volcanoes", k=1)[0].item.id == "p3"


def test_both_granularities_make_two_kbs(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    reports = Indexer(home).index("wiki", corpus(tmp_path), granularity="both", encoder=HASH)
    assert [(r.kb, r.count) for r in reports] == [("wiki-paragraph", 30), ("wiki-document", 10)]
    info = home.manifest("wiki-document").info
    assert info.granularity is Granularity.DOCUMENT


def test_incompatible_reuse_and_bad_names(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    src = corpus(tmp_path)
    Indexer(home).index("kb", src, encoder=HASH)
    with pytest.raises(KBExistsError, match="paragraph"):
        Indexer(home).index("kb", src, granularity="document", encoder=HASH)
    with pytest.raises(KBExistsError, match="encoded with"):
        Indexer(home).index("kb", src, encoder=EncoderSpec("minilm"))
    with pytest.raises(InputError, match="invalid KB name"):
        Indexer(home).index("../evil", src, encoder=HASH)
    with pytest.raises(InputError, match="granularity"):
        Indexer(home).index("kb2", src, granularity="clip", encoder=HASH)
    with pytest.raises(KBNotFoundError, match="kb"):
        home.open("nope")


def test_delete_kb(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    Indexer(home).index("kb", corpus(tmp_path), encoder=HASH)
    assert home.names() == ["kb"]
    home.delete("kb")
    assert home.names() == [] and not home.kb_dir("kb").exists()


def test_a_reader_names_the_writer_it_saw_even_if_the_lock_is_released_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reader asks the writer lock once: a writer finishing between two asks must not turn
    "being written by process N" into a vaguer "open in another process" (a CI flake)."""
    from mmroute.errors import KBLockedError
    from mmroute.fsutil import WriterLock

    home = Home(tmp_path / "home")
    Indexer(home).index("kb", corpus(tmp_path), encoder=HASH)
    answers = iter([4242])
    monkeypatch.setattr(WriterLock, "active_holder", lambda self: next(answers, None))
    kb = home.open("kb")
    with pytest.raises(KBLockedError, match="KB 'kb' is being written by process 4242"):
        kb.search("paragraph number 7", k=1)
    assert kb.search("paragraph number 7", k=1)[0].item.id == "p7"  # the writer is gone: the next search works
    kb.close()


def test_a_relative_input_path_is_stored_as_a_path_that_works_from_anywhere(tmp_path: Path, monkeypatch) -> None:
    """`mmroute index --input ../shared/data/...` stored each item's source as typed, so the app (which shows a photo
    from its source), a video's subtitles and an endpoint's image broke when the home was used from another
    directory. The source is now anchored at index time; the item ids stay relative to the input (the control)."""
    work = tmp_path / "work"
    (work / "data").mkdir(parents=True)
    (work / "data" / "corpus.jsonl").write_text(json.dumps({"id": "p1", "text": "Rollo led the Normans."}) + "\n")
    monkeypatch.chdir(work)
    Indexer(Home(tmp_path / "home")).index("kb", Path("data/corpus.jsonl"), encoder=EncoderSpec("hashing", {"dim": 32}))
    monkeypatch.chdir(tmp_path)
    kb = Home(tmp_path / "home").open("kb")
    try:
        (item,) = kb.get_items(["p1"])
    finally:
        kb.close()
    assert item.id == "p1" and Path(item.source).is_absolute() and Path(item.source).is_file(), item.source
