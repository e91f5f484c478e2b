"""API keys come from the environment and never show up in logs, errors, reprs, `--json` output or the app."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from mmroute.cli.main import cli
from mmroute.config import EndpointConfig, PipelineConfig
from mmroute.errors import EndpointError
from mmroute.kb import Home
from mmroute.llm.openai_compat import ChatClient
from mmroute.pipeline import Pipeline
from tests.helpers.fake_openai import FakeOpenAI, Reply

from .conftest import QUESTION

KEY_ENV = "MMROUTE_SECURITY_TEST_KEY"
KEY = "sk-mmroute-LEAKCHECK-7f3a9c2e4b1d"


@pytest.fixture(autouse=True)
def fake_key(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    caplog.set_level(logging.DEBUG)  # httpx, httpcore and mmroute loggers at their most verbose


def _no_key(*texts: object) -> None:
    for t in texts:
        assert KEY not in str(t), f"API key leaked into: {str(t)[:300]}"


def test_client_sends_the_key_but_never_shows_it(caplog: pytest.LogCaptureFixture) -> None:
    with FakeOpenAI([Reply.ok("hi")]) as srv:
        client = ChatClient(srv.base_url, "fake", api_key_env=KEY_ENV, max_retries=0)
        res = client.chat([{"role": "user", "content": "hello"}])
        sent = dict(srv.headers[0])
    assert {k.lower(): v for k, v in sent.items()}["authorization"] == f"Bearer {KEY}"  # the key is really used
    _no_key(repr(client), repr(res), res.raw, caplog.text)


@pytest.mark.parametrize(
    "reply",
    [Reply.status(401, "invalid api key"), Reply.status(500), Reply.raw(b"not json")],
    ids=["401", "500", "garbage"],
)
def test_endpoint_errors_do_not_carry_the_key(reply: Reply, caplog: pytest.LogCaptureFixture) -> None:
    with FakeOpenAI([reply]) as srv:
        client = ChatClient(srv.base_url, "fake", api_key_env=KEY_ENV, max_retries=1, backoff_s=0.01)
        with pytest.raises(EndpointError) as info:
            client.chat([{"role": "user", "content": "hello"}])
    err = info.value
    _no_key(str(err), repr(err), err.hint, caplog.text, repr(err.__cause__), repr(err.__context__))


def _endpoint_args(url: str) -> list[str]:
    return [
        "--generator",
        "openai",
        "--endpoint-url",
        url,
        "--endpoint-model",
        "fake",
        "--api-key-env",
        KEY_ENV,
        "--judge",
    ]


def test_ask_json_and_pipeline_objects_do_not_show_the_key(
    injected_home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    judge = '{"checks": [], "verdict": "supported", "confidence": 0.9, "explanation": "ok"}'

    def reply(body: dict) -> Reply:
        return Reply.ok(judge if "verification questions" in json.dumps(body) else "1889")

    with FakeOpenAI(reply_fn=reply) as srv:
        out = CliRunner().invoke(
            cli,
            ["ask", QUESTION, "--kb", "facts", "--home", str(injected_home), "--json", *_endpoint_args(srv.base_url)],
        )
        assert out.exit_code == 0, out.output
        assert json.loads(out.stdout)["question"] == QUESTION
        cfg = PipelineConfig(
            generator="openai",
            kbs=["facts"],
            endpoint=EndpointConfig(url=srv.base_url, model="fake", api_key_env=KEY_ENV, judge=True),
        )
        pipe = Pipeline.from_home(Home(injected_home), cfg)
        ans = pipe.ask(QUESTION)
        auth = [{k.lower(): v for k, v in h.items()}.get("authorization") for h in srv.headers]
    assert auth and all(a == f"Bearer {KEY}" for a in auth)
    _no_key(
        out.output,
        json.dumps(ans.to_dict()),
        repr(ans),
        repr(pipe.generator),
        repr(pipe.verifier),
        repr(cfg),
        json.dumps(cfg.to_dict()),
        caplog.text,
    )


def test_failed_endpoint_in_cli_does_not_show_the_key(injected_home: Path, caplog: pytest.LogCaptureFixture) -> None:
    with FakeOpenAI([Reply.status(401, "bad key")]) as srv:
        out = CliRunner().invoke(
            cli,
            ["ask", QUESTION, "--kb", "facts", "--home", str(injected_home), "--json", *_endpoint_args(srv.base_url)],
        )
    assert "Traceback" not in out.output
    _no_key(out.output, caplog.text, repr(out.exception))


def test_eval_and_route_json_do_not_show_the_key(
    injected_home: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    qs = tmp_path / "q.jsonl"
    qs.write_text(json.dumps({"id": "q1", "question": QUESTION, "answers": ["1889"]}) + "\n")
    routing = tmp_path / "r.jsonl"
    routing.write_text(json.dumps({"question": QUESTION, "route": "paragraph"}) + "\n")
    with FakeOpenAI([Reply.ok("1889")]) as srv:
        ev = CliRunner().invoke(
            cli,
            [
                "eval",
                "answers",
                "--kb",
                "facts",
                "--questions",
                str(qs),
                "--out",
                str(tmp_path / "a.jsonl"),
                "--home",
                str(injected_home),
                "--json",
                "--no-verify",
                "--generator",
                "openai",
                "--endpoint-url",
                srv.base_url,
                "--endpoint-model",
                "fake",
                "--api-key-env",
                KEY_ENV,
            ],
        )
    assert ev.exit_code == 0, ev.output
    route = CliRunner().invoke(cli, ["route", QUESTION, "--home", str(injected_home), "--json"])
    route_eval = CliRunner().invoke(cli, ["route", "eval", "--data", str(routing), "--json"])
    assert route.exit_code == 0 and route_eval.exit_code == 0, (route.output, route_eval.output)
    _no_key(ev.output, (tmp_path / "a.jsonl").read_text(), route.output, route_eval.output, caplog.text)


def test_app_settings_hold_only_the_variable_name(injected_home: Path) -> None:
    from mmroute.app.support import GeneratorSettings

    s = GeneratorSettings(kind="openai", endpoint_url="http://127.0.0.1:9/v1", model="m", api_key_env=KEY_ENV)
    name, options = s.generator()
    assert options["api_key_env"] == KEY_ENV and s.key_status() == "set"
    _no_key(repr(s), options, s.key_status())
    with pytest.raises(Exception) as info:  # a key pasted into the URL is refused, and not echoed back
        GeneratorSettings(kind="openai", endpoint_url=f"http://h/v1?api_key={KEY}", model="m").validate()
    assert "do not put the API key in the URL" in str(info.value)
    _no_key(str(info.value))


def test_the_app_page_never_renders_the_key(injected_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Render the app's settings page with the key set: the key is not in any element."""
    from streamlit.testing.v1 import AppTest

    repo = Path(__file__).resolve().parents[2]
    monkeypatch.setenv("MMROUTE_HOME", str(injected_home))
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    at = AppTest.from_file(str(repo / "apps" / "mmroute_app.py"), default_timeout=60).run()
    assert not at.exception, at.exception
    rendered = json.dumps([str(e) for e in at.main] + [str(e) for e in at.sidebar], default=str)
    assert "OPENAI_API_KEY" in rendered or "key" in rendered.lower()  # the settings talk about the key...
    _no_key(rendered)  # ...but never show it


