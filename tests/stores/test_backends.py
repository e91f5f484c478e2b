"""Backend-specific behaviour: crash durability, process exclusivity, the remote Qdrant path, GPU guard."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mmroute.errors import ConfigError, KBLockedError
from mmroute.stores import Filter, Point, open_store
from mmroute.stores import qdrant as qdrant_mod
from mmroute.stores.faiss_store import FaissStore
from mmroute.stores.qdrant import QdrantStore, default_collection, qdrant_filter
from mmroute.types import point_id

REPO = Path(__file__).resolve().parents[2]

# A child process writes `flushed` points and flushes, then writes `pending` more without flushing,
# prints READY and waits to be SIGKILLed.
CHILD = textwrap.dedent("""
    import sys, numpy as np
    from pathlib import Path
    from mmroute.stores import Point, open_store
    from mmroute.types import point_id
    backend, path, opts, flushed, pending = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    import json
    store = open_store(backend, Path(path), json.loads(opts))
    store.open(8)
    rng = np.random.default_rng(0)
    def pts(a, b):
        return [Point(point_id("kb", str(i)), rng.standard_normal(8).astype("float32"), {"i": i}) for i in range(a, b)]
    store.upsert(pts(0, flushed))
    store.flush()
    store.upsert(pts(flushed, flushed + pending))
    print("READY", flush=True)
    sys.stdin.read()
