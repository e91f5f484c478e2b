"""Acceptance: single-shot MiniLM retrieval on the shared multi-hop set (DESIGN.md §5 baseline: 57% at k=5)."""

from pathlib import Path

from mmroute.evaluation.questions import load_questions
from mmroute.evaluation.retrieval import evaluate_retrieval
from mmroute.kb import Home
from mmroute.retrieval.single import SingleShotRetriever


def test_multihop_single_shot_all_gold_at_5(hop_home: Path, data_dir: Path) -> None:
    qs = load_questions(data_dir / "text/multihop_ircot/questions.jsonl")
    res = evaluate_retrieval(SingleShotRetriever(Home(hop_home)), qs, k=5, kbs=["hop"])
    assert res.aggregates["recall_all"]["5"] >= 0.55
    assert res.aggregates["recall_any"]["5"] >= 0.95
