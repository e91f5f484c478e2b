"""`mmroute route` CLI: ask, train on a small real sample, eval with the documented JSON fields."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from mmroute.cli.main import cli
from mmroute.routing.model import RouterModel


def _sample(data_dir: Path, out: Path, per_source: int) -> Path:
    rows = [json.loads(line) for line in (data_dir / "routing" / "universalrag_train.jsonl").open()]
    seen: dict[str, int] = {}
    keep = []
    for r in rows:
        if seen.get(r["source"], 0) < per_source:
            seen[r["source"]] = seen.get(r["source"], 0) + 1
            keep.append(r)
    out.write_text("".join(json.dumps(r) + "\n" for r in keep))
    return out


def test_route_question_json(tmp_path):
    res = CliRunner().invoke(
        cli, ["route", "What are the steps to repot an orchid?", "--json", "--home", str(tmp_path)]
    )
    assert res.exit_code == 0, res.output
    d = json.loads(res.output)
    assert d["chosen"] == ["video"] and d["ranked"][0]["route"] == "video" and not d["rejected"]
    assert "no KB of this home serves route(s) video" in d["reason"]


def test_route_rejects_empty_question(tmp_path):
    res = CliRunner().invoke(cli, ["route", "   ", "--home", str(tmp_path)])
    assert res.exit_code == 2 and "question is empty" in res.output  # like `ask ""`


def test_train_then_eval_small_sample(data_dir, tmp_path):
    train = _sample(data_dir, tmp_path / "train.jsonl", per_source=25)
    out = tmp_path / "router"
    res = CliRunner().invoke(cli, ["route", "train", "--data", str(train), "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output.strip().splitlines()[-1])
    assert summary["n"] == 200 and 0.5 < summary["oof_accuracy"] <= 1.0
    model = RouterModel.load(out)
    assert len(model.labels) == 8 and set(model.label_routes) == {
        "no",
        "paragraph",
        "document",
        "image",
        "clip",
        "video",
    }

    res = CliRunner().invoke(
        cli,
        [
            "route",
            "eval",
            "--data",
            str(train),
            "--router",
            "trained",
            "--router-path",
            str(out),
            "--limit",
            "40",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    report = json.loads(res.output)
    assert {"n", "accuracy", "per_route", "confusion", "p50_ms", "p95_ms"} <= set(report)
    assert report["n"] == 40 and report["accuracy"] > 0.8  # training data: must be nearly perfect
    assert report["p50_ms"] > 0
    assert report["in_sample"] is True and "in-sample" in report["note"]  # and the report says so
    assert report["seen_in_training"] == 40
    renamed = tmp_path / "other.jsonl"  # a renamed copy is still the training data
    renamed.write_text(train.read_text())
    args = ["route", "eval", "--data", str(renamed), "--router", "trained", "--router-path", str(out), "--limit", "40"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0 and "note: the router was trained on all 40 questions" in res.output
    by_option = ["route", "eval", "--data", str(renamed), "--router", "trained", "--router-option", f'path="{out}"']
    res = CliRunner().invoke(cli, [*by_option, "--limit", "40"])  # the same router, its path given as an option
    assert res.exit_code == 0 and "note: the router was trained on all 40 questions" in res.output, res.output
    # the control: questions it never saw get no note; a mix is called partly in-sample
    rows = [json.loads(line) for line in (data_dir / "routing" / "universalrag_train.jsonl").open()]
    trained = {json.loads(line)["question"] for line in train.open()}
    unseen = [r for r in rows if r["question"] not in trained][:30]
    fresh = tmp_path / "fresh.jsonl"
    fresh.write_text("".join(json.dumps(r) + "\n" for r in unseen))
    res = CliRunner().invoke(cli, [*args[:3], str(fresh), *args[4:8], "--json"])
    report = json.loads(res.output)
    assert report["in_sample"] is False and report["seen_in_training"] == 0 and "note" not in report
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text(fresh.read_text() + "".join(train.read_text().splitlines(keepends=True)[:10]))
    res = CliRunner().invoke(cli, [*args[:3], str(mixed), *args[4:8]])
    assert res.exit_code == 0 and "trained on 10 of these 40 questions" in res.output
    assert "partly in-sample" in res.output


def test_eval_rejects_bad_data(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "q", "route": "teleport"}\n')
    res = CliRunner().invoke(cli, ["route", "eval", "--data", str(bad), "--json"])
    assert res.exit_code == 2 and "unknown route" in res.output


def test_train_on_several_files(data_dir, tmp_path):
    shared = _sample(data_dir, tmp_path / "train.jsonl", per_source=12)
    own = tmp_path / "own.jsonl"
    own.write_text(
        "".join(
            json.dumps({"question": q, "route": "paragraph", "source": "hr_faq"}) + "\n"
            for q in [
                "How many vacation days do I get?",
                "Who approves parental leave?",
                "When is payroll processed?",
                "Can I carry over unused holidays?",
                "How do I report sick leave?",
                "What is the notice period?",
            ]
            * 2
        )
    )
    out = tmp_path / "router"
    res = CliRunner().invoke(
        cli, ["route", "train", "--data", str(shared), "--data", str(own), "--out", str(out), "--json"]
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.output.strip().splitlines()[-1])["n"] == 96 + 12
    model = RouterModel.load(out)
    assert "hr_faq" in model.labels and model.meta["data"] == ["train.jsonl", "own.jsonl"]
    assert model.label_routes[model.labels.index("hr_faq")] == "paragraph"


def test_train_says_what_it_is_doing_while_it_works(data_dir, tmp_path):
    """`mmroute route train` printed nothing for the ~3 minutes it featurised; it now says each stage, and a long
    featurisation says how far it got (`reporting`). With --json, only the summary is printed (the control)."""
    import numpy as np

    from mmroute.routing.embedding import QueryFeatures
    from mmroute.training.router import reporting

    train = _sample(data_dir, tmp_path / "train.jsonl", per_source=12)
    res = CliRunner().invoke(cli, ["route", "train", "--data", str(train), "--out", str(tmp_path / "r")])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0].startswith("featurising 96 routing texts and ") and "augmented copies of each" in lines[0]
    assert any(line.startswith("fitting ") and "folds" in line for line in lines)
    said: list[str] = []

    def featurize(texts):  # noqa: ANN001, ANN202
        return QueryFeatures(np.ones((len(texts), 2), np.float32), np.ones((len(texts), 4), np.float32))

    feats = reporting(featurize, said.append, every=3)(["a", "b", "c", "d", "e"])
    assert feats.embedding.shape == (5, 2) and [s.split(" (")[0] for s in said] == [
        "  featurised 3 of 5 texts",
        "  featurised 5 of 5 texts",
    ]


def test_route_eval_takes_router_options(tmp_path):
    """The llm router's error hinted at a --config that `route eval` does not take; its options now come with
    --router-option, and a misspelt one is named."""
    from tests.helpers.fake_openai import FakeOpenAI, Reply

    data = tmp_path / "r.jsonl"
    data.write_text(
        json.dumps({"question": "Show me a photo of a cat", "route": "image"})
        + "\n"
        + json.dumps({"question": "Who wrote Hamlet?", "route": "paragraph"})
        + "\n"
    )
    bare = CliRunner().invoke(cli, ["route", "eval", "--data", str(data), "--router", "llm"])
    assert bare.exit_code == 2 and "--router-option base_url=" in bare.output and "--config file" not in bare.output
    typo = CliRunner().invoke(
        cli, ["route", "eval", "--data", str(data), "--router", "trained", "--router-option", "pth=x"]
    )
    assert typo.exit_code == 2 and "router 'trained' has no option 'pth'" in typo.output
    with FakeOpenAI([Reply.ok('{"route": "image", "confidence": 0.9}')]) as srv:
        args = ["route", "eval", "--data", str(data), "--router", "llm", "--json"]
        res = CliRunner().invoke(
            cli, [*args, "--router-option", f"base_url={srv.base_url}", "--router-option", "model=m"]
        )
        assert res.exit_code == 0, res.output
        asked = [r["messages"][-1]["content"] for r in srv.requests]  # (a warm-up request comes first)
        assert "Q: Show me a photo of a cat" in asked and "Q: Who wrote Hamlet?" in asked
        assert {r["model"] for r in srv.requests} == {"m"}
    assert json.loads(res.output)["accuracy"] == 0.5  # the fake says image to both


def test_route_eval_router_options_that_are_arguments_of_their_own(tmp_path):
    """path=, threshold= and name= collided with create_router's own arguments: a TypeError traceback."""
    data = tmp_path / "r.jsonl"
    data.write_text(json.dumps({"question": "Who wrote Hamlet?", "route": "paragraph"}) + "\n")
    base = ["route", "eval", "--data", str(data), "--json"]
    federated = CliRunner().invoke(cli, [*base, "--router", "federated", "--router-option", "threshold=0.2"])
    assert federated.exit_code == 0, federated.output
    assert json.loads(federated.output)["n"] == 1
    for option in ("name=x", "threshold=high"):
        res = CliRunner().invoke(cli, [*base, "--router", "federated", "--router-option", option])
        assert res.exit_code == 2 and "Traceback" not in res.output and json.loads(res.output)["error"], res.output
    twice = CliRunner().invoke(cli, [*base, "--router-path", str(tmp_path), "--router-option", f"path={tmp_path}"])
    assert twice.exit_code == 2 and "path is given twice" in twice.output


def test_a_stratified_sample_has_exactly_the_size_asked(data_dir):
    """`route eval --limit 200` evaluated 199 (each route's share rounded down)."""
    from mmroute.cli.route_cmd import stratified_sample
    from mmroute.routing.dataset import load_routing_jsonl

    examples = load_routing_jsonl(data_dir / "routing" / "universalrag_train.jsonl")
    for n in (1, 6, 7, 120, 199, 200, 201, len(examples) - 1):
        sample = stratified_sample(examples, n)
        assert len(sample) == n and len({id(e) for e in sample}) == n, n
    routes = {e.route for e in stratified_sample(examples, 200)}
    assert routes == {e.route for e in examples}  # every route is in a sample this size
