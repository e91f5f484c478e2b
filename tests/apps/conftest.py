"""Fixtures for the app tests: a small hashing-encoded KB and an AppTest of apps/mmroute_app.py."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("streamlit")

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "apps" / "mmroute_app.py"

FILMS = [
    {"id": "f1", "title": "Inception", "text": "Inception is a 2010 science fiction film directed by Christopher Nolan."},
    {"id": "f2", "title": "Christopher Nolan", "text": "Christopher Nolan is a British film director born in London in 1970."},
    {"id": "f3", "title": "Titanic", "text": "Titanic is a 1997 film directed by James Cameron about the sinking ship."},
]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def films_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``$MMROUTE_HOME`` with KB ``films`` (hashing encoder, 3 paragraphs), built in a subprocess-free way."""
    from mmroute.indexer import Indexer
    from mmroute.kb import Home
    from mmroute.types import EncoderSpec

    root = tmp_path / "home"
    Indexer(Home(root)).index("films", write_jsonl(tmp_path / "films.jsonl", FILMS),
                              encoder=EncoderSpec("hashing", {"dim": 64}), description="films and directors")
    monkeypatch.setenv("MMROUTE_HOME", str(root))
    return root


def texts(at) -> str:  # noqa: ANN001
    """Every visible string of an AppTest run (markdown, captions, alerts, labels, widget values, tables)."""
    out: list[str] = []

    def walk(node) -> None:  # noqa: ANN001
        for attr in ("value", "body", "label", "placeholder", "help"):
            v = getattr(node, attr, None)
            if isinstance(v, str):
                out.append(v)
        proto = getattr(node, "proto", None)
        if proto is not None and node.type in ("arrow_data_frame", "dataframe"):
            out.append(str(getattr(node, "value", "")))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(out)
