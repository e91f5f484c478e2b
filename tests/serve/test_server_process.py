"""The server process: discovery file and stale files, one server per home, the bearer token off loopback,
request-size limits, OpenAPI docs, clean exit on SIGTERM and SIGINT. Real processes, real HTTP, real signals."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from http.client import HTTPConnection
from pathlib import Path

import pytest

from .helpers import FILMS, HASH, Server, env, http, mmroute, write_jsonl


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("proc")
    h = root / "home"
    r = mmroute(
        "index", "--kb", "films", "--input", str(write_jsonl(root / "films.jsonl", FILMS)), "--home", str(h), *HASH
    )
    assert r.returncode == 0, r.stderr
    return h


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_discovery_file_names_the_server_and_no_secret(home: Path) -> None:
    with Server(home, "--lazy", token="s3cret-token-value") as server:
        info = json.loads((home / "serve.json").read_text())
        assert set(info) == {"pid", "host", "port", "started_at", "home", "version"}
        assert info["pid"] == server.proc.pid and info["host"] == "127.0.0.1" and info["port"] > 0
        assert "s3cret" not in (home / "serve.json").read_text()
        status, body = http(server.url + "/health")
        assert status == 200 and body["status"] == "ok" and body["pid"] == server.proc.pid
        status, spec = http(server.url + "/openapi.json")
        assert status == 200 and {"/v1/search", "/v1/ask", "/v1/route", "/v1/kbs", "/v1/jobs/{job_id}"} <= set(
            spec["paths"]
        )
        import urllib.request

        with urllib.request.urlopen(server.url + "/docs", timeout=60) as r:
            page = r.read().decode()
            assert r.status == 200 and "swagger" in page.lower()
        # the page's scripts come from the server (a CDN is unreachable offline: the page was blank), token or not
        assert "cdn." not in page and '"/docs/assets/swagger-ui-bundle.js"' in page, page
        for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
            with urllib.request.urlopen(server.url + "/docs/assets/" + asset, timeout=60) as r:
                assert r.status == 200 and len(r.read()) > 10_000
        status, _ = http(server.url + "/v1/kbs")
        assert status == 401  # the control: the API itself still needs the token
        out = server.stdout() + server.stderr()
    assert "s3cret" not in out


def test_a_stale_discovery_file_is_ignored_by_clients_and_replaced_by_the_next_server(home: Path) -> None:
    stale = {
        "pid": _dead_pid(),
        "host": "127.0.0.1",
        "port": 9,
        "started_at": "2020-01-01T00:00:00+0000",
        "home": str(home),
        "version": "0",
    }
    (home / "serve.json").write_text(json.dumps(stale))
    r = mmroute("search", "--kb", "films", "Nolan", "--home", str(home), "--json")  # in-process despite the file
    assert r.returncode == 0 and json.loads(r.stdout)["hits"], r.stderr
    with Server(home, "--lazy") as server:
        assert json.loads((home / "serve.json").read_text())["pid"] == server.proc.pid
        assert "stale discovery file" in server.stderr()
    assert not (home / "serve.json").exists()


def test_a_killed_server_leaves_a_stale_file_that_the_next_one_replaces(home: Path) -> None:
    first = Server(home, "--lazy").wait_ready()
    first.kill9()
    assert json.loads((home / "serve.json").read_text())["pid"] == first.proc.pid  # left behind by SIGKILL
    r = mmroute("kb", "list", "--home", str(home), "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["kbs"][0]["name"] == "films"
    with Server(home, "--lazy") as second:
        assert json.loads((home / "serve.json").read_text())["pid"] == second.proc.pid


def test_a_second_server_on_the_same_home_is_refused_in_one_line(home: Path) -> None:
    with Server(home, "--lazy") as server:
        r = mmroute("serve", "--home", str(home), "--port", "0", "--lazy", timeout=120)
        assert r.returncode == 2
        assert f"error: a server already serves {home}: pid {server.proc.pid}" in r.stderr and "(answering)" in r.stderr
        assert "hint:" in r.stderr and "Traceback" not in r.stderr
        assert json.loads((home / "serve.json").read_text())["pid"] == server.proc.pid  # untouched


def test_non_loopback_bind_needs_a_token(home: Path) -> None:
    r = mmroute("serve", "--home", str(home), "--host", "0.0.0.0", "--port", "0", "--lazy", timeout=120)
    assert r.returncode == 2 and "needs a bearer token" in r.stderr and "MMROUTE_SERVE_TOKEN" in r.stderr
    assert not (home / "serve.json").exists()


def test_with_a_token_every_request_needs_it_and_the_cli_sends_it(home: Path) -> None:
    token = "tok-" + "x" * 40
    with Server(home, "--host", "0.0.0.0", "--lazy", token=token) as server:
        status, body = http(server.url + "/v1/kbs")
        assert status == 401 and "bearer token" in body["error"] and body["exit_code"] == 2
        assert http(server.url + "/v1/kbs", token="wrong")[0] == 401
        status, body = http(server.url + "/v1/kbs", token=token)
        assert status == 200 and [k["name"] for k in body["kbs"]] == ["films"]
        assert http(server.url + "/health")[0] == 200  # liveness needs no token
        ok = mmroute("search", "--kb", "films", "Nolan", "--home", str(home), "--json", token=token)
        assert ok.returncode == 0 and json.loads(ok.stdout)["hits"][0]["kb"] == "films"
        no = mmroute("search", "--kb", "films", "Nolan", "--home", str(home))
        assert no.returncode == 2 and "error: the server needs a bearer token" in no.stderr
        assert token not in no.stderr + ok.stderr + ok.stdout
        assert token not in (home / "serve.json").read_text()
        logs = server.stdout() + server.stderr()
    assert token not in logs


def test_request_bodies_over_the_limit_get_413(home: Path) -> None:
    with Server(home, "--lazy", "--max-body-mb", "0.01") as server:
        big = {"kb": "films", "query": "x" * 20_000}
        status, body = http(server.url + "/v1/search", "POST", big)
        assert status == 413 and "larger than" in body["error"] and body["exit_code"] == 2
        status, body = http(server.url + "/v1/search", "POST", {"kb": "films", "query": "Nolan", "k": 2})
        assert status == 200 and len(body["hits"]) == 2
        # no Content-Length: the limit is enforced on the bytes read (chunked upload)
        conn = HTTPConnection("127.0.0.1", server.info["port"], timeout=60)
        conn.putrequest("POST", "/v1/search")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        payload = json.dumps(big).encode()
        for i in range(0, len(payload), 4096):
            chunk = payload[i : i + 4096]
            conn.send(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        conn.send(b"0\r\n\r\n")
        resp = conn.getresponse()
        assert resp.status == 413 and "larger than" in json.loads(resp.read())["error"]


def test_bad_requests_get_json_errors(home: Path) -> None:
    with Server(home, "--lazy") as server:
        status, body = http(server.url + "/v1/search", "POST", {"kb": "films", "k": 0})
        assert status == 422 and body["error"].startswith("invalid request: k") and body["exit_code"] == 2
        status, body = http(server.url + "/v1/search", "POST", b"{not json")
        assert status == 422 and body["exit_code"] == 2
        status, body = http(server.url + "/v1/search", "POST", {"kb": "nope", "query": "x"})
        assert status == 404 and body["error"].startswith("no KB named 'nope'") and body["hint"]
        status, body = http(server.url + "/v1/nothing-here")
        assert status == 404 and body["exit_code"] == 2
        status, body = http(
            server.url + "/v1/search", "POST", {"kb": "films", "image": {"name": "a.png", "data_b64": "%%%"}}
        )
        assert status == 400 and "base64" in body["error"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stop_signals_remove_the_discovery_file_and_free_the_home(home: Path, sig: int) -> None:
    server = Server(home, "--lazy").wait_ready()
    assert server.stop(sig) in (0, -sig, 128 + sig)
    assert not (home / "serve.json").exists()
    r = mmroute("search", "--kb", "films", "Nolan", "--home", str(home), "--json")  # in-process again: store free
    assert r.returncode == 0, r.stderr


def test_commands_that_only_run_in_process_say_so(home: Path) -> None:
    q = home.parent / "q.jsonl"
    q.write_text(json.dumps({"id": "q1", "question": "Nolan", "gold_ids": ["f2"]}) + "\n")
    with Server(home, "--lazy") as server:
        r = mmroute("eval", "retrieval", "--kb", "films", "--questions", str(q), "--home", str(home))
        assert (
            r.returncode == 2
            and f"mmroute serve (pid {server.proc.pid}" in r.stderr
            and "mmroute serve --stop" in r.stderr
        )
        assert len(r.stderr.strip().splitlines()) == 2


def test_serve_help_has_an_example() -> None:
    r = subprocess.run([sys.executable, "-m", "mmroute", "serve", "--help"], capture_output=True, text=True, env=env())
    assert r.returncode == 0 and "Examples:" in r.stdout and "MMROUTE_SERVE_TOKEN" in r.stdout


def test_a_server_killed_mid_request_costs_a_read_only_command_nothing(home: Path) -> None:
    """kill -9 of the server while it answers an ask: the CLI asks again in-process (an ask writes nothing, so
    redoing it is safe) and prints the answer, no traceback. The endpoint sees the question twice: once from the
    server, which died waiting for it, and once from the CLI itself."""
    import time

    from tests.helpers.fake_openai import FakeOpenAI, Reply

    with FakeOpenAI([Reply.slow(30.0, "too late"), Reply.ok("Christopher Nolan")]) as endpoint:
        server = Server(home, "--lazy").wait_ready()
        cmd = [sys.executable, "-m", "mmroute", "ask", "--kb", "films", "--home", str(home), "--generator", "openai"]
        cmd += ["--endpoint-url", endpoint.base_url, "--endpoint-model", "m", "--no-verify", "Who directed Inception?"]
        client = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**env(), "OPENAI_API_KEY": "sk-x"}
        )
        deadline = time.monotonic() + 120
        while not endpoint.requests and time.monotonic() < deadline:  # the server is inside the request
            time.sleep(0.05)
        assert endpoint.requests, "the server never asked the endpoint"
        server.kill9()
        out, err = client.communicate(timeout=300)
    assert client.returncode == 0, err
    assert out.splitlines()[0] == "Christopher Nolan", out
    assert "Traceback" not in err and len(endpoint.requests) == 2
