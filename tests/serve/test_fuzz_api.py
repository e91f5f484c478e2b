"""Fuzzing the HTTP API of a real `mmroute serve` with schemathesis, from its own ``/openapi.json``.

Every operation of the schema gets a fixed, derandomized budget of generated requests, valid ones
(``positive``: bodies that fit the schema) and invalid ones (``negative``: wrong types, missing fields,
out-of-range numbers). Each must be answered (no hang past the request timeout) and never with a 5xx.
A second server bound beyond loopback with a bearer token must refuse every protected operation's
generated requests without the token, or with a wrong one (401), whatever their body.

The budget is ``$MMROUTE_FUZZ_EXAMPLES`` per operation and mode (default 25: under a minute on 2 cores);
a longer run: ``MMROUTE_FUZZ_EXAMPLES=200 pytest -q tests/serve/test_fuzz_api.py -s`` (prints its counts).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .helpers import FILMS, HASH, Server, http, mmroute, write_jsonl

schemathesis = pytest.importorskip("schemathesis")
requests = pytest.importorskip("requests")

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402

EXAMPLES = int(os.environ.get("MMROUTE_FUZZ_EXAMPLES", "25"))
"""Generated requests per operation and generation mode."""
AUTH_EXAMPLES = 4
"""Generated requests per operation sent without (and with a wrong) token."""
TIMEOUT_S = 30.0
"""A request not answered in this time is a hang (a warm search or ask takes well under a second)."""
PUBLIC = {("GET", "/health")}
"""Operations answered without the token (the server's PUBLIC_PATHS that are in the schema)."""
TOKEN = "fuzz-" + "t" * 40


def _films_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fuzz")
    h = root / "home"
    corpus = write_jsonl(root / "films.jsonl", FILMS)
    r = mmroute("index", "--kb", "films", "--input", str(corpus), "--home", str(h), *HASH)
    assert r.returncode == 0, r.stderr
    return h


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The loopback server's home (one server per home: the token server gets its own)."""
    return _films_home(tmp_path_factory)


@pytest.fixture(scope="module")
def token_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _films_home(tmp_path_factory)


@dataclass
class Tally:
    calls: int = 0
    status: Counter = field(default_factory=Counter)
    per_op: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"{self.calls} requests, status codes {dict(sorted(self.status.items()))}"


def _server_failure(resp: Any) -> bool:
    """A 500, or any 5xx that is not the server's mapping of a user error (exit code 2: 503 for a model or
    router artifact that is not there, 502 for an endpoint that fails), or a body that is not the error JSON."""
    if resp.status_code < 500:
        return False
    try:
        body = resp.json()
    except ValueError:
        return True
    return resp.status_code == 500 or not isinstance(body, dict) or body.get("exit_code") != 2


def _operations(schema: Any) -> list[Any]:
    ops = []
    for result in schema.get_all_operations():
        ops.append(result.ok())  # a schema error raises here: the server's own schema must load whole
    return ops


def _label(op: Any) -> str:
    return f"{op.method.upper()} {op.path}"


def _run(op: Any, mode: Any, examples: int, send: Any) -> None:
    """``examples`` derandomized cases of ``op`` in generation ``mode``, each handed to ``send``."""

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: failures are recorded, not raised
        suppress_health_check=list(HealthCheck),
    )
    @given(case=op.as_strategy(generation_mode=mode))
    def test(case: Any) -> None:
        send(case)

    try:
        test()
    except Unsatisfiable:
        # no invalid request exists for an operation without a body whose only inputs are string path
        # parameters (GET /v1/kbs, GET /v1/jobs/{job_id}: any string is a valid path segment)
        assert mode == schemathesis.GenerationMode.NEGATIVE and not op.body, _label(op)


@pytest.fixture(scope="module")
def server(home: Path) -> Iterator[Server]:
    """A warm server on loopback (no token): models load before it is ready, not in a fuzzed request."""
    with Server(home) as s:
        yield s


