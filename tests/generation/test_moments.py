"""Answers in time: "when in the video …" is answered with the subtitle cue's own time range and words, given
only when the cue says what was asked (a positive and a negative control), through the pipeline too."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from mmroute.config import PipelineConfig
from mmroute.generation.moments import asks_for_moment, find_moment, fmt_time, moment_answer, moment_of
from mmroute.pipeline import Pipeline
from mmroute.types import Draft, Granularity, Hit, Item, RetrievalResult, Verdict

SRT = """1
00:00:16,000 --> 00:00:20,000
An unlucky bird

2
00:00:37,000 --> 00:00:55,000
A (slightly overweight) bunny

3
00:04:41,500 --> 00:04:44,700
Revenge is coming...
"""


def clip(source: Path, start: float, end: float, subtitles: str, score: float) -> Hit:
    item = Item(
        id=f"film.mp4#t={start:g}-{end:g}",
        kind=Granularity.CLIP,
        title="Big Buck Bunny",
        text=f"{subtitles}\nA giant rabbit takes revenge on three rodents.",
        source=str(source),
        doc_id="film.mp4",
        start_s=start,
        end_s=end,
        metadata={"subtitles": subtitles},
    )
    return Hit(item, score, "films-clip", 1)


@pytest.fixture()
def clips(tmp_path: Path) -> list[Hit]:
    video = tmp_path / "film.mp4"
    video.write_bytes(b"")  # the moment is read from the sidecar, not the pixels
    (tmp_path / "film.srt").write_text(SRT, encoding="utf-8")
    return [
        clip(video, 260, 290, "Revenge is coming...", 0.61),
        clip(video, 40, 70, "A (slightly overweight) bunny", 0.55),
        clip(video, 0, 30, "An unlucky bird", 0.52),
    ]


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        ("At what time in the video does the bunny appear?", True),
        ("When does the unlucky bird appear in the clip?", True),
        ("How far into the film is revenge announced?", True),
        ("When did the Normans reach Italy?", False),
        ("Who directed the film Inception?", False),
    ],
)
def test_a_moment_question_is_recognised(question: str, asks: bool) -> None:
    assert asks_for_moment(question) is asks


def test_the_moment_is_the_subtitle_cue_not_the_window(clips: list[Hit]) -> None:
    m = find_moment("At what time in the video does the bunny appear?", clips)
    assert m is not None and (m.start_s, m.end_s) == (37.0, 55.0) and m.text == "A (slightly overweight) bunny"
    assert fmt_time(281.5) == "4:42" and fmt_time(3725) == "1:02:05"


def test_the_moment_is_given_when_its_words_say_it_and_withheld_when_not(clips: list[Hit]) -> None:
    right = moment_answer("When does the unlucky bird appear in the video?", clips)
    assert right is not None
    draft, ver = right
    assert draft.text == "0:16–0:20 in Big Buck Bunny: “An unlucky bird”" and not ver.abstain
    assert ver.verdict is Verdict.SUPPORTED and "An unlucky bird" in " ".join(ver.reasons)
    # its confidence is the cue's word coverage, and every surface says so rather than show it as a probability
    assert ver.confidence_text() == "subtitle word coverage 67%, not a probability"
    wrong = moment_answer("When does the dragon breathe fire in the video?", clips)
    assert wrong is not None and wrong[1].abstain and wrong[1].verdict is Verdict.UNSUPPORTED
    assert "no subtitle of the retrieved clips says what was asked" in wrong[1].reasons[0]


def test_without_a_subtitle_file_the_clip_window_and_its_subtitle_are_used(tmp_path: Path) -> None:
    hits = [clip(tmp_path / "gone.mp4", 260, 290, "Revenge is coming...", 0.6)]
    m = find_moment("When in the film is revenge coming?", hits)
    assert m is not None and (m.start_s, m.end_s) == (260, 290) and m.coverage == 1.0


class FixedRetriever:
    name = "fixed"

    def __init__(self, hits: Sequence[Hit]) -> None:
        self.hits = tuple(hits)

    def warm_up(self) -> None: ...

    def retrieve(self, question: str, k: int = 5, kbs=None, image=None) -> RetrievalResult:  # noqa: ANN001
        return RetrievalResult(question, self.hits[:k], ())


class NeverCalled:
    name = "never"

    def warm_up(self) -> None: ...

    def generate(self, question: str, hits: Sequence[Hit], image: Path | None = None) -> Draft:
        raise AssertionError("a moment question is answered by its moment, not by the text generator")

    def closed_book(self, question: str, hits: Sequence[Hit], image: Path | None = None) -> Draft:
        raise AssertionError("not called")


def test_the_pipeline_answers_a_moment_question_with_its_moment(clips: list[Hit]) -> None:
    from mmroute.verification.verifier import EvidenceVerifier

    pipe = Pipeline(FixedRetriever(clips), NeverCalled(), EvidenceVerifier(reader=None), PipelineConfig())
    ans = pipe.ask("At what time in the video does the bunny appear?")
    assert ans.display_text.startswith("0:37–0:55") and not ans.abstained
    played = moment_of(ans)
    assert played is not None and played[0].item.start_s == 40 and played[1:] == (37.0, 55.0)
    d = ans.to_dict()
    assert d["answer"] == ans.text and d["draft"]["generator"] == "moment"
    no = pipe.ask("When does the dragon breathe fire in the video?")
    assert no.abstained and no.display_text == "I don't know" and moment_of(no) is None
