"""Several processes on one home: a second writer, readers while a writer indexes, an app holding a KB,
and a thread load test of `Pipeline.ask`.

The embedded Qdrant Edge shard has one owner process at a time. mmroute's contract is therefore the
second branch of the issue: a process that cannot get the KB fails fast with
:class:`~mmroute.errors.KBLockedError` ("KB 'x' is being written by process N"), never a crash, a hang
or a damaged KB; once the writer is done, readers see every item exactly once.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from mmroute.errors import KBLockedError
from mmroute.kb import Home
from mmroute.types import point_id

from .media import make_text_corpus

KB = "shared"


def _index_cmd(home: Path, src: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "mmroute",
        "index",
        "--kb",
        KB,
        "--input",
        str(src),
        "--home",
        str(home),
        "--encoder",
        "hashing",
        "--encoder-option",
        "dim=32",
        "--json",
    ]


def _start_writer(home: Path, src: Path) -> subprocess.Popen:
    proc = subprocess.Popen(_index_cmd(home, src), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lock = home / "kbs" / KB / ".write.lock"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until the writer holds the lock (its pid is in the file)
        if lock.exists() and lock.read_text().strip() == str(proc.pid):
            return proc
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    raise AssertionError("writer never took the lock")


@pytest.fixture(scope="module")
def corpora(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str], Path, list[str]]:
    """A small corpus indexed first, and a big second file whose indexing takes a few seconds."""
    tmp = tmp_path_factory.mktemp("conc")
    small, small_ids = make_text_corpus(tmp / "small", 200)
    big, big_ids = make_text_corpus(tmp / "big", 12000)
    big.write_text(
        "".join(
            json.dumps({**json.loads(ln), "id": "b" + json.loads(ln)["id"]}) + "\n"
            for ln in big.read_text().splitlines()
        )
    )
    return small, small_ids, big, ["b" + i for i in big_ids]


def _assert_exact(home: Path, ids: list[str]) -> None:
    kb = Home(home).open(KB)
    try:
        assert kb.count() == len(ids)
        assert kb.store.all_ids() == {point_id(KB, i) for i in ids}
    finally:
        kb.close()


def test_second_writer_fails_fast_naming_the_first(tmp_path: Path, corpora) -> None:  # noqa: ANN001
    small, small_ids, big, big_ids = corpora
    home = tmp_path / "home"
    writer = _start_writer(home, big)
    t0 = time.monotonic()
    second = subprocess.run(_index_cmd(home, small), capture_output=True, text=True, timeout=60)
    took = time.monotonic() - t0
    still_running = writer.poll() is None
    out, err = writer.communicate(timeout=300)
    assert writer.returncode == 0, err[-2000:]
    assert still_running, "the first writer finished before the second started; corpus too small"
    assert second.returncode == 2
    assert f"KB '{KB}' is being written by process {writer.pid}" in second.stderr
    assert "Traceback" not in second.stderr
    assert took < 15, f"the second writer took {took:.1f}s to fail"
    _assert_exact(home, big_ids)
    # the refused run, re-run now, completes and adds its items exactly once
    again = subprocess.run(_index_cmd(home, small), capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    _assert_exact(home, big_ids + small_ids)


_READER = r"""
import json, sys, time
from mmroute.errors import MMRouteError
from mmroute.kb import Home
home, until = sys.argv[1], time.time() + float(sys.argv[2])
ok = locked = 0
messages = set()
while time.time() < until:
    kb = Home(home).open("shared")
    try:
        hits = kb.search("record 7 topic", k=3)
        assert hits and len({h.item.id for h in hits}) == len(hits)
        ok += 1
    except MMRouteError as e:
        locked += 1
        messages.add(f"{type(e).__name__}: {e.message}")
    finally:
        kb.close()
    time.sleep(0.05)
