"""Subtitle parsing: BOM, CRLF, missing indices, WebVTT, malformed cues reported (not fatal)."""

from __future__ import annotations

from pathlib import Path

from mmroute.loaders.subtitles import find_subtitles, parse_subtitle_text, parse_subtitles, text_in_range


def test_srt_with_bom_crlf_missing_index_and_tags(tmp_path: Path) -> None:
    raw = (
        "\ufeff1\r\n00:00:01,000 --> 00:00:04,500\r\n<i>Hello</i> there\r\nsecond line\r\n\r\n"
        "00:00:05.250 --> 00:00:07,000\r\nNo index here\r\n\r\n\r\n"
        "3\r\n00:01:02,5 --> 00:01:03,000 X1:40\r\n{\\an8}Top\r\n"
    )
    p = tmp_path / "a.srt"
    p.write_bytes(raw.encode("utf-8"))
    cues, problems = parse_subtitles(p)
    assert problems == []
    assert [(c.start_s, c.end_s, c.text) for c in cues] == [
        (1.0, 4.5, "Hello there second line"),
        (5.25, 7.0, "No index here"),
        (62.5, 63.0, "Top"),
    ]


def test_malformed_cues_are_reported_and_the_rest_load() -> None:
    text = (
        "1\n00:00:01,000 --> 00:00:02,000\nok one\n\n"
        "2\n00:00:0x,000 --> garbage\nbroken timing\n\n"
        "3\n00:00:09,000 --> 00:00:08,000\nends before start\n\n"
        "4\n00:00:10,000 --> 00:00:11,000\nok two\n"
    )
    cues, problems = parse_subtitle_text(text, "x.srt")
    assert [c.text for c in cues] == ["ok one", "ok two"]
    assert len(problems) == 2
    assert problems[0].line == 6 and "malformed timing" in problems[0].message
    assert problems[1].line == 10 and "before it starts" in problems[1].message


def test_webvtt_with_hours_omitted_notes_and_identifiers() -> None:
    text = (
        "WEBVTT - title\n\nNOTE a comment\nspanning lines\n\n"
        "intro\n00:01.000 --> 00:03.000 align:start\n<v Roger>Hi <c.yellow>you</c>\n\n"
        "01:00:00.000 --> 01:00:01.000\nan hour in\n"
    )
    cues, problems = parse_subtitle_text(text)
    assert problems == []
    assert [(c.start_s, c.text) for c in cues] == [(1.0, "Hi you"), (3600.0, "an hour in")]


def test_cue_without_blank_separator_starts_a_new_cue() -> None:
    cues, _ = parse_subtitle_text("1\n00:00:01,000 --> 00:00:02,000\nfirst\n2\n00:00:03,000 --> 00:00:04,000\nsecond\n")
    assert [c.text for c in cues] == ["first", "second"]


def test_empty_and_binary_files(tmp_path: Path) -> None:
    empty = tmp_path / "e.srt"
    empty.write_bytes(b"")
    cues, problems = parse_subtitles(empty)
    assert cues == [] and len(problems) == 1 and "no cues" in problems[0].message
    cp = tmp_path / "c.srt"
    cp.write_bytes("1\n00:00:01,000 --> 00:00:02,000\ncaf\xe9\n".encode("cp1252"))
    cues, problems = parse_subtitles(cp)
    assert cues[0].text == "café" and problems == []


def test_text_in_range_uses_overlap() -> None:
    cues, _ = parse_subtitle_text("00:00:10,000 --> 00:00:20,000\na\n\n00:00:25,000 --> 00:00:40,000\nb\n")
    assert text_in_range(cues, 0, 10) == ""
    assert text_in_range(cues, 0, 10.5) == "a"
    assert text_in_range(cues, 15, 30) == "a b"
    assert text_in_range(cues, 40, 60) == ""


def test_find_subtitles_takes_language_variants(tmp_path: Path) -> None:
    v = tmp_path / "film [1].mp4"
    v.write_bytes(b"x")
    for name in ("film [1].srt", "film [1].en.vtt", "other.srt"):
        (tmp_path / name).write_text("")
    assert [p.name for p in find_subtitles(v)] == ["film [1].srt", "film [1].en.vtt"]
