"""Real SQuAD 2.0 paragraphs (shared data) as retrieval hits."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmroute.types import Granularity, Hit, Item


def squad_hits(data_dir: Path, ids: list[str]) -> list[Hit]:
    recs = {}
    with open(data_dir / "text" / "squad2_dev" / "corpus.jsonl", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            recs[r["id"]] = r
    return [Hit(item=Item(id=i, kind=Granularity.PARAGRAPH, text=recs[i]["text"], title=recs[i].get("title")),
                score=0.6 - 0.05 * n, kb="squad", rank=n + 1) for n, i in enumerate(ids)]


@pytest.fixture(scope="session")
def normans_hits(data_dir: Path) -> list[Hit]:
    return squad_hits(data_dir, ["squad2/Normans/0", "squad2/Normans/1", "squad2/Normans/2"])
