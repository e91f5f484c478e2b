"""Questions about the query image itself: "What is in this picture?" is answered by the KB photo that looks like it.

Such a question has no words of its own to check an answer against: every word in it is about looking or
showing ("What is in this picture?", "What does this photo show?", "Who is this?":
:func:`~mmroute.text.only_about_the_medium`). What it asks is what the
user's image shows, and the knowledge bases can say that only through a photo of theirs that looks like it. So:

- the photo is the image or video item nearest to the query image by the image itself
  (:attr:`~mmroute.types.RetrievalResult.image_hits`), not whichever caption says "picture";
- the answer is what that photo's words say it shows: their first sentence ("Coffee cup", "Chelsea the cat");
  a reader's span of them answers another question ("American flag" for the astronaut's portrait);
- it is checked the way a person would: the photo must look like the user's (image cosine at least
  :data:`MIN_IMAGE_SIMILARITY`), and no other photo with other words may look about as much like it (within
  :data:`MIN_LEAD`). Otherwise the answer is "I don't know", and the reason names the closest photos and how
  close they came.

Like a video moment (:mod:`.moments`), this answer does not come from the configured generator.

The two numbers are measured, not guessed: ``evals/experiments/exp_photo_match.py`` queries the photos of the
shared sample with edited copies of themselves (cropped, mirrored, shrunk, darkened, re-compressed) and with
photos that are not in the KB (TextVQA's sample), chooses them on one half of the photos and scores them on the
other (``evals/results/photo_match.json``). Held out that way, 113 of 120 copies were answered with their photo's
words and none wrongly, and 2 of 30 photos in no KB were answered wrongly (without the check, 28 were). The
constants are the values the same fit chooses on all of the photos.

>>> draft, checked = photo_answer(result.image_hits)   # result: the retrieval of a query with an image
>>> draft.text, checked.confidence_text()
('Coffee cup', 'image similarity 0.99, not a probability')
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..limits import preview
from ..text import LOOKING_WORDS, MEDIA_WORDS, split_sentences, stems_of, text_stems, word_coverage
from ..types import CAPTION_COVERAGE_SIGNAL, IMAGE_MATCH_SIGNAL, Draft, Hit, Modality, Verdict, Verification

GENERATOR = "photo"
"""The draft's generator name for an answer given by the photo that looks like the query image."""
MIN_IMAGE_SIMILARITY = 0.94
"""The cosine a KB photo needs to the query image (in the KB encoder's space) for its words to answer."""
MIN_LEAD = 0.005
"""How much closer to the query image the photo must be than any other photo whose words say something else."""
QUOTE_CHARS = 160
"""How much of the photo's words a reason quotes (:func:`~mmroute.limits.preview`)."""


def photo_sentences(hit: Hit) -> list[str]:
    """The sentences of a photo's words, each without its full stop."""
    text = hit.item.readable.strip()
    return [text[a:b].strip().rstrip(".").strip() for a, b in split_sentences(text)]


def what_it_shows(hit: Hit) -> str:
    """The first sentence of a photo's words, without its full stop ("Coffee cup")."""
    return next(iter(photo_sentences(hit)), "")


@dataclass(frozen=True)
class PhotoMatch:
    """The KB photo nearest to the query image with words to say what it shows, and the nearest photo whose
    words say something else (None when there is none)."""

    hit: Hit
    rival: Hit | None = None

    @property
    def similarity(self) -> float:
        return float(self.hit.score)

    @property
    def lead(self) -> float:
        """How much closer the photo is to the query image than its rival (1.0 without one)."""
        return self.similarity - float(self.rival.score) if self.rival is not None else 1.0

    def answers(self, min_similarity: float = MIN_IMAGE_SIMILARITY, min_lead: float = MIN_LEAD) -> bool:
        """Whether the photo's words may say what the query image shows: it has words, looks like the query image
        and leads every photo with other words (``evals/experiments/exp_photo_match.py`` sweeps the two bounds)."""
        return bool(what_it_shows(self.hit)) and self.similarity >= min_similarity and self.lead >= min_lead


def nearest_photo(image_hits: Sequence[Hit]) -> PhotoMatch | None:
    """The :class:`PhotoMatch` of the items a query image found (None when it found none). The nearest photo may
    have no words (:func:`photo_answer` then says so); a rival always has words."""
    ranked = [(h, what_it_shows(h).casefold()) for h in sorted(image_hits, key=lambda h: -h.score)]
    if not ranked:
        return None
    best, shows = ranked[0]
    return PhotoMatch(best, next((h for h, said in ranked[1:] if said and said != shows), None))


def name_of(hit: Hit) -> str:
    return hit.item.title or hit.item.id


def quoted(hit: Hit) -> str:
    """The start of a photo's words, cut at a word, on one line."""
    return preview(hit.item.readable, QUOTE_CHARS)