print(json.dumps({"ok": ok, "locked": locked, "messages": sorted(messages)}))
"""


def test_readers_during_a_writer_get_results_or_a_clear_lock_error(tmp_path: Path, corpora) -> None:  # noqa: ANN001
    small, small_ids, big, big_ids = corpora
    home = tmp_path / "home"
    assert subprocess.run(_index_cmd(home, small), capture_output=True, timeout=120).returncode == 0
    writer = _start_writer(home, big)
    reader = subprocess.Popen(
        [sys.executable, "-c", _READER, str(home), "2.5"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    # in-process reader and the CLI reader at the same time
    in_proc: list[str] = []
    kb = Home(home).open(KB)
    try:
        kb.search("record 3", k=2)
        in_proc.append("ok")
    except KBLockedError as e:
        in_proc.append(e.message)
    finally:
        kb.close()
    cli = subprocess.run(
        [sys.executable, "-m", "mmroute", "search", "--kb", KB, "--home", str(home), "record 7"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    r_out, r_err = reader.communicate(timeout=120)
    was_running = writer.poll() is None
    w_out, w_err = writer.communicate(timeout=300)
    assert writer.returncode == 0, w_err[-2000:]
    assert reader.returncode == 0, r_err[-3000:]
    stats = json.loads(r_out)
    assert stats["ok"] + stats["locked"] > 0
    expected = f"KBLockedError: KB '{KB}' is being written by process {writer.pid}"
    # the writer, by pid; or, once it has finished, the CLI reader below holding the shard at that moment
    other_reader = f"KBLockedError: KB '{KB}' is open in another process (the Qdrant Edge shard "
    assert all(m == expected or m.startswith(other_reader) for m in stats["messages"]), stats["messages"]
    if was_running:
        assert stats["locked"] > 0 and in_proc == [expected.split(": ", 1)[1]]
        assert cli.returncode == 2 and f"is being written by process {writer.pid}" in cli.stderr
    assert "Traceback" not in cli.stderr
    _assert_exact(home, small_ids + big_ids)


_HOLDER = r"""
import sys, time
from mmroute.kb import Home
kb = Home(sys.argv[1]).open("shared")
print(kb.count(), flush=True)
sys.stdin.readline()  # keep the KB open until the test says so
print(kb.count(), len(kb.search("record 5", k=2)), flush=True)
"""


def _index_and_hold(home: Path, corpus: Path, count: int) -> subprocess.Popen[str]:
    """Index ``corpus`` into ``home`` and start a process that keeps the KB open (like the app) until it reads a
    line on stdin; returned once it has opened the KB and counted ``count`` items."""
    assert subprocess.run(_index_cmd(home, corpus), capture_output=True, timeout=120).returncode == 0
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(home)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == str(count)
    return holder


def test_writer_while_the_app_holds_the_kb_gets_a_clear_error(tmp_path: Path, corpora) -> None:  # noqa: ANN001
    """A process that has the KB open for searching (like the app) keeps working; the CLI writer is refused."""
    small, small_ids, big, _ = corpora
    home = tmp_path / "home"
    holder = _index_and_hold(home, small, len(small_ids))
    t0 = time.monotonic()
    writer = subprocess.run(_index_cmd(home, big), capture_output=True, text=True, timeout=60)
    waited = time.monotonic() - t0
    rest, err = holder.communicate("done\n", timeout=60)
    assert holder.returncode == 0, err
    assert rest.split() == [str(len(small_ids)), "2"]  # the holder still searches, unaffected
    assert writer.returncode == 2
    assert f"is open in another process (pid {holder.pid})" in writer.stderr and "Traceback" not in writer.stderr
    assert waited < 20, f"the refused writer took {waited:.1f}s (it waits up to 5 s for readers to let go)"
    _assert_exact(home, small_ids)  # the refused writer changed nothing


def test_a_kb_move_while_another_process_holds_the_kb_names_that_process(tmp_path: Path, corpora) -> None:  # noqa: ANN001
    """`kb move` holds the KB's writer lock itself, and said "is being written by process <its own pid>" with the
    hint to wait for an indexing run that did not exist. It names the process that has the KB open."""
    small, small_ids, _, _ = corpora
    home = tmp_path / "home"
    holder = _index_and_hold(home, small, len(small_ids))
    move = [sys.executable, "-m", "mmroute", "kb", "move", KB, "--store", "faiss", "--home", str(home)]
    mover = subprocess.run(move, capture_output=True, text=True, timeout=60)
    holder.communicate("done\n", timeout=60)
    assert mover.returncode == 2
    assert f"is open in another process (pid {holder.pid})" in mover.stderr, mover.stderr
    assert "being written" not in mover.stderr and "Traceback" not in mover.stderr
    _assert_exact(home, small_ids)  # still on its store, whole
    moved = subprocess.run(move, capture_output=True, text=True, timeout=120)  # the holder gone: the move works
    assert moved.returncode == 0 and "now on faiss" in moved.stdout, moved.stderr


def test_kb_delete_is_refused_while_another_process_has_the_kb_open(tmp_path: Path, corpora) -> None:  # noqa: ANN001
    """`kb delete --yes` removed a KB the app was searching (which went on serving a KB that no longer existed)."""
    small, small_ids, _, _ = corpora
    home = tmp_path / "home"
    holder = _index_and_hold(home, small, len(small_ids))
    delete = [sys.executable, "-m", "mmroute", "kb", "delete", KB, "--yes", "--home", str(home)]
    refused = subprocess.run(delete, capture_output=True, text=True, timeout=60)
    holder.communicate("done\n", timeout=60)
    assert refused.returncode == 2 and f"open in another process (pid {holder.pid})" in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr
    _assert_exact(home, small_ids)  # nothing removed
    deleted = subprocess.run(delete, capture_output=True, text=True, timeout=60)  # the holder gone: deleted
    assert deleted.returncode == 0 and not (home / "kbs" / KB).exists(), deleted.stderr


def test_two_homes_in_one_process_share_the_store(tmp_path: Path, corpora) -> None:  # noqa: ANN001
    """A Pipeline and a LlamaIndex retriever built from the same path must not lock each other out."""
    small, small_ids, _, _ = corpora
    home = tmp_path / "home"
    assert subprocess.run(_index_cmd(home, small), capture_output=True, timeout=120).returncode == 0
    a, b = Home(home).open(KB), Home(home).open(KB)
    assert a.count() == b.count() == len(small_ids)
    a.close()
    assert b.search("record 9", k=1)  # still open for b
    b.close()


@pytest.fixture(scope="module")
def squad_pipeline(data_dir: Path, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """The offline pipeline (extractive generator + verifier) over the SQuAD paragraphs (hashing encoder)."""
    from mmroute.config import PipelineConfig
    from mmroute.indexer import Indexer
    from mmroute.pipeline import Pipeline
    from mmroute.types import EncoderSpec

    home = Home(tmp_path_factory.mktemp("load"))
    Indexer(home).index(
        "squad", data_dir / "text/squad2_dev/corpus.jsonl", encoder=EncoderSpec("hashing", {"dim": 256})
    )
    pipe = Pipeline.from_home(home, PipelineConfig(kbs=["squad"]))
    pipe.warm_up()
    pipe.ask("Who ruled the duchy of Normandy?")  # first-call lazy loading stays out of the latency figures
    return pipe


def _questions(data_dir: Path, n: int) -> list[str]:
    lines = (data_dir / "text/squad2_dev/questions.jsonl").read_text().splitlines()[:n]
    return [json.loads(ln)["question"] for ln in lines]


def _load(pipe, questions: list[str], n: int, threads: int) -> tuple[list[float], list[BaseException], float]:  # noqa: ANN001
    latencies: list[float] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        q = questions[i % len(questions)]
        t = time.perf_counter()
        try:
            ans = pipe.ask(q)
            assert ans.question == q
            assert ans.verification is not None and ans.retrieval is not None and ans.retrieval.hits
        except BaseException as e:  # noqa: BLE001 - every failure is collected and reported
            with lock:
                errors.append(e)
            return
        with lock:
            latencies.append((time.perf_counter() - t) * 1000)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as ex:
        list(ex.map(one, range(n)))
    return latencies, errors, time.perf_counter() - t0


def _check_and_report(n: int, threads: int, latencies: list[float], errors: list[BaseException], wall: float) -> None:
    assert not errors, [repr(e) for e in errors[:5]]
    assert len(latencies) == n
    lat = sorted(latencies)
    print(
        f"\nload: {n} asks / {threads} threads: {len(lat)} served, 0 errors, {wall:.1f}s ({n / wall:.1f}/s); "
        f"latency ms p50={statistics.median(lat):.0f} p95={lat[max(int(0.95 * n) - 1, 0)]:.0f} max={lat[-1]:.0f}"
    )


def test_concurrent_asks_from_threads_quick(squad_pipeline, data_dir: Path) -> None:  # noqa: ANN001
    n, threads = 24, 8
    _check_and_report(n, threads, *_load(squad_pipeline, _questions(data_dir, 24), n, threads))


@pytest.mark.slow
def test_two_hundred_concurrent_asks(squad_pipeline, data_dir: Path) -> None:  # noqa: ANN001
    """200 asks over 8 threads against one shared pipeline: every one served, none failed."""
    n, threads = 200, 8
    _check_and_report(n, threads, *_load(squad_pipeline, _questions(data_dir, 100), n, threads))


def test_concurrent_answers_match_sequential(squad_pipeline, data_dir: Path) -> None:  # noqa: ANN001
    """Threads must not mix up answers: each question gets the answer it gets when asked alone."""
    qs = _questions(data_dir, 8)
    alone = {}
    for q in qs:
        a = squad_pipeline.ask(q)
        alone[q] = (a.text, a.abstained, [h.item.id for h in a.evidence])
    with ThreadPoolExecutor(8) as ex:
        together = list(ex.map(lambda q: (q, squad_pipeline.ask(q)), qs * 3))
    for q, a in together:
        assert (a.text, a.abstained, [h.item.id for h in a.evidence]) == alone[q]
