"""A route whose kind has no KB falls back to the best-ranked served route (same modality first)."""

from mmroute.routing.base import kbs_with_fallback
from mmroute.types import RouteDecision, RouteScore


def _decision(
    chosen: tuple[str, ...], ranked: list[tuple[str, float, tuple[str, ...]]], rejected: bool = False
) -> RouteDecision:
    rs = tuple(RouteScore(r, p, k) for r, p, k in ranked)
    kbs = tuple(n for r, _, k in ranked if r in chosen for n in k)
    return RouteDecision(
        query="q", ranked=rs, chosen=chosen, kbs=kbs, reason="", router="t", elapsed_ms=0.0, rejected=rejected
    )


def test_unserved_document_route_falls_back_to_paragraph_kb() -> None:
    d = _decision(("document",), [("document", 0.7, ()), ("image", 0.2, ("photos",)), ("paragraph", 0.1, ("wiki",))])
    kbs, note = kbs_with_fallback(d)
    assert kbs == ("wiki",) and "fell back to paragraph" in note


def test_other_modality_used_when_nothing_of_the_same_modality_exists() -> None:
    d = _decision(("clip",), [("clip", 0.8, ()), ("image", 0.15, ("photos",)), ("no", 0.05, ())])
    assert kbs_with_fallback(d)[0] == ("photos",)


def test_no_route_rejection_and_served_routes_are_left_alone() -> None:
    assert kbs_with_fallback(_decision(("no",), [("no", 0.9, ()), ("paragraph", 0.1, ("wiki",))])) == ((), "")
    assert kbs_with_fallback(_decision((), [("paragraph", 0.9, ("wiki",))], rejected=True))[0] == ()
    assert kbs_with_fallback(_decision(("paragraph",), [("paragraph", 0.9, ("wiki",))])) == (("wiki",), "")
