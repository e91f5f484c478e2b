"""The verifier guards any generator: positive and negative controls behind a real loopback endpoint.

The questions come from the SQuAD 2.0 dev article "Normans": the packaged reader never trained on it, and
the policy used is the fold policy calibrated on the *other two* dev articles
(``evals/results/verifier_folds/policy_without_Normans.json``, written by ``python -m evals.build.calibrate_verifier``).
An endpoint that returns the gold answer must be let through (positive control); one that returns
another question's answer from the same article must be stopped (negative control).

The issue's target is >= 80% of correct answers through at <= 10% of wrong ones; on all held-out dev
questions (``python -m evals.bench.bench_answers``) it lets 87% of correct and 6.4% of wrong answers through. Here,
on a small sample, the positive control asserts 70% (a margin below the measured level) and the negative
control the target bound itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mmroute.config import EndpointConfig, PipelineConfig
from mmroute.pipeline import Pipeline
from mmroute.reading.squad import f1_score, load_squad
from mmroute.types import Verdict
from tests.helpers.fake_openai import FakeOpenAI, Reply

REPO = Path(__file__).resolve().parents[2]
FOLD_POLICY = REPO / "evals" / "results" / "verifier_folds" / "policy_without_Normans.json"
N = 24


@pytest.fixture(scope="module")
def normans_questions(data_dir):
    ex = [
        e
        for e in load_squad(data_dir / "text/squad2_dev/dev-v2.0-shared3articles.json")
        if e.title == "Normans" and e.answerable
    ]
    # every 3rd question, so the sample spreads over the whole article
    return ex[::3][:N]


def _wrong_for(e, pool) -> str:
    return next(
        o.answers[0] for o in pool[::-1] if o is not e and max(f1_score(o.answers[0], [g]) for g in e.answers) == 0
    )


def _pipe(home: Path, url: str) -> Pipeline:
    cfg = PipelineConfig(
        generator="openai",
        kbs=["squad"],
        policy_path=str(FOLD_POLICY),
        dual_path=False,
        endpoint=EndpointConfig(url=url, model="loopback", api_key_env=None, max_retries=0),
    )
    return Pipeline.from_home(home, cfg)


def _script(mapping):
    def reply(body):
        user = body["messages"][-1]["content"]
        q = user.rsplit("Question:", 1)[-1].split("\nShort answer:", 1)[0].strip()
        return Reply.ok(mapping.get(q, "I don't know"))

    return reply


def test_correct_answers_pass_and_plausible_wrong_ones_are_stopped(squad_home, normans_questions):
    assert FOLD_POLICY.is_file(), "run python -m evals.build.calibrate_verifier"
    gold = {e.question: e.answers[0] for e in normans_questions}
    wrong = {e.question: _wrong_for(e, normans_questions) for e in normans_questions}
    with FakeOpenAI(reply_fn=_script(gold)) as srv:
        pipe = _pipe(squad_home, srv.base_url)
        pos = [pipe.ask(q) for q in gold]
    with FakeOpenAI(reply_fn=_script(wrong)) as srv:
        pipe = _pipe(squad_home, srv.base_url)
        neg = [pipe.ask(q) for q in wrong]
    passed = sum(not a.abstained for a in pos)
    leaked = sum(not a.abstained for a in neg)
    assert all(a.draft.generator == "openai" for a in pos + neg)
    assert passed >= 0.7 * N, f"positive control: only {passed}/{N} correct answers let through"
    assert leaked <= 0.1 * N, f"negative control: {leaked}/{N} wrong answers let through"
    ok = next(a for a in pos if not a.abstained)
    assert ok.verification.verdict is Verdict.SUPPORTED and "reader_expected_f1" in ok.verification.signals


@pytest.mark.parametrize("reply", ["", "The passages talk about many things and I would rather not say.", "   \n"])
def test_prose_or_empty_replies_give_i_dont_know(squad_home, reply):
    with FakeOpenAI([Reply.ok(reply)]) as srv:
        ans = _pipe(squad_home, srv.base_url).ask("In what country is Normandy located?")
    assert ans.abstained and ans.reason
    assert ans.display_text == "I don't know"


@pytest.mark.process  # spawns the CLI: make test-full
def test_cli_eval_answers_with_endpoint_reports_strict_metrics(data_dir, normans_questions, tmp_path):
    from mmroute.indexer import Indexer
    from mmroute.kb import Home

    corpus = tmp_path / "normans.jsonl"
    with open(data_dir / "text/squad2_dev/corpus.jsonl", encoding="utf-8") as f:
        corpus.write_text("".join(line for line in f if '"squad2/Normans"' in line), encoding="utf-8")
    squad_home = tmp_path / "home"  # its own home: the session's squad home is held open by this process
    Indexer(Home(squad_home)).index("squad", corpus)
    qfile = tmp_path / "q.jsonl"
    sample = normans_questions[:6]
    qfile.write_text(
        "".join(json.dumps({"id": e.id, "question": e.question, "answers": list(e.answers)}) + "\n" for e in sample)
    )
    gold = {e.question: e.answers[0] for e in sample}
    env = {**os.environ, "MMROUTE_HOME": str(squad_home)}
    with FakeOpenAI(reply_fn=_script(gold)) as srv:
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "mmroute",
                "eval",
                "answers",
                "--kb",
                "squad",
                "--questions",
                str(qfile),
                "--generator",
                "openai",
                "--endpoint-url",
                srv.base_url,
                "--endpoint-model",
                "loopback",
                "--json",
                "--out",
                str(tmp_path / "o.jsonl"),
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
        )
    assert r.returncode == 0, r.stderr
    agg = json.loads(r.stdout)
    assert {"em", "f1", "correct", "wrong", "abstained", "truthfulness", "lenient", "squad2_em"} <= set(agg)
    assert agg["unguarded"]["em"] == 1.0, "every scripted draft is the gold answer"
    assert agg["wrong"] == 0 and agg["correct"] >= 2  # the positive-control level (a third), see the module doc
    lines = [json.loads(x) for x in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert [x["id"] for x in lines] == [e.id for e in sample]
