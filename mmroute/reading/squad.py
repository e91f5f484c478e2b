"""SQuAD-format data (v1.1 and v2.0 JSON) and the SQuAD-official answer metrics.

``load_squad`` flattens the nested article -> paragraph -> question file into :class:`QAExample`
records, keeping the article title so that evaluations can hold whole articles out. ``exact_match`` and
``f1_score`` follow the official SQuAD 2.0 evaluation script: answers are normalised (lower case, no
punctuation, no articles, collapsed whitespace); the score against several gold answers is the maximum;
an unanswerable question (no gold answers) scores 1 only for an empty prediction.

>>> examples = load_squad(Path("train-v2.0.json"))
>>> f1_score("the Normans", ["Normans"])
1.0
"""

from __future__ import annotations

import collections
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..text import normalize_answer


@dataclass(frozen=True)
class QAExample:
    """One question over one passage; ``answer_starts`` are character offsets into ``context``."""

    id: str
    title: str
    question: str
    context: str
    answers: tuple[str, ...]
    answer_starts: tuple[int, ...]
    plausible_answers: tuple[str, ...] = ()
    """For an unanswerable question: spans of the paragraph a reader may be fooled into (SQuAD 2.0's
    ``plausible_answers``, or the original answer of a rule-edited question)."""

    @property
    def answerable(self) -> bool:
        return bool(self.answers)


def load_squad(path: Path) -> list[QAExample]:
    """Read a SQuAD v1.1/v2.0 JSON file; raises :class:`InputError` with the path on malformed input."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        articles = data["data"]
    except FileNotFoundError:
        raise InputError(f"SQuAD file {path} not found", hint="pass the path of a SQuAD-format .json file") from None
    except (json.JSONDecodeError, KeyError, TypeError, UnicodeDecodeError) as e:
        raise InputError(
            f"{path} is not a SQuAD-format JSON file ({e})",
            hint='expected {"data": [{"title", "paragraphs": [{"context", "qas"}]}]}',
        ) from None
    out: list[QAExample] = []
    for art in articles:
        title = str(art.get("title", ""))
        for para in art.get("paragraphs", []):
            ctx = para["context"]
            for qa in para.get("qas", []):
                answers = [] if qa.get("is_impossible") else qa.get("answers", [])
                texts, starts = [], []
                for a in answers:
                    s = int(a["answer_start"])
                    if ctx[s : s + len(a["text"])] != a["text"]:
                        continue  # a misaligned gold answer cannot teach span positions
                    texts.append(a["text"])
                    starts.append(s)
                if answers and not texts:
                    continue
                plausible = tuple(str(a["text"]) for a in qa.get("plausible_answers", []) if a.get("text"))
                out.append(QAExample(str(qa["id"]), title, qa["question"], ctx, tuple(texts), tuple(starts), plausible))
    return out


def articles(examples: Iterable[QAExample]) -> list[str]:
    """Article titles in first-seen order."""
    return list(dict.fromkeys(e.title for e in examples))


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    if not golds:
        return float(not normalize_answer(prediction))
    return float(max(normalize_answer(prediction) == normalize_answer(g) for g in golds))


def _f1(pred: str, gold: str) -> float:
    p, g = normalize_answer(pred).split(), normalize_answer(gold).split()
    if not p or not g:
        return float(p == g)
    common = collections.Counter(p) & collections.Counter(g)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(p), same / len(g)
    return 2 * precision * recall / (precision + recall)


def f1_score(prediction: str, golds: Sequence[str]) -> float:
    if not golds:
        return float(not normalize_answer(prediction))
    return max(_f1(prediction, g) for g in golds)
