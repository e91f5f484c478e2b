"""The query guard: recognise queries that belong to no KB before a router forces them into one.

Checks, cheapest first (GQR-Bench: a guard must be fast and must catch out-of-domain queries):

* **empty** — nothing but whitespace/punctuation: rejected (digits alone, e.g. ``2+2=?``, pass).
* **gibberish** — too few letters, vowel-less or keyboard-mash tokens, or character trigrams that
  the router's English vocabulary has almost never seen: rejected.
* **another language** — mostly non-Latin script, or more function words of a covered-by-nobody
  language (French, German, Spanish, Italian, Portuguese, Dutch) than of English: rejected,
  unless that language is listed in ``languages``.
* **out of domain** — the query embedding is farther from every training-query centroid than the
  trained model's out-of-fold threshold: routed to ``no`` (answer without retrieval), not rejected,
  because a correct but unusual question should still get an answer.

>>> GuardedRouter(TrainedRouter()).route("", kbs).rejected
True
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..types import KBInfo, Route, RouteDecision, RouteScore
from .base import ROUTERS, Router
from .features import NgramVocabulary

_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
_TOKEN = re.compile(r"[^\W\d_]+", re.UNICODE)
_VOWELS = set("aeiouyàáâäèéêëìíîïòóôöùúûü")

FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset(
        "the of and to in is was what who which when where how why does did do are a an for on with by "
        "from that this at as be it its his her their were has have can".split()
    ),
    "fr": frozenset(
        "le la les des du de un une est sont qui que quoi quel quelle quels où comment pourquoi "
        "dans sur avec pour par et ce cette il elle ils au aux ne pas était étaient fut ont".split()
    ),
    "de": frozenset(
        "der die das den dem des ein eine ist sind wer was wie wo warum welche welcher und "
        "mit für von zu im auf nicht ich sie es wurde wurden waren".split()
    ),
    "es": frozenset(
        "el la los las del de un una es son quién qué cuál cuándo dónde cómo por para con y en que se su sus al "
        "fue fueron está".split()
    ),
    "it": frozenset(
        "il lo la gli le del della di un una è sono chi che cosa quale quando dove come perché "
        "per con e nel nella fu furono".split()
    ),
    "pt": frozenset(
        "o a os as do da dos das de um uma é são quem que qual quando onde como por para com e no na em foi "
        "foram está".split()
    ),
    "nl": frozenset("de het een is zijn wie wat welke wanneer waar hoe waarom van voor met en in op niet".split()),
}


@dataclass(frozen=True)
class GuardVerdict:
    """``action`` is ``pass``, ``reject`` or ``no`` (route to no-retrieval); ``check`` names the test that fired."""

    action: str
    check: str = ""
    reason: str = ""
    score: float = 0.0


class QueryGuard:
    """The checks of the module doc; ``vocab`` (the trained router's n-gram vocabulary) powers the
    gibberish test, ``ood_threshold`` the out-of-domain one."""

    def __init__(
        self,
        *,
        languages: Sequence[str] = ("en",),
        vocab: NgramVocabulary | None = None,
        min_trigram_coverage: float = 0.55,
        ood_threshold: float | None = None,
        ood_margin: float = 0.0,
    ) -> None:
        self.languages = tuple(languages)
        self.vocab = vocab
        self.min_trigram_coverage = float(min_trigram_coverage)
        self.ood_threshold = ood_threshold
        self.ood_margin = float(ood_margin)

    def check_text(self, query: str) -> GuardVerdict:
        q = unicodedata.normalize("NFKC", query or "").strip()
        letters = _LETTER.findall(q)
        if not letters and not any(c.isdigit() for c in q):
            return GuardVerdict("reject", "empty", "the query is empty (no words to route)")
        if not letters:  # arithmetic such as "2+2=?" needs no KB but is a real question
            return GuardVerdict("pass")
        lang = self.language(q)
        if lang and lang not in self.languages:
            return GuardVerdict(
                "reject",
                "language",
                f"the query looks like {lang!r}; the router reads {', '.join(self.languages)} only (name the KBs to "
                "search, e.g. --kb NAME, to search them without routing)",
            )
        gib = self.gibberish_score(q)
        if gib >= 0.5:
            return GuardVerdict(
                "reject", "gibberish", "the query does not look like words of a language the router reads", score=gib
            )
        return GuardVerdict("pass", score=gib)

    def check_domain(self, similarity: float) -> GuardVerdict:
        if self.ood_threshold is not None and similarity < self.ood_threshold - self.ood_margin:
            return GuardVerdict(
                "no",
                "out_of_domain",
                f"the query is unlike every kind of question the router knows "
                f"(similarity {similarity:.2f} < {self.ood_threshold - self.ood_margin:.2f})",
                score=similarity,
            )
        return GuardVerdict("pass", score=similarity)

    @staticmethod
    def language(q: str) -> str | None:
        """A best guess of a non-English language, or ``None`` when the query reads as English/unknown."""
        letters = _LETTER.findall(q)
        non_latin = sum(1 for c in letters if not unicodedata.name(c, "").startswith("LATIN"))
        if letters and non_latin / len(letters) > 0.5:
            scripts = {
                unicodedata.name(c, "?").split()[0] for c in letters if not unicodedata.name(c, "").startswith("LATIN")
            }
            return "non-latin:" + "/".join(sorted(scripts))[:40].lower()
        if (
            "\u00bf" in q or "\u00a1" in q
        ):  # "¿" and "¡" open Spanish questions and exclamations, and no other language's
            return "es"
        raw = _TOKEN.findall(q)
        if len(raw) < 3:
            return None
        # a function word inside a name ("Los Angeles", "La Paz", "Des Moines") says nothing of the language: a
        # capitalised word counts only when it opens the query and the next word is not capitalised too
        words = [
            w.lower()
            for i, w in enumerate(raw)
            if not w[0].isupper() or (i == 0 and not (len(raw) > 1 and raw[1][0].isupper()))
        ]
        counts = {lang: sum(1 for w in words if w in fw) for lang, fw in FUNCTION_WORDS.items()}
        best = max(counts, key=counts.__getitem__)
        if best != "en" and counts[best] >= 2 and counts[best] > counts["en"] * 1.5:
            return best
        return None

    def gibberish_score(self, q: str) -> float:
        """0 (reads as language) .. 1 (keyboard mash).

        Names and acronyms are judged leniently: a capitalised or upper-case token is never counted against
        the query for its rare letter trigrams ("FIFA", "Tangjia", "Guðmundsdóttir"), and an upper-case
        token of up to 6 letters may lack vowels ("HTML", "NFL"). The trigram test reads only the query's
        ordinary (lower-case) words, lower-cased as the router's vocabulary is."""
        raw = _TOKEN.findall(q)
        tokens = [t.lower() for t in raw]
        if not tokens:
            return 1.0
        bad = 0
        for t, r in zip(tokens, raw):
            acronym = r.isupper() and len(r) <= 6
            if len(t) >= 4 and not (set(t) & _VOWELS) and not acronym:
                bad += 1
            elif len(t) >= 6 and re.search(r"[^aeiouy\W]{5,}", t) and not r[0].isupper():
                bad += 1
            elif len(t) >= 25:
                bad += 1
        score = bad / len(tokens)
        if self.vocab is not None:
            ordinary = [t for t, r in zip(tokens, raw) if len(t) >= 3 and not r[0].isupper()]
            grams = [f"c:{t[i : i + 3]}" for t in ordinary for i in range(len(t) - 2)]
            if len(grams) >= 6:  # fewer say too little ("What quotes Chanchal Kumar Sharma?": 4)
                cov = sum(1 for g in grams if g in self.vocab.index) / len(grams)
                if cov < self.min_trigram_coverage:
                    score = max(score, 0.5 + (self.min_trigram_coverage - cov))
        return min(1.0, score)


class GuardedRouter:
    """Wraps a router with a :class:`QueryGuard` (see module doc). When the inner router is a trained
    router (or carries one as ``.trained``), its vocabulary and out-of-domain threshold are used."""

    name = "guarded"

    def __init__(self, inner: Router, guard: QueryGuard | None = None) -> None:
        self.inner = inner
        self._guard = guard

    @property
    def guard(self) -> QueryGuard:
        if self._guard is None:
            trained = getattr(self.inner, "trained", None) or (self.inner if hasattr(self.inner, "model") else None)
            if trained is not None:
                m = trained.model
                self._guard = QueryGuard(vocab=m.vocab, ood_threshold=m.ood_threshold)
            else:
                self._guard = QueryGuard()
        return self._guard

    def warm_up(self) -> None:
        self.inner.warm_up()
        _ = self.guard

    def route(self, query: str, kbs: Sequence[KBInfo], image: Path | None = None) -> RouteDecision:
        t0 = time.perf_counter()
        verdict = self.guard.check_text(query) if image is None else GuardVerdict("pass")
        if verdict.action == "reject":
            return _guard_decision(query, verdict, t0, rejected=True)
        decision = self.inner.route(query, kbs, image)
        sim = decision.details.get("domain_similarity")
        if sim is not None and image is None and not any(c.startswith("kb:") for c in decision.chosen):
            dv = self.guard.check_domain(float(sim))
            if dv.action == "no":
                return _guard_decision(query, dv, t0, rejected=False, inner=decision)
        return replace(decision, elapsed_ms=(time.perf_counter() - t0) * 1000.0)


def _guard_decision(
    query: str, verdict: GuardVerdict, t0: float, rejected: bool, inner: RouteDecision | None = None
) -> RouteDecision:
    details: dict[str, Any] = {"guard": verdict.check, "guard_score": round(verdict.score, 4)}
    if inner is not None:
        details["inner"] = inner.to_dict()
    return RouteDecision(
        query=query,
        ranked=(RouteScore(Route.NO.value, 1.0, ()),),
        chosen=() if rejected else (Route.NO.value,),
        kbs=(),
        reason=f"guard ({verdict.check}): {verdict.reason}",
        router="guarded",
        elapsed_ms=(time.perf_counter() - t0) * 1000.0,
        rejected=rejected,
        details=details,
    )


def create_guarded(inner: str = "trained", **options: Any) -> GuardedRouter:
    return GuardedRouter(ROUTERS.create(inner, **options))
