"""Widening a route by evidence: a KB the router did not pick is searched when the picked KBs hold nothing
close to the question and it does; never when the picked KBs hold the answer, never across score spaces."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from mmroute.indexer import Indexer
from mmroute.kb import Home
from mmroute.retrieval import RETRIEVERS
from mmroute.retrieval.widening import widen_by_evidence
from mmroute.types import EncoderSpec
from tests.retrieval.conftest import WIKI, KeywordRouter, NoRetrievalRouter, make_kb

NORMANS = [
    ("n1", "Normans", "The Normans were the people who in the 10th and 11th centuries gave their name to Normandy."),
    ("n2", "Rollo", "Rollo was the Viking leader who founded the duchy of Normandy after the siege of Chartres."),
    ("n3", "Duchy", "The duchy of Normandy was ruled by dukes descended from Rollo until 1204."),
]
LENNON_Q = "Nobody Loves You is a song by John Lennon released on which album?"
NORMANS_Q = "Which Viking leader founded the duchy of Normandy?"


@pytest.fixture(scope="module")
def two_corpora(tmp_path_factory: pytest.TempPathFactory) -> Home:
    """``wiki`` (Lennon and Eiffel paragraphs) and ``normans``, one score space; ``other`` in another."""
    tmp = tmp_path_factory.mktemp("widening")
    home = Home(tmp / "home")
    make_kb(home, tmp, "wiki", WIKI)
    make_kb(home, tmp, "normans", NORMANS)
    src = tmp / "other.jsonl"
    src.write_text("".join(json.dumps({"id": i, "title": t, "text": x}) + "\n" for i, t, x in WIKI), encoding="utf-8")
    Indexer(home, batch_size=16).index(
        "other", src, granularity="paragraph", encoder=EncoderSpec("hashing", {"dim": 128})
    )
    return home


def test_a_kb_holding_the_question_is_added_when_the_routed_one_holds_nothing(two_corpora: Home) -> None:
    w = widen_by_evidence(two_corpora, LENNON_Q, ["normans"], ["wiki", "normans"])
    assert w.added == ("wiki",)
    assert "also searched wiki" in w.note and "normans" not in w.note.split("also searched")[1]


def test_nothing_is_added_when_the_routed_kb_holds_the_answer(two_corpora: Home) -> None:
    """The positive control's twin: the same KBs, a question the routed KB answers."""
    w = widen_by_evidence(two_corpora, NORMANS_Q, ["normans"], ["wiki", "normans"])
    assert w.added == () and w.note == ""


def test_kbs_whose_cosines_do_not_compare_are_never_added(two_corpora: Home) -> None:
    """``other`` holds the Lennon paragraphs too, but under another encoder: its cosines are not comparable."""
    w = widen_by_evidence(two_corpora, LENNON_Q, ["normans"], ["other", "normans"])
    assert w.added == ()
    assert widen_by_evidence(two_corpora, LENNON_Q, [], ["wiki", "normans"]).added == ()


@pytest.mark.parametrize("name", ["single", "stepwise"])
def test_retrievers_search_the_widened_kb_and_say_so(two_corpora: Home, name: str) -> None:
    router = KeywordRouter([], kb_if="wiki", kb_else="normans")  # every question routed to normans
    allowed = ["wiki", "normans"]
    widened = RETRIEVERS.create(name, home=two_corpora, router=router)
    res = widened.retrieve(LENNON_Q, k=3, kbs=None)
    assert set(res.steps[0].kbs) >= {"normans", "wiki"} and "also searched wiki" in res.steps[0].note
    assert res.hits[0].kb == "wiki" and res.hits[0].item.id == "w1"
    routed_only = RETRIEVERS.create(name, home=two_corpora, router=router, widen=False)
    res = routed_only.retrieve(LENNON_Q, k=3)
    assert all(h.kb == "normans" for h in res.hits) and "also searched" not in res.steps[0].note
    res = widened.retrieve(NORMANS_Q, k=3)
    assert res.steps[0].kbs == ("normans",) and res.hits[0].item.id == "n2"
    assert set(allowed) >= {h.kb for h in res.hits}


