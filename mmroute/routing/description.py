"""Zero-shot routing by KB description and exemplar queries (RouterRetriever-style).

For KBs a user adds without routing training data, the query is compared with each KB's
description and example questions in the MiniLM space; the best cosine per KB is its score. Query,
description and exemplars are compared as canonical stems (:mod:`.canonical`: answer options, leading
instructions and trailing pleasantries removed, whitespace collapsed; MiniLM is uncased) with their
punctuation kept, since the threshold is a cosine calibrated on natural questions. In the default
router the query vector is the trained router's (its canonical text, without a final "?"), which moves
cosines slightly (not measured separately).

How a KB opts in (documented in the README): its :attr:`KBInfo.description` holds a first line
saying what the KB is about, and optionally example questions, one per line, each starting with
``Q:``. A KB whose description has at least one ``Q:`` line, or starts with ``topic:``, is
*topical*: the default router searches it only when the query matches its description (score at
least ``threshold``), never merely because its granularity matches the trained route::

    mmroute index --kb hr --input hr.jsonl --granularity paragraph \\
        --description $'topic: company HR policies, leave, payroll and benefits\\nQ: How many vacation days do I get?\\nQ: Who approves parental leave?'

Other descriptions (e.g. "Wikipedia paragraphs about films") only document the KB; the standalone
``description`` router still uses them.

Scores become probabilities with a softmax at temperature ``temperature`` over the described KBs
plus a "none of them" option whose score is ``threshold``; a KB is chosen when its probability beats
"none" (its score is above the threshold).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..types import KBInfo, RouteDecision
from .canonical import canonicalize
from .decision import MultiRoutePolicy, make_decision
from .embedding import QueryFeaturizer

NONE_ROUTE = "no"


@dataclass(frozen=True)
class ParsedDescription:
    summary: str
    exemplars: tuple[str, ...]
    topical: bool


def parse_description(text: str) -> ParsedDescription:
    """Split a KB description into its summary, ``Q:`` exemplar queries and the topical flag."""
    summary: list[str] = []
    exemplars: list[str] = []
    topical = False
    for raw in (text or "").splitlines():
        line = raw.strip()
        if not line:
            continue
        low = line.lower()
        if low.startswith("q:"):
            if line[2:].strip():
                exemplars.append(line[2:].strip())
        elif low.startswith("topic:"):
            topical = True
            if line[6:].strip():
                summary.append(line[6:].strip())
        else:
            summary.append(line)
    return ParsedDescription(" ".join(summary), tuple(exemplars), topical or bool(exemplars))


def topical_kbs(kbs: Sequence[KBInfo]) -> list[KBInfo]:
    """KBs that opted into description routing (see module doc)."""
    return [k for k in kbs if parse_description(k.description).topical]


class DescriptionRouter:
    """Route to ``kb:NAME`` by similarity of the query to KB descriptions/exemplars (see module doc).

    >>> hr = kb_info("hr", description="topic: company HR policies\\nQ: How many vacation days do I get?")
    >>> DescriptionRouter().route("how much paid leave do employees have?", [hr]).chosen
    ('kb:hr',)
    """

    name = "description"

    def __init__(
        self,
        *,
        threshold: float = 0.45,
        temperature: float = 0.05,
        topical_only: bool = False,
        featurizer: QueryFeaturizer | None = None,
        policy: MultiRoutePolicy | None = None,
    ) -> None:
        self.threshold = float(threshold)
        self.temperature = float(temperature)
        self.topical_only = topical_only
        self.featurizer = featurizer or QueryFeaturizer()
        self.policy = policy or MultiRoutePolicy()
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        self.featurizer.warm_up()

    def candidates(self, kbs: Sequence[KBInfo]) -> list[KBInfo]:
        return topical_kbs(kbs) if self.topical_only else [k for k in kbs if k.description.strip()]

    def _kb_vectors(self, kb: KBInfo) -> np.ndarray:
        key = hashlib.sha1(kb.description.encode("utf-8")).hexdigest()
        with self._lock:
            if key in self._cache:
                return self._cache[key]
        parsed = parse_description(kb.description)
        texts = [canonicalize(t).stem for t in (parsed.summary, *parsed.exemplars) if t]
        vecs = self.featurizer.encoder.encode_texts(texts)
        with self._lock:
            self._cache[key] = vecs
        return vecs

    def scores(self, query_vec: np.ndarray, kbs: Sequence[KBInfo]) -> dict[str, float]:
        """``kb:NAME`` -> best cosine between the query and the KB's description texts."""
        q = np.asarray(query_vec, dtype=np.float32).ravel()
        return {f"kb:{k.name}": float(np.max(self._kb_vectors(k) @ q)) for k in self.candidates(kbs)}

    def probabilities(self, scores: dict[str, float]) -> dict[str, float]:
        keys = list(scores) + [NONE_ROUTE]
        z = np.asarray([scores[k] for k in scores] + [self.threshold]) / self.temperature
        p = np.exp(z - z.max())
        p /= p.sum()
        return dict(zip(keys, map(float, p)))

    def route(
        self, query: str, kbs: Sequence[KBInfo], image: Path | None = None, *, query_vec: np.ndarray | None = None
    ) -> RouteDecision:
        t0 = time.perf_counter()
        if query_vec is None:
            query_vec = self.featurizer.encoder.encode_queries([canonicalize(query).stem])[0]
        scores = self.scores(query_vec, kbs)
        probs = self.probabilities(scores)
        details: dict[str, Any] = {
            "similarity": {k: round(v, 4) for k, v in scores.items()},
            "threshold": self.threshold,
        }
        reason = (
            "no KB has a description to match"
            if not scores
            else f"best description match {max(scores, key=scores.__getitem__)} at cosine {max(scores.values()):.2f}"
            f" (threshold {self.threshold:.2f})"
        )
        return make_decision(query, probs, kbs, self.name, t0, self.policy, reason=reason, details=details)
