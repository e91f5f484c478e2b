"""Subtitle and transcript sidecars (``.srt``, ``.vtt``): a tolerant parser and time-range lookup.

Real subtitle files are messy: a UTF-8 BOM, Windows line endings, missing or wrong cue numbers,
``.`` instead of ``,`` before the milliseconds, hours left out, styling tags, stray blank lines.
The parser accepts all of these. A cue it cannot read (a bad timing line, an end before its
start) becomes a :class:`~mmroute.loaders.base.LoadProblem` with its line number and the other
cues still load, so one broken cue never costs a whole transcript.

>>> cues, problems = parse_subtitles(Path("film.srt"))
>>> text_in_range(cues, 200.0, 230.0)
'And three rodent pests'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .base import LoadProblem

SUBTITLE_EXTS = (".srt", ".vtt")
MAX_SUBTITLE_BYTES = 50 * 1024**2

_TIME = r"(?:(\d+):)?(\d{1,2}):(\d{1,2})(?:[.,](\d{1,3}))?"
_TIMING = re.compile(rf"^\s*{_TIME}\s*-->\s*{_TIME}(?:\s+.*)?$")
_TAG = re.compile(r"<[^>]{0,200}>|\{\\[^}]{0,200}\}")  # <i>, <c.yellow>, <00:01.000>, {\an8}


@dataclass(frozen=True)
class Cue:
    """One timed piece of text, in seconds from the start of the video."""

    start_s: float
    end_s: float
    text: str


def _seconds(h: str | None, m: str, s: str, frac: str | None) -> float:
    ms = int((frac or "0").ljust(3, "0")[:3])
    return int(h or 0) * 3600 + int(m) * 60 + int(s) + ms / 1000.0


def _clean(lines: Iterable[str]) -> str:
    text = " ".join(_TAG.sub("", ln).strip() for ln in lines)
    return re.sub(r"\s+", " ", text).strip()


def parse_subtitle_text(text: str, source: str = "<subtitles>") -> tuple[list[Cue], list[LoadProblem]]:
    """Parse SRT or WebVTT text (the format is recognised from the content, not the name).

    Returns the cues sorted by start time and the problems met (with 1-based line numbers).
    """
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    cues: list[Cue] = []
    problems: list[LoadProblem] = []
    i, n = 0, len(lines)
    if lines and lines[0].strip().startswith("WEBVTT"):
        i = 1
    while i < n:
        line = lines[i].strip()
        if not line:
            i += 1
            continue
        # WebVTT blocks that are not cues.
        if line.startswith(("NOTE", "STYLE", "REGION")) and "-->" not in line:
            while i < n and lines[i].strip():
                i += 1
            continue
        block_start = i
        # A block is: [index or cue identifier], timing line, text lines..., blank line.
        if "-->" not in line and i + 1 < n and "-->" in lines[i + 1]:
            i += 1
            line = lines[i].strip()
        if "-->" not in line:
            # Text without a timing line (e.g. a lost cue header): skip to the next blank line.
            problems.append(LoadProblem(source, f"cue without a timing line: {line[:60]!r}", block_start + 1))
            while i < n and lines[i].strip():
                i += 1
            continue
        timing_line = i + 1
        m = _TIMING.match(line)
        i += 1
        body: list[str] = []
        while i < n and lines[i].strip():
            if "-->" in lines[i] and _TIMING.match(lines[i]):
                break  # a cue missing its blank separator: the next cue starts here
            if lines[i].strip().isdigit() and i + 1 < n and _TIMING.match(lines[i + 1]):
                break  # ... or its index line does
            body.append(lines[i])
            i += 1
        if m is None:
            problems.append(
                LoadProblem(
                    source, f"malformed timing line {line[:60]!r} (expected HH:MM:SS,mmm --> HH:MM:SS,mmm)", timing_line
                )
            )
            continue
        start = _seconds(*m.group(1, 2, 3, 4))
        end = _seconds(*m.group(5, 6, 7, 8))
        if end < start:
            problems.append(LoadProblem(source, f"cue ends ({end:.3f}s) before it starts ({start:.3f}s)", timing_line))
            continue
        cue_text = _clean(body)
        if cue_text:
            cues.append(Cue(start, end, cue_text))
    cues.sort(key=lambda c: (c.start_s, c.end_s))
    return cues, problems


def parse_subtitles(path: Path) -> tuple[list[Cue], list[LoadProblem]]:
    """Read and parse a ``.srt``/``.vtt`` file. Unreadable or empty files are reported, not raised."""
    src = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_SUBTITLE_BYTES:
            return [], [
                LoadProblem(
                    src, f"subtitle file is {size / 1e6:.0f} MB, over the {MAX_SUBTITLE_BYTES // 1024**2} MB limit"
                )
            ]
        raw = path.read_bytes()
    except OSError as e:
        return [], [LoadProblem(src, f"cannot read subtitles: {e.strerror or e}")]
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = raw.decode("utf-16", errors="replace")
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("cp1252", errors="replace")  # old SRTs are often Windows-1252
    cues, problems = parse_subtitle_text(text, src)
    if not cues and not problems:
        problems.append(LoadProblem(src, "subtitle file holds no cues"))
    return cues, problems


def text_in_range(cues: Sequence[Cue], start_s: float, end_s: float) -> str:
    """The text of every cue overlapping [start_s, end_s), in time order, duplicates removed."""
    out: list[str] = []
    for c in cues:
        if c.start_s >= end_s:
            break
        overlaps = c.end_s > start_s or (c.start_s == c.end_s and c.start_s >= start_s)
        if overlaps and (not out or out[-1] != c.text):
            out.append(c.text)
    return " ".join(out)


def find_subtitles(video: Path) -> list[Path]:
    """Sidecars of a video: ``NAME.srt``/``NAME.vtt`` and language variants like ``NAME.en.srt``."""
    found: list[Path] = []
    for ext in SUBTITLE_EXTS:
        exact = video.with_suffix(ext)
        if exact.is_file():
            found.append(exact)
    for p in sorted(video.parent.glob(f"{glob_escape(video.stem)}.*")):
        if p.suffix.lower() in SUBTITLE_EXTS and p not in found and p.is_file():
            found.append(p)
    return found


def glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)