def cli(home: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``mmroute ARGS --home HOME`` in a subprocess, offline."""
    env = {**os.environ, "MMROUTE_DEBUG": "", "HF_HUB_OFFLINE": "1"}

    def mmroute(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mmroute", *args, "--home", str(home)],
            capture_output=True,
            text=True,
            timeout=600,
            env=env,
        )

    return mmroute


@pytest.mark.process  # spawns the CLI: make test-full
def test_ask_from_the_command_line_finds_the_paragraphs_a_document_route_misses(tmp_path: Path, data_dir: Path) -> None:
    """The README's layout in small, with the default encoder: multi-hop paragraphs as a paragraph KB beside
    an unrelated document KB. The router sends the two-hop question to ``document``; the evidence must still
    come from ``films``, and does not without widening."""
    home = tmp_path / "home"
    films = tmp_path / "films.jsonl"
    keep = {"ircot/12", "ircot/13", "ircot/14", "ircot/15", "ircot/2", "ircot/3", "ircot/8", "ircot/9"}
    lines = (data_dir / "text/multihop_ircot/corpus.jsonl").read_text(encoding="utf-8").splitlines()
    films.write_text("\n".join(x for x in lines if json.loads(x)["id"] in keep) + "\n", encoding="utf-8")
    mmroute = cli(home)

    assert mmroute("index", "--kb", "films", "--input", str(films), "--granularity", "paragraph").returncode == 0
    docs = data_dir / "text/squad2_dev/corpus.jsonl"
    assert mmroute("index", "--kb", "squad", "--input", str(docs), "--granularity", "document").returncode == 0
    q = "Jeremy Theobald and Christopher Nolan share what profession?"
    r = mmroute("ask", q, "--stepwise", "--no-verify", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    step0 = out["retrieval"]["steps"][0]
    assert out["route"]["chosen"] == ["document"], "the fixture needs the router to pick the document KB"
    assert "films" in step0["kbs"] and "also searched films" in step0["note"]
    ids = [e["id"] for e in out["evidence"]][:5]
    assert {"ircot/12", "ircot/14"} <= set(ids), ids
    r = mmroute("ask", q, "--stepwise", "--no-verify", "--json", "--retriever-option", "widen=false")
    assert r.returncode == 0, r.stderr
    step0 = json.loads(r.stdout)["retrieval"]["steps"][0]
    assert step0["kbs"] == ["squad"], "without widening the first step searches the routed KB only"


def no_route_ask(tmp_path: Path, data_dir: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``mmroute ask`` over a paragraph KB of one SQuAD article (the default encoder and router)."""
    home = tmp_path / "home"
    cct = tmp_path / "cct.jsonl"
    lines = (data_dir / "text/squad2_dev/corpus.jsonl").read_text(encoding="utf-8").splitlines()
    cct.write_text("\n".join(x for x in lines if "/Computational_complexity_theory/" in x) + "\n", encoding="utf-8")
    mmroute = cli(home)

    assert mmroute("index", "--kb", "cct", "--input", str(cct), "--granularity", "paragraph").returncode == 0
    return mmroute


@pytest.mark.process  # spawns the CLI: make test-full
def test_a_question_routed_to_no_retrieval_searches_the_kb_that_holds_its_paragraph(
    tmp_path: Path, data_dir: Path
) -> None:
    """The router reads the exam-like question as general knowledge (``no``); the KB holds its paragraph, so it
    is searched anyway and says why. Negative controls: a question about nothing in the KB stays unsearched,
    and ``widen=false`` keeps the router's word."""
    mmroute = no_route_ask(tmp_path, data_dir)
    q = "What unit is measured to determine circuit complexity?"
    r = mmroute("ask", q, "--no-verify", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["route"]["chosen"] == ["no"], "the fixture needs the router to pick no retrieval"
    step0 = out["retrieval"]["steps"][0]
    assert (
        step0["kbs"] == ["cct"] and "the router chose no retrieval, but these KBs hold something close" in step0["note"]
    )
    assert "squad2/Computational_complexity_theory/1" in [e["id"] for e in out["evidence"]][:5]
    r = mmroute("ask", q, "--no-verify", "--json", "--retriever-option", "widen=false")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["evidence"] == []
    r = mmroute("ask", "What is the embryological origin of the hyoid bone?", "--no-verify", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["route"]["chosen"] == ["no"] and out["evidence"] == []


def test_the_no_route_rule_never_searches_a_rejected_question_or_a_kb_below_the_floor(two_corpora: Home) -> None:
    from mmroute.retrieval.widening import evidence_despite_no_route, is_no_route
    from mmroute.types import RouteDecision, RouteScore

    def decision(chosen: tuple[str, ...], kbs: tuple[str, ...] = (), rejected: bool = False) -> RouteDecision:
        ranked = tuple(RouteScore(c, 1.0 / len(chosen), kbs if c != "no" else ()) for c in chosen) or (
            RouteScore("no", 1.0, ()),
        )
        return RouteDecision("q", ranked, chosen, kbs, "", "stub", 0.0, rejected=rejected)

    assert is_no_route(decision(("no",)))
    assert not is_no_route(decision((), rejected=True))  # the guard's rejection: nothing is chosen
    assert not is_no_route(decision(("no", "paragraph"), ("normans",)))  # searches the paragraph KBs
    assert not is_no_route(decision(("paragraph",), ("normans",))) and not is_no_route(None)
    w = evidence_despite_no_route(two_corpora, NORMANS_Q, ["wiki", "normans"], floor=0.0)
    assert "normans" in w.added and "the router chose no retrieval" in w.note
    assert evidence_despite_no_route(two_corpora, NORMANS_Q, ["wiki", "normans"], floor=1.01).added == ()
    assert evidence_despite_no_route(two_corpora, NORMANS_Q, ["wiki"], floor=0.0).added == ("wiki",)  # only allowed


def test_the_no_route_rule_skips_kbs_that_are_not_text(world: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    """``photos`` holds captions as text in this fixture; declared an image KB, it is never searched."""
    from dataclasses import replace
    from types import SimpleNamespace

    from mmroute.retrieval.widening import evidence_despite_no_route
    from mmroute.types import Modality

    assert evidence_despite_no_route(world, "a cat on a mat", ["wiki", "photos"], floor=-1.0).added == (
        "wiki",
        "photos",
    )
    real_open = world.open
    image_kb = SimpleNamespace(info=replace(real_open("photos").info, modality=Modality.IMAGE))
    monkeypatch.setattr(world, "open", lambda name: image_kb if name == "photos" else real_open(name))
    assert evidence_despite_no_route(world, "a cat on a mat", ["wiki", "photos"], floor=-1.0).added == ("wiki",)


@pytest.mark.parametrize("name", ["single", "stepwise"])
def test_retrievers_search_a_close_kb_despite_the_no_route(two_corpora: Home, name: str) -> None:
    """A router that always says ``no``: the question whose paragraph is in ``normans`` gets it (and the
    step-wise retriever does not stop with "router chose no retrieval"); ``widen=false`` keeps the router's word."""
    from mmroute.retrieval import widening

    floor = widening.NO_ROUTE_FLOOR
    best = widening.BestCosines(two_corpora, NORMANS_Q)("normans")
    assert best >= floor, f"the fixture needs the Normans paragraph above the floor ({best:.2f})"
    res = RETRIEVERS.create(name, home=two_corpora, router=NoRetrievalRouter()).retrieve(NORMANS_Q, k=3)
    assert "normans" in res.steps[0].kbs and "the router chose no retrieval" in res.steps[0].note
    assert res.hits and res.hits[0].item.id == "n2"
    assert res.stop_reason != "router chose no retrieval"
    off = RETRIEVERS.create(name, home=two_corpora, router=NoRetrievalRouter(), widen=False)
    assert off.retrieve(NORMANS_Q, k=3).hits == ()
