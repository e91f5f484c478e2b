"""Re-indexing a folder after its files changed: the KB holds what the files say now.

Found by a new-user run (2026-12-08): after an edit removed a paragraph and another file was deleted, `index`
kept both, and `ask` answered 'three' (77%, supported) from a sentence no file held any more.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.serve.helpers import HASH, mmroute


def _ids(home: Path, query: str) -> list[str]:
    r = mmroute("search", "--kb", "notes", query, "--mode", "sparse", "--k", "10", "--json", "--home", str(home))
    assert r.returncode == 0, r.stderr
    return [h["id"] for h in json.loads(r.stdout)["hits"]]


def test_an_edited_or_deleted_file_leaves_nothing_behind(tmp_path: Path) -> None:
    docs, home = tmp_path / "docs", tmp_path / "home"
    docs.mkdir()
    coffee, parking, vacation = docs / "coffee.md", docs / "parking.txt", docs / "vacation.txt"
    coffee.write_text("# Coffee\n\nThe machine is on floor two.\n\nEmployees may take three free espressos a day.\n")
    parking.write_text("Visitors park in the garage under the north tower.\n")
    vacation.write_text("Full-time employees get 28 vacation days a year.\n")
    index = ("index", "--kb", "notes", "--input", str(docs), *HASH, "--home", str(home))
    first = mmroute(*index)
    assert first.returncode == 0 and "-> 5 items" in first.stdout, first.stdout + first.stderr
    assert any(i.startswith("coffee.md") for i in _ids(home, "espressos"))

    coffee.write_text("# Coffee\n\nThe machine was removed in 2025; bring your own tea.\n")
    parking.unlink()
    second = mmroute(*index)
    assert second.returncode == 0, second.stderr
    assert "2 removed (no longer in their files)" in second.stdout and "-> 3 items" in second.stdout, second.stdout
    assert _ids(home, "espressos") == [] and _ids(home, "garage visitors") == []
    assert any(i.startswith("coffee.md") for i in _ids(home, "machine removed tea"))
    assert any(i.startswith("vacation.txt") for i in _ids(home, "vacation days"))  # the control: untouched
    info = json.loads(mmroute("kb", "info", "notes", "--json", "--home", str(home)).stdout)
    assert info["count"] == 3 and not any("parking" in s for s in json.dumps(info.get("sources", "")).split(","))
    third = mmroute(*index)  # and a re-run with nothing changed removes nothing
    assert third.returncode == 0 and "removed" not in third.stdout and "-> 3 items" in third.stdout, third.stdout


def test_a_renamed_or_duplicated_corpus_keeps_its_items(tmp_path: Path) -> None:
    """Items a file still present makes are never removed, whichever file's name their payload carries (a review
    found `a.jsonl` renamed to `b.jsonl` left the KB empty for good)."""
    docs, home = tmp_path / "docs", tmp_path / "home"
    docs.mkdir()
    rows = [{"id": "r1", "text": "Inception is a 2010 film."}, {"id": "r2", "text": "Titanic is a 1997 film."}]
    (docs / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    index = ("index", "--kb", "notes", "--input", str(docs), *HASH, "--home", str(home))
    assert mmroute(*index).returncode == 0
    (docs / "a.jsonl").rename(docs / "b.jsonl")
    renamed = mmroute(*index)
    assert renamed.returncode == 0 and "removed" not in renamed.stdout and "-> 2 items" in renamed.stdout, (
        renamed.stdout
    )
    (docs / "z.jsonl").write_text(json.dumps(rows[0]) + "\n")  # the same record in a second file
    assert mmroute(*index).returncode == 0
    (docs / "z.jsonl").unlink()
    dropped = mmroute(*index)
    assert dropped.returncode == 0 and "removed" not in dropped.stdout and "-> 2 items" in dropped.stdout, (
        dropped.stdout
    )
    assert "r1" in _ids(home, "Inception film")
