"""Text helpers shared by generation, verification, retrieval and evaluation.

- :mod:`~mmroute.text.wordlists`: stop words (answering and search), wh-words, negations, opposites, numbers,
  months;
- :mod:`~mmroute.text.tokens`: tokens with offsets, stems, accent folding, search tokens, title clean-up;
- :mod:`~mmroute.text.sentences`: sentence splitting;
- :mod:`~mmroute.text.answers`: SQuAD answer normalisation and matching.
"""

from .answers import answer_matches, normalize_answer
from .sentences import sentences, split_sentences
from .tokens import (
    LocalIdf,
    Token,
    content_stems,
    fold,
    is_content,
    lemma,
    only_about_the_medium,
    same_family,
    search_tokens,
    stem,
    stems_of,
    strip_parenthetical,
    text_stems,
    tokenize,
    word_coverage,
)
from .wordlists import (
    ANTONYMS,
    EXCLUSIVES,
    LOOKING_WORDS,
    MEDIA_WORDS,
    MONTHS,
    NEGATIONS,
    NUMBER_WORDS,
    SEARCH_STOPWORDS,
    STOPWORDS,
    WH_WORDS,
)

__all__ = [
    "ANTONYMS",
    "EXCLUSIVES",
    "LOOKING_WORDS",
    "MEDIA_WORDS",
    "MONTHS",
    "NEGATIONS",
    "NUMBER_WORDS",
    "SEARCH_STOPWORDS",
    "STOPWORDS",
    "WH_WORDS",
    "LocalIdf",
    "Token",
    "answer_matches",
    "content_stems",
    "fold",
    "is_content",
    "lemma",
    "only_about_the_medium",
    "same_family",
    "normalize_answer",
    "search_tokens",
    "sentences",
    "split_sentences",
    "stem",
    "stems_of",
    "strip_parenthetical",
    "text_stems",
    "tokenize",
    "word_coverage",
]
