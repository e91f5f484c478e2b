"""LlamaIndex integration: retriever in a query engine, selector in RouterRetriever, async, events, embedding."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path

import pytest

pytest.importorskip("llama_index.core")

from llama_index.core.instrumentation import get_dispatcher  # noqa: E402
from llama_index.core.instrumentation.event_handlers import BaseEventHandler  # noqa: E402
from llama_index.core.llms import MockLLM  # noqa: E402
from llama_index.core.query_engine import RetrieverQueryEngine  # noqa: E402
from llama_index.core.retrievers import RouterRetriever  # noqa: E402
from llama_index.core.schema import ImageNode, QueryBundle, TextNode  # noqa: E402
from llama_index.core.tools import RetrieverTool, ToolMetadata  # noqa: E402

from mmroute.errors import ConfigError  # noqa: E402
from mmroute.indexer import Indexer  # noqa: E402
from mmroute.integrations.llamaindex import (  # noqa: E402
    FollowUpEvent,
    MMRouteEmbedding,
    MMRouteRetriever,
    MMRouteSelector,
    RouteEvent,
    VerificationEvent,
    choice_targets,
    emit_answer_events,
    hit_to_node,
)
from mmroute.kb import Home  # noqa: E402
from mmroute.routing.base import kbs_for_route  # noqa: E402
from mmroute.types import (  # noqa: E402
    Answer,
    EncoderSpec,
    Granularity,
    Hit,
    Item,
    KBInfo,
    RouteDecision,
    RouteScore,
    Verdict,
    Verification,
)

HASH = EncoderSpec("hashing", {"dim": 128})

FILMS = [
    {
        "id": "f1",
        "title": "Inception",
        "text": "Inception is a 2010 science fiction film directed by Christopher Nolan.",
    },
    {"id": "f2", "title": "Christopher Nolan", "text": "Christopher Nolan is a British film director born in London."},
    {"id": "f3", "title": "Titanic", "text": "Titanic is a 1997 film directed by James Cameron about the ship."},
]
BIRDS = [
    {"id": "b1", "title": "Owl", "text": "Owls are nocturnal birds of prey with large eyes."},
    {"id": "b2", "title": "Heron", "text": "Herons are long-legged wading birds that eat fish."},
]


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(scope="module")
def li_home(tmp_path_factory: pytest.TempPathFactory) -> Home:
    """One Home for the module: an embedded (edge) KB has one owner per process."""
    root = tmp_path_factory.mktemp("li")
    home = Home(root / "home")
    Indexer(home).index("films", _write(root / "films.jsonl", FILMS), encoder=HASH, description="films and directors")
    Indexer(home).index("films-doc", _write(root / "films2.jsonl", FILMS), encoder=HASH, granularity="document")
    Indexer(home).index("birds", _write(root / "birds.jsonl", BIRDS), encoder=HASH, description="birds")
    return home


class Capture(BaseEventHandler):
    events: list = []

    @classmethod
    def class_name(cls) -> str:
        return "Capture"

    def handle(self, event, **kwargs) -> None:  # noqa: ANN001
        self.events.append(event)


@pytest.fixture
def captured():
    handler = Capture(events=[])
    root = get_dispatcher()
    root.add_event_handler(handler)
    yield handler.events
    root.event_handlers.remove(handler)


class KeywordRouter:
    """A transparent router for the tests: birds words -> the birds KB (by description), else paragraph."""

    name = "keyword"

    def warm_up(self) -> None:
        pass

    def route(self, query: str, kbs: Sequence[KBInfo], image: Path | None = None) -> RouteDecision:
        birdy = any(w in query.lower() for w in ("bird", "owl", "heron"))
        birds, films = (
            RouteScore("kb:birds", 0.8 if birdy else 0.15, kbs_for_route("kb:birds", kbs)),
            RouteScore("paragraph", 0.15 if birdy else 0.8, ("films",)),
        )  # a paragraph KB picked by description
        ranked = (birds, films) if birdy else (films, birds)
        ranked += (RouteScore("no", 0.05, ()),)
        return RouteDecision(
            query=query,
            ranked=ranked,
            chosen=(ranked[0].route,),
            kbs=ranked[0].kbs,
            reason="keywords",
            router=self.name,
            elapsed_ms=0.1,
        )


def test_retriever_returns_nodes_with_metadata(li_home: Home) -> None:
    r = MMRouteRetriever.from_home(li_home, retriever="single", router=None, kbs=["films"], k=2)
    nodes = r.retrieve("Who directed Inception?")
    assert len(nodes) == 2
    top = nodes[0]
    assert isinstance(top.node, TextNode) and top.node.metadata["item_id"] == "f1"
    assert top.node.metadata["kb"] == "films" and top.node.metadata["granularity"] == "paragraph"
    assert top.node.metadata["modality"] == "text" and top.score == pytest.approx(r.last_result.hits[0].score)
    assert nodes[0].node.node_id != nodes[1].node.node_id


def test_retriever_inside_retriever_query_engine(li_home: Home) -> None:
    r = MMRouteRetriever.from_home(li_home, retriever="stepwise", router=None, kbs=["films"], k=2)
    engine = RetrieverQueryEngine.from_args(r, llm=MockLLM(max_tokens=8))
    resp = engine.query("Which film did Christopher Nolan direct?")
    ids = [n.node.metadata["item_id"] for n in resp.source_nodes]
    assert "f1" in ids or "f2" in ids
    assert str(resp.response)  # MockLLM echoes part of the prompt, which holds the evidence
    assert r.last_result is not None and r.last_result.steps


def test_async_retrieval_matches_sync(li_home: Home) -> None:
    r = MMRouteRetriever.from_home(li_home, retriever="single", router=None, kbs=["films", "birds"], k=3)

    async def both() -> list:
        return await asyncio.gather(r.aretrieve("nocturnal owls"), r.aretrieve("Titanic ship film"))

    owls, titanic = asyncio.run(both())
    assert owls[0].node.metadata["item_id"] == "b1" and titanic[0].node.metadata["item_id"] == "f3"
    assert [n.node.node_id for n in r.retrieve("nocturnal owls")] == [n.node.node_id for n in owls]


def test_route_events_from_routed_retrieval(li_home: Home, captured: list) -> None:
    from mmroute.retrieval.single import SingleShotRetriever

    r = MMRouteRetriever(SingleShotRetriever(li_home, router=KeywordRouter()), k=2)
    nodes = r.retrieve("Where do herons live? birds")
    assert {n.node.metadata["kb"] for n in nodes} == {"birds"}
    routes = [e for e in captured if isinstance(e, RouteEvent)]
    assert routes and routes[0].chosen == ["kb:birds"] and routes[0].confidence == pytest.approx(0.8)
    assert routes[0].span_id  # emitted inside the retrieve span


def test_followup_events_from_stepwise(li_home: Home, captured: list) -> None:
    r = MMRouteRetriever.from_home(li_home, retriever="stepwise", router=None, kbs=["films"], k=3)
    r.retrieve("Where was the director of Inception born?")
    n_follow = sum(1 for s in r.last_result.steps if s.index > 0)
    follow = [e for e in captured if isinstance(e, FollowUpEvent)]
    assert len(follow) == n_follow
    assert all(e.query and e.kbs == ["films"] for e in follow)
    assert [e.bridge for e in follow] == [s.bridge for s in r.last_result.steps if s.index > 0]


def test_video_clips_with_same_caption_are_not_merged() -> None:
    def clip(s: float, e: float) -> Hit:
        item = Item(
            id=f"bbb.mp4#{s}-{e}",
            kind=Granularity.CLIP,
            text="a rabbit in a meadow",
            source="/v/bbb.mp4",
            start_s=s,
            end_s=e,
        )
        return Hit(item, score=0.5, kb="clips", rank=1)

    a, b = hit_to_node(clip(0.0, 10.0)), hit_to_node(clip(10.0, 20.0))
    assert a.node.get_content() == b.node.get_content()
    assert a.node.node_id != b.node.node_id
    assert (a.node.metadata["start_s"], a.node.metadata["end_s"]) == (0.0, 10.0)
    img = hit_to_node(Hit(Item(id="cat.jpg", kind=Granularity.IMAGE, text="a cat", source="/p/cat.jpg"), 0.4, "photos"))
    assert isinstance(img.node, ImageNode) and img.node.image_path == "/p/cat.jpg"


def test_selector_inside_router_retriever(li_home: Home, captured: list) -> None:
    home = li_home
    film_r = MMRouteRetriever.from_home(home, retriever="single", router=None, kbs=["films"], k=2)
    bird_r = MMRouteRetriever.from_home(home, retriever="single", router=None, kbs=["birds"], k=2)
    tools = [
        RetrieverTool.from_defaults(film_r, name="films", description="films and their directors"),
        RetrieverTool.from_defaults(bird_r, name="birds", description="birds"),
    ]
    selector = MMRouteSelector(KeywordRouter(), home.list)
    router_retriever = RouterRetriever(selector=selector, retriever_tools=tools, llm=MockLLM())
    birds = router_retriever.retrieve("Which bird hunts at night?")
    assert {n.node.metadata["kb"] for n in birds} == {"birds"}
    films = router_retriever.retrieve("Who directed Titanic?")
    assert {n.node.metadata["kb"] for n in films} == {"films"}
    assert selector.last_decision.chosen == ("paragraph",)
    assert any(isinstance(e, RouteEvent) for e in captured)
    res = asyncio.run(selector.aselect([t.metadata for t in tools], "owl"))
    assert res.inds == [1] and "kb:birds" in res.reason


def test_selector_mapping_rules(li_home: Home) -> None:
    kbs = li_home.list()
    assert choice_targets(ToolMetadata(name="films", description="x"), kbs) == {"kb:films"}
    assert choice_targets(ToolMetadata(name="image", description="x"), kbs) == {"image"}
    assert choice_targets(ToolMetadata(name="t", description="each film as one document, from films-doc"), kbs) == {
        "document",
        "kb:films-doc",
    }
    assert choice_targets(ToolMetadata(name="misc", description="nothing known"), kbs) == set()
    sel = MMRouteSelector(KeywordRouter(), kbs)
    decision = KeywordRouter().route("hello", kbs)
    with pytest.raises(ConfigError):
        sel.decide([ToolMetadata(name="misc", description="nothing known")], decision, kbs)
    # "no" chosen and no choice serves it: the most probable served route wins, and the reason says so
    no = RouteDecision(
        query="hi",
        ranked=(
            RouteScore("no", 0.7),
            RouteScore("kb:birds", 0.2, ("birds",)),
            RouteScore("paragraph", 0.1, ("films",)),
        ),
        chosen=("no",),
        kbs=(),
        reason="",
        router="t",
        elapsed_ms=0.0,
    )
    out = sel.decide([ToolMetadata(name="films", description=""), ToolMetadata(name="birds", description="")], no, kbs)
    assert out.inds == [1] and "which no choice serves" in out.reason


def test_verification_event_from_answer(captured: list) -> None:
    hit = Hit(Item(id="f1", kind=Granularity.PARAGRAPH, text="Inception ... Christopher Nolan."), 0.9, "films", 1)
    ans = Answer(
        question="Who directed Inception?",
        text="Christopher Nolan",
        abstained=False,
        reason="",
        evidence=(hit,),
        route=None,
        retrieval=None,
        draft=None,
        verification=Verification(Verdict.SUPPORTED, 0.91, ("answer found in evidence f1",)),
    )
    assert emit_answer_events(ans) == 1
    ev = [e for e in captured if isinstance(e, VerificationEvent)]
    assert ev and ev[0].verdict == "supported" and ev[0].reasons == ["answer found in evidence f1"]


def test_embedding_adapter_matches_kb_vectors(li_home: Home) -> None:
    home = li_home
    emb = MMRouteEmbedding.from_kb(home, "films")
    q = emb.get_query_embedding("Who directed Inception?")
    assert len(q) == 128 and abs(sum(x * x for x in q) - 1.0) < 1e-5
    hits = home.open("films").search_vector(__import__("numpy").asarray(q, dtype="float32"), k=1)
    assert hits[0].item.id == "f1"
    docs = emb.get_text_embedding_batch([FILMS[0]["text"], BIRDS[0]["text"]])
    assert len(docs) == 2 and docs[0] != docs[1]
    with pytest.raises(NotImplementedError):
        emb.get_image_embedding("/nonexistent.png")  # the hashing encoder embeds text only
    assert asyncio.run(emb.aget_query_embedding("Who directed Inception?")) == pytest.approx(q)


def test_query_bundle_image_is_passed_to_mmroute(li_home: Home) -> None:
    seen = {}

    class Recording:
        name = "rec"

        def retrieve(self, query, k=5, kbs=None, image=None):  # noqa: ANN001, ANN201
            from mmroute.retrieval.single import SingleShotRetriever

            seen["image"] = image
            return SingleShotRetriever(li_home).retrieve(query, k, ["films"])

    MMRouteRetriever(Recording(), k=1).retrieve(QueryBundle("film", image_path="/tmp/q.png"))
    assert seen["image"] == Path("/tmp/q.png")


@pytest.mark.process  # spawns the example script: make test-full
def test_the_llamaindex_example_runs_as_the_user_guide_says(tmp_path: Path) -> None:
    """The guide says the example runs these offline; it once exercised neither the selector nor MockLLM."""
    import os
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[2] / "examples" / "llamaindex_example.py"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OPENAI_API_KEY": ""}
    run = subprocess.run(
        [sys.executable, str(script), "--home", str(tmp_path / "home")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "RetrieverQueryEngine (MockLLM) used 3 source nodes" in run.stdout
    assert "RouterRetriever with MMRouteSelector: 3 nodes from ['hop']" in run.stdout
    assert "reason: router" in run.stdout and "async: [" in run.stdout
