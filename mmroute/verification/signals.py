"""Evidence-support signals: how well the evidence backs a draft answer to a question.

Every signal is a float; higher is not always better (``key_missing`` is bad). The policy
(:mod:`.policy`) learns how to weigh them. What each one catches:

- ``sim_q_support`` / ``sim_qa_support`` / ``sim_q_best``: MiniLM cosine of the question (and the
  question with the answer filled in) to the supporting sentence and to the best evidence sentence.
- ``cov_sentence`` / ``cov_window`` / ``cov_paragraph``: IDF-weighted share of the question's content
  words found in the supporting sentence, the sentence with its neighbours, and its whole passage.
- ``missing_idf_max`` / ``missing_terms``: the rarest question word absent from the support window, and
  how many are absent. SQuAD 2.0's unanswerable questions change one word of an answerable one.
- ``key_missing`` / ``key_missing_any``: the question's names and numbers absent from the passage, less those
  a bridging passage gives (:func:`bridging_hit`: a two-hop answer's passage need not name the first hop).
- ``numbers_agree``: numbers of the answer found in the evidence (1 when the answer has none);
  ``number_conflict``: the question names a number the support sentence contradicts (a different
  number of the same form in the place the question's should be).
- ``answer_in_evidence`` / ``entities_in_evidence``: share of the answer's words / capitalised content words
  present in the evidence (an LLM's invented details fail this; "The" opening an answer names nothing).
- ``negation_mismatch``: the question is negated and the support is not, or the reverse.
- ``opposite_conflict``: the question has a word (``least``, ``after``, ``illegal``) that the support lacks while
  it says the opposite (``most``, ``before``, ``legal``): the edit that most often makes a SQuAD 2.0 question
  unanswerable.
- ``answer_repeats_question``: share of the answer's words that merely repeat the question.
- ``type_match``: the answer has the form the question asks for (a number for "how many"...).
- ``retrieval_top``: the best hit's retrieval score.

When the supporting passage is a media item's words (a photo's caption, a clip's subtitles), the question's
words for the medium ("photo", "pictured", "video": :data:`~mmroute.text.wordlists.MEDIA_WORDS`) are not asked of it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ..generation.embedding import SentenceEmbedder
from ..generation.question import AnswerType, QuestionAnalysis, analyze_question
from ..text import (
    ANTONYMS,
    EXCLUSIVES,
    MEDIA_WORDS,
    NEGATIONS,
    STOPWORDS,
    LocalIdf,
    Token,
    lemma,
    same_family,
    split_sentences,
    stem,
    stems_of,
    strip_parenthetical,
    text_stems,
    tokenize,
)
from ..types import Draft, Hit, Modality

_NUM_RE = re.compile(r"\d+(?:[.,]\d+)*")


@dataclass(frozen=True)
class EvidenceView:
    """The evidence around a draft: the supporting sentence, its neighbours and its passage."""

    sentences: tuple[str, ...]
    """Every evidence sentence (all hits)."""
    support: str
    window: str
    passage: str
    passage_id: str | None
    media: bool = False
    """The passage is a media item's words (a photo's caption, a clip's subtitles)."""
    medium: str = ""
    """The media item's words, in words ("the photo's captions"); "" for text."""
    title: str = ""
    """The passage's item's title ("" when it has none)."""


def evidence_view(draft: Draft, hits: Sequence[Hit]) -> EvidenceView:
    sentences: list[str] = []
    support, window = draft.support or "", ""
    source: Hit | None = None
    for h in hits:
        text = h.item.readable
        spans = [text[a:b] for a, b in split_sentences(text)]
        sentences.extend(spans)
        if source is None and support and support in text:
            source = h
            i = next((k for k, s in enumerate(spans) if support in s or s in support), None)
            if i is not None:
                window = " ".join(spans[max(0, i - 1) : i + 2])
    if source is None and hits:
        source = hits[0]
        window = source.item.readable
        support = support or window
    if source is None:
        return EvidenceView(tuple(sentences), support, window or support, "", None)
    passage = source.item.readable
    modality = source.item.modality
    media = modality is not Modality.TEXT
    medium = {Modality.IMAGE: "the photo's captions", Modality.VIDEO: "the video's words"}.get(modality, "")
    return EvidenceView(
        tuple(sentences), support, window or support, passage, source.item.id, media, medium, source.item.title or ""
    )


MAX_SIM_SENTENCES = 32
"""Evidence sentences embedded for ``sim_q_best``: the ones sharing the most (IDF-weighted) question words.
Whole documents come back from document KBs; embedding all their sentences cost up to 3.5 s per question."""


