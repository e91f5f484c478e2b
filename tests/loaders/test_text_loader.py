import json
from pathlib import Path

import pytest

from mmroute.errors import InputError
from mmroute.loaders.detect import plan_sources
from mmroute.loaders.text import JsonlLoader, PlainTextLoader
from mmroute.types import Granularity, Modality


def write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_paragraphs_and_documents_group_by_doc_id(tmp_path: Path) -> None:
    p = write_jsonl(
        tmp_path / "c.jsonl",
        [
            json.dumps({"id": "a/0", "doc_id": "a", "title": "Alpha", "text": "First para.", "lang": "en"}),
            json.dumps({"id": "a/1", "doc_id": "a", "title": "Alpha", "text": "Second para."}),
            json.dumps({"id": "b", "text": "Lonely record."}),
        ],
    )
    res = JsonlLoader().load(p, [Granularity.PARAGRAPH, Granularity.DOCUMENT])
    assert not res.problems
    paras = [i for i in res.items if i.kind is Granularity.PARAGRAPH]
    docs = {i.id: i for i in res.items if i.kind is Granularity.DOCUMENT}
    assert [i.id for i in paras] == ["a/0", "a/1", "b"]
    assert paras[0].metadata == {"lang": "en"}
    assert set(docs) == {"a", "b"}
    assert docs["a"].parts == ("First para.", "Second para.")
    assert docs["a"].title == "Alpha"
    assert docs["a"].metadata["paragraph_ids"] == ["a/0", "a/1"]


def test_bad_lines_are_reported_with_line_numbers_and_the_rest_loads(tmp_path: Path) -> None:
    p = write_jsonl(
        tmp_path / "c.jsonl",
        [
            json.dumps({"id": "ok1", "text": "fine"}),
            '{"id": "broken", "text": ',
            json.dumps(["not", "an", "object"]),
            json.dumps({"id": "", "text": "no id"}),
            json.dumps({"id": "x", "text": "   "}),
            json.dumps({"id": "ok1", "text": "duplicate"}),
            json.dumps({"id": "ok2", "text": "also fine", "title": 3}),
            json.dumps({"id": "ok3", "text": "fine again"}),
        ],
    )
    res = JsonlLoader().load(p, [Granularity.PARAGRAPH])
    assert [i.id for i in res.items] == ["ok1", "ok3"]
    lines = [pr.line for pr in res.problems]
    assert lines == [2, 3, 4, 5, 6, 7]
    assert "malformed JSON" in res.problems[0].message
    assert "duplicate" in res.problems[4].message


def test_invalid_utf8_and_empty_file(tmp_path: Path) -> None:
    p = tmp_path / "c.jsonl"
    p.write_bytes(b'{"id": "a", "text": "ok"}\n\xff\xfe{"id": "b"}\n')
    res = JsonlLoader().load(p, [Granularity.PARAGRAPH])
    assert [i.id for i in res.items] == ["a"]
    assert res.problems[0].line == 2 and "UTF-8" in res.problems[0].message
    empty = tmp_path / "e.jsonl"
    empty.write_text("")
    assert JsonlLoader().load(empty, [Granularity.PARAGRAPH]).problems[0].message == "file is empty"


def test_plain_text_splits_paragraphs(tmp_path: Path) -> None:
    p = tmp_path / "notes.md"
    p.write_text("# My notes\n\nFirst block\nstill first.\n\n\nSecond block.\n", encoding="utf-8")
    res = PlainTextLoader().load(p, [Granularity.PARAGRAPH, Granularity.DOCUMENT], root=tmp_path)
    paras = [i for i in res.items if i.kind is Granularity.PARAGRAPH]
    assert [i.id for i in paras] == ["notes.md#p0", "notes.md#p1", "notes.md#p2"]
    assert paras[0].title == "My notes"
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\x00\xff\xfe\xfa")
    assert "UTF-8" in PlainTextLoader().load(binary, [Granularity.PARAGRAPH]).problems[0].message


