"""The word lists of mmroute's text handling, in one place.

Two stop-word lists serve two jobs and differ on purpose:

- :data:`STOPWORDS` (answering and verification): broad. A question word or evidence word in it never
  counts as content when a sentence, span or answer is matched against the question, so it also holds
  light verbs and relation words ("called", "known", "made", "between", "during").
- :data:`SEARCH_STOPWORDS` (lexical search: BM25, title mentions): narrower. Titles and queries keep
  words such as "after", "before", "up" and "down" ("Up", "After Earth", "Down by Law"), and drop
  tokens that an index sees but an answer never does ("t" of "don't", "etc", "vs").
"""

from __future__ import annotations

STOPWORDS = frozenset(
    """
a an the and or but nor so yet of in on at to for from by with without about above below over under into onto
upon within through during before after since until till against among between across along around behind
beyond near off out up down via per than as
is are was were be been being am do does did doing done have has had having will would shall should can could
may might must ought
i me my mine we us our ours you your yours he him his she her hers it its they them their theirs
this that these those there here what which who whom whose when where why how whether if then else
not no never none n't also too very more most less least much many some any each every all both either
neither other another such same own only just even still again ever already one ones s
called known named name use used using make made get got take taken give given
""".split()
)

WH_WORDS = frozenset({"what", "which", "who", "whom", "whose", "when", "where", "why", "how"})

NEGATIONS = frozenset({"not", "no", "never", "n't", "cannot", "none", "nor", "without", "neither"})

MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
)

NUMBER_WORDS = frozenset(
    """zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen
fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred
thousand million billion trillion dozen dozens hundreds thousands millions billions half quarter third
first second fourth fifth sixth seventh eighth ninth tenth""".split()
)

SEARCH_STOPWORDS = frozenset(
    """
a an the and or but nor of in on at to for from by with without about as into onto over under
is are was were be been being am do does did done has have had having can could shall should will
would may might must it its it's this that these those there here who whom whose which what when where
why how than then so such not no yes if else also both either neither each any all some many much
more most other another same own i me my we us our you your he him his she her they them their
one ones s t via per vs etc
""".split()
)

MEDIA_WORDS = (
    "photo",
    "photograph",
    "picture",
    "pic",
    "image",
    "video",
    "clip",
    "scene",
    "footage",
    "shown",
    "show",
    "film",
)
"""Words that name the medium, not the thing asked about ("the cat in the *photo*"): a photo's caption need not say
"photo" to be about it (their stems: ``mmroute.text.stems_of(MEDIA_WORDS)``)."""

LOOKING_WORDS = ("see", "look", "identify", "describe", "depict", "pictured", "here", "this", "these")
"""Words that ask about looking at a query image, not about anything in it ("What can you *see* in *this* image?")."""


_ANTONYM_PAIRS: dict[str, str] = {
    "first": "last",
    "earliest": "latest",
    "largest": "smallest",
    "biggest": "smallest",
    "highest": "lowest",
    "most": "least",
    "before": "after",
    "oldest": "newest",
    "longest": "shortest",
    "best": "worst",
    "more": "less",
    "increase": "decrease",
    "increased": "decreased",
    "north": "south",
    "east": "west",
    "northern": "southern",
    "eastern": "western",
    "major": "minor",
    "maximum": "minimum",
    "win": "lose",
    "won": "lost",
    "early": "late",
    "above": "below",
    "inside": "outside",
    "positive": "negative",
}
ANTONYMS: dict[str, str] = {**_ANTONYM_PAIRS, **{v: k for k, v in _ANTONYM_PAIRS.items() if v not in _ANTONYM_PAIRS}}
"""Comparative and ordering words and their opposites, both ways ("first" <-> "last", "before" <-> "after"):
how SQuAD 2.0's writers most often turned an answerable question into an unanswerable one (Rajpurkar et al., 2018)."""

_EXCLUSIVE_PAIRS: dict[str, str] = {
    "legal": "illegal",
    "male": "female",
    "public": "private",
    "always": "never",
    "allowed": "banned",
    "accepted": "rejected",
    "alive": "dead",
    "true": "false",
    "open": "closed",
    "domestic": "foreign",
    "official": "unofficial",
    "successful": "unsuccessful",
    "possible": "impossible",
    "native": "foreign-born",
    "married": "divorced",
    "wet": "dry",
    "ancient": "modern",
    "rural": "urban",
    "buy": "sell",
    "bought": "sold",
    "import": "export",
    "imported": "exported",
    "gained": "lost",
    "joined": "left",
    "started": "ended",
    "built": "demolished",
    "born": "buried",
    "liked": "disliked",
    "positive": "negative",
    "cheap": "expensive",
    "easy": "hard",
}
EXCLUSIVES: dict[str, str] = {
    **_EXCLUSIVE_PAIRS,
    **{v: k for k, v in _EXCLUSIVE_PAIRS.items() if v not in _EXCLUSIVE_PAIRS},
}
"""Mutually exclusive alternatives, both ways ("legal" <-> "illegal", "bought" <-> "sold")."""
