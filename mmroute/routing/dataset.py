"""Labelled routing data: one ``{"question", "route", "source"?}`` object per line of a JSON Lines file.

What ``mmroute route eval`` scores a router on, and what router training (:mod:`mmroute.training.router`)
and fine-tuning (:mod:`mmroute.training.router_finetune`) learn from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..types import Route

ROUTE_VALUES = tuple(r.value for r in Route)


@dataclass(frozen=True)
class RoutingExample:
    question: str
    route: str
    source: str | None = None


def load_routing_jsonl(path: str | Path) -> list[RoutingExample]:
    """Read routing data: one ``{"question", "route", "source"?}`` object per line."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"routing data not found: {p}", hint="give a JSON Lines file with question/route fields")
    out: list[RoutingExample] = []
    with p.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                q, r = d["question"], str(d["route"]).strip().lower()
            except (json.JSONDecodeError, KeyError, TypeError) as e:
                raise InputError(
                    f"{p}:{n}: not a routing record ({e.__class__.__name__})",
                    hint='each line must be {"question": str, "route": "no|paragraph|document|image|clip|video"}',
                ) from e
            if r not in ROUTE_VALUES:
                raise InputError(f"{p}:{n}: unknown route {r!r}", hint=f"use one of {', '.join(ROUTE_VALUES)}")
            out.append(RoutingExample(str(q), r, d.get("source")))
    if not out:
        raise InputError(f"{p} holds no routing records")
    return out