def closest_sentences(qa: QuestionAnalysis, view: EvidenceView, idf: LocalIdf) -> list[str]:
    """At most :data:`MAX_SIM_SENTENCES` evidence sentences, the ones sharing the most question words
    (all of them when there are few, as from a handful of paragraphs), in evidence order."""
    if len(view.sentences) <= MAX_SIM_SENTENCES:
        return list(view.sentences)
    q = set(qa.terms)
    weight = [sum(idf(t) for t in q & set(text_stems(s))) for s in view.sentences]
    keep = sorted(sorted(range(len(view.sentences)), key=lambda i: -weight[i])[:MAX_SIM_SENTENCES])
    return [view.sentences[i] for i in keep]


def _stems_of_text(text: str) -> set[str]:
    """The stems of a text's content words and of every word (names and numbers are matched against these)."""
    return set(text_stems(text)) | {stem(t.text) for t in tokenize(text)}


def bridging_hit(
    key_missing: Sequence[str], qa: QuestionAnalysis, view: EvidenceView, hits: Sequence[Hit]
) -> tuple[Hit, list[str]] | None:
    """The hit that bridges to the answer's passage and the question's names it gives that the passage lacks.

    A two-hop question ("When was the director of film P.S. Jerusalem born?") is answered by a passage on the
    bridge ('Danae Elon'), which need not name the film: another passage, on another subject, names both the
    missing names and the answer passage's subject (its title). That subject must be no name of the question
    (a comparison of two named things is no bridge) and the bridging passage must be on another subject (every
    paragraph of one article shares its title). None when there is no such hit or nothing is missing."""
    subject = strip_parenthetical(view.title).strip()
    if not key_missing or not subject:
        return None
    subject_stems = set(text_stems(subject))
    if not subject_stems or subject_stems <= set(qa.terms) | set(qa.key_terms):
        return None
    needle = subject.casefold()
    for h in hits:
        text = h.item.readable
        if h.item.id == view.passage_id or (h.item.title or "") == view.title or needle not in text.casefold():
            continue
        stems = _stems_of_text(text)
        given = [k for k in key_missing if k in stems]
        if given:
            return h, given
    return None


def _numbers(text: str) -> set[str]:
    return {m.group(0).replace(",", "") for m in _NUM_RE.finditer(text)}


def _coverage(qa: QuestionAnalysis, text: str, idf: LocalIdf) -> tuple[float, list[str]]:
    have = set(text_stems(text))
    total = sum(idf(t) for t in qa.terms) or 1.0
    missing = [t for t in qa.terms if t not in have]
    return 1.0 - sum(idf(t) for t in missing) / total, missing


def family_word(term: str, text: str) -> str:
    """A word of ``text`` of the same family as the stem ``term`` ("directed" for "director"), "" when none is."""
    for t in tokenize(text):
        if t.is_word and same_family(term, stem(t.text)):
            return t.text
    return ""


def _type_match(qa: QuestionAnalysis, answer: str) -> float:
    toks = [t for t in tokenize(answer) if t.is_word]
    if not toks:
        return 0.0
    has_num = any(t.is_number for t in toks)
    caps = any(t.is_capitalised for t in toks)
    if qa.answer_type in (AnswerType.NUMBER, AnswerType.DATE):
        return 1.0 if has_num else 0.0
    if qa.answer_type in (AnswerType.PERSON, AnswerType.LOCATION):
        return 1.0 if caps else 0.0
    return 1.0


