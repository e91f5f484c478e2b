"""The fine-tuned-encoder router: training, artifact round trip, blending, CLI and errors.

A tiny randomly initialised BERT stands in for a real encoder (no weights can be downloaded here);
the recipe and the query path are the same for MiniLM or mpnet.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from mmroute.cli.main import cli
from mmroute.errors import ConfigError, InputError, ModelUnavailableError
from mmroute.routing import ROUTERS, FinetunedRouter, Router
from mmroute.routing.dataset import RoutingExample
from mmroute.routing.finetuned import FinetunedArtifact
from mmroute.training.router_finetune import FinetuneConfig, finetune_router
from tests.routing.test_routers import KBS

WORDS = (
    "what colour is the roof of this building shown in photo picture how do i cook make steps video "
    "who won cup year team when did born which older or both film directed"
).split()


@pytest.fixture(scope="module")
def tiny_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    d = tmp_path_factory.mktemp("tinybert")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "?", ",", *WORDS]
    (d / "vocab.txt").write_text("\n".join(vocab) + "\n")
    BertTokenizerFast(vocab_file=str(d / "vocab.txt")).save_pretrained(d)
    torch.manual_seed(0)
    BertModel(
        BertConfig(
            vocab_size=len(vocab),
            hidden_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=64,
            max_position_embeddings=64,
        )
    ).save_pretrained(d)
    return d


def _examples() -> list[RoutingExample]:
    image = [f"what colour is the roof of this {w}?" for w in ("building", "photo", "picture")]
    video = [f"how do i {w} steps video?" for w in ("cook", "make")]
    para = [f"who won the cup {w}?" for w in ("year", "team", "when")]
    return (
        [RoutingExample(q, "image", "webqa") for q in image * 4]
        + [RoutingExample(q, "video", "wikihow") for q in video * 6]
        + [RoutingExample(q, "paragraph", "nq") for q in para * 4]
    )


@pytest.fixture(scope="module")
def artifact(tiny_encoder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ft") / "router"
    art = finetune_router(
        _examples(), str(tiny_encoder), out, FinetuneConfig(epochs=15, lr=1e-3, batch_size=8, device="cpu")
    )
    assert art.meta["train_accuracy"] == 1.0  # separable by keywords: the loop must learn them
    assert set(art.labels) == {"webqa", "wikihow", "nq"} and set(art.routes) == {"image", "paragraph", "video"}
    return out


def test_finetuned_router_learns_and_routes(artifact: Path):
    r = FinetunedRouter(artifact, blend=1.0, device="cpu")
    assert isinstance(r, Router)
    d = r.route("how do i make steps video?", KBS)
    assert d.chosen[0] == "video" and d.kbs[0] == "videos" and d.router == "finetuned"
    assert abs(sum(rs.probability for rs in d.ranked) - 1.0) < 1e-6
    assert r.route("what colour is the roof of this photo?", KBS).chosen[0] == "image"
    assert d.details["blend"] == 1.0 and d.elapsed_ms > 0


def test_blend_averages_with_the_linear_router(artifact: Path):
    class Fixed:
        name = "fixed"

        def warm_up(self) -> None: ...

        def probabilities(self, query: str) -> dict[str, float]:
            return {"document": 1.0}

    alone = FinetunedRouter(artifact, blend=1.0, device="cpu").probabilities("who won the cup year?")
    mixed = FinetunedRouter(artifact, blend=0.25, linear=Fixed(), device="cpu").probabilities("who won the cup year?")
    assert mixed["document"] == pytest.approx(0.75)
    for route, p in alone.items():
        assert mixed[route] == pytest.approx(0.25 * p)
    assert sum(mixed.values()) == pytest.approx(1.0)


def test_artifact_round_trip_and_registry(artifact: Path):
    art = FinetunedArtifact.load(artifact)
    assert art.blend == 0.5 and art.meta["n_examples"] == len(_examples())
    r = ROUTERS.create("finetuned", path=str(artifact), blend=1.0, device="cpu")
    a = r.probabilities("who won the cup team?")
    b = FinetunedRouter(artifact, blend=1.0, device="cpu").probabilities("who won the cup team?")
    assert a == pytest.approx(b)


def test_errors_name_the_problem(tmp_path: Path, artifact: Path):
    with pytest.raises(ModelUnavailableError, match="no fine-tuned router") as e:
        FinetunedRouter(tmp_path, device="cpu").warm_up()
    assert "mmroute route finetune" in e.value.hint
    with pytest.raises(ConfigError, match="blend"):
        FinetunedRouter(artifact, blend=1.5)
    with pytest.raises(ConfigError, match="needs the path"):
        ROUTERS.create("finetuned")
    # a path that is not there, and a folder that holds no model: said so, not "OSError" or a traceback
    with pytest.raises(InputError, match="no model folder at"):
        finetune_router(
            _examples(), str(tmp_path / "nowhere"), tmp_path / "out", FinetuneConfig(epochs=1, device="cpu")
        )
    with pytest.raises(InputError, match="not a transformers model folder: it has no config.json"):
        finetune_router(_examples(), str(tmp_path), tmp_path / "out", FinetuneConfig(epochs=1, device="cpu"))


def test_cli_finetune_then_eval(tiny_encoder: Path, tmp_path: Path):
    data = tmp_path / "r.jsonl"
    data.write_text(
        "".join(json.dumps({"question": e.question, "route": e.route, "source": e.source}) + "\n" for e in _examples())
    )
    out = tmp_path / "router"
    res = CliRunner().invoke(
        cli,
        [
            "route",
            "finetune",
            "--data",
            str(data),
            "--model",
            str(tiny_encoder),
            "--out",
            str(out),
            "--epochs",
            "15",
            "--lr",
            "1e-3",
            "--batch-size",
            "8",
            "--blend",
            "1",
            "--device",
            "cpu",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output.strip().splitlines()[-1])
    assert summary["n"] == len(_examples()) and summary["blend"] == 1.0 and summary["train_accuracy"] == 1.0
    res = CliRunner().invoke(
        cli, ["route", "eval", "--data", str(data), "--router", "finetuned", "--router-path", str(out), "--json"]
    )
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)
    assert report["accuracy"] == 1.0 and report["p50_ms"] > 0
    res = CliRunner().invoke(cli, ["route", "eval", "--data", str(data), "--router", "finetuned"])
    assert res.exit_code != 0 and "--router-path" in res.output
    assert np.isfinite(report["p95_ms"])


def test_pipeline_config_selects_the_finetuned_router(artifact: Path, tmp_path: Path):
    import mmroute
    from mmroute.config import PipelineConfig

    cfg = PipelineConfig.from_dict(
        {
            "router": "finetuned",
            "router_options": {"path": str(artifact), "blend": 1.0, "device": "cpu"},
            "verify": False,
        }
    )
    pipe = mmroute.Pipeline.from_home(tmp_path / "home", cfg)
    assert isinstance(pipe.retriever.router, FinetunedRouter) and pipe.retriever.router.blend == 1.0
