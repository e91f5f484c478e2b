"""Index jobs in the server: kill -9 during a job loses nothing (the job resumes when the server restarts,
or the same `mmroute index` finishes it), writes to a KB are serialised, and a KB being written is skipped
by routed questions and named in the trace while the other KBs answer."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from mmroute.fsutil import WriterLock
from mmroute.kb import Home
from mmroute.types import point_id

from ..reliability.media import make_text_corpus
from .helpers import FILMS, Server, http, mmroute, write_jsonl

HASH32 = ["--encoder", "hashing", "--encoder-option", "dim=32"]


def _assert_exact(home: Path, kb: str, ids: list[str]) -> None:
    """Every item exactly once (checked in this process once no server owns the home)."""
    base = Home(home).open(kb)
    try:
        assert base.count() == len(ids)
        assert base.store.all_ids() == {point_id(kb, i) for i in ids}
    finally:
        base.close()


def _submit(server: Server, kb: str, src: Path) -> dict:
    status, job = http(
        server.url + f"/v1/kbs/{kb}/index",
        "POST",
        {"input": str(src), "encoder": {"name": "hashing", "options": {"dim": 32}}},
    )
    assert status == 202, job
    return job


def _wait_mid_job(server: Server, job_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = http(server.url + f"/v1/jobs/{job_id}")[1]
        p = next(iter(job["progress"].values()), None)
        if job["status"] == "running" and p and 0 < p["done"] < p["total"]:
            return job
        assert job["status"] in ("queued", "running"), job
        time.sleep(0.01)
    raise AssertionError("the job never got under way")


def _wait_done(url: str, job_id: str, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = http(url + f"/v1/jobs/{job_id}")[1]
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError("the job did not finish")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    return make_text_corpus(tmp_path_factory.mktemp("jobs") / "c", 20000)


def test_kill_9_during_a_job_then_restart_resumes_it_and_loses_nothing(tmp_path: Path, corpus) -> None:  # noqa: ANN001
    src, ids = corpus
    home = tmp_path / "home"
    server = Server(home, "--lazy").wait_ready()
    job = _submit(server, "big", src)
    mid = _wait_mid_job(server, job["id"])
    server.kill9()
    on_disk = json.loads((home / "serve" / "jobs" / f"{job['id']}.json").read_text())
    assert on_disk["status"] == "running"
    with Server(home, "--lazy") as again:
        done = _wait_done(again.url, job["id"])
        assert done["status"] == "done" and done["resumed"] == 1, done
        rep = done["result"]["reports"][0]
        assert rep["count"] == len(ids) and rep["unchanged"] > 0, rep  # picked up where the killed run stopped
        # the user re-runs the same index: nothing is added
        r = mmroute("index", "--kb", "big", "--input", str(src), "--home", str(home), *HASH32, "--json")
        assert r.returncode == 0, r.stderr
        rep = json.loads(r.stdout)["reports"][0]
        assert rep["indexed"] == 0 and rep["unchanged"] == len(ids) and rep["count"] == len(ids)
    print(f"\nkilled at {mid['progress']}; resumed and finished with {len(ids)} items")
    _assert_exact(home, "big", ids)


def test_kill_9_during_a_job_then_rerunning_the_index_without_a_server_finishes_it(tmp_path: Path, corpus) -> None:  # noqa: ANN001
    src, ids = corpus
    home = tmp_path / "home"
    server = Server(home, "--lazy").wait_ready()
    job = _submit(server, "big", src)
    _wait_mid_job(server, job["id"])
    server.kill9()
    r = mmroute("index", "--kb", "big", "--input", str(src), "--home", str(home), *HASH32, "--json")  # in-process
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)["reports"][0]
    assert rep["count"] == len(ids) and rep["unchanged"] + rep["indexed"] == len(ids) and rep["unchanged"] > 0
    _assert_exact(home, "big", ids)
    with Server(home, "--lazy") as again:  # the server still resumes the job it lost: it adds nothing
        done = _wait_done(again.url, job["id"])
        assert done["status"] == "done" and done["result"]["reports"][0]["indexed"] == 0
    _assert_exact(home, "big", ids)


def test_the_same_index_call_joins_the_running_job_and_other_writes_queue(tmp_path: Path, corpus) -> None:  # noqa: ANN001
    src, ids = corpus
    home = tmp_path / "home"
    small = write_jsonl(tmp_path / "films.jsonl", FILMS)
    with Server(home, "--lazy") as server:
        first = _submit(server, "big", src)
        again = _submit(server, "big", src)
        assert again["id"] == first["id"] and again["created"] is False
        other = _submit(server, "big", small)  # a different write to the same KB waits for the first
        assert other["id"] != first["id"]
        a, b = _wait_done(server.url, first["id"]), _wait_done(server.url, other["id"])
        assert a["status"] == b["status"] == "done"
        assert b["started_at"] >= a["finished_at"]
        assert b["result"]["reports"][0]["count"] == len(ids) + len(FILMS)
        # a job this server never had is not found (404, as an unknown KB is), not a bad request
        status, body = http(server.url + "/v1/jobs/nope")
        assert status == 404 and body["error"] == "no index job 'nope' on this server" and body["exit_code"] == 2


def test_a_kb_being_written_is_skipped_by_routed_asks_and_named_in_the_trace(tmp_path: Path) -> None:
    """While the server indexes into ``big``, a routed question is answered from the other KBs and its
    trace names ``big``; searching ``big`` directly is a one-line lock error; afterwards ``big`` is back."""
    home = tmp_path / "home"
    r = mmroute(
        "index",
        "--kb",
        "films",
        "--input",
        str(write_jsonl(tmp_path / "films.jsonl", FILMS)),
        "--home",
        str(home),
        *HASH32,
    )
    assert r.returncode == 0, r.stderr
    first, first_ids = make_text_corpus(tmp_path / "first", 50)
    assert mmroute("index", "--kb", "big", "--input", str(first), "--home", str(home), *HASH32).returncode == 0
    more, _ = make_text_corpus(tmp_path / "more", 80000)
    more.rename(more.with_name("more.jsonl"))
    more = more.with_name("more.jsonl")
    q = {"question": "Who directed the film Inception?", "config": {"generator": "offline"}}
    with Server(home) as server:
        status, before = http(server.url + "/v1/ask", "POST", q)  # warms the pipeline; both KBs searched
        assert status == 200, before
        assert "skipped" not in before["retrieval"]["steps"][0]["note"]
        job = _submit(server, "big", more)
        _wait_mid_job(server, job["id"])
        status, during = http(server.url + "/v1/ask", "POST", q)
        still_running = http(server.url + f"/v1/jobs/{job['id']}")[1]["status"] == "running"
        blocked = mmroute("search", "--kb", "big", "record 3", "--home", str(home))
        assert status == 200, during
        assert still_running, "the index job ended before the question; make the corpus bigger"
        note = during["retrieval"]["steps"][0]["note"]
        assert "skipped big (being written)" in note, note
        assert during["evidence"] and {h["kb"] for h in during["evidence"]} == {"films"}
        assert during["evidence"][0]["id"] == "f1"
        assert blocked.returncode == 2 and "error: KB 'big' is being written by the server (index job" in blocked.stderr
        assert _wait_done(server.url, job["id"])["status"] == "done"
        status, after = http(server.url + "/v1/ask", "POST", q)
        assert status == 200 and "skipped" not in after["retrieval"]["steps"][0]["note"]


def test_a_kb_an_outside_writer_holds_is_skipped_in_process_too(tmp_path: Path) -> None:
    """The same rule without a server: a routed ask skips the KB another process is indexing."""
    home = tmp_path / "home"
    for kb, rows in (("films", FILMS), ("more", FILMS[:2])):
        src = write_jsonl(tmp_path / f"{kb}.jsonl", [{**r, "id": f"{kb}-{r['id']}"} for r in rows])
        assert mmroute("index", "--kb", kb, "--input", str(src), "--home", str(home), *HASH32).returncode == 0
    with WriterLock(home / "kbs" / "more", "more"):
        r = mmroute("ask", "Who directed the film Inception?", "--generator", "offline", "--home", str(home), "--json")
    assert r.returncode == 0, r.stderr
    ans = json.loads(r.stdout)
    assert "skipped more (being written)" in ans["retrieval"]["steps"][0]["note"]
    assert {h["kb"] for h in ans["evidence"]} == {"films"}


def test_many_readers_keep_being_served_while_another_kb_is_indexed(tmp_path: Path) -> None:
    """The issue's complaint: while one KB was indexed every routed ask on the home failed. Now 12 concurrent
    clients search and ask throughout an index job on another KB, with no error."""
    from concurrent.futures import ThreadPoolExecutor

    home = tmp_path / "home"
    r = mmroute(
        "index",
        "--kb",
        "films",
        "--input",
        str(write_jsonl(tmp_path / "films.jsonl", FILMS)),
        "--home",
        str(home),
        *HASH32,
    )
    assert r.returncode == 0, r.stderr
    src, ids = make_text_corpus(tmp_path / "big", 60000)
    ask = {"question": "Who directed the film Inception?", "config": {"generator": "offline"}}
    with Server(home) as server:
        assert http(server.url + "/v1/ask", "POST", ask)[0] == 200  # warm
        job = _submit(server, "big", src)
        _wait_mid_job(server, job["id"])

        def client(i: int) -> list[int]:
            codes = []
            while http(server.url + f"/v1/jobs/{job['id']}")[1]["status"] == "running":
                if i % 3 == 0:
                    codes.append(http(server.url + "/v1/ask", "POST", ask)[0])
                else:
                    codes.append(http(server.url + "/v1/search", "POST", {"kb": "films", "query": "Nolan", "k": 3})[0])
            return codes

        with ThreadPoolExecutor(12) as ex:
            codes = [c for cs in ex.map(client, range(12)) for c in cs]
        done = _wait_done(server.url, job["id"])
    assert done["status"] == "done" and done["result"]["reports"][0]["count"] == len(ids)
    assert len(codes) >= 24 and set(codes) == {200}, (len(codes), sorted(set(codes)))
    print(f"\n{len(codes)} requests from 12 clients during the index job, all answered")
