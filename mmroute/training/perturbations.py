"""Surface perturbations of questions that must not change their route.

Used three ways: the invariance tests and ``evals/eval/eval_router.py`` check that the
router's route of a question survives each perturbation, and router training augments its training
rows with them (:func:`augment`; never the rows a cross-validation fold is tested on).

The kinds (:data:`PERTURBATIONS`), each seeded and deterministic:

* ``options_lines`` / ``options_inline``: four lettered answer options appended, one per line or on
  the same line, in one of the usual styles ("(A) x", "A. x", "A) x");
* ``split_lines``: the question broken over two or three lines;
* ``extra_whitespace``: doubled spaces, tabs, leading and trailing blanks;
* ``lower_case``, ``no_question_mark``;
* ``leading_instruction`` ("Answer briefly:", "Question:", "Q:"...), ``trailing_thanks`` ("Thanks!"...);
* ``typos``: adjacent characters swapped inside one word in six (at least one word);
* ``very_short``: telegraphic: articles, fillers and the final punctuation dropped;
* ``very_long``: the question inside a long preamble and a long follow-up sentence that say nothing
  about what is asked.

Template pools are split: ``pool="train"`` (augmentation) and ``pool="test"`` (invariance checks) share
no preamble, follow-up or unlisted instruction, so the invariance of ``very_long`` is measured on
wrappings the router never saw. ``unlisted_instruction`` (test pool only in the checks) is a leading
phrase the canonicaliser does not know ("I'd like to know:"); it is reported, not a target.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence

PERTURBATIONS: tuple[str, ...] = (
    "options_lines",
    "options_inline",
    "split_lines",
    "extra_whitespace",
    "lower_case",
    "no_question_mark",
    "leading_instruction",
    "trailing_thanks",
    "typos",
    "very_short",
    "very_long",
)
EXTRA_PERTURBATIONS: tuple[str, ...] = ("unlisted_instruction",)

_OPTION_TEXTS = (
    "1912",
    "1945",
    "1867",
    "Paris",
    "London",
    "Madrid",
    "the mitochondria",
    "the nucleus",
    "a monarchy",
    "a republic",
    "none of the above",
    "all of the above",
    "it increases",
    "it decreases",
    "it stays the same",
    "True",
    "False",
    "42",
    "3.5 m/s",
    "12%",
    "John Locke",
    "Adam Smith",
    "photosynthesis",
    "osmosis",
    "only I",
    "only II",
    "both I and II",
    "neither I nor II",
    "$1,200",
    "$950",
    "red",
    "blue",
    "a contract",
    "a tort",
    "the supply curve",
    "the demand curve",
    "Mars",
    "Venus",
    "oxygen",
    "nitrogen",
)
_OPTION_STYLES = ("({L}) {o}", "{L}. {o}", "{L}) {o}")

_INSTRUCTIONS = {
    "test": ("Answer briefly:", "Question:", "Q:", "Please answer the following question:", "Quick question:"),
    "train": ("Answer concisely:", "Question 3:", "Q1.", "Answer the question:", "Hi, question:", "Exam question:"),
}
_THANKS = {
    "test": ("Thanks!", "Thank you.", "Thanks in advance!", "thx"),
    "train": ("Thank you so much!", "Cheers!", "Many thanks.", "Thanks for the help!", "please"),
}
_UNLISTED = {
    "test": ("I'd like to know:", "Tell me this -", "Something I wondered about:"),
    "train": ("Help me out here:", "Can you find out:", "My question is this:"),
}
_PREAMBLES = {
    "test": (
        "I was going through my notes from last week and there is something I still cannot figure out, "
        "so I hope you can help me with it.",
        "My friend and I had a long argument about this over dinner yesterday and neither of us could "
        "settle it, so here it is.",
    ),
    "train": (
        "I have been looking into this for a while now for a project I am working on, and I keep getting "
        "stuck on one point.",
        "This came up in a discussion with colleagues this morning and nobody in the room was sure about it, "
        "so I am asking here.",
    ),
}
_FOLLOWUPS = {
    "test": (
        "I have already looked in a few places but the answers I found did not agree with each other.",
        "Any help is welcome, even a partial answer would already get me much further than I am now.",
    ),
    "train": (
        "I would really appreciate a clear answer because I need to finish this by the end of the week.",
        "If you are not completely sure, a best guess with a short explanation would also be useful.",
    ),
}
_FILLERS = {"a", "an", "the", "exactly", "actually", "really", "precisely", "approximately", "please"}
_WORD = re.compile(r"\S+")


def _options(rng: random.Random) -> list[str]:
    style = rng.choice(_OPTION_STYLES)
    return [style.format(L="ABCD"[i], o=o) for i, o in enumerate(rng.sample(_OPTION_TEXTS, 4))]


def _split_lines(text: str, rng: random.Random) -> str:
    words = text.split()
    if len(words) < 4:
        return text.replace(" ", "\n", 1)
    cuts = sorted(rng.sample(range(1, len(words)), k=min(2, len(words) - 1)))
    parts = [" ".join(words[a:b]) for a, b in zip([0, *cuts], [*cuts, len(words)])]
    return "\n".join(parts)


def _extra_whitespace(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    out = [w + (rng.choice(["  ", "\t", "   "]) if rng.random() < 0.4 else " ") for w in words]
    return "  " + "".join(out).rstrip() + " \n"


def _typos(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    long_words = [i for i, w in enumerate(words) if sum(c.isalpha() for c in w) >= 4]
    if not long_words:
        return text
    for i in rng.sample(long_words, k=min(len(long_words), max(1, len(words) // 6))):
        w = words[i]
        letters = [j for j in range(1, len(w) - 1) if w[j].isalpha() and w[j + 1].isalpha() and w[j] != w[j + 1]]
        if letters:
            j = rng.choice(letters)
            words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    return " ".join(words)


def _very_short(text: str, rng: random.Random) -> str:  # noqa: ARG001 - deterministic
    words = [w for w in _WORD.findall(text) if w.lower() not in _FILLERS]
    return " ".join(words).rstrip("?.! ") or text


def _with_pool(kind: str, text: str, rng: random.Random, pool: str) -> str:
    if kind == "leading_instruction":
        return f"{rng.choice(_INSTRUCTIONS[pool])} {text}"
    if kind == "unlisted_instruction":
        return f"{rng.choice(_UNLISTED[pool])} {text}"
    if kind == "trailing_thanks":
        return f"{text.rstrip()} {rng.choice(_THANKS[pool])}"
    if kind == "very_long":
        return f"{rng.choice(_PREAMBLES[pool])} {text.strip()} {rng.choice(_FOLLOWUPS[pool])}"
    raise KeyError(kind)


_SIMPLE: dict[str, Callable[[str, random.Random], str]] = {
    "options_lines": lambda t, r: t.rstrip() + "\n" + "\n".join(_options(r)),
    "options_inline": lambda t, r: t.rstrip() + " " + " ".join(_options(r)),
    "split_lines": _split_lines,
    "extra_whitespace": _extra_whitespace,
    "lower_case": lambda t, r: t.lower(),
    "no_question_mark": lambda t, r: t.rstrip().rstrip("?").rstrip(),
    "typos": _typos,
    "very_short": _very_short,
}


def perturb(text: str, kind: str, seed: int | str = 0, pool: str = "test") -> str:
    """``text`` perturbed by ``kind`` (see module doc); the same ``seed`` gives the same text."""
    if pool not in ("test", "train"):
        raise ValueError(f"pool must be 'test' or 'train', not {pool!r}")
    rng = random.Random(f"{kind}|{seed}|{pool}")
    if kind in _SIMPLE:
        return _SIMPLE[kind](text, rng)
    return _with_pool(kind, text, rng, pool)


# the kinds a training row is augmented with (the canonicaliser undoes the others exactly, see .canonical)
AUGMENT_KINDS: tuple[str, ...] = ("typos", "very_short", "very_long", "unlisted_instruction")


def augment(
    texts: Sequence[str], per_text: int = 2, seed: int = 0, kinds: Sequence[str] = AUGMENT_KINDS
) -> list[tuple[int, str]]:
    """``(index of the original, perturbed text)`` pairs from the *train* pool: ``per_text`` variants of
    each text, each one or two kinds, the second drawn from all :data:`PERTURBATIONS` (so a typo can
    come with options or a lower-cased question)."""
    out: list[tuple[int, str]] = []
    for i, t in enumerate(texts):
        rng = random.Random(f"augment|{seed}|{i}")
        for v in range(per_text):
            kind = kinds[(i + v) % len(kinds)]
            s = perturb(t, kind, seed=f"{seed}|{i}|{v}", pool="train")
            if rng.random() < 0.5:
                other = rng.choice(PERTURBATIONS)
                s = perturb(s, other, seed=f"{seed}|{i}|{v}|2", pool="train")
            out.append((i, s))
    return out
