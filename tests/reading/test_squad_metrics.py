"""SQuAD-format loading and the official EM/F1 (normalisation, several golds, unanswerable questions)."""

from __future__ import annotations

import json

import pytest

from mmroute.errors import InputError
from mmroute.reading.squad import exact_match, f1_score, load_squad


def test_official_normalisation_and_max_over_golds():
    assert exact_match("The Normans!", ["Normans"]) == 1.0
    assert exact_match("Normans of France", ["Normans"]) == 0.0
    assert f1_score("Normans of France", ["Normans"]) == pytest.approx(2 * (1 / 3) * 1 / (1 / 3 + 1))
    assert f1_score("10th century", ["in the 10th and 11th centuries", "10th century"]) == 1.0
    assert f1_score("Rollo", ["Harald"]) == 0.0


def test_unanswerable_questions_score_only_the_empty_prediction():
    assert exact_match("", []) == 1.0 and f1_score("", []) == 1.0
    assert exact_match("Rollo", []) == 0.0 and f1_score("Rollo", []) == 0.0


def test_load_squad_keeps_titles_and_skips_misaligned_answers(tmp_path):
    ctx = "Rollo led the Norse. They settled in Normandy."
    data = {
        "version": "v2.0",
        "data": [
            {
                "title": "Normans",
                "paragraphs": [
                    {
                        "context": ctx,
                        "qas": [
                            {"id": "a", "question": "Who led?", "answers": [{"text": "Rollo", "answer_start": 0}]},
                            {
                                "id": "b",
                                "question": "Where?",
                                "answers": [{"text": "Normandy", "answer_start": 3}],
                            },  # wrong offset
                            {
                                "id": "c",
                                "question": "When?",
                                "answers": [],
                                "is_impossible": True,
                                "plausible_answers": [{"text": "Rollo", "answer_start": 0}],
                            },
                        ],
                    }
                ],
            }
        ],
    }
    p = tmp_path / "s.json"
    p.write_text(json.dumps(data))
    ex = load_squad(p)
    assert [e.id for e in ex] == ["a", "c"]
    assert ex[0].title == "Normans" and ex[0].answers == ("Rollo",) and ex[0].answerable
    assert not ex[1].answerable


def test_load_squad_errors_are_one_line(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_squad(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"data": 3')
    with pytest.raises(InputError, match="not a SQuAD-format JSON file"):
        load_squad(bad)


def test_shared_train_and_dev_articles_are_disjoint(data_dir):
    from mmroute.reading.squad import articles

    train = load_squad(data_dir / "text/squad2_train_partial/train-v2.0-first10articles.json")
    dev = load_squad(data_dir / "text/squad2_dev/dev-v2.0-shared3articles.json")
    assert len(train) == 4719 and len(articles(train)) == 10
    assert not set(articles(train)) & set(articles(dev))


def test_the_no_answer_auc_is_the_rank_sum_auc_with_ties_halved() -> None:
    """numpy's rank-sum AUC (no scikit-learn in the base install) against scikit-learn's, ties included."""
    import numpy as np
    from sklearn.metrics import roc_auc_score

    from mmroute.reading.evaluation import roc_auc

    rng = np.random.default_rng(0)
    for _ in range(40):
        scores = rng.integers(0, 6, 50).astype(float)  # many ties
        labels = rng.random(50) < 0.4
        if labels.all() or not labels.any():
            continue
        assert abs(roc_auc(scores, labels) - roc_auc_score(labels, scores)) < 1e-12
    assert roc_auc([0.1, 0.9], [False, True]) == 1.0
    assert roc_auc([0.5, 0.5], [False, True]) == 0.5