def photo_answer(image_hits: Sequence[Hit]) -> tuple[Draft, Verification] | None:
    """The draft and its check for a question about the query image (None when its search found no photo): what the
    nearest photo's words say it shows, shown only when that photo looks like the query image."""
    match = nearest_photo(image_hits)
    if match is None:
        return None
    hit = match.hit
    shows = what_it_shows(hit)
    draft = Draft(shows or None, (hit.item.id,), shows, match.similarity, GENERATOR)
    signals = {IMAGE_MATCH_SIGNAL: match.similarity, "image_lead": match.lead}
    closest = f"{name_of(hit)} (image similarity {match.similarity:.2f}, needs {MIN_IMAGE_SIMILARITY:.2f})"
    said = f"what that photo's words say: {quoted(hit)!r}"
    if not shows:
        alike = "looks like yours" if match.similarity >= MIN_IMAGE_SIMILARITY else "is the closest to yours"
        reasons: tuple[str, ...] = (
            f"withheld: the photo that {alike}, {closest}, has no words (caption, title or text) to say what it shows",
        )
        return draft, Verification(Verdict.UNSUPPORTED, match.similarity, reasons, signals, True)
    if match.similarity < MIN_IMAGE_SIMILARITY:
        reasons = (
            f"withheld: no photo in the knowledge bases looks like yours; the closest is {closest}",
            said,
        )
        return draft, Verification(Verdict.UNSUPPORTED, match.similarity, reasons, signals, True)
    if not match.answers() and match.rival is not None:  # it has words and looks like it: the rival is as close
        rival = match.rival
        reasons = (
            f"withheld: two photos with different words look about equally like yours: {name_of(hit)} "
            f"({match.similarity:.3f}) and {name_of(rival)} ({float(rival.score):.3f}); one needs a lead of "
            f"{MIN_LEAD:.2f}",
            said,
            f"what {name_of(rival)}'s words say: {quoted(rival)!r}",
        )
        return draft, Verification(Verdict.UNSUPPORTED, match.similarity, reasons, signals, True)
    reasons = (f"supported: your image looks like {closest}; the answer is what that photo's words say it shows", said)
    return draft, Verification(Verdict.SUPPORTED, match.similarity, reasons, signals, False)


def users_photo_first(hits: Sequence[Hit], image_hits: Sequence[Hit]) -> list[Hit]:
    """The evidence with the KB photo the query image is (by :meth:`PhotoMatch.answers`) as its first hit, in the
    evidence budget: a question with words of its own about the user's photo ("What animal is shown in this
    photo?") is about that photo, whose words describe it, though another photo's words may match the question's
    better (the cat's "a facial photo of a tabby cat" ranked above the horse the user sent). ``hits`` as they are
    when no KB photo looks like the query image."""
    match = nearest_photo(image_hits)
    if match is None or not match.answers():
        return list(hits)
    own = match.hit.item.id
    first = next((h for h in hits if h.item.id == own), match.hit)
    rest = [h for h in hits if h.item.id != own]
    return [first, *rest[: max(len(hits) - 1, 0)]]


_WHICH_PHOTO = re.compile(
    r"\b(?:which|what)\s+(?:\w+\s+)?(?:photo|photograph|picture|pic|image|snapshot)s?\b", re.IGNORECASE
)
MIN_CAPTION_COVERAGE = 0.5
"""Share of a "which photo" question's own words (medium and looking words left out) a photo's words must hold."""


def saying(hit: Hit, asked: set[str]) -> str:
    """The sentence of a photo's words that holds most of the question's words (the first of equals), without its
    full stop: what shows the photo is the one asked for ("a red motorcycle standing in a garage", not the stereo
    pair's "Rectified stereo image pair with ground-truth disparities")."""
    return max(photo_sentences(hit), key=lambda s: word_coverage(asked, s), default="")


def asks_which_photo(question: str) -> bool:
    """Whether ``question`` asks for a photo ("Which photo shows a cat?", "What picture was taken at night?")."""
    return bool(_WHICH_PHOTO.search(question))


def photo_by_words(question: str, hits: Sequence[Hit]) -> tuple[Draft, Verification] | None:
    """The draft and its check for a question that asks for a photo (None when no retrieved item is a photo, or the
    question has no words of its own): the photo whose words hold most of the question's words (ties: the better
    ranked), named with what its words say it shows, and shown only when they hold at least
    :data:`MIN_CAPTION_COVERAGE` of them, like a video moment's subtitle (:mod:`.moments`)."""
    asked = {s for s in text_stems(question) if s not in stems_of((*MEDIA_WORDS, *LOOKING_WORDS))}
    photos = [(word_coverage(asked, h.item.readable), h) for h in hits if h.item.modality is Modality.IMAGE]
    if not asked or not photos:
        return None
    coverage, best = max(photos, key=lambda x: x[0])  # max keeps the first of equals: the better ranked
    shows = saying(best, asked)
    text = f"{name_of(best)}: “{shows}”" if shows else name_of(best)
    draft = Draft(text, (best.item.id,), shows, coverage, GENERATOR)
    signals = {CAPTION_COVERAGE_SIGNAL: coverage}
    if coverage >= MIN_CAPTION_COVERAGE:
        alike = list(dict.fromkeys(name_of(h) for c, h in photos if c == coverage and h is not best))
        reasons: tuple[str, ...] = (
            f"supported: the words of {name_of(best)} hold {coverage:.0%} of the question's words",
            f"what that photo's words say: {quoted(best)!r}",
            *([f"the words of {', '.join(alike[:3])} hold as many"] if alike else []),
        )
        return draft, Verification(Verdict.SUPPORTED, coverage, reasons, signals, False)
    reasons = (
        f"withheld: no retrieved photo's words say what was asked (the closest, {name_of(best)}, holds {coverage:.0%} "
        f"of the question's words, needs {MIN_CAPTION_COVERAGE:.0%})",
    )
    return draft, Verification(Verdict.UNSUPPORTED, coverage, reasons, signals, True)
