"""The Streamlit app's pages under streamlit.testing.v1.AppTest (no browser, no server)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from mmroute.kb import Home

from .conftest import APP, texts, write_jsonl

TIMEOUT = 120


def _app() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def _table_names(at: AppTest) -> list[str]:
    tables = [d.value for d in at.dataframe if "granularity" in d.value.columns]
    return list(tables[0]["name"]) if tables else []


def test_kb_page_lists_kbs(films_home: Path) -> None:
    at = _app()
    assert _table_names(at) == ["films"]
    row = at.dataframe[0].value.iloc[0]
    assert (row["modality"], row["granularity"], row["items"]) == ("text", "paragraph", 3)
    assert row["encoder"] == "hashing (dim=64)"  # not the raw option dict
    assert "films" in at.selectbox(key="del_name").options


def test_index_folder_with_progress_and_skipped_report(films_home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    write_jsonl(
        folder / "more.jsonl", [{"id": "m1", "text": "Owls hunt at night."}, {"id": "m2", "text": "Herons fish."}]
    )
    (folder / "broken.jsonl").write_text('{"id": "x1", "text": "fine"}\nnot json at all\n')
    at = _app()
    at.selectbox(key="idx_target").set_value("➕ new KB")
    at.text_input(key="idx_name").set_value("birds")
    at.text_input(key="idx_path").set_value(str(folder))
    at.selectbox(key="idx_encoder").set_value("hashing")
    at.text_input(key="idx_encoder_opts").set_value('{"dim": 64}')
    at.button[0].click()  # the form's submit button ("Index") is the first button on the page
    at.run()
    assert not at.exception, at.exception
    ok = [s.value for s in at.success]
    assert any(v.startswith("birds: 3 indexed") and "1 skipped" in v for v in ok), ok
    problems = [d.value for d in at.dataframe if "problem" in d.value.columns]
    assert problems and any(src.endswith("broken.jsonl") for src in problems[0]["source"])  # names the file
    assert list(problems[0]["line"]) == ["2"]
    assert "birds" in Home(films_home).names()
    assert Home(films_home).manifest("birds").info.encoder.name == "hashing"
    assert set(_table_names(at)) == {"birds", "films"}  # the KB list is fresh right after indexing
    assert "birds" in at.selectbox(key="del_name").options


def test_index_uploaded_files_sanitises_names(films_home: Path) -> None:
    at = _app()
    at.selectbox(key="idx_target").set_value("films")
    up = at.file_uploader(key="idx_files")
    up.set_value(
        [
            (
                "../../escape.jsonl",
                b'{"id": "f9", "text": "Dunkirk is a 2017 film by Christopher Nolan."}\n',
                "application/json",
            )
        ]
    )
    at.button[0].click()
    at.run()
    assert not at.exception, at.exception
    ok = [s.value for s in at.success]
    assert any(v.startswith("films: 1 indexed") and "4 items" in v for v in ok), ok
    saved = films_home / "uploads" / "films" / "escape.jsonl"
    assert saved.is_file()
    assert not (films_home.parent / "escape.jsonl").exists() and not (films_home / "escape.jsonl").exists()


def test_bad_kb_name_and_missing_source_are_clear_errors(films_home: Path) -> None:
    at = _app()
    at.text_input(key="idx_name").set_value("../evil")
    at.text_input(key="idx_path").set_value("/nonexistent")
    at.button[0].click()
    at.run()
    assert not at.exception
    assert any("invalid KB name" in e.value for e in at.error)


def test_empty_new_kb_name_asks_for_a_name(films_home: Path, tmp_path: Path) -> None:
    at = _app()
    at.selectbox(key="idx_target").set_value("➕ new KB")
    at.text_input(key="idx_path").set_value(str(tmp_path / "films.jsonl"))
    at.button[0].click()
    at.run()
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert any("enter a name for the new KB" in e for e in errors), errors
    assert not any("invalid KB name" in e for e in errors)


def test_delete_kb(films_home: Path) -> None:
    at = _app()
    at.selectbox(key="del_name").set_value("films")
    submit = [b for b in at.button if b.label == "Delete"][0]
    submit.click()
    at.run()
    assert any("tick the confirmation" in w.value for w in at.warning)
    at.checkbox(key="del_confirm").check()
    [b for b in at.button if b.label == "Delete"][0].click()
    at.run()
    assert not at.exception, at.exception
    assert any(s.value == "deleted films" for s in at.success)
    assert Home(films_home).names() == []


def test_locked_kb_gives_a_clear_message(films_home: Path) -> None:
    from mmroute.fsutil import WriterLock

    at = _app()
    at.selectbox(key="idx_target").set_value("films")
    at.text_input(key="idx_path").set_value(str(films_home.parent / "films.jsonl"))
    with WriterLock(films_home / "kbs" / "films", "films"):
        at.button[0].click()
        at.run()
    assert not at.exception, at.exception
    assert any(e.icon == "🔒" and "another process" in e.value.lower() for e in at.error), [e.value for e in at.error]


def test_settings_never_show_the_api_key(films_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sk-test-SECRET-value-42"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    at = _app()
    at.radio(key="gen_kind").set_value("openai")
    at.run()
    at.text_input(key="gen_url").set_value("http://127.0.0.1:9/v1")
    at.text_input(key="gen_model").set_value("some-model")
    at.run()
    assert not at.exception, at.exception
    shown = texts(at)
    assert "OPENAI_API_KEY" in shown and "**set**" in shown
    assert secret not in shown
    assert all(secret not in (t.value or "") for t in at.text_input)
    assert not any(t.key and "key" in t.key and t.key != "gen_key_env" for t in at.text_input)
    monkeypatch.delenv("OPENAI_API_KEY")
    at.run()
    assert "**not set**" in texts(at)


def test_invalid_endpoint_falls_back_with_a_warning(films_home: Path) -> None:
    at = _app()
    at.radio(key="gen_kind").set_value("openai")
    at.run()
    at.text_input(key="gen_url").set_value("localhost:8000")
    at.run()
    assert any("http://" in w.value and "offline" in w.value for w in at.warning)


def test_how_strict_is_the_users_call_and_reaches_the_pipeline(films_home: Path) -> None:
    """The app's sidebar sets the verifier's threshold (`--verifier-option threshold=X` on the CLI): off by default
    (each generator's calibrated threshold), a slider once asked for, and the value goes into the config sent with
    each question."""
    from mmroute.app.support import AskSettings, GeneratorSettings, pipeline_config

    at = _app()
    assert not at.checkbox(key="strict_own").value
    assert not [s for s in at.slider if s.key == "threshold"]
    at.checkbox(key="strict_own").check().run()
    assert not at.exception, at.exception
    assert at.slider(key="threshold").value == pytest.approx(0.45)
    at.slider(key="threshold").set_value(0.3).run()
    assert not at.exception, at.exception
    assert pipeline_config(GeneratorSettings(), AskSettings(threshold=0.3)).verifier_options == {"threshold": 0.3}
    assert pipeline_config(GeneratorSettings(), AskSettings()).verifier_options == {}