""")


def _spawn(backend: str, path: Path, opts: dict, flushed: int, pending: int) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, backend, str(path), json.dumps(opts), str(flushed), str(pending)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    line = proc.stdout.readline()
    if "READY" not in line:
        proc.kill()
        raise AssertionError(f"child failed: {line} {proc.stderr.read()}")
    return proc


def _kill(proc: subprocess.Popen) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def test_edge_sigkill_after_flush_loses_nothing_and_second_process_is_locked_out(tmp_path: Path) -> None:
    path = tmp_path / "store"
    proc = _spawn("edge", path, {}, flushed=500, pending=100)
    try:
        other = open_store("edge", path)
        with pytest.raises(KBLockedError, match="another process"):
            other.open(8)  # the writer holds the shard's WAL lock
    finally:
        _kill(proc)
    store = open_store("edge", path)
    store.open(8)  # reopens after the crash by replaying the WAL
    ids = store.all_ids()
    assert {point_id("kb", str(i)) for i in range(500)} <= ids  # flushed: all there
    assert store.count() == len(ids) <= 600  # the WAL may also hold the unflushed tail
    assert store.get([point_id("kb", "7")])[0].payload == {"i": 7}
    store.close()


def test_faiss_sigkill_keeps_last_flushed_generation(tmp_path: Path) -> None:
    path = tmp_path / "store"
    proc = _spawn("faiss", path, {"index": "hnsw"}, flushed=300, pending=50)
    _kill(proc)
    store = open_store("faiss", path, {"index": "hnsw"})
    store.open(8)
    assert store.count() == 300  # unflushed writes are gone, flushed ones intact
    assert store.all_ids() == {point_id("kb", str(i)) for i in range(300)}
    store.close()


def test_faiss_flush_leaves_one_generation_and_no_temp_files(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    s = FaissStore(tmp_path, index="flat")
    s.open(4)
    for round_ in range(3):
        s.upsert(
            [Point(point_id("kb", str(i)), rng.standard_normal(4).astype("float32"), {"r": round_}) for i in range(10)]
        )
        s.flush()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["CURRENT.json", "index-3.faiss", "points-3.jsonl"]
    s.close()


def test_faiss_changing_index_kind_rebuilds(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    vecs = rng.standard_normal((50, 8)).astype("float32")
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    s = FaissStore(tmp_path, index="flat")
    s.open(8)
    s.upsert([Point(point_id("kb", str(i)), vecs[i], {"i": i}) for i in range(50)])
    s.close()
    h = FaissStore(tmp_path, index="hnsw")
    h.open(8)
    assert h.count() == 50 and h.search(vecs[9], 1)[0].payload == {"i": 9}
    h.close()
    assert json.loads((tmp_path / "CURRENT.json").read_text())["index"] == "hnsw"


def test_faiss_hnsw_many_tombstones_still_correct(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    vecs = rng.standard_normal((200, 8)).astype("float32")
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    s = FaissStore(tmp_path, index="hnsw", compact_ratio=10.0)  # never compact: exercise the selector path
    s.open(8)
    ids = [point_id("kb", str(i)) for i in range(200)]
    s.upsert([Point(ids[i], vecs[i], {"i": i}) for i in range(200)])
    s.upsert([Point(ids[i], -vecs[i], {"i": i, "v": 2}) for i in range(150)])  # 150 tombstones
    s.delete(ids[150:190])
    res = s.search(-vecs[3], 5)
    assert res[0].id == ids[3] and res[0].payload["v"] == 2
    assert len({r.id for r in res}) == 5
    assert not {r.id for r in s.search(vecs[170], 10)} & set(ids[150:190])
    assert s.count() == 160
    s.flush()
    s.close()


def test_faiss_gpu_guard_without_gpu(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import faiss

    if faiss.get_num_gpus() > 0:
        pytest.skip("a GPU is present; see the gpu-marked test")
    s = FaissStore(tmp_path, index="flat", gpu=True)
    s.open(4)
    s.upsert([Point(point_id("kb", "a"), np.ones(4, np.float32) / 2, {})])
    assert s.search(np.ones(4, np.float32) / 2, 1)[0].score == pytest.approx(1.0)
    s.close()


@pytest.mark.gpu
def test_faiss_gpu_search_matches_cpu(tmp_path: Path) -> None:
    import faiss

    if faiss.get_num_gpus() == 0:
        pytest.skip("no GPU visible to FAISS")
    rng = np.random.default_rng(0)
    vecs = rng.standard_normal((1000, 32)).astype("float32")
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    pts = [Point(point_id("kb", str(i)), vecs[i], {"i": i}) for i in range(1000)]
    cpu, gpu = FaissStore(tmp_path / "c", gpu=False), FaissStore(tmp_path / "g", gpu=True)
    for s in (cpu, gpu):
        s.open(32)
        s.upsert(pts)
        s.upsert(pts[:10])  # tombstones: the GPU copy over-fetches past them
    q = vecs[:20]
    assert [[h.id for h in r] for r in gpu.search_batch(q, 10)] == [[h.id for h in r] for r in cpu.search_batch(q, 10)]
    assert gpu._gpu_index is not None


# -- qdrant: remote path ----------------------------------------------------------------------


class _FakeQdrant(BaseHTTPRequestHandler):
    """Just enough of Qdrant's REST API for open/upsert/count, recording every request."""

    requests: list[tuple[str, str, str | None, dict]] = []
    points: dict = {}

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def _reply(self, result) -> None:
        body = json.dumps({"result": result, "status": "ok", "time": 0.0}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        n = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(n) or b"{}")
        path = self.path.split("?")[0]
        type(self).requests.append((self.command, path, self.headers.get("api-key"), body))
        if path.endswith("/exists"):
            self._reply({"exists": False})
        elif path.endswith("/points/count"):
            self._reply({"count": len(type(self).points)})
        elif path.endswith("/points"):
            for p in body.get("points", []):
                type(self).points[p["id"]] = p
            self._reply({"operation_id": 1, "status": "completed"})
        elif path.endswith("/index"):
            self._reply({"operation_id": 0, "status": "completed"})
        else:
            self._reply(True)

    do_GET = do_PUT = do_POST = _handle


