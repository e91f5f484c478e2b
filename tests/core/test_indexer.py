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


def test_changed_source_re_encodes_what_changed(tmp_path: Path) -> None:
    """A changed file used to be re-encoded in full; its items stored alike (the same words, title and fields) keep
    their vectors, so an edited record and an appended one are all that is encoded."""
    home = Home(tmp_path / "home")
    src = corpus(tmp_path, n=10)
    Indexer(home).index("kb", src, encoder=HASH)
    src.write_text(src.read_text().replace("topic 3", "volcanoes") + json.dumps({"id": "p10", "text": "new"}) + "\n")
    r = Indexer(home).index("kb", src, encoder=HASH)[0]
    assert (r.indexed, r.unchanged, r.count) == (2, 9, 11)
    assert home.open("kb").search("volcanoes", k=1)[0].item.id == "p3"


def test_the_same_corpus_from_another_path_encodes_nothing(tmp_path: Path) -> None:
    home = Home(tmp_path / "home")
    src = corpus(tmp_path, n=10)
    Indexer(home).index("kb", src, encoder=HASH)
    copy = tmp_path / "copy" / "corpus.jsonl"
    copy.parent.mkdir()
    copy.write_text(src.read_text())
    r = Indexer(home).index("kb", copy, encoder=HASH)[0]
    assert (r.indexed, r.unchanged, r.count) == (0, 10, 10)


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


def photo_sets(root: Path) -> tuple[Path, Path]:
    """Two folders, each with an ``img1.png`` (different pictures) captioned by a ``NAME.txt`` sidecar."""
    from PIL import Image

    out = []
    for name, color, caption in (("setA", (200, 0, 0), "a red square"), ("setB", (0, 0, 200), "a blue square")):
        folder = root / name
        folder.mkdir(parents=True)
        Image.new("RGB", (32, 24), color).save(folder / "img1.png")
        (folder / "img1.txt").write_text(caption)
        out.append(folder)
    return out[0], out[1]


def stored_captions(home: Home, kb: str) -> list[str]:
    from mmroute.stores.base import open_store

    manifest = Manifest.load(home.kb_dir(kb))
    store = open_store(manifest.info.store.backend, manifest.store_path(home.kb_dir(kb)), manifest.info.store.options)
    store.open(manifest.info.dim)
    try:
        return [p.payload["text"] for p in store.get([point_id(kb, "img1.png")])]
    finally:
        store.close()


def test_a_photo_of_another_folder_with_the_same_name_does_not_replace_one_indexed(tmp_path: Path) -> None:
    """Photo ids are paths relative to the folder indexed: setB/img1.png would have replaced setA/img1.png (its
    captions too) while setA's record still said it was indexed. It is refused with a problem naming both files;
    the control: the photo's own file, re-indexed, still updates it."""
    set_a, set_b = photo_sets(tmp_path)
    home = Home(tmp_path / "home")
    ix = Indexer(home)
    ix.index("pics", set_a, encoder=HASH)
    r = ix.index("pics", set_b, encoder=HASH)[0]
    assert r.indexed == 0 and r.count == 1 and stored_captions(home, "pics") == ["a red square"]
    [problem] = [str(p) for p in r.problems]
    assert problem.startswith(f"{set_b / 'img1.png'}: not indexed: KB 'pics' already holds 'img1.png' from {set_a}")
    again = ix.index("pics", set_b, encoder=HASH)[0]  # the record keeps the refusal: said again, nothing written
    assert again.indexed == 0 and [str(p) for p in again.problems] == [problem]
    (set_a / "img1.png").unlink()  # the first file is gone (moved away): its item may now be replaced
    (set_b / "img1.txt").write_text("a navy square")
    assert ix.index("pics", set_b, encoder=HASH)[0].indexed == 1
    assert stored_captions(home, "pics") == ["a navy square"]


def test_an_edited_caption_sidecar_re_indexes_its_photo(tmp_path: Path) -> None:
    set_a, _ = photo_sets(tmp_path)
    home = Home(tmp_path / "home")
    ix = Indexer(home)
    ix.index("pics", set_a, encoder=HASH)
    assert ix.index("pics", set_a, encoder=HASH)[0].indexed == 0  # unchanged: skipped
    (set_a / "img1.txt").write_text("a crimson square")
    r = ix.index("pics", set_a, encoder=HASH)[0]
    assert r.indexed == 1 and stored_captions(home, "pics") == ["a crimson square"]
    # a folder-level index beside the folder indexed (as the shared skimage photos have theirs)
    (tmp_path / "captions.json").write_text(json.dumps([{"file": "setA/img1.png", "caption": "red, on white"}]))
    assert ix.index("pics", set_a, encoder=HASH)[0].indexed == 1
    assert stored_captions(home, "pics") == ["a crimson square\nred, on white"]
    assert ix.index("pics", set_a, encoder=HASH)[0].indexed == 0


def test_a_run_cut_short_leaves_its_count_in_the_manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`kb list` reads the manifest: a run interrupted inside one big source showed 0 items for a KB holding 192."""
    import mmroute.indexer as indexer

    monkeypatch.setattr(indexer, "CHECKPOINT_S", 0.0)
    src = corpus(tmp_path, n=40)
    batches: list[int] = []

    def progress(_kb: str, done: int, _total: int) -> None:
        batches.append(done)
        if len(batches) == 3:
            raise KeyboardInterrupt

    home = Home(tmp_path / "home")
    with pytest.raises(KeyboardInterrupt):
        Indexer(home, batch_size=8, progress=progress).index("kb", src, encoder=HASH)
    listed = {i.name: i.count for i in home.list()}
    assert listed["kb"] == 24  # three batches written, flushed and counted when the third one reported
    assert Indexer(home, batch_size=8).index("kb", src, encoder=HASH)[0].count == 40  # and the run resumes


def test_a_run_killed_before_its_removals_removes_them_when_run_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The edited source stays partial until what it no longer makes is removed, so a re-run does not skip it."""
    import mmroute.indexer as indexer

    src = tmp_path / "c.jsonl"
    src.write_text("".join(json.dumps({"id": f"r{i}", "text": f"Record number {i}."}) + "\n" for i in range(6)))
    home = Home(tmp_path / "home")
    Indexer(home).index("kb", src, encoder=HASH)
    src.write_text("".join(json.dumps({"id": f"r{i}", "text": f"Record number {i}."}) + "\n" for i in range(3)))

    def killed(*_: object, **__: object) -> list:
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(indexer, "stale_points", killed)
        with pytest.raises(KeyboardInterrupt):
            Indexer(home).index("kb", src, encoder=HASH)
    report = Indexer(home).index("kb", src, encoder=HASH)[0]
    assert report.removed == 3 and report.count == 3
    assert Indexer(home).index("kb", src, encoder=HASH)[0].removed == 0  # and then it is done
