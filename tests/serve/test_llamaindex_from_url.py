"""LlamaIndex `MMRouteRetriever.from_url`: retrieval through a real server, sync and async."""

from __future__ import annotations

import asyncio
import json

import pytest

pytest.importorskip("llama_index.core")

from llama_index.core.schema import QueryBundle, TextNode  # noqa: E402

from mmroute.errors import MMRouteError  # noqa: E402
from mmroute.integrations.llamaindex import MMRouteRetriever  # noqa: E402

from .helpers import FILMS, HASH, Server, mmroute, write_jsonl  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    root = tmp_path_factory.mktemp("li")
    home = root / "home"
    r = mmroute(
        "index", "--kb", "films", "--input", str(write_jsonl(root / "f.jsonl", FILMS)), "--home", str(home), *HASH
    )
    assert r.returncode == 0, r.stderr
    with Server(home, "--lazy") as s:
        yield s


def test_from_url_retrieves_nodes_through_the_server(server: Server) -> None:
    r = MMRouteRetriever.from_url(server.url, retriever="single", router=None, kbs=["films"], k=2)
    nodes = r.retrieve("Christopher Nolan film director")
    assert len(nodes) == 2 and all(isinstance(n.node, TextNode) for n in nodes)
    assert nodes[0].node.metadata["kb"] == "films" and nodes[0].node.metadata["item_id"] in {"f1", "f2"}
    assert nodes[0].score >= nodes[1].score
    assert r.last_result is not None and r.last_result.steps[0].hits  # each step's hits travel too
    searched = mmroute(
        "search", "--kb", "films", "Christopher Nolan film director", "--k", "2", "--home", str(server.home), "--json"
    )
    expected = [h["id"] for h in json.loads(searched.stdout)["hits"]]
    assert [n.node.metadata["item_id"] for n in nodes] == expected


def test_from_url_async_and_stepwise(server: Server) -> None:
    r = MMRouteRetriever.from_url(server.url, retriever="stepwise", router=None, kbs=["films"], k=3)
    nodes = asyncio.run(r.aretrieve(QueryBundle("Who directed Titanic?")))
    assert nodes and nodes[0].node.metadata["item_id"] == "f3"
    assert r.last_result is not None and r.last_result.steps[0].query == "Who directed Titanic?"


def test_from_url_errors_are_mmroute_errors(server: Server) -> None:
    r = MMRouteRetriever.from_url(server.url, retriever="single", router=None, kbs=["nope"])
    with pytest.raises(MMRouteError, match="no KB named 'nope'"):
        r.retrieve("x")
    with pytest.raises(MMRouteError, match="not a server URL"):
        MMRouteRetriever.from_url("localhost:1")
