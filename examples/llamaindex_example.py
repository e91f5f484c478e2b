"""mmroute inside LlamaIndex, offline: retriever in a query engine, router as a selector, events.

    python examples/llamaindex_example.py --home /tmp/mmroute-li-demo     # builds a small KB there first

Uses the model-free hashing encoder for the demo KBs so it runs in seconds on any machine; with KBs
built by `mmroute index` (MiniLM etc.) pass `--home` of those and `--no-build`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from llama_index.core.instrumentation import get_dispatcher  # noqa: E402
from llama_index.core.instrumentation.event_handlers import BaseEventHandler  # noqa: E402
from llama_index.core.llms import MockLLM  # noqa: E402
from llama_index.core.query_engine import RetrieverQueryEngine  # noqa: E402
from llama_index.core.retrievers import RouterRetriever  # noqa: E402
from llama_index.core.tools import RetrieverTool  # noqa: E402

from mmroute.indexer import Indexer  # noqa: E402
from mmroute.integrations.llamaindex import FollowUpEvent, MMRouteRetriever, MMRouteSelector, RouteEvent  # noqa: E402
from mmroute.kb import Home  # noqa: E402
from mmroute.types import EncoderSpec  # noqa: E402

DATA = Path(os.environ.get("MMROUTE_DATA") or Path(__file__).resolve().parents[2] / "shared" / "data")


class PrintEvents(BaseEventHandler):
    @classmethod
    def class_name(cls) -> str:
        return "PrintEvents"

    def handle(self, event, **kwargs) -> None:  # noqa: ANN001
        if isinstance(event, RouteEvent):
            print(f"  [route] step {event.step}: {event.chosen} -> {event.kbs} (p={event.confidence:.2f})")
        elif isinstance(event, FollowUpEvent):
            print(f"  [follow-up] step {event.step}: {event.query!r} on {event.kbs}: {len(event.new_ids)} new")


def build(home: Home) -> None:
    corpus = DATA / "text" / "multihop_ircot" / "corpus.jsonl"
    if not corpus.is_file():
        raise SystemExit(f"shared data not found at {DATA}; set MMROUTE_DATA")
    small = home.root / "hop-sample.jsonl"
    home.root.mkdir(parents=True, exist_ok=True)
    small.write_text("".join(corpus.read_text().splitlines(keepends=True)[:120]))
    report = Indexer(home).index("hop", small, encoder=EncoderSpec("hashing", {"dim": 256}))[0]
    print(f"KB hop: {report.count} paragraphs")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", default="/tmp/mmroute-li-demo")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--kb", default="hop")
    ap.add_argument("--question", default="Who is the director of the film The Burning Soil?")
    args = ap.parse_args()
    home = Home(args.home)
    if not args.no_build:
        build(home)
    get_dispatcher().add_event_handler(PrintEvents())

    retriever = MMRouteRetriever.from_home(home, retriever="stepwise", router=None, kbs=[args.kb], k=3)
    print(f"\nQ: {args.question}")
    for n in retriever.retrieve(args.question):
        m = n.node.metadata
        print(f"  {n.score:.3f}  {m['kb']}/{m['item_id']}  {m.get('title')}: {n.node.get_content()[:80]}…")

    engine = RetrieverQueryEngine.from_args(retriever, llm=MockLLM(max_tokens=16))
    resp = engine.query(args.question)
    print(
        f"\nRetrieverQueryEngine (MockLLM) used {len(resp.source_nodes)} source nodes:",
        json.dumps([s.node.metadata["item_id"] for s in resp.source_nodes]),
    )

    # the router as a selector: each tool is named after a KB (or a route); the router picks among them
    tools = [
        RetrieverTool.from_defaults(retriever, name=args.kb, description="Wikipedia paragraphs"),
        RetrieverTool.from_defaults(retriever, name="video", description="whole videos"),
    ]
    selector = MMRouteSelector.from_home(home)
    router_retriever = RouterRetriever(selector=selector, retriever_tools=tools, llm=MockLLM())
    nodes = router_retriever.retrieve(args.question)
    assert selector.last_decision is not None  # the decision the retrieval just made: mapped again, not re-routed
    picked = selector.decide([t.metadata for t in tools], selector.last_decision, selector.kb_infos()).selections
    print(
        f"\nRouterRetriever with MMRouteSelector: {len(nodes)} nodes from",
        [tools[s.index].metadata.name for s in picked],
    )
    print("  reason:", picked[0].reason)

    nodes = asyncio.run(retriever.aretrieve("Nosferatu director"))
    print("async:", [n.node.metadata["item_id"] for n in nodes])


if __name__ == "__main__":
    main()
