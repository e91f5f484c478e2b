"""The offline default generator: pick a short answer span from the evidence, no LLM needed.

How it answers:

1. The question is analysed for the kind of answer it wants (:mod:`.question`).
2. Every evidence sentence is scored against the question: MiniLM cosine plus IDF-weighted overlap of
   the question's content words (IDF over the retrieved sentences themselves), plus the hit's rank.
3. In the best sentences, candidate spans are cut: numbers and dates (with their unit),
   capitalised name spans, and runs of content words (a stand-in for noun phrases without a tagger).
   Short word windows (up to ``max_answer_words``) inside a clause are candidates too, so an answer
   can be a short clause when the question wants a description.
4. Each candidate is described by features: its sentence's scores, how close the question's words sit
   around it ("context overlap": SQuAD answers sit next to the words the question copies from the text),
   whether its kind matches the expected answer type, whether it merely repeats the question, its
   length and its boundaries. A linear ranker combines them. Its weights are learned on shared data
   by ``python -m evals.build.calibrate_verifier`` (logistic regression, written to
   ``mmroute/data/verifier/offline_ranker.json``); without that file, hand-set priors are used.
   The best candidate is the answer; its sentence is the ``support``.
5. Optionally (``answer_window=N``) the answer is widened into a short *answer window*: the smallest
   run of the best sentence that covers the best candidate and those of the next-ranked candidates
   (top ``WINDOW_POOL``) in the same sentence, as long as it stays within ``N`` words (articles not
   counted) and crosses no clause break. When the ranker hesitates between neighbouring spans
   ("Rollo" vs "their leader Rollo"), the window holds both, and it is still a short answer.

:meth:`ExtractiveGenerator.closed_book` is the dual-path partner: a purely lexical reading of the
same evidence (no embeddings, no retrieval order). There is no knowledge without evidence offline, so
"without retrieval" becomes "without the dense retrieval signal": when the two readings land on the same
span, the answer does not hinge on one scorer's quirks.

>>> gen = ExtractiveGenerator()
>>> gen.generate("Who was the Norse leader?", hits).text
'Rollo'
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..text import MONTHS, NUMBER_WORDS, STOPWORDS, LocalIdf, Token, is_content, split_sentences, stem, tokenize
from ..types import Draft, Hit
from .embedding import SentenceEmbedder, shared_embedder
from .question import AnswerType, QuestionAnalysis, analyze_question

_CONNECT_IN_NAME = frozenset({"of", "the", "de", "la", "le", "von", "van", "del", "da", "du", "der", "al", "y", "&"})
_UNIT_STOP = frozenset({"and", "or", "to", "in", "of", "the", "a", "an", "for", "by", "with", "from", "at", "on"})
_DATE_WORDS = frozenset({"century", "centuries", "decade", "decades", "year", "years", "bc", "bce", "ad", "ce"})
_NUMBER_CONNECT = frozenset({"and", "to", "-", "–", "or", ","})
_CLAUSE_BREAK = frozenset({".", ";", ":", "!", "?", "(", ")", '"', "“", "”"})
_ARTICLES = frozenset({"a", "an", "the"})
WINDOW_POOL = 5
"""How many of the best-ranked candidates an answer window may merge."""
DEFAULT_ANSWER_WINDOW = 0
"""Default ``answer_window`` of :class:`ExtractiveGenerator` (0: the single best span)."""


@dataclass(frozen=True)
class Sentence:
    hit_index: int
    index: int
    text: str
    tokens: tuple[Token, ...]
    stems: tuple[str, ...]
    """Stem of every token (punctuation kept as is), aligned with ``tokens``."""


@dataclass
class Candidate:
    """A span of one evidence sentence that could answer the question."""

    sentence: Sentence
    start: int
    """First token index in the sentence."""
    end: int
    """One past the last token index."""
    kinds: frozenset[str]
    score: float = 0.0
    features: dict[str, float] = field(default_factory=dict)

    @property
    def text(self) -> str:
        toks = self.sentence.tokens
        return self.sentence.text[toks[self.start].start : toks[self.end - 1].end]


# ----- candidate spans ----------------------------------------------------------------------------


def _is_num(t: Token) -> bool:
    return any(c.isdigit() for c in t.text) or t.lower in NUMBER_WORDS


def _is_year(t: Token) -> bool:
    s = t.text.rstrip("s")
    return s.isdigit() and len(s) in (3, 4) and 500 <= int(s) <= 2100


def candidate_spans(tokens: Sequence[Token]) -> list[tuple[int, int, frozenset[str]]]:
    """(start, end, kinds) spans of a tokenised sentence; kinds from {number, date, proper, phrase}."""
    spans: dict[tuple[int, int], set[str]] = {}

    def add(a: int, b: int, kind: str) -> None:
        if 0 <= a < b <= len(tokens):
            spans.setdefault((a, b), set()).add(kind)

    n = len(tokens)
    i = 0
    while i < n:
        t = tokens[i]
        if _is_num(t) or t.lower in MONTHS and t.is_capitalised:
            j = i + 1
            while j < n and (
                _is_num(tokens[j])
                or (tokens[j].lower in MONTHS and tokens[j].is_capitalised)
                or (tokens[j].lower in _NUMBER_CONNECT and j + 1 < n and _is_num(tokens[j + 1]))
            ):
                j += 1
            core = (i, j)
            is_date = any(_is_year(x) or x.lower in MONTHS for x in tokens[i:j])
            # a unit or counted noun right after the number ("11th centuries", "20,000 people")
            k = j
            while (
                k < n
                and k - j < 2
                and tokens[k].is_word
                and tokens[k].lower not in _UNIT_STOP
                and not tokens[k].is_capitalised
                and not _is_num(tokens[k])
            ):
                k += 1
            if any(x.lower in _DATE_WORDS for x in tokens[j:k]):
                is_date = True
            kind = "date" if is_date else "number"
            if not (t.lower in MONTHS and j == i + 1):  # a lone month name is not a date
                add(*core, kind)
                if k > j:
                    add(i, k, kind)
            i = j
            continue
        i += 1
    # capitalised name spans (not counting a sentence-initial function word)
    i = 0
    while i < n:
        t = tokens[i]
        if t.is_word and t.is_capitalised and not (i == 0 and t.lower in STOPWORDS):
            j = i + 1
            while j < n and (
                (tokens[j].is_word and tokens[j].is_capitalised)
                or (tokens[j].lower in _CONNECT_IN_NAME and j + 1 < n and tokens[j + 1].is_capitalised)
                or (tokens[j].text in {"-", "."} and j + 1 < n and tokens[j + 1].is_capitalised)
            ):
                j += 1
            add(i, j, "proper")
            i = j
            continue
        i += 1
    # runs of content words: a noun-phrase stand-in; also the run with a leading adjective-like word
    i = 0
    while i < n:
        if is_content(tokens[i]):
            j = i
            while j < n and is_content(tokens[j]) and j - i < 6:
                j += 1
            add(i, j, "phrase")
            if j - i >= 2:
                add(j - 1, j, "phrase")  # the head word alone
                add(i + 1, j, "phrase")
            i = j
            continue
        i += 1
    return [(a, b, frozenset(k)) for (a, b), k in sorted(spans.items())]


def answer_window(ranked: Sequence[Candidate], max_words: int, pool: int = WINDOW_POOL) -> tuple[int, int]:
    """Token span (start, end) in the best candidate's sentence: the best candidate widened to cover
    each of the next ``pool - 1`` candidates of that sentence while the union stays within
    ``max_words`` words (articles not counted) and crosses no clause break. ``max_words <= 0``: no widening."""
    best = ranked[0]
    s, a, b = best.sentence, best.start, best.end
    if max_words <= 0:
        return a, b
    for c in ranked[1:pool]:
        if c.sentence is not s:
            continue
        na, nb = min(a, c.start), max(b, c.end)
        toks = s.tokens[na:nb]
        if sum(1 for t in toks if t.is_word and t.lower not in _ARTICLES) <= max_words and not any(
            t.text in _CLAUSE_BREAK for t in toks
        ):
            a, b = na, nb
    return a, b


def _window_spans(tokens: Sequence[Token], max_words: int) -> list[tuple[int, int]]:
    """Word windows that neither start nor end on punctuation or a stopword and cross no clause break."""
    n = len(tokens)
    out: list[tuple[int, int]] = []
    for a in range(n):
        if not is_content(tokens[a]):
            continue
        words = 0
        for b in range(a, n):
            t = tokens[b]
            if t.text in _CLAUSE_BREAK:
                break
            if t.is_word:
                words += 1
                if words > max_words:
                    break
            if is_content(t):
                out.append((a, b + 1))
    return out


_TYPES = tuple(t.value for t in AnswerType)
_KINDS = ("number", "date", "proper", "phrase")


def feature_names() -> list[str]:
    names = [
        "bias",
        "sent_dense",
        "sent_lex",
        "sent_rank",
        "hit_rank",
        "prox",
        "prox_left",
        "prox_right",
        "adjacent",
        "repeats",
        "any_repeat",
        "starts_stop",
        "left_break",
        "right_break",
        "focus_near",
        "cap_start",
        "inner_comma",
        "n_words",
        "gap_left",
        "gap_right",
        "gap_both",
        "q_inside",
        "after_focus",
        "wh_first",
        "wh_first*left",
        "wh_first*right",
    ]
    names += [f"len_{i}" for i in range(1, 8)]
    for t in _TYPES:
        for k in _KINDS:
            names += [f"{t}*exact_{k}", f"{t}*has_{k}"]
    return names


FEATURES = feature_names()

# Hand-set priors, used only when no learned ranker file is present.
DEFAULT_WEIGHTS: dict[str, float] = {
    "bias": -2.0,
    "sent_dense": 1.0,
    "sent_lex": 1.5,
    "sent_rank": 0.5,
    "hit_rank": -0.15,
    "prox": 1.5,
    "adjacent": 0.5,
    "repeats": -2.0,
    "any_repeat": -0.5,
    "left_break": 0.2,
    "right_break": 0.2,
    "n_words": -0.05,
    "inner_comma": -0.3,
    **{
        f"{t}*exact_{k}": 0.8
        for t, k in (
            ("number", "number"),
            ("date", "date"),
            ("person", "proper"),
            ("location", "proper"),
            ("entity", "proper"),
            ("entity", "phrase"),
            ("description", "phrase"),
        )
    },
}


@dataclass(frozen=True)
class RankerWeights:
    """A linear candidate ranker: weight per feature name (missing features weigh 0)."""

    weights: dict[str, float]
    source: str = "priors"

    @classmethod
    def load(cls, path: Path | None = None) -> RankerWeights:
        import json

        path = path or DEFAULT_RANKER_PATH
        if path.is_file():
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls({str(k): float(v) for k, v in data["weights"].items()}, source=str(path))
        return cls(dict(DEFAULT_WEIGHTS))

    def vector(self) -> np.ndarray:
        return np.array([self.weights.get(f, 0.0) for f in FEATURES], dtype=np.float64)


DEFAULT_RANKER_PATH = Path(__file__).resolve().parents[1] / "data" / "verifier" / "offline_ranker.json"


class ExtractiveGenerator:
    """Offline extractive answerer (no LLM); registered as ``offline``. See the module doc."""

    name = "offline"

    def __init__(
        self,
        *,
        max_sentences: int = 8,
        max_hits: int = 5,
        max_answer_words: int = 7,
        ranker: RankerWeights | str | None = None,
        embedder: SentenceEmbedder | None = None,
        answer_window: int = DEFAULT_ANSWER_WINDOW,
    ) -> None:
        self.max_sentences = int(max_sentences)
        self.max_hits = int(max_hits)
        self.max_answer_words = int(max_answer_words)
        self.answer_window = int(answer_window)
        self._ranker_arg = ranker
        self._ranker: RankerWeights | None = ranker if isinstance(ranker, RankerWeights) else None
        self._embedder = embedder
        self._parsed: dict[str, list[tuple[str, tuple[Token, ...], tuple[str, ...]]]] = {}

    @property
    def ranker(self) -> RankerWeights:
        if self._ranker is None:
            self._ranker = RankerWeights.load(Path(self._ranker_arg) if isinstance(self._ranker_arg, str) else None)
        return self._ranker

    @property
    def embedder(self) -> SentenceEmbedder:
        if self._embedder is None:
            self._embedder = shared_embedder()
        return self._embedder

    def warm_up(self) -> None:
        self.embedder.warm_up()
        _ = self.ranker

    # --- public API -------------------------------------------------------------------------------
    def generate(self, question: str, hits: Sequence[Hit], image: Path | None = None) -> Draft:
        t0 = time.perf_counter()
        return self._draft(self.rank(question, hits, dense=True), hits, t0, self.name)

    def closed_book(self, question: str, hits: Sequence[Hit], image: Path | None = None) -> Draft | None:
        t0 = time.perf_counter()
        return self._draft(self.rank(question, hits, dense=False), hits, t0, f"{self.name}:lexical")

    def rank(self, question: str, hits: Sequence[Hit], dense: bool = True) -> list[Candidate]:
        """All candidates, best first. ``dense=False`` scores without embeddings or hit order."""
        cands = self.candidates(question, hits, dense)
        if not cands:
            return []
        w = self.ranker.vector()
        X = np.array([[c.features.get(f, 0.0) for f in FEATURES] for c in cands], dtype=np.float64)
        scores = X @ w
        for c, sc in zip(cands, scores):
            c.score = float(sc)
        cands.sort(key=lambda c: -c.score)
        return cands

    def candidates(self, question: str, hits: Sequence[Hit], dense: bool = True) -> list[Candidate]:
        """Candidates with their features (unscored); used by :meth:`rank` and by calibration."""
        qa = analyze_question(question)
        sents = self._sentences(hits)
        if not sents:
            return []
        idf = LocalIdf([s.stems for s in sents])
        total = sum(idf(t) for t in qa.terms) or 1.0
        lex = np.array([sum(idf(t) for t in qa.terms if t in set(s.stems)) / total for s in sents])
        if dense:
            dn = self.embedder.similarity(qa.text, [s.text for s in sents]).astype(np.float64)
            key = 1.5 * lex + dn - 0.15 * np.array([math.log1p(s.hit_index) for s in sents])
        else:
            dn = np.zeros(len(sents))
            key = lex
        order = np.argsort(-key, kind="stable")[: self.max_sentences]
        out: list[Candidate] = []
        for rank, si in enumerate(order):
            s = sents[int(si)]
            base = {
                "bias": 1.0,
                "sent_dense": float(dn[si]),
                "sent_lex": float(lex[si]),
                "sent_rank": 1.0 / (1.0 + rank),
                "hit_rank": math.log1p(s.hit_index) if dense else 0.0,
            }
            typed = candidate_spans(s.tokens)
            typed_map: dict[tuple[int, int], frozenset[str]] = {(a, b): k for a, b, k in typed}
            spans = set(_window_spans(s.tokens, self.max_answer_words)) | {
                (a, b) for a, b, _ in typed if sum(t.is_word for t in s.tokens[a:b]) <= self.max_answer_words
            }
            qpos = [(i, st) for i, st in enumerate(s.stems) if st in set(qa.terms)]
            for a, b in sorted(spans):
                feats = dict(base)
                feats.update(self._span_features(qa, s, a, b, idf, total, qpos, typed, typed_map))
                kinds = typed_map.get((a, b), frozenset())
                out.append(Candidate(s, a, b, kinds, 0.0, feats))
        return out

    # --- internals --------------------------------------------------------------------------------
    def _span_features(
        self,
        qa: QuestionAnalysis,
        s: Sentence,
        a: int,
        b: int,
        idf: LocalIdf,
        total: float,
        qpos: list[tuple[int, str]],
        typed: list[tuple[int, int, frozenset[str]]],
        typed_map: dict[tuple[int, int], frozenset[str]],
    ) -> dict[str, float]:
        toks = s.tokens
        best: dict[str, tuple[int, int]] = {}  # stem -> (token distance, side)
        for i, st in qpos:
            if a <= i < b:
                continue
            d = (a - i) if i < a else (i - b + 1)
            if st not in best or d < best[st][0]:
                best[st] = (d, -1 if i < a else 1)
        prox = left = right = 0.0
        adjacent = 0.0
        for st, (d, side) in best.items():
            v = idf(st) * math.exp(-(d - 1) / 4.0)
            prox += v
            if side < 0:
                left += v
            else:
                right += v
            if d <= 2:
                adjacent = 1.0
        qterms = set(qa.terms)
        content = [s.stems[i] for i in range(a, b) if is_content(toks[i])]
        rep = (sum(1 for x in content if x in qterms) / len(content)) if content else 1.0
        n_words = sum(1 for t in toks[a:b] if t.is_word)
        f: dict[str, float] = {
            "prox": prox / total,
            "prox_left": left / total,
            "prox_right": right / total,
            "adjacent": adjacent,
            "repeats": rep,
            "any_repeat": float(rep > 0),
            "starts_stop": float(toks[a].lower in STOPWORDS),
            "left_break": float(a == 0 or not toks[a - 1].is_word),
            "right_break": float(b == len(toks) or not toks[b].is_word),
            "focus_near": float(
                bool(qa.focus) and any(s.stems[i] == qa.focus for i in range(max(0, a - 2), min(len(toks), b + 2)))
            ),
            "cap_start": float(toks[a].is_capitalised),
            "inner_comma": float(any(t.text == "," for t in toks[a:b])),
            "n_words": float(n_words),
            f"len_{min(n_words, 7)}": 1.0,
        }
        qset = set(qa.terms)

        def neighbour_is_q(i: int, step: int) -> float:
            while 0 <= i < len(toks):
                if toks[i].is_word and toks[i].lower not in STOPWORDS:
                    return float(s.stems[i] in qset)
                if not toks[i].is_word and toks[i].text not in {"'", "’", "-"}:
                    return 0.0
                i += step
            return 0.0

        gl, gr = neighbour_is_q(a - 1, -1), neighbour_is_q(b, 1)
        wh_first = float(qa.wh_first)
        f.update(
            {
                "gap_left": gl,
                "gap_right": gr,
                "gap_both": gl * gr,
                "q_inside": float(sum(1 for i in range(a, b) if s.stems[i] in qset and is_content(toks[i]))),
                "after_focus": float(bool(qa.focus) and a > 0 and s.stems[a - 1] == qa.focus),
                "wh_first": wh_first,
                "wh_first*left": wh_first * left / total,
                "wh_first*right": wh_first * right / total,
            }
        )
        t = qa.answer_type.value
        for k in typed_map.get((a, b), ()):
            f[f"{t}*exact_{k}"] = 1.0
        for ta, tb, kinds in typed:
            if a <= ta and tb <= b:
                for k in kinds:
                    f[f"{t}*has_{k}"] = 1.0
        return f

    def _draft(self, cands: list[Candidate], hits: Sequence[Hit], t0: float, name: str) -> Draft:
        ms = (time.perf_counter() - t0) * 1000
        if not cands:
            return Draft(text=None, evidence_ids=(), support="", score=0.0, generator=name, elapsed_ms=ms)
        best = cands[0]
        s = best.sentence
        a, b = answer_window(cands, self.answer_window)
        runner = next((c for c in cands[1:] if not (c.sentence is s and c.start < b and a < c.end)), None)
        margin = best.score - runner.score if runner else 5.0
        hit = hits[s.hit_index]
        text = s.text[s.tokens[a].start : s.tokens[b - 1].end]
        return Draft(
            text=text,
            evidence_ids=(hit.item.id,),
            support=s.text,
            score=1.0 / (1.0 + math.exp(-margin)),
            generator=name,
            elapsed_ms=ms,
        )

    def _parse(self, text: str) -> list[tuple[str, tuple[Token, ...], tuple[str, ...]]]:
        got = self._parsed.get(text)
        if got is None:
            got = []
            for a, b in split_sentences(text):
                toks = tuple(tokenize(text[a:b]))
                if any(t.is_word for t in toks):
                    got.append((text[a:b], toks, tuple(stem(t.text) if t.is_word else t.text for t in toks)))
            if len(self._parsed) > 20_000:
                self._parsed.clear()
            self._parsed[text] = got
        return got

    def _sentences(self, hits: Sequence[Hit]) -> list[Sentence]:
        out: list[Sentence] = []
        for hi, h in enumerate(hits[: self.max_hits]):
            text = h.item.readable
            for si, (st, toks, stems) in enumerate(self._parse(text)):
                out.append(Sentence(hi, si, st, toks, stems))
        return out
