"""Messages of a run cut short or given too much: Ctrl-C, and a second --input (click kept only the last one)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mmroute import ops
from mmroute.cli.main import cli


def _interrupt(*_: Any, **__: Any) -> Any:
    raise KeyboardInterrupt


@pytest.mark.parametrize(
    ("patched", "args", "resumes"),
    [
        ("index", ["index", "--kb", "x", "--input", "{corpus}"], True),
        ("route", ["route", "Who directed Inception?"], False),
    ],
)
def test_the_interrupt_hint_says_what_a_rerun_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, patched: str, args: list[str], resumes: bool
) -> None:
    corpus = tmp_path / "c.jsonl"
    corpus.write_text('{"id": "a", "text": "Inception is a 2010 film directed by Christopher Nolan."}\n')
    monkeypatch.setenv("MMROUTE_NO_SERVER", "1")
    monkeypatch.setattr(ops, patched, _interrupt)
    argv = [a.format(corpus=corpus) for a in args]
    res = CliRunner().invoke(cli, [*argv, "--home", str(tmp_path / "home")])
    assert res.exit_code == 130 and "error: interrupted" in res.output, res.output
    assert ("resume where it stopped" in res.output) is resumes, res.output
    if not resumes:
        assert "run the command again when you want its result" in res.output


def test_a_second_input_is_refused_not_dropped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("Alpha is the first letter.\n")
    b.write_text("Beta is the second letter.\n")
    monkeypatch.setenv("MMROUTE_NO_SERVER", "1")
    home = tmp_path / "home"
    res = CliRunner().invoke(cli, ["index", "--kb", "x", "--input", str(a), "--input", str(b), "--home", str(home)])
    assert res.exit_code == 2 and "--input given 2 times; one run indexes one input" in res.output, res.output
    assert not (home / "kbs" / "x").exists()
