"""Explicit requests for a medium: "Show me a photo of a cat" asks for an image, whatever its topic.

The trained router learns routes from the *form* of benchmark questions, and none of them is a request
like "show me a photo of …" (its "show" even reads as a TV-show cue for video). Such a request names
the medium it wants, so the router nudges that route up (as it does for a query that comes with an
image) instead of trusting a model that has never seen the form. Only the imperative form counts:
"… in the photo of the parade?" is a question *about* a photo and stays with the model.

>>> requested_route("Show me a photo of a cat")
'image'
>>> requested_route("Can you find the video of the keynote?")
'video'
>>> requested_route("What is written in the photo of the parade?") is None
True
"""

from __future__ import annotations

import re

MEDIA_ROUTES: dict[str, str] = {
    "photo": "image",
    "photograph": "image",
    "picture": "image",
    "pic": "image",
    "image": "image",
    "snapshot": "image",
    "drawing": "image",
    "painting": "image",
    "video": "video",
    "footage": "video",
    "recording": "video",
    "clip": "clip",
    "scene": "clip",
}
"""Medium nouns and the route that serves them."""

_REQUEST = re.compile(
    r"^\s*(?:(?:please|can you|could you|would you)\s+)?"
    r"(?:show|find|give|display|get|fetch|bring up|pull up|search for|look for|i (?:want|need) to see|"
    r"i(?:'d| would) like to see|let me see)\b(?:\s+(?:me|us))?"
    r"\s+(?:a|an|the|some|any|one)?\s*(?:\w+\s+)?"
    r"(" + "|".join(sorted(MEDIA_ROUTES, key=len, reverse=True)) + r")s?\b",
    re.IGNORECASE,
)

REQUEST_MASS = 0.5
"""Probability mass moved onto the requested route (a nudge: the model keeps the rest)."""


def requested_route(query: str) -> str | None:
    """The route a query explicitly asks for ("show me a photo of …" -> ``image``), or None."""
    m = _REQUEST.match(query or "")
    return MEDIA_ROUTES[m.group(1).lower()] if m else None


_MENTION = re.compile(
    r"\b(?:in|on|of|from|at|into|inside|within|through|throughout)\s+(?:the|this|that|these|those|a|an|my|your|our)?\s*"
    r"(?:\w+\s+){0,2}?(" + "|".join(sorted(MEDIA_ROUTES, key=len, reverse=True)) + r")s?\b"
    r"|\b(pictured|photographed|filmed)\b"
    r"|\b(?:which|what)\s+(?:\w+\s+)?(photo|photograph|picture|pic|image|snapshot|video|clip|footage|recording)s?\b",
    re.IGNORECASE,
)
_MENTION_WORDS = {"pictured": "picture", "photographed": "photo", "filmed": "video"}


def mentioned_media(query: str) -> set[str]:
    """The media a question is *about* ("Who is the astronaut in the photo?" -> ``{"image"}``; "What happens
    at the start of the clip?" -> ``{"clip"}``; "Who is pictured …" and "Which photo shows …" -> ``{"image"}``): the KBs of these
    routes hold the thing asked about, whatever the question's topic (see :mod:`mmroute.retrieval.widening`)."""
    out: set[str] = set()
    for m in _MENTION.finditer(query or ""):
        word = (m.group(1) or m.group(3) or _MENTION_WORDS[m.group(2).lower()]).lower()
        out.add(MEDIA_ROUTES[word])
    return out