def test_plan_sources_detects_modality_and_reports_unknown(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text('{"id":"1","text":"x"}\n')
    (tmp_path / "b.xyz").write_text("?")
    (tmp_path / ".hidden.jsonl").write_text('{"id":"2","text":"y"}\n')
    mod, plans, problems = plan_sources(tmp_path)
    assert mod is Modality.TEXT
    assert [p.path.name for p in plans] == ["a.jsonl"]
    assert any("unknown file type" in p.message for p in problems)
    with pytest.raises(InputError):
        plan_sources(tmp_path / "missing")
    only_unknown = tmp_path / "u"
    only_unknown.mkdir()
    (only_unknown / "x.bin").write_text("?")
    with pytest.raises(InputError, match="nothing to index"):
        plan_sources(only_unknown)


def test_real_corpus_loads_without_problems(data_dir: Path) -> None:
    res = JsonlLoader().load(data_dir / "text/squad2_dev/corpus.jsonl", [Granularity.PARAGRAPH, Granularity.DOCUMENT])
    assert not res.problems
    assert sum(i.kind is Granularity.PARAGRAPH for i in res.items) == 126
    assert sum(i.kind is Granularity.DOCUMENT for i in res.items) == 3


def test_a_record_cut_short_is_said_to_be_cut_where_its_line_ends(tmp_path: Path) -> None:
    """`{"id": "broken", "text": ` was reported "Expecting value at column 1" (json's "line 2" of the record and its
    newline). The control: a bad character inside a line keeps its own column."""
    p = tmp_path / "c.jsonl"
    p.write_text('{"id": "broken", "text": \n{"id": "x", "text": "a" b}\n', encoding="utf-8")
    cut, inside = (pr.message for pr in JsonlLoader().load(p, [Granularity.PARAGRAPH]).problems)
    assert cut == "malformed JSON (Expecting value at column 26, the end of the line: the record is cut short)"
    assert inside.startswith("malformed JSON (Expecting ',' delimiter at column 25") and "cut short" not in inside


def test_a_long_block_becomes_paragraphs_cut_between_sentences(tmp_path: Path) -> None:
    """A file written as one long line was one paragraph (a 2.7 MB one made every question on it run for minutes)."""
    from mmroute.loaders.text import MAX_PARAGRAPH_CHARS

    sentences = [f"Fact number {i} says the passphrase is otter-{i}." for i in range(400)]
    p = tmp_path / "long.txt"
    p.write_text("A short first block.\n\n" + " ".join(sentences) + "\n\n" + "x" * 4500 + "\n", encoding="utf-8")
    paras = PlainTextLoader().load(p, [Granularity.PARAGRAPH], root=tmp_path).items
    assert paras[0].id == "long.txt#p0" and paras[0].text == "A short first block."
    long_ids = [i.id for i in paras if i.id.startswith("long.txt#p1")]
    assert long_ids[:2] == ["long.txt#p1", "long.txt#p1.1"] and len(long_ids) >= 8
    assert all(len(i.text) <= MAX_PARAGRAPH_CHARS for i in paras)
    long_text = " ".join(i.text for i in paras if i.id.startswith("long.txt#p1"))
    assert long_text == " ".join(sentences)  # nothing lost, and every cut is between two sentences
    assert all(i.text.endswith(".") for i in paras if i.id.startswith("long.txt#p1"))
    assert [len(i.text) for i in paras if i.id.startswith("long.txt#p2")] == [2000, 2000, 500]  # no sentence, no space
    doc = PlainTextLoader().load(p, [Granularity.DOCUMENT], root=tmp_path).items
    assert len(doc) == 1 and all(s in doc[0].text for s in sentences)  # a document holds every piece


def test_a_folder_walk_skips_a_home_inside_it_and_links_to_files_it_has(tmp_path: Path) -> None:
    """Indexing a folder that held mmroute homes walked into their stores (90 notes, 285 skips); a link beside its
    target indexed the target twice, under the link's name."""
    from mmroute.loaders.base import walk_files

    (tmp_path / "notes.txt").write_text("Notes.\n")
    (tmp_path / "link.txt").symlink_to(tmp_path / "notes.txt")
    outside = tmp_path.parent / f"{tmp_path.name}-outside.txt"
    outside.write_text("Elsewhere.\n")
    (tmp_path / "far.txt").symlink_to(outside)  # the control: a link to a file the walk does not find is kept
    kb = tmp_path / "home" / "kbs" / "films"
    (kb / "store").mkdir(parents=True)
    (kb / "manifest.json").write_text("{}")
    (kb / "store" / "segment.dat").write_text("x")
    (tmp_path / "home" / "serve.json").write_text("{}")
    (tmp_path / "home" / "inputs").mkdir()
    (tmp_path / "home" / "inputs" / "mine.txt").write_text("Mine.\n")  # a user's file beside the KBs is theirs
    assert [p.name for p in walk_files(tmp_path)] == ["far.txt", "mine.txt", "notes.txt"]
    assert [p.name for p in walk_files(tmp_path / "home")] == ["mine.txt"]  # the home itself given as the input