def test_fuzz_findings_stay_fixed(server: Server) -> None:
    """What the fuzzer found: ``threshold`` with a router that takes none was a 500 (TypeError from the class
    behind the ``default`` router's ``**options``); it is the same 400 as for a router that declares none."""
    for router in ("default", "guarded", "trained"):
        status, body = http(
            server.url + "/v1/route", "POST", {"question": "Who is Nolan?", "router": router, "threshold": 0.5}
        )
        assert status == 400 and body["error"] == f"the {router} router takes no threshold (--threshold)", body
    status, body = http(
        server.url + "/v1/route", "POST", {"question": "Who is Nolan?", "router": "ensemble", "router_path": "/x"}
    )
    assert status == 400 and body["error"] == "the ensemble router takes no path (--router-path)", body
    status, body = http(server.url + "/v1/route", "POST", {"question": "Who directed Inception?"})
    assert status == 200 and body["kbs"] == ["films"]  # the default router, no threshold: routed as before


def test_generated_requests_never_get_a_5xx_or_hang(server: Server) -> None:
    tally = Tally()
    with requests.Session() as session:
        schema = schemathesis.openapi.from_url(server.url + "/openapi.json", timeout=60)
        ops = _operations(schema)
        assert {_label(o) for o in ops} >= {"POST /v1/ask", "POST /v1/search", "POST /v1/route", "GET /v1/kbs"}

        def send(case: Any) -> None:
            tally.calls += 1
            tally.per_op[_label(case.operation)] += 1
            try:
                resp = case.call(base_url=server.url, session=session, timeout=TIMEOUT_S)
            except requests.Timeout:
                tally.failures.append(f"no answer in {TIMEOUT_S:.0f} s: {case.as_curl_command(base_url=server.url)}")
                return
            tally.status[resp.status_code] += 1
            if _server_failure(resp):
                tally.failures.append(
                    f"{resp.status_code}: {case.as_curl_command(base_url=server.url)}\n  -> {resp.text[:400]}"
                )

        for op in ops:
            for mode in (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE):
                _run(op, mode, EXAMPLES, send)
        alive = session.get(server.url + "/health", timeout=TIMEOUT_S)
        log = server.stderr()
    print(f"\nfuzz: {len(ops)} operations x {EXAMPLES} examples x 2 modes: {tally.summary()}")
    print("per operation:", dict(tally.per_op))
    assert alive.status_code == 200
    assert not tally.failures, "\n".join(tally.failures[:20])
    assert tally.calls >= len(ops) * 2  # every operation and mode sent something
    assert "Traceback" not in log, log[-3000:]


def test_off_loopback_every_protected_operation_needs_the_token(token_home: Path) -> None:
    tally = Tally()
    with Server(token_home, "--host", "0.0.0.0", "--lazy", token=TOKEN) as server, requests.Session() as session:
        spec = session.get(server.url + "/openapi.json", timeout=60)
        assert spec.status_code == 200  # the API's description is public
        schema = schemathesis.openapi.from_dict(spec.json())
        ops = [o for o in _operations(schema) if (o.method.upper(), o.path) not in PUBLIC]
        assert len(ops) >= 10

        def send(case: Any) -> None:
            for auth in (None, "Bearer wrong-" + TOKEN, TOKEN, f"Bearer {TOKEN}x"):
                headers = {"Authorization": auth} if auth else {}
                tally.calls += 1
                tally.per_op[_label(case.operation)] += 1
                resp = case.call(base_url=server.url, session=session, headers=headers, timeout=TIMEOUT_S)
                tally.status[resp.status_code] += 1
                challenge = resp.headers.get("www-authenticate")  # schemathesis: lowercase keys, lists of values
                if resp.status_code != 401 or challenge != ["Bearer"]:
                    shown = "no token" if auth is None else "a wrong token"
                    tally.failures.append(
                        f"{resp.status_code} with {shown}: {case.as_curl_command(base_url=server.url)}"
                    )

        for op in ops:
            _run(op, schemathesis.GenerationMode.POSITIVE, AUTH_EXAMPLES, send)
        ok = session.get(server.url + "/v1/kbs", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=TIMEOUT_S)
        assert session.get(server.url + "/health", timeout=TIMEOUT_S).status_code == 200
        assert ok.status_code == 200 and [k["name"] for k in ok.json()["kbs"]] == ["films"]  # nothing got through
        logs = server.stdout() + server.stderr()
    print(f"\nauth: {len(ops)} protected operations: {tally.summary()}")
    assert not tally.failures, "\n".join(tally.failures[:20])
    assert set(tally.status) == {401} and tally.calls >= 4 * len(ops)
    assert TOKEN not in logs