def compute_signals(
    question: str, draft: Draft, hits: Sequence[Hit], embedder: SentenceEmbedder, qa: QuestionAnalysis | None = None
) -> tuple[dict[str, float], dict[str, list[str]]]:
    """The evidence-support signals (see module doc) and, for the reasons, the words behind them."""
    qa = qa or analyze_question(question)
    answer = draft.text or ""
    view = evidence_view(draft, hits)
    if view.media:  # the evidence is the photo or clip the question names: its caption need not say "photo"
        qa = replace(
            qa,
            terms=tuple(t for t in qa.terms if t not in stems_of(MEDIA_WORDS)),
            key_terms=tuple(t for t in qa.key_terms if t not in stems_of(MEDIA_WORDS)),
        )
    idf = LocalIdf([text_stems(s) for s in view.sentences] or [[]])
    cov_s, _ = _coverage(qa, view.support, idf)
    cov_w, missing_w = _coverage(qa, view.window, idf)
    cov_p, _ = _coverage(qa, view.passage, idf)
    passage_stems = _stems_of_text(view.passage)
    key_missing = [k for k in qa.key_terms if k not in passage_stems]
    found = bridging_hit(key_missing, qa, view, hits)
    bridge, bridged = found if found is not None else (None, [])
    key_missing = [k for k in key_missing if k not in bridged]
    # the signal counts the passage's text (as calibrated); a reason must not call a name its title gives missing
    title_stems = _stems_of_text(view.title)
    sims = (
        embedder.similarity(question, [view.support, f"{question} {answer}", *closest_sentences(qa, view, idf)])
        if view.sentences
        else None
    )
    if sims is not None:
        sim_q_support = float(sims[0])
        sim_q_best = float(max(sims[2:])) if len(sims) > 2 else sim_q_support
        qa_vec = embedder.embed([f"{question} {answer}", view.support])
        sim_qa_support = float(qa_vec[0] @ qa_vec[1])
    else:
        sim_q_support = sim_q_best = sim_qa_support = 0.0
    ev_text = " ".join(h.item.readable for h in hits)
    ev_stems = set(text_stems(ev_text))
    ans_stems = text_stems(answer)
    # a capitalised word that is no content word ("The" opening the answer, "US" of "US$5") names nothing
    ans_caps = [w for w in (stem(t.text) for t in tokenize(answer) if t.is_word and t.is_capitalised) if w in ans_stems]
    ans_nums = _numbers(answer)
    ev_nums = _numbers(ev_text)
    q_nums = _numbers(qa.text)
    sup_nums = _numbers(view.window)
    number_conflict = float(bool(q_nums) and not (q_nums <= _numbers(view.passage)) and bool(sup_nums - q_nums))
    q_negs = negation_words(question)
    s_negs = negation_words(view.support)
    q_neg, s_neg = bool(q_negs), bool(s_negs)
    opposites = opposite_words(question, view.support)
    qset = set(qa.terms)
    missing_idf = [idf(t) for t in missing_w]
    signals = {
        "sim_q_support": sim_q_support,
        "sim_qa_support": sim_qa_support,
        "sim_q_best": sim_q_best,
        "cov_sentence": cov_s,
        "cov_window": cov_w,
        "cov_paragraph": cov_p,
        "missing_idf_max": max(missing_idf) / math.log(2 + len(view.sentences)) if missing_idf else 0.0,
        "missing_terms": float(len(missing_w)),
        "key_missing": float(len(key_missing)),
        "key_missing_any": float(bool(key_missing)),
        "numbers_agree": (len(ans_nums & ev_nums) / len(ans_nums)) if ans_nums else 1.0,
        "number_conflict": number_conflict,
        "answer_in_evidence": (sum(1 for s in ans_stems if s in ev_stems) / len(ans_stems)) if ans_stems else 0.0,
        "entities_in_evidence": (sum(1 for s in ans_caps if s in ev_stems) / len(ans_caps)) if ans_caps else 1.0,
        "negation_mismatch": float(q_neg != s_neg),
        "opposite_conflict": float(bool(opposites)),
        "answer_repeats_question": (sum(1 for s in ans_stems if s in qset) / len(ans_stems)) if ans_stems else 1.0,
        "type_match": _type_match(qa, answer),
        "retrieval_top": float(hits[0].score) if hits else 0.0,
    }
    words = {
        "terms": list(qa.terms),
        "missing": [t for t in missing_w],
        "missing_as": [family_word(t, view.window) for t in missing_w],
        # every caption of a photo or clip describes it: a word elsewhere in them is there, if not "near the answer"
        "missing_in_item": [t for t in missing_w if view.media and t in passage_stems],
        "medium": [view.medium] if view.medium else [],
        "key_missing": [k for k in key_missing if k not in title_stems],
        "key_in_title": [k for k in key_missing if k in title_stems],
        "key_bridged": bridged,
        "bridge": [bridge.item.title or bridge.item.id, view.title] if bridge is not None else [],
        "question_negations": q_negs,
        "support_negations": negation_phrases(view.support) if s_negs else [],
        "question_opposites": [q for q, _ in opposites],
        "support_opposites": [o for _, o in opposites],
        "answer_type": [qa.answer_type.value],
        **repeated_words(answer, question, qset),
    }
    return signals, words


