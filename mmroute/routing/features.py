"""Query features for the trained router: lexical n-grams and hand-crafted question-form cues.

The six routes are learned from queries of different datasets, so much of the signal is in the
*form* of a question, not its topic: answer-option stems ending in a colon ("... is:"), all-lower-case
search-engine queries, comparison questions ("X or Y?"), time stamps ("at 39:29"), how-to phrasing,
"in the video" mentions. Character n-grams of the raw text (case and punctuation kept) and word
n-grams capture most of it; a few explicit cues make the rest easy for a linear model.

Everything here is plain Python + numpy, so the shipped router needs no scikit-learn at query time:
the vocabulary and IDF weights are stored as JSON/npz beside the classifier weights.

>>> v = NgramVocabulary.fit(["Who wrote Hamlet?", "what is the mode:"], min_df=1)
>>> idx, val = v.transform_one("Who wrote it?")
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[^\sa-z0-9]", re.IGNORECASE)
_TIMESTAMP = re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?\b")
_YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d)\b")
_NUMBER = re.compile(r"\d")
_OPTION_STEM = re.compile(r"\b(which of the following|all of the following|following (?:is|are|statements?))\b", re.I)
_VISUAL = re.compile(
    r"\b(colou?rs?|wearing|shape[sd]?|look(?:s|ed)? like|pictured|appear(?:s|ance)?|visible|"
    r"painted|logo|sign|statue|building|architecture|roof|windows?|tall(?:er)?|design)\b",
    re.I,
)
_VIDEO = re.compile(
    r"\b(videos?|clips?|footage|scene|episode|vlog|livestream|stream|show|keynote|trailer|"
    r"performance|compilation|gameplay|animation|animated|documentary|mark|minute|seconds?)\b",
    re.I,
)
_HOWTO = re.compile(
    r"\b(how (?:to|do|can|should)|steps?|process|method|procedure|technique|way to|tips?|"
    r"recommended|typically|should you)\b",
    re.I,
)
_COMPARE = re.compile(r"\b(or|both|which (?:one|is)|younger|older|first|earlier|later|more|less|same)\b", re.I)
_QWORDS = (
    "what",
    "who",
    "whom",
    "when",
    "where",
    "which",
    "how",
    "why",
    "is",
    "are",
    "was",
    "were",
    "do",
    "does",
    "did",
    "can",
    "in",
    "the",
    "a",
)

CUE_NAMES: tuple[str, ...] = (
    "log_chars",
    "log_words",
    "ends_qmark",
    "ends_colon",
    "ends_other",
    "no_final_punct",
    "starts_lower",
    "starts_space",
    "ends_space",
    "cap_word_ratio",
    "digit",
    "timestamp",
    "year",
    "option_stem",
    "visual_words",
    "video_words",
    "howto_words",
    "compare_words",
    "latex",
    "quote",
    "non_ascii",
    "mean_word_len",
    "blank_fill",
    "comma_count",
) + tuple(f"first_{w}" for w in _QWORDS)


def cue_vector(text: str) -> np.ndarray:
    """Dense question-form cues (roughly unit scale), in the order of :data:`CUE_NAMES`."""
    s = text or ""
    st = s.strip()
    words = st.split()
    low_first = words[0].lower().strip("\"'¿¡") if words else ""
    caps = sum(1 for w in words[1:] if w[:1].isupper())
    last = st[-1:] if st else ""
    feats = [
        math.log1p(len(st)) / 6.0,
        math.log1p(len(words)) / 4.0,
        float(last == "?"),
        float(last == ":"),
        float(bool(last) and last not in "?:."),
        float(bool(last) and last.isalnum()),
        float(st[:1].islower()),
        float(s[:1].isspace()),
        float(s[-1:].isspace()),
        caps / max(1, len(words) - 1),
        float(bool(_NUMBER.search(st))),
        float(bool(_TIMESTAMP.search(st))),
        float(bool(_YEAR.search(st))),
        float(bool(_OPTION_STEM.search(st))),
        min(3, len(_VISUAL.findall(st))) / 3.0,
        min(3, len(_VIDEO.findall(st))) / 3.0,
        min(3, len(_HOWTO.findall(st))) / 3.0,
        min(3, len(_COMPARE.findall(st))) / 3.0,
        float("$" in st or "\\" in st),
        float('"' in st or "“" in st or "‘" in st),
        float(any(ord(c) > 127 for c in st)),
        (sum(len(w) for w in words) / max(1, len(words))) / 8.0,
        float("_" in st or "____" in st),
        min(4, st.count(",")) / 4.0,
    ]
    feats.extend(float(low_first == w) for w in _QWORDS)
    return np.asarray(feats, dtype=np.float32)


def ngram_terms(text: str, char_range: tuple[int, int] = (2, 5), word_range: tuple[int, int] = (1, 2)) -> list[str]:
    """The n-gram terms of a query: raw-case character n-grams (with ``^``/``$`` edge marks, so a
    leading space or a final colon is visible) and lower-cased word n-grams (``w:`` prefix)."""
    raw = "^" + (text or "") + "$"
    terms: list[str] = []
    lo, hi = char_range
    for n in range(lo, hi + 1):
        terms.extend("c:" + raw[i : i + n] for i in range(0, max(0, len(raw) - n + 1)))
    toks = [t.lower() for t in _WORD.findall(text or "")]
    toks = ["<s>"] + toks + ["</s>"]
    wlo, whi = word_range
    for n in range(wlo, whi + 1):
        terms.extend("w:" + " ".join(toks[i : i + n]) for i in range(0, max(0, len(toks) - n + 1)))
    return terms


@dataclass
class NgramVocabulary:
    """Term -> column map with smoothed IDF; turns a query into an L2-normalised sublinear TF-IDF row."""

    index: dict[str, int]
    idf: np.ndarray
    char_range: tuple[int, int] = (2, 5)
    word_range: tuple[int, int] = (1, 2)

    @property
    def size(self) -> int:
        return len(self.index)

    @classmethod
    def fit(
        cls,
        texts: Sequence[str],
        min_df: int = 2,
        char_range: tuple[int, int] = (2, 5),
        word_range: tuple[int, int] = (1, 2),
        max_terms: int | None = None,
    ) -> NgramVocabulary:
        df: Counter[str] = Counter()
        for t in texts:
            df.update(set(ngram_terms(t, char_range, word_range)))
        kept = [(term, c) for term, c in df.items() if c >= min_df]
        kept.sort(key=lambda tc: (-tc[1], tc[0]))
        if max_terms is not None:
            kept = kept[:max_terms]
        kept.sort(key=lambda tc: tc[0])
        n = len(texts)
        index = {term: i for i, (term, _) in enumerate(kept)}
        idf = np.asarray([math.log((1 + n) / (1 + c)) + 1.0 for _, c in kept], dtype=np.float32)
        return cls(index=index, idf=idf, char_range=char_range, word_range=word_range)

    def transform_one(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(column indices, values) of the query's TF-IDF row; unknown terms are dropped."""
        counts: Counter[int] = Counter()
        get = self.index.get
        for term in ngram_terms(text, self.char_range, self.word_range):
            j = get(term)
            if j is not None:
                counts[j] += 1
        if not counts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
        val = (1.0 + np.log(tf)) * self.idf[idx]
        val /= float(np.linalg.norm(val)) or 1.0
        return idx, val.astype(np.float32)

    def transform(self, texts: Iterable[str]):  # noqa: ANN201 - scipy is optional at query time
        """A scipy CSR matrix of the rows (training and evaluation only)."""
        from scipy.sparse import csr_matrix

        indptr, indices, data = [0], [], []
        for t in texts:
            i, v = self.transform_one(t)
            indices.append(i)
            data.append(v)
            indptr.append(indptr[-1] + len(i))
        ind = np.concatenate(indices) if indices else np.zeros(0, dtype=np.int64)
        dat = np.concatenate(data) if data else np.zeros(0, dtype=np.float32)
        return csr_matrix((dat, ind, np.asarray(indptr)), shape=(len(indptr) - 1, self.size), dtype=np.float32)

    def terms(self) -> list[str]:
        out = [""] * len(self.index)
        for term, i in self.index.items():
            out[i] = term
        return out