@pytest.fixture
def fake_qdrant():
    _FakeQdrant.requests, _FakeQdrant.points = [], {}
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeQdrant)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_qdrant_remote_sends_key_from_env_and_never_stores_it(
    tmp_path: Path, fake_qdrant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "s3cr3t-key-value"
    monkeypatch.setenv("MY_QDRANT_KEY", secret)
    store = open_store(
        "qdrant", tmp_path / "kbs" / "docs" / "store", {"url": fake_qdrant, "api_key_env": "MY_QDRANT_KEY"}
    )
    assert isinstance(store, QdrantStore) and store.mode == "remote" and store.collection == "docs"
    assert secret not in repr(store) and secret not in json.dumps(store.options())
    store.open(4)
    store.upsert([Point(point_id("kb", str(i)), np.full(4, 0.5, np.float32), {"i": i}) for i in range(3)])
    assert store.count() == 3
    store.close()
    reqs = _FakeQdrant.requests
    assert all(key == secret for _, _, key, _ in reqs)
    paths = [(m, p) for m, p, _, _ in reqs]
    assert ("GET", "/collections/docs/exists") in paths
    assert ("PUT", "/collections/docs") in paths
    create = next(b for m, p, _, b in reqs if (m, p) == ("PUT", "/collections/docs"))
    assert create["vectors"] == {"size": 4, "distance": "Cosine"}
    assert ("PUT", "/collections/docs/points") in paths
    assert ("PUT", "/collections/docs/index") in paths  # payload indexes on a server
    assert store.disk_bytes() == 0
    assert not (tmp_path / "kbs" / "docs" / "store").exists()  # nothing local in remote mode


def test_qdrant_remote_client_config_without_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QDRANT_API_KEY", raising=False)
    store = QdrantStore(tmp_path / "store", url="https://qdrant.example.com:6333", collection="c1")
    client = store._make_client()
    remote = client._client
    assert remote.rest_uri == "https://qdrant.example.com:6333"
    assert "api-key" not in remote._rest_headers
    client.close()


def test_qdrant_rejects_key_in_url_and_bad_location(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="API key"):
        QdrantStore(tmp_path, url="http://h:6333/?api_key=abc")
    with pytest.raises(ConfigError, match="location"):
        QdrantStore(tmp_path, location="/some/dir")


def test_default_collection_name() -> None:
    assert default_collection(Path("/h/kbs/squad/store")) == "squad"
    assert default_collection(Path("/tmp/other")) == "other"


def test_qdrant_filter_translation() -> None:
    f = qdrant_filter(
        Filter(
            equals={"kind": "image", "start_s": 1.5},
            any_of={"doc_id": ["a", "b"], "x": [1, "y"]},
            ranges={"n": (1, None)},
        )
    )
    d = f.model_dump(exclude_none=True)
    assert d["must"][0] == {"key": "kind", "match": {"value": "image"}}
    assert d["must"][1]["range"] == {"gte": 1.5, "lte": 1.5}
    assert d["must"][2] == {"key": "doc_id", "match": {"any": ["a", "b"]}}
    assert len(d["must"][3]["should"]) == 2
    assert d["must"][4] == {"key": "n", "range": {"gte": 1.0}}
    assert qdrant_filter(Filter()) is None


def test_qdrant_local_mode_warns_once_when_large(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(qdrant_mod, "LOCAL_WARN_POINTS", 5)
    store = QdrantStore(tmp_path / "store")
    store.open(4)
    pts = [Point(point_id("kb", str(i)), np.full(4, 0.5, np.float32), {}) for i in range(8)]
    with pytest.warns(RuntimeWarning, match="local mode now holds 8 points"):
        store.upsert(pts)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        store.upsert(pts[:2])  # no second warning
    store.close()


def test_qdrant_local_second_client_is_locked(tmp_path: Path) -> None:
    a = QdrantStore(tmp_path / "store")
    a.open(4)
    b = QdrantStore(tmp_path / "store")
    with pytest.raises(KBLockedError):
        b.open(4)
    a.close()


@pytest.mark.parametrize("quantization", [None, "scalar", "binary"])
def test_edge_hnsw_and_quantization_after_optimize(tmp_path: Path, quantization: str | None) -> None:
    """A graph-indexed (and optionally quantized, rescored) segment still finds the true neighbours."""
    rng = np.random.default_rng(5)
    vecs = rng.standard_normal((2000, 32)).astype("float32")
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    ids = [point_id("kb", str(i)) for i in range(2000)]
    store = open_store(
        "edge",
        tmp_path / "s",
        {
            "full_scan_threshold_kb": 10,
            "indexing_threshold_kb": 10,
            "quantization": quantization,
            "oversampling": 4.0,
            "m": 8,
            "ef_construct": 32,
        },
    )
    store.open(32)
    store.upsert([Point(ids[i], vecs[i], {"kind": "image" if i % 2 else "paragraph"}) for i in range(2000)])
    store.flush()
    assert store.indexed_count() == 0
    store.close()  # optimize="close" builds the graph
    store = open_store("edge", tmp_path / "s", {"hnsw_ef": 64, "quantization": quantization, "oversampling": 4.0})
    store.open(32)
    assert store.indexed_count() == 2000
    hits = 0
    for i in range(0, 2000, 100):
        res = store.search(vecs[i], 5)
        assert res[0].id == ids[i] and res[0].score == pytest.approx(1.0, abs=1e-3)  # rescored: exact scores
        exp = set(np.argsort(-(vecs @ vecs[i]))[:5])
        hits += len({r.id for r in res} & {ids[j] for j in exp})
    # 1-bit codes of 32-d vectors keep little information; rescoring still restores exact scores
    assert hits / (20 * 5) >= (0.4 if quantization == "binary" else 0.9)
    assert all(r.payload["kind"] == "image" for r in store.search(vecs[1], 5, Filter(equals={"kind": "image"})))
    store.close()


def test_edge_auto_search_beam_grows_with_the_point_count(tmp_path: Path) -> None:
    """``hnsw_ef="auto"`` (the default) widens the beam as the KB grows; writes refresh the count."""
    from mmroute.stores.edge import auto_hnsw_ef

    assert [auto_hnsw_ef(n) for n in (0, 100_000, 400_000, 1_000_000, 10**9)] == [128, 128, 256, 400, 512]
    assert all(auto_hnsw_ef(n) <= auto_hnsw_ef(n + 50_000) for n in range(0, 3_000_000, 50_000))
    store = open_store("edge", tmp_path / "s", {})
    assert store.options()["hnsw_ef"] == "auto"
    store.open(8)
    assert store.effective_hnsw_ef() == 128
    rng = np.random.default_rng(0)
    store.upsert([Point(point_id("kb", str(i)), rng.standard_normal(8).astype("float32"), {}) for i in range(10)])
    assert store._count_cache is None  # noqa: SLF001 - the next search recounts
    assert store.effective_hnsw_ef() == 128 and store._count_cache == 10  # noqa: SLF001
    assert len(store.search(rng.standard_normal(8).astype("float32"), 3)) == 3
    store.close()
    pinned = open_store("edge", tmp_path / "p", {"hnsw_ef": 300})
    assert pinned.effective_hnsw_ef() == 300


@pytest.mark.parametrize("bad", [0, -5, "fast", 12.5, True])
def test_edge_rejects_a_bad_search_beam(tmp_path: Path, bad: object) -> None:
    with pytest.raises(ConfigError, match="hnsw_ef"):
        open_store("edge", tmp_path / "s", {"hnsw_ef": bad})


@pytest.mark.parametrize(
    ("option", "bad"),
    [
        ("M", 0),
        ("M", 1),
        ("M", 16.5),
        ("ef_search", -5),
        ("ef_search", 0),
        ("ef_construction", 0),
        ("compact_ratio", -0.5),
    ],
)
@pytest.mark.parametrize("index", ["flat", "hnsw"])
def test_faiss_rejects_a_bad_graph_option(tmp_path: Path, index: str, option: str, bad: object) -> None:
    """M=0 on an HNSW index aborted the process inside FAISS (a C++ assertion, exit 134) and left a half-built KB;
    on a flat index the same values were accepted without a word."""
    with pytest.raises(ConfigError, match=option):
        open_store("faiss", tmp_path / "s", {"index": index, option: bad})


def test_faiss_opens_a_kb_built_with_bad_graph_options_for_reading(tmp_path: Path) -> None:
    """A KB built before the check is still searched (and `kb move` can give it new options); writing is refused."""
    open_store("faiss", tmp_path / "s", {"index": "flat", "ef_search": 0, "read_only": True})
    with pytest.raises(ConfigError, match="kb move KB --store faiss --store-option ef_search=64"):
        open_store("faiss", tmp_path / "s", {"index": "flat", "ef_search": 0})


def test_faiss_accepts_the_smallest_graph_options(tmp_path: Path) -> None:
    """The control: the least values allowed build a working HNSW index (compact_ratio 0: compact at once)."""
    options = {"index": "hnsw", "M": 2, "ef_search": 1, "ef_construction": 1, "compact_ratio": 0.0}
    store = open_store("faiss", tmp_path / "s", options)
    store.open(8)
    rng = np.random.default_rng(0)
    store.upsert([Point(f"p{i}", v / np.linalg.norm(v), {"i": i}) for i, v in enumerate(rng.standard_normal((20, 8)))])
    assert len(store.search(rng.standard_normal(8).astype("float32"), 3)) == 3
    store.close()


def test_edge_auto_quantization_is_scalar_for_new_shards_and_kept_for_old_ones(tmp_path: Path) -> None:
    """``quantization="auto"`` (the default) quantizes new shards; a shard built without keeps none."""
    rng = np.random.default_rng(3)
    vecs = rng.standard_normal((40, 8)).astype("float32")
    pts = [Point(point_id("kb", str(i)), vecs[i], {}) for i in range(40)]
    new = open_store("edge", tmp_path / "new", {})
    assert new.options()["quantization"] == "auto"
    new.open(8)
    assert new.effective_quantization() == "scalar"
    new.upsert(pts)
    assert new.search(vecs[7], 3)[0].id == pts[7].id
    new.close()
    assert "scalar" in json.loads((tmp_path / "new" / "edge_config.json").read_text())["quantization_config"]
    old = open_store("edge", tmp_path / "old", {"quantization": None})  # a KB from before the default changed
    old.open(8)
    old.upsert(pts)
    old.close()
    reopened = open_store("edge", tmp_path / "old", {})
    reopened.open(8)
    assert reopened.effective_quantization() is None
    assert reopened.search(vecs[7], 3)[0].id == pts[7].id
    reopened.close()
    assert "quantization_config" not in json.loads((tmp_path / "old" / "edge_config.json").read_text())
    pinned = open_store("edge", tmp_path / "new", {"quantization": "binary"})
    pinned.open(8)
    assert pinned.effective_quantization() == "binary"
    pinned.close()


def test_edge_rejects_an_unknown_quantization(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="quantization"):
        open_store("edge", tmp_path / "s", {"quantization": "int4"})


def test_edge_on_disk_warms_the_searched_files_in_the_background(tmp_path: Path) -> None:
    """An ``on_disk`` shard opens without loading its vectors, then reads the files every search walks
    (the int8 copy and the BM25 posting lists) on a background thread, which closing the store stops;
    the default layout loads them instead."""
    from mmroute.stores import edge as edge_mod
    from mmroute.terms import document_terms, lexical_spec

    rng = np.random.default_rng(5)
    vecs = rng.standard_normal((300, 16)).astype("float32")
    opts = {"full_scan_threshold_kb": 1, "indexing_threshold_kb": 1, "lexical": lexical_spec(avgdl=3.0)}
    for on_disk in (True, False):
        path = tmp_path / f"s{on_disk}"
        store = open_store("edge", path, {**opts, "on_disk": on_disk})
        store.open(16)
        pts = [
            Point(point_id("kb", str(i)), vecs[i], {"item_id": str(i)}, sparse=document_terms(f"word{i % 7} text"))
            for i in range(300)
        ]
        store.upsert(pts)
        store.close()
        names = sorted(f.name for f in edge_mod.searched_files(path))
        assert names == ["inverted_index.dat", "quantized.data"]
        started: list[tuple[Path, threading.Event]] = []
        real = edge_mod.warm_in_background

        def recording(p: Path, stop: threading.Event, started: list = started, real: Any = real) -> object:
            started.append((p, stop))
            return real(p, stop)

        edge_mod.warm_in_background = recording  # type: ignore[assignment]
        try:
            store = open_store("edge", path, {**opts, "on_disk": on_disk})
            store.open(16)
        finally:
            edge_mod.warm_in_background = real
        assert [p for p, _ in started] == ([path] if on_disk else [])
        assert store.search(vecs[4], 1)[0].id == point_id("kb", "4")
        store.close()
        assert all(stop.is_set() for _, stop in started)  # closing the store ends its warming


def test_reading_into_the_page_cache_stops_skips_and_runs_once(tmp_path: Path) -> None:
    from mmroute.stores import edge as edge_mod

    files = [tmp_path / "a.bin", tmp_path / "missing.bin", tmp_path / "b.bin"]
    files[0].write_bytes(b"x" * 5000)
    files[2].write_bytes(b"y" * 3000)
    go, stop = threading.Event(), threading.Event()
    assert edge_mod.read_into_cache(files, go, chunk=1024) == 8000  # every byte, the missing file skipped
    stop.set()
    assert edge_mod.read_into_cache(files, stop, chunk=1024) == 0  # stopped: nothing more is read
    # a shard whose files are gone has nothing to warm; one thread per shard at a time
    assert edge_mod.warm_in_background(tmp_path / "gone", go) is None
    shard = tmp_path / "shard"
    (shard / "segments" / "s1" / "vector_storage").mkdir(parents=True)
    (shard / "segments" / "s1" / "vector_storage" / "quantized.data").write_bytes(b"z" * 4096)
    release = threading.Event()
    real = edge_mod.read_into_cache
    edge_mod.read_into_cache = lambda files, stop, chunk=0: release.wait(5) and 0  # type: ignore[assignment]
    try:
        first = edge_mod.warm_in_background(shard, go)
        assert first is not None and edge_mod.warm_in_background(shard, go) is first  # still reading: no second
    finally:
        release.set()
        edge_mod.read_into_cache = real
    first.join(5)
    assert not first.is_alive()
    again = edge_mod.warm_in_background(shard, go)  # done: a later open warms again
    assert again is not None and again is not first
    again.join(5)


def test_edge_reads_quantized_vectors_ahead_and_remembers_its_count(tmp_path: Path) -> None:
    """Before a load the shard's quantized vectors are read in one sequential pass (the engine's
    page-by-page pull was 4x slower out of the page cache); the point count is asked of the engine once
    and forgotten on every write."""
    from mmroute.stores import edge as edge_mod

    rng = np.random.default_rng(3)
    vecs = rng.standard_normal((300, 16)).astype("float32")
    opts = {"full_scan_threshold_kb": 1, "indexing_threshold_kb": 1, "quantization": "scalar"}
    store = open_store("edge", tmp_path / "s", opts)
    store.open(16)
    store.upsert([Point(point_id("kb", str(i)), vecs[i], {"item_id": str(i)}) for i in range(300)])
    assert store.count() == 300
    store.close()  # builds the graph and the quantized vectors
    quantized = list((tmp_path / "s").glob("segments/*/vector_storage*/quantized.data"))
    assert quantized and edge_mod.read_ahead(tmp_path / "s") == sum(f.stat().st_size for f in quantized) > 0
    read: list[Path] = []
    real = edge_mod.read_ahead
    edge_mod.read_ahead = lambda p: read.append(p) or real(p)  # type: ignore[assignment]
    try:
        store = open_store("edge", tmp_path / "s", opts)
        store.open(16)
    finally:
        edge_mod.read_ahead = real
    assert read == [tmp_path / "s"]
    calls: list[int] = []
    shard = store._shard  # type: ignore[attr-defined]

    class Counting:
        def __getattr__(self, name: str) -> object:
            return getattr(shard, name)

        def count(self, req: object) -> int:
            calls.append(1)
            return shard.count(req)

    store._shard = Counting()  # type: ignore[attr-defined]
    assert [store.count() for _ in range(3)] == [300] * 3 and len(calls) == 1
    store.upsert([Point(point_id("kb", "new"), vecs[0], {"item_id": "new"})])
    assert store.count() == 301 and len(calls) == 2
    store._shard = shard  # type: ignore[attr-defined]
    store.close()
