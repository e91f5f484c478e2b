"""Shared fixtures: offline environment, paths to the shared data, a temporary home."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("MMROUTE_DATA") or REPO.parent / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not DATA.is_dir():
        pytest.skip(f"shared data not found at {DATA} (set MMROUTE_DATA)")
    return DATA


@pytest.fixture
def home_dir(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture(scope="session")
def output_dir() -> Path:
    """Where tests leave artefacts worth looking at (screenshots, plots)."""
    out = REPO / "tests" / "_output"
    out.mkdir(parents=True, exist_ok=True)
    return out


def _build(home: Path, kb: str, src: Path, **kw) -> Path:
    from mmroute.indexer import Indexer
    from mmroute.kb import Home

    Indexer(Home(home)).index(kb, src, **kw)
    return home


@pytest.fixture(scope="session")
def hop_home(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with KB ``hop``: the shared multi-hop corpus, MiniLM, paragraph granularity (built once)."""
    return _build(tmp_path_factory.mktemp("hop_home"), "hop", data_dir / "text/multihop_ircot/corpus.jsonl")


@pytest.fixture(scope="session")
def squad_home(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with KB ``squad``: the shared SQuAD 2.0 dev paragraphs, MiniLM (built once)."""
    return _build(tmp_path_factory.mktemp("squad_home"), "squad", data_dir / "text/squad2_dev/corpus.jsonl")


def squad_hits(data_dir: Path, ids: list[str]):  # noqa: ANN201
    """Real SQuAD 2.0 paragraphs (shared data) as retrieval hits, scored in the given order."""
    import json

    from mmroute.types import Granularity, Hit, Item

    recs = {}
    with open(data_dir / "text" / "squad2_dev" / "corpus.jsonl", encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            recs[r["id"]] = r
    return [
        Hit(
            item=Item(id=i, kind=Granularity.PARAGRAPH, text=recs[i]["text"], title=recs[i].get("title")),
            score=0.6 - 0.05 * n,
            kb="squad",
            rank=n + 1,
        )
        for n, i in enumerate(ids)
    ]


@pytest.fixture(scope="session")
def normans_hits(data_dir: Path):  # noqa: ANN201
    return squad_hits(data_dir, ["squad2/Normans/0", "squad2/Normans/1", "squad2/Normans/2"])


PROCESS_TIER = (
    "tests/cli/",
    "tests/hostile/",
    "tests/plugins/",
    "tests/reliability/",
    "tests/serve/",
    "tests/apps/test_app_process.py",
    "tests/apps/test_e2e_browser.py",
    "tests/apps/test_installed_app.py",
    "tests/core/test_crash_resume.py",
    "tests/core/test_packaging.py",
    "tests/security/test_app_binding.py",
)
"""Test files that start processes (the CLI, ``mmroute serve``, the app, a browser, pip builds): the ``process``
tier, run by ``make test-full`` and CI; ``make test`` runs the in-process tier, which covers every module."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        rel = Path(str(item.fspath)).resolve().relative_to(REPO).as_posix()
        if rel.startswith(PROCESS_TIER):
            item.add_marker(pytest.mark.process)
