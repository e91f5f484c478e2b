"""Answers in time: "When in the video …?" is answered with the moment, its time range and what is said there.

A question asks for a moment when it asks *when* (``when``, ``at what time``, ``at which point``, ``how far
into``) about a video (it names a video, clip, film, trailer or scene). Its answer is not a span of text
but a place in a video: among the retrieved clips and videos, the subtitle cue whose words cover most of
the question's content words (time and medium words left out) is the moment. The cue's own start and end
come from the video's subtitle file (``NAME.srt``/``NAME.vtt`` beside it, as the loader read it), so the
answer is "0:37–0:55" rather than the 30-second window that happened to hold it; without the file, the
clip's window and its subtitle text are used.

The moment is checked the way a person would: it is given only when its cue holds at least
:data:`MIN_COVERAGE` of the question's words; otherwise the answer is "I don't know" and the reason says
that no subtitle of the retrieved clips says what was asked.

>>> m = find_moment("At what time in the video does the bunny appear?", hits)
>>> fmt_time(m.start_s), fmt_time(m.end_s), m.text
('0:37', '0:55', 'A (slightly overweight) bunny')
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..text import stems_of
from ..types import COVERAGE_SIGNAL, Answer, Draft, Hit, Verdict, Verification

MIN_COVERAGE = 0.5
"""Share of the question's content words a subtitle cue must hold for its moment to be given."""
_WHEN = re.compile(
    r"\b(?:when|at what (?:time|point|moment|minute|second)|what time|at which (?:time|point|moment|minute)|"
    r"how (?:far|long|many (?:minutes|seconds)) into|how soon)\b",
    re.IGNORECASE,
)
_VIDEO = re.compile(r"\b(?:video|clip|film|movie|trailer|scene|footage|recording)s?\b", re.IGNORECASE)
_NOT_ASKED = (
    "time",
    "point",
    "moment",
    "minute",
    "second",
    "video",
    "clip",
    "film",
    "movie",
    "trailer",
    "scene",
    "footage",
)
"""Time and medium words: what a moment question asks *for*, not what the moment says."""
GENERATOR = "moment"


@dataclass(frozen=True)
class Moment:
    hit: Hit
    start_s: float
    end_s: float
    text: str
    coverage: float


def asks_for_moment(question: str) -> bool:
    """Whether ``question`` asks *when* something happens in a video (see module doc)."""
    return bool(_WHEN.search(question) and _VIDEO.search(question))


def moment_of(answer: Answer) -> tuple[Hit, float, float] | None:
    """(the clip, start, end) of an answer given as a moment, for playing it (None for any other answer)."""
    d, v = answer.draft, answer.verification
    if answer.abstained or d is None or v is None or d.generator != GENERATOR or "moment_start_s" not in v.signals:
        return None
    hit = next((h for h in answer.evidence if h.item.id in d.evidence_ids), None)
    return (hit, float(v.signals["moment_start_s"]), float(v.signals["moment_end_s"])) if hit else None


def fmt_time(seconds: float) -> str:
    """``m:ss`` (``h:mm:ss`` from an hour)."""
    h, rest = divmod(int(round(seconds)), 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _cues(hit: Hit) -> list[tuple[float, float, str]]:
    """(start, end, text) of the subtitle cues inside the hit's time range, from the video's subtitle file;
    the hit's own window and subtitle text when the file cannot be read."""
    it = hit.item
    start = float(it.start_s or 0.0)
    end = float(it.end_s if it.end_s is not None else start)
    if it.source:
        from ..loaders.subtitles import find_subtitles, parse_subtitles

        found: list[tuple[float, float, str]] = []
        for sub in find_subtitles(Path(it.source)):
            cues, _ = parse_subtitles(sub)
            found += [(c.start_s, c.end_s, c.text) for c in cues if c.end_s > start and c.start_s < end]
        if found:
            return found
    said = str((it.metadata or {}).get("subtitles") or "")
    return [(start, end, said)] if said else []


def find_moment(question: str, hits: Sequence[Hit]) -> Moment | None:
    """The best-covered subtitle cue of the retrieved clips and videos (ties: the better-ranked hit), or None."""
    from ..text import text_stems, word_coverage

    stems = {s for s in text_stems(question) if s not in stems_of(_NOT_ASKED)}
    best: Moment | None = None
    for hit in hits:
        if hit.item.start_s is None:
            continue
        for start, end, text in _cues(hit):
            cov = word_coverage(stems, text)
            if best is None or cov > best.coverage:
                best = Moment(hit, start, end, " ".join(text.split()), cov)
    return best


def moment_answer(question: str, hits: Sequence[Hit]) -> tuple[Draft, Verification] | None:
    """The draft and its check for a moment question (None when no retrieved item is a clip or video)."""
    m = find_moment(question, hits)
    if m is None:
        return None
    title = m.hit.item.title or m.hit.item.doc_id or m.hit.item.id
    text = f"{fmt_time(m.start_s)}–{fmt_time(m.end_s)} in {title}: “{m.text}”"
    draft = Draft(text, (m.hit.item.id,), m.text, m.coverage, GENERATOR)
    signals = {COVERAGE_SIGNAL: m.coverage, "moment_start_s": m.start_s, "moment_end_s": m.end_s}
    reasons: tuple[str, ...]
    if m.coverage >= MIN_COVERAGE:
        reasons = (
            f"supported: the subtitle at {fmt_time(m.start_s)}–{fmt_time(m.end_s)} holds {m.coverage:.0%} of the "
            "question's words",
            f"what is said there: “{m.text}”",
        )
        return draft, Verification(Verdict.SUPPORTED, m.coverage, reasons, signals, False)
    reasons = (
        f"withheld: no subtitle of the retrieved clips says what was asked (the closest holds {m.coverage:.0%} of "
        f"the question's words, needs {MIN_COVERAGE:.0%})",
    )
    return draft, Verification(Verdict.UNSUPPORTED, m.coverage, reasons, signals, True)
