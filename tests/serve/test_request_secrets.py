"""A request to `mmroute serve` names the endpoint (or store) it wants; it must not get the owner's secrets.

Found by a new-user run (2026-12-08): on a loopback server without a token (the default), a request with
``"endpoint": {"url": <its own listener>, "api_key_env": "QDRANT_API_KEY"}`` received ``Bearer <the owner's key>``,
and ``"api_key_env": "HOME"`` the owner's home folder. A server without a token now calls endpoints for a request
without any key from its environment; a server with a token (whose holders are the owner's) still sends them.
For the same reason a server without a token indexes into no store at a URL a request names, and a store URL with
a password in it (stored in the KB's manifest and the job's file, returned by ``/v1/jobs``) is refused.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.helpers.fake_openai import FakeOpenAI, Reply

from .helpers import FILMS, Server, films_home, http, mmroute, write_jsonl


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return films_home(tmp_path)


def ask_body(url: str, key_env: str) -> dict:
    endpoint = {"url": url, "model": "m", "api_key_env": key_env}
    return {
        "question": "Who directed Inception?",
        "config": {"kbs": ["films"], "generator": "openai", "verify": False, "endpoint": endpoint},
    }


def test_a_server_without_a_token_sends_no_key_from_its_environment(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-owner-openai-1234")
    monkeypatch.setenv("QDRANT_API_KEY", "qd-owner-5678")
    names = ("OPENAI_API_KEY", "QDRANT_API_KEY", "HOME")
    with FakeOpenAI([Reply.ok("Christopher Nolan") for _ in names]) as endpoint, Server(home, "--lazy") as server:
        for name in names:
            status, out = http(server.url + "/v1/ask", "POST", ask_body(endpoint.base_url, name))
            assert status == 200 and out["answer"] == "Christopher Nolan", out
        assert len(endpoint.headers) == len(names)
        assert all("authorization" not in h for h in endpoint.headers), endpoint.headers
        log = server.stderr() + server.stdout()
    assert "sk-owner" not in log and "qd-owner" not in log


def test_an_endpoint_refusing_the_keyless_call_says_how_to_send_the_key(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-owner-openai-1234")
    with FakeOpenAI([Reply.status(401, "no key")]) as endpoint, Server(home, "--lazy") as server:
        status, out = http(server.url + "/v1/ask", "POST", ask_body(endpoint.base_url, "OPENAI_API_KEY"))
    assert status >= 400 and "MMROUTE_SERVE_TOKEN" in out["hint"], out


def test_the_token_holders_requests_use_the_owners_key(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The positive control: a server started with a token is the owner's, and so are its callers."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-owner-openai-1234")
    with FakeOpenAI([Reply.ok("Christopher Nolan")]) as endpoint, Server(home, "--lazy", token="t0k3n") as server:
        status, out = http(server.url + "/v1/ask", "POST", ask_body(endpoint.base_url, "OPENAI_API_KEY"), token="t0k3n")
    assert status == 200 and out["answer"] == "Christopher Nolan", out
    assert endpoint.headers[0]["authorization"] == "Bearer sk-owner-openai-1234"


def test_a_server_without_a_token_indexes_into_no_store_a_request_points_at(home: Path, tmp_path: Path) -> None:
    corpus = str(write_jsonl(tmp_path / "more.jsonl", FILMS))
    spec = {"input": corpus, "store": {"backend": "qdrant", "options": {"url": "http://127.0.0.1:9"}}}
    with Server(home, "--lazy") as server:
        status, out = http(server.url + "/v1/kbs/remote/index", "POST", spec)
        assert status == 400 and "no bearer token" in out["error"] and "MMROUTE_SERVE_TOKEN" in out["hint"], out
        local = {"input": corpus, "encoder": {"name": "hashing", "options": {"dim": 64}}}
        status, out = http(server.url + "/v1/kbs/local/index", "POST", local)  # the control: a local store
        assert status == 202, out
    assert not (home / "kbs" / "remote").exists()


def test_a_store_url_with_a_password_is_refused_and_never_shown(home: Path, tmp_path: Path) -> None:
    corpus = str(write_jsonl(tmp_path / "more.jsonl", FILMS))
    url = "http://bob:pw123secret@127.0.0.1:9"
    spec = {"input": corpus, "store": {"backend": "qdrant", "options": {"url": url}}}
    with Server(home, "--lazy", token="t0k3n") as server:
        status, out = http(server.url + "/v1/kbs/remote/index", "POST", spec, token="t0k3n")
        assert status == 202 and "pw123secret" not in json.dumps(out), out
        job = out["id"]
        for _ in range(600):
            status, out = http(server.url + f"/v1/jobs/{job}", token="t0k3n")
            if out["status"] in ("failed", "done"):
                break
            time.sleep(0.1)
        listed = http(server.url + "/v1/jobs", token="t0k3n")[1]
    assert out["status"] == "failed" and "password in the url" in out["error"]["error"], out
    assert "pw123secret" not in json.dumps(out) + json.dumps(listed)
    assert not any("pw123secret" in p.read_text() for p in home.rglob("*.json"))
    option = f"url={json.dumps(url)}"
    r = mmroute(
        "index",
        "--kb",
        "remote2",
        "--input",
        corpus,
        "--store",
        "qdrant",
        "--store-option",
        option,
        "--home",
        str(home),
    )
    assert r.returncode == 2 and "password in the url" in r.stderr and "pw123secret" not in r.stderr + r.stdout


def test_the_cli_brings_its_own_key_to_a_server_without_a_token(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI (and the app, through the same client) sends the key its ``api_key_env`` names with the request:
    the caller's own key goes to the caller's endpoint, and the server keeps nothing of it in its answer."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with FakeOpenAI([Reply.ok("Christopher Nolan")]) as endpoint, Server(home, "--lazy") as server:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-caller-4321")  # the CLI's environment, not the server's
        args = ["ask", "Who directed Inception?", "--kb", "films", "--generator", "openai", "--no-verify", "--json"]
        r = mmroute(*args, "--endpoint-url", endpoint.base_url, "--endpoint-model", "m", "--home", str(home))
        log = server.stderr() + server.stdout()
    assert r.returncode == 0 and json.loads(r.stdout)["answer"] == "Christopher Nolan", r.stderr
    assert endpoint.headers[0]["authorization"] == "Bearer sk-caller-4321"
    assert "sk-caller" not in r.stdout + r.stderr + log


def test_a_server_without_a_token_answers_only_requests_addressed_to_loopback(home: Path) -> None:
    """DNS rebinding: a web page can reach a loopback server under a name of its own, and with it index any folder
    the server can read and search it. A server without a token refuses a Host that is not a loopback name."""
    with Server(home, "--lazy") as server:
        status, out = http(server.url + "/v1/kbs", headers={"Host": "rebound.example:8765"})
        assert status == 403 and "127.0.0.1, localhost or [::1] only" in out["error"], out
        status, out = http(server.url + "/v1/kbs/x/index", "POST", {"input": "/etc"}, headers={"Host": "evil"})
        assert status == 403, out
        for host in ("localhost:1", "[::1]:8765", None):  # the controls: loopback names, and urllib's own Host
            status, out = http(server.url + "/v1/kbs", headers={"Host": host} if host else None)
            assert status == 200 and [k["name"] for k in out["kbs"]] == ["films"], (host, out)
    assert not (home / "kbs" / "x").exists()