def repeated_words(answer: str, question: str, question_stems: set[str]) -> dict[str, list[str]]:
    """The answer's words behind ``answer_repeats_question`` as the reasons must say them: ``repeats`` (words the
    question has too, in any inflection) and ``shares_stem`` (pairs of an answer word and the different question
    word of its stem: "computability", "computational" both stem to "comput", and neither repeats the other)."""
    q_words: dict[str, list[str]] = {}
    for t in tokenize(question):
        if t.is_word:
            q_words.setdefault(stem(t.lower), []).append(t.lower)
    repeats: list[str] = []
    shares: list[str] = []
    for t in tokenize(answer):
        s = stem(t.lower) if t.is_word else ""
        if not s or s not in question_stems or s not in q_words:
            continue
        if any(t.lower == w or same_form(t.lower, w) for w in q_words[s]):
            repeats.append(t.text)
        else:
            shares.extend([t.text, q_words[s][0]])
    return {"repeats": list(dict.fromkeys(repeats)), "shares_stem": shares}


def same_form(a: str, b: str) -> bool:
    """Two inflections of one word ("harass", "harasses"; "won", "win"), by lemma."""
    return lemma(a) == lemma(b)


OPPOSITES: dict[str, frozenset[str]] = {
    w: frozenset(o for pairs in (ANTONYMS, EXCLUSIVES) for a, o in pairs.items() if a == w)
    for w in {*ANTONYMS, *EXCLUSIVES}
}
"""Each word of :data:`~mmroute.text.ANTONYMS` and :data:`~mmroute.text.EXCLUSIVES` and its opposites."""


def opposite_words(question: str, sentence: str) -> list[tuple[str, str]]:
    """(the question's word, the sentence's opposite of it) for each word of the question that the sentence lacks
    while it has an opposite the question does not ("least" asked where the sentence says "most"), as written."""
    q = {t.lower: t.text for t in tokenize(question) if t.is_word}
    s = {t.lower: t.text for t in tokenize(sentence) if t.is_word}
    return [
        (q[w], s[o])
        for w in sorted(q)
        if w in OPPOSITES and w not in s
        for o in sorted(OPPOSITES[w])
        if o in s and o not in q
    ]


def negation_words(text: str) -> list[str]:
    """The negation words of ``text`` as written ("not", "never", "didn't"), in order."""
    toks = [t for t in tokenize(text) if t.is_word]
    return [t.text for i, t in enumerate(toks) if is_negation(toks, i)]


def is_negation(words: Sequence[Token], i: int) -> bool:
    """Whether ``words[i]`` negates: a negation word, except a "no" beside "yes" ("either yes or no", "yes/no"),
    which names an answer and negates nothing (a reason said "the answer's sentence says 'or no, or alternately'"
    of a decision problem's "yes or no")."""
    w = words[i].lower
    if w == "no" and any(t.lower == "yes" for t in words[max(0, i - 2) : i + 3]):
        return False
    return w in NEGATIONS or w.endswith("n't")


def negation_phrases(text: str, before: int = 1, after: int = 2) -> list[str]:
    """Each negation of ``text`` with the words around it, as written ("should not be confused"): a reason that
    quotes "not" alone let a user think the answer itself was negated when the "not" sat in another clause."""
    toks = [t for t in tokenize(text) if t.is_word]
    spans: list[tuple[int, int]] = []
    for i in range(len(toks)):
        if is_negation(toks, i):
            a, b = toks[max(0, i - before)].start, toks[min(len(toks) - 1, i + after)].end
            if spans and a <= spans[-1][1]:  # overlapping ("ain't no"): one phrase
                a = spans.pop()[0]
            spans.append((a, b))
    return [text[a:b] for a, b in spans]


def answer_agreement(a: str | None, b: str | None) -> float:
    """Token-F1 of two answers after SQuAD normalisation (1.0 identical, 0.0 disjoint or missing).
    Containment counts as agreement: "Rollo" and "their leader Rollo" agree."""
    from ..text import normalize_answer

    if not a or not b:
        return 0.0
    ta, tb = normalize_answer(a).split(), normalize_answer(b).split()
    if not ta or not tb:
        return 0.0
    sa, sb = " ".join(ta), " ".join(tb)
    if sa == sb or f" {sa} " in f" {sb} " or f" {sb} " in f" {sa} ":
        return 1.0
    common = sum(min(ta.count(w), tb.count(w)) for w in set(ta) if w not in STOPWORDS)
    if common == 0:
        return 0.0
    p, r = common / len(ta), common / len(tb)
    return 2 * p * r / (p + r)