def test_a_key_given_as_a_generator_option_is_refused() -> None:
    """Keys come from the environment (or, through mmroute serve, with the request): never from a config or a flag."""
    from mmroute.config import EndpointConfig, PipelineConfig
    from mmroute.errors import ConfigError
    from mmroute.pipeline import Pipeline

    endpoint = EndpointConfig(url="http://127.0.0.1:9/v1", model="m")
    cfg = PipelineConfig(generator="openai", generator_options={"api_key": "sk-in-a-file"}, endpoint=endpoint)
    with pytest.raises(ConfigError) as err:
        Pipeline.from_home(None, cfg)
    assert "do not give the API key" in err.value.message and "sk-in-a-file" not in str(err.value)


def test_a_caller_sends_only_the_keys_its_config_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """What `mmroute ask` and the app send a server with a request (`endpoint_api_keys`): the variables the config's
    endpoint components name, if they are API keys; never another secret of the caller's environment."""
    from mmroute.serve.client import callers_endpoint_keys, sends_secrets_to

    for name, value in {
        "OPENAI_API_KEY": "sk-open",
        "LOCAL_API_KEY": "sk-local",
        "AWS_SECRET_ACCESS_KEY": "aws",
        "MMROUTE_SERVE_API_KEY": "tok",
    }.items():
        monkeypatch.setenv(name, value)
    openai = {"generator": "openai", "endpoint": {"url": "http://e/v1", "api_key_env": "OPENAI_API_KEY"}}
    assert callers_endpoint_keys(openai) == {"OPENAI_API_KEY": "sk-open"}
    own = {**openai, "generator_options": {"base_url": "http://other/v1", "api_key_env": "LOCAL_API_KEY"}}
    assert callers_endpoint_keys(own) == {"LOCAL_API_KEY": "sk-local"}  # the generator's own endpoint, its own key
    judged = {**own, "endpoint": {**openai["endpoint"], "judge": True}}
    assert callers_endpoint_keys(judged) == {"LOCAL_API_KEY": "sk-local", "OPENAI_API_KEY": "sk-open"}
    assert callers_endpoint_keys({"router": "llm", "retriever_options": {"planner": "llm"}}) == {
        "OPENAI_API_KEY": "sk-open"
    }
    assert callers_endpoint_keys({"generator": "reader"}) == {}  # nothing called: nothing sent
    for name in ("HOME", "AWS_SECRET_ACCESS_KEY", "MMROUTE_SERVE_API_KEY", "lower_api_key"):
        assert callers_endpoint_keys({**openai, "endpoint": {"url": "http://e/v1", "api_key_env": name}}) == {}, name
    assert sends_secrets_to("http://127.0.0.1:8765") and sends_secrets_to("http://[::1]:8765")
    assert sends_secrets_to("http://localhost:1") and sends_secrets_to("https://mmroute.example:443")
    assert not sends_secrets_to("http://10.0.0.5:8765") and not sends_secrets_to("http://mmroute.example")
