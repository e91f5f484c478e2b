"""``mmroute serve`` under load on loopback: locust users, a fixed number of requests, RSS and an index job.

A real ``mmroute serve`` subprocess on 127.0.0.1 (a free port) serves a small home (built once from the
shared data: KB ``hop``, the 458 multi-hop Wikipedia paragraphs, MiniLM; or ``--home``). Locust, used as
a library (``locust.env.Environment``, its request events; ``FastHttpUser``, no wait between tasks), drives
it with a mix of ``POST /v1/ask``, ``/v1/search``, ``/v1/route`` and ``GET /v1/kbs``. Each phase sends
exactly ``--requests`` requests (users stop taking new ones once the budget is spent; in-flight ones finish):

1. ``warmup`` (``--warmup`` requests at the largest user count, not reported in the latency figures);
   the server's RSS is read after it;
2. ``idle-U`` for each ``--users`` U (default 8 and 32): the queries alone;
3. ``index-U`` for each ``--index-users`` U: the same queries while the server runs index jobs of another
   corpus (``--index-corpus``, the 694 SQuAD 2.0 training paragraphs) into new KBs of the same home,
   submitted through ``POST /v1/kbs/{name}/index`` back to back so one runs for the whole phase
   (they are deleted afterwards).

Per phase and endpoint: requests, throughput, p50/p99/max latency (exact, from locust's request events),
errors split into 5xx, timeouts (no answer in ``--timeout`` s), other HTTP errors and connection errors.
The server's RSS (``/proc/PID/status``) is sampled every half second: after warm-up, after the idle
phases (the leak check: growth over a fixed load), at the end (after indexing, which adds KBs and the
indexer's buffers). Targets: no 5xx, no timeouts, RSS growth <= 5 % over the idle phases, query p99 with
an index job <= 3x the idle p99 at the same user count.

Usage::

    python -m evals.bench.bench_load                       # defaults sized for 2 cores: a few minutes
    python -m evals.bench.bench_load --requests 4000 --write   # replaces evals/results/bench_load.{json,png}
    python -m evals.bench.bench_load --home ~/.mmroute --kb hop --users 8,32 --requests 20000

Writes ``bench_load.json`` and ``bench_load.png`` to ``--out`` (default: a scratch folder; see
:mod:`evals.paths`). ``--write`` writes them to ``evals/results/``; without it an existing file there is
never replaced. Needs the ``dev`` extra (locust) and the ``eval`` extra (matplotlib) for the plot.
"""

from __future__ import annotations

# locust monkey-patches the standard library with gevent on import: import it before anything else
# that opens sockets or starts threads (this script never imports mmroute or torch: the server does)
# isort: off
import locust
from locust import FastHttpUser, task
from locust.env import Environment
from locust.exception import StopUser

# isort: on

import argparse
import json
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gevent

from ..paths import RESULTS, SCRATCH

REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("MMROUTE_DATA") or REPO.parent / "shared" / "data")
HOME_CACHE = SCRATCH / "bench_load_home"
"""The home this benchmark builds when no --home is given (kept for the next run)."""
INDEX_KB_PREFIX = "loadidx"
TARGETS = {"server_errors": 0, "timeouts": 0, "rss_growth_pct": 5.0, "index_p99_ratio": 3.0}


# ----- the server ---------------------------------------------------------------------------------
def _env() -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if k not in ("MMROUTE_NO_SERVER", "MMROUTE_DEBUG", "MMROUTE_HOME")}
    e.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    return e


def _mmroute(*args: str, timeout: float = 1800) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mmroute", *args], capture_output=True, text=True, env=_env(), timeout=timeout
    )


def build_home(home: Path, corpus: Path, kb: str) -> float:
    """Index ``corpus`` into ``home`` as ``kb`` (MiniLM, paragraphs) unless it is there; seconds taken."""
    if (home / "kbs" / kb / "manifest.json").is_file():
        return 0.0
    t = time.perf_counter()
    r = _mmroute("index", "--kb", kb, "--input", str(corpus), "--granularity", "paragraph", "--home", str(home))
    if r.returncode != 0:
        raise SystemExit(f"building the home failed: {r.stderr.strip()[-2000:]}")
    return time.perf_counter() - t


def kb_names(home: Path) -> list[str]:
    r = _mmroute("kb", "list", "--home", str(home), "--json", timeout=600)
    if r.returncode != 0:
        raise SystemExit(f"mmroute kb list failed: {r.stderr.strip()[-1000:]}")
    return [k["name"] for k in json.loads(r.stdout)["kbs"]]


class Server:
    """``mmroute serve --port 0`` on 127.0.0.1, ready (warm) once ``serve.json`` names its pid."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.log_path = Path(tempfile.gettempdir()) / f"bench-load-serve-{os.getpid()}.log"
        self.log = open(self.log_path, "w")
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mmroute", "serve", "--home", str(home), "--host", "127.0.0.1", "--port", "0"],
            stdout=self.log,
            stderr=self.log,
            env=_env(),
        )

    def wait(self, timeout: float = 600) -> Server:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"mmroute serve exited ({self.proc.returncode}); log: {self.log_path}")
            try:
                info = json.loads((self.home / "serve.json").read_text())
                if info["pid"] == self.proc.pid:
                    self.url = f"http://127.0.0.1:{info['port']}"
                    self.ready_s = time.perf_counter() - self.t0
                    return self
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.1)
        raise SystemExit(f"mmroute serve not ready in {timeout}s; log: {self.log_path}")

    def rss_mb(self) -> float | None:
        """Resident set size from /proc (None once the process is gone)."""
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            return None
        return None

    def threads(self) -> int | None:
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("Threads:"):
                    return int(line.split()[1])
        except OSError:
            return None
        return None

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait(timeout=60)
        self.log.close()
        return rc

    def log_tail(self, n: int = 3000) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-n:]


def _call(url: str, method: str = "GET", body: dict[str, Any] | None = None, timeout: float = 120) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


# ----- the load -----------------------------------------------------------------------------------
def _pct(xs: list[float], p: float) -> float | None:
    """Nearest-rank percentile (None for no data)."""
    if not xs:
        return None
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, -(-len(s) * p // 100) - 1))] if p < 100 else s[-1]


def _ms(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


class Budget:
    """The requests of one phase: users take one before each request; the phase ends when all are answered."""

    def __init__(self, n: int) -> None:
        self.n, self.taken, self.done = n, 0, 0

    def take(self) -> bool:
        if self.taken >= self.n:
            return False
        self.taken += 1
        return True


def make_user(
    url: str, budget_box: list[Budget], mix: dict[str, int], kb: str, questions: list[str], timeout: float
) -> type[FastHttpUser]:
    ops = [op for op, w in mix.items() for _ in range(w)]

    class LoadUser(FastHttpUser):
        host = url
        network_timeout = timeout
        connection_timeout = timeout
        max_retries = 0

        def on_start(self) -> None:
            self.rng = random.Random(id(self))

        @task
        def one(self) -> None:
            if not budget_box[0].take():
                raise StopUser()
            op = self.rng.choice(ops)
            q = self.rng.choice(questions)
            if op == "kbs":
                self.client.get("/v1/kbs", name="kbs")
            elif op == "search":
                self.client.post("/v1/search", json={"kb": kb, "query": q, "k": 5}, name="search")
            elif op == "route":
                self.client.post("/v1/route", json={"question": q}, name="route")
            else:
                self.client.post("/v1/ask", json={"question": q}, name="ask")

    return LoadUser


def _classify(response: Any, exception: BaseException | None) -> str | None:
    """None for a success, else ``5xx`` | ``timeout`` | ``4xx`` | ``connection``."""
    status = getattr(response, "status_code", 0) or 0
    if status >= 500:
        return "5xx"
    if exception is None and 200 <= status < 400:
        return None
    text = f"{type(exception).__name__}: {exception}".lower() if exception is not None else ""
    if "timeout" in text or "timed out" in text:
        return "timeout"
    if 400 <= status < 500:
        return "4xx"
    return "connection"


def run_phase(
    name: str,
    users: int,
    requests: int,
    make: Callable[[list[Budget]], type[FastHttpUser]],
    sample: Callable[[str], None],
    max_s: float,
) -> dict[str, Any]:
    """``requests`` requests from ``users`` locust users with no wait; per-endpoint and overall figures."""
    budget_box = [Budget(requests)]
    records: list[tuple[str, float, str | None, int]] = []
    error_samples: list[str] = []
    env = Environment(user_classes=[make(budget_box)])

    def on_request(
        request_type: str,
        name: str,
        response_time: float,
        response_length: int,
        response: Any = None,
        exception: BaseException | None = None,
        **_: Any,
    ) -> None:
        kind = _classify(response, exception)
        records.append((name, response_time, kind, getattr(response, "status_code", 0) or 0))
        budget_box[0].done += 1
        if kind is not None and len(error_samples) < 10:
            body = (getattr(response, "text", None) or "")[:200]
            error_samples.append(f"{request_type} {name}: {kind} {exception!r} {body}"[:400])

    env.events.request.add_listener(on_request)
    runner = env.create_local_runner()
    sample(name)
    t0 = time.perf_counter()
    runner.start(users, spawn_rate=users)  # all users at once: a closed loop of `users` clients
    b = budget_box[0]
    while b.done < b.n and time.perf_counter() - t0 < max_s:
        gevent.sleep(0.05)
    wall = time.perf_counter() - t0
    runner.quit()
    sample(name)
    return summarize(name, users, requests, records, wall, error_samples, stopped_early=b.done < b.n)


def summarize(
    name: str,
    users: int,
    requests: int,
    records: list[tuple[str, float, str | None, int]],
    wall: float,
    error_samples: list[str],
    stopped_early: bool,
) -> dict[str, Any]:
    def block(rows: list[tuple[str, float, str | None, int]]) -> dict[str, Any]:
        ok = [r[1] for r in rows if r[2] is None]
        errs = {k: sum(1 for r in rows if r[2] == k) for k in ("5xx", "timeout", "4xx", "connection")}
        return {
            "requests": len(rows),
            "ok": len(ok),
            "throughput_rps": round(len(rows) / wall, 2) if wall else None,
            "p50_ms": _ms(_pct(ok, 50)),
            "p99_ms": _ms(_pct(ok, 99)),
            "max_ms": _ms(max(ok) if ok else None),
            "errors": errs,
        }

    endpoints = sorted({r[0] for r in records})
    return {
        "phase": name,
        "users": users,
        "requests_asked": requests,
        "wall_s": round(wall, 1),
        "stopped_early": stopped_early,
        **block(records),
        "per_endpoint": {e: block([r for r in records if r[0] == e]) for e in endpoints},
        "error_samples": error_samples,
    }


# ----- index jobs beside the load -------------------------------------------------------------------
class IndexLoop:
    """Index jobs submitted back to back through the server while a phase runs (a new KB each time)."""

    def __init__(self, url: str, corpus: Path) -> None:
        self.url, self.corpus = url, corpus
        self.jobs: list[dict[str, Any]] = []
        self.kbs: list[str] = []
        self.running = False
        self.busy_s = 0.0

    def _one(self) -> None:
        kb = f"{INDEX_KB_PREFIX}{len(self.kbs) + 1}"
        status, job = _call(
            f"{self.url}/v1/kbs/{kb}/index", "POST", {"input": str(self.corpus), "granularity": "paragraph"}
        )
        if status != 202:
            raise RuntimeError(f"index job refused ({status}): {job}")
        self.kbs.append(kb)
        t = time.perf_counter()
        while True:
            _, j = _call(f"{self.url}/v1/jobs/{job['id']}")
            if j["status"] in ("done", "failed"):
                break
            gevent.sleep(0.1)
        took = time.perf_counter() - t
        self.busy_s += took
        rep = ((j.get("result") or {}).get("reports") or [{}])[0]
        self.jobs.append(
            {"kb": kb, "status": j["status"], "seconds": round(took, 1), "items": rep.get("count"), "error": j["error"]}
        )

    def run(self) -> None:
        self.running = True
        while self.running:
            self._one()

    def start(self) -> gevent.Greenlet:
        return gevent.spawn(self.run)

    def cleanup(self) -> list[str]:
        deleted = []
        for kb in self.kbs:
            status, _ = _call(f"{self.url}/v1/kbs/{kb}", "DELETE")
            if status == 200:
                deleted.append(kb)
        return deleted


# ----- report and plot ----------------------------------------------------------------------------
def plot(out: dict[str, Any], path: Path) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed (the eval extra): no plot", file=sys.stderr)
        return None
    phases = [p for p in out["phases"] if p["phase"] != "warmup"]
    endpoints = sorted({e for p in phases for e in p["per_endpoint"]})
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.8))
    width = 0.8 / max(1, len(endpoints) + 1)
    for i, e in enumerate([*endpoints, "all"]):
        xs = [j + (i - len(endpoints) / 2) * width for j in range(len(phases))]
        blocks = [p if e == "all" else p["per_endpoint"].get(e, {}) for p in phases]
        p99 = [b.get("p99_ms") or 0 for b in blocks]
        p50 = [b.get("p50_ms") or 0 for b in blocks]
        bars = ax1.bar(xs, p99, width, label=f"{e} p99", alpha=0.45)
        ax1.bar(xs, p50, width, color=bars.patches[0].get_facecolor(), alpha=1.0)
    ax1.set_xticks(range(len(phases)))
    ax1.set_xticklabels([f"{p['phase']}\n{p['throughput_rps']} req/s" for p in phases])
    ax1.set_yscale("log")
    ax1.set_ylabel("latency (ms): p50 solid, p99 light")
    ax1.set_title(f"mmroute serve on loopback, {out['requests_per_phase']} requests per phase")
    ax1.legend(fontsize=7, ncol=2)
    t0 = out["rss_samples"][0][0] if out["rss_samples"] else 0
    ax2.plot([s[0] - t0 for s in out["rss_samples"]], [s[1] for s in out["rss_samples"]], lw=1.2)
    seen: dict[str, float] = {}
    for t, _, phase in out["rss_samples"]:
        seen.setdefault(phase, t - t0)
    for phase, t in seen.items():
        ax2.axvline(t, color="grey", lw=0.6, ls=":")
        ax2.text(t, ax2.get_ylim()[1], phase, rotation=90, va="top", fontsize=7)
    r = out["rss"]
    ax2.set_title(
        f"server RSS: {r['after_warmup_mb']:.0f} MB after warm-up, {r['after_idle_mb']:.0f} after the idle phases "
        f"({r['growth_idle_pct']:+.1f}%)",
        fontsize=9,
    )
    ax2.set_xlabel("seconds")
    ax2.set_ylabel("RSS (MB)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _questions(path: Path, n: int) -> list[str]:
    out = [json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    random.Random(0).shuffle(out)
    return out[:n]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--home", type=Path, default=None, help=f"a home with KBs (default: built once in {HOME_CACHE})")
    ap.add_argument("--kb", default="hop", help="the KB searched (/v1/search); ask and route use the router")
    ap.add_argument("--requests", type=int, default=600, help="requests per measured phase")
    ap.add_argument("--warmup", type=int, default=300, help="requests before the first RSS reading")
    ap.add_argument("--users", default="8,32", help="concurrent users of the idle phases")
    ap.add_argument("--index-users", default="8", help="concurrent users of the phases beside an index job")
    ap.add_argument("--mix", default="search=5,route=2,kbs=2,ask=1", help="weights of the endpoints")
    ap.add_argument("--timeout", type=float, default=60.0, help="a request unanswered this long is a timeout")
    ap.add_argument("--max-phase-s", type=float, default=1800.0, help="a phase stops after this long regardless")
    ap.add_argument(
        "--questions", type=Path, default=DATA / "text/multihop_ircot/questions.jsonl", help="JSONL with `question`"
    )
    ap.add_argument("--corpus", type=Path, default=DATA / "text/multihop_ircot/corpus.jsonl", help="of the built home")
    ap.add_argument(
        "--index-corpus",
        type=Path,
        default=DATA / "text/squad2_train_partial/corpus.jsonl",
        help="indexed beside the queries (a new KB per job)",
    )
    ap.add_argument("--keep-index-kbs", action="store_true", help="leave the KBs the index jobs wrote")
    ap.add_argument("--out", type=Path, default=SCRATCH, help="folder (or .json path) of the report and plot")
    ap.add_argument("--write", action="store_true", help="write to evals/results/ (replacing bench_load.json)")
    args = ap.parse_args(argv)

    out_json = RESULTS / "bench_load.json" if args.write else args.out
    out_json = out_json if out_json.suffix == ".json" else out_json / "bench_load.json"
    if not args.write and out_json.resolve().parent == RESULTS.resolve() and out_json.exists():
        raise SystemExit(f"{out_json} exists (a committed result): pass --write to replace it")
    out_png = out_json.with_suffix(".png")
    mix = {k: int(v) for k, v in (p.split("=") for p in args.mix.split(",") if p)}
    users = [int(u) for u in args.users.split(",") if u]
    index_users = [int(u) for u in args.index_users.split(",") if u]
    questions = _questions(args.questions, 89)

    built_s = 0.0
    home = (args.home or HOME_CACHE).expanduser().absolute()
    if args.home is None:
        print(f"home {home} (KB {args.kb} from {args.corpus}) ...", flush=True)
        built_s = build_home(home, args.corpus, args.kb)
    names = kb_names(home)
    if args.kb not in names:
        raise SystemExit(f"no KB {args.kb!r} in {home} (it has: {', '.join(names) or 'none'})")
    stale = [n for n in names if n.startswith(INDEX_KB_PREFIX)]
    if stale:
        raise SystemExit(f"{home} holds KBs of an earlier run ({', '.join(stale)}): delete them first")

    out: dict[str, Any] = {
        "command": "python -m evals.bench.bench_load " + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "locust": locust.__version__,
        "home": str(home),
        "home_built_s": round(built_s, 1),
        "kbs": names,
        "search_kb": args.kb,
        "mix": mix,
        "requests_per_phase": args.requests,
        "warmup_requests": args.warmup,
        "timeout_s": args.timeout,
        "index_corpus": str(args.index_corpus),
        "targets": TARGETS,
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],  # other work on the machine skews the figures
    }
    server = Server(home).wait()
    out["server_ready_s"] = round(server.ready_s, 1)
    print(f"server pid {server.proc.pid} warm in {server.ready_s:.1f}s at {server.url}", flush=True)
    samples: list[tuple[float, float, str]] = []
    current = ["start"]

    def sample(phase: str | None = None) -> None:
        if phase is not None:
            current[0] = phase
        rss = server.rss_mb()
        if rss is not None:
            samples.append((round(time.perf_counter(), 2), round(rss, 1), current[0]))

    def sampler() -> None:
        while True:
            sample()
            gevent.sleep(0.5)

    sampler_g = gevent.spawn(sampler)
    phases: list[dict[str, Any]] = []
    index_loop: IndexLoop | None = None
    try:
        rss_start = server.rss_mb()

        def make(box: list[Budget]) -> type[FastHttpUser]:
            return make_user(server.url, box, mix, args.kb, questions, args.timeout)

        def phase(name: str, n_users: int, n: int) -> dict[str, Any]:
            print(f"{name}: {n} requests from {n_users} users ...", flush=True)
            p = run_phase(name, n_users, n, make, sample, args.max_phase_s)
            p["rss_mb_after"] = server.rss_mb()
            p["server_threads_after"] = server.threads()
            print(
                f"  {p['throughput_rps']} req/s, p50 {p['p50_ms']} ms, p99 {p['p99_ms']} ms, errors {p['errors']}, "
                f"RSS {p['rss_mb_after']:.0f} MB",
                flush=True,
            )
            phases.append(p)
            return p

        if args.warmup:
            phase("warmup", max(users + index_users), args.warmup)
        rss_warm = server.rss_mb()
        for u in users:
            phase(f"idle-{u}", u, args.requests)
        rss_idle = server.rss_mb()
        for u in index_users:
            index_loop = IndexLoop(server.url, args.index_corpus.absolute())
            g = index_loop.start()
            while not index_loop.kbs:  # the first job is queued before the queries start
                gevent.sleep(0.05)
            t = time.perf_counter()
            p = phase(f"index-{u}", u, args.requests)
            wall = time.perf_counter() - t
            index_loop.running = False
            g.join(timeout=1800)
            # jobs run back to back from before the first query to after the last one (the last one finishes)
            p["index_jobs"] = index_loop.jobs
            p["index_jobs_failed"] = sum(1 for j in index_loop.jobs if j["status"] != "done")
            p["index_jobs_s"] = round(index_loop.busy_s, 1)
            p["queries_s"] = round(wall, 1)
            if not args.keep_index_kbs:
                p["index_kbs_deleted"] = index_loop.cleanup()
            index_loop = None
        rss_end = server.rss_mb()
        sample("end")
    finally:
        if index_loop is not None:
            index_loop.running = False
        sampler_g.kill()
        rc = server.stop()
    out["server_exit_code"] = rc
    out["phases"] = phases
    out["rss_samples"] = samples

    def growth(a: float | None, b: float | None) -> float | None:
        return round(100 * (b - a) / a, 2) if a and b else None

    out["rss"] = {
        "at_ready_mb": rss_start,
        "after_warmup_mb": rss_warm,
        "after_idle_mb": rss_idle,
        "at_end_mb": rss_end,
        "peak_mb": max((s[1] for s in samples), default=None),
        "growth_idle_pct": growth(rss_warm, rss_idle),
        "growth_end_pct": growth(rss_warm, rss_end),
        "note": "growth_idle_pct: warm-up to the end of the idle phases (the queries alone, the leak check); "
        "growth_end_pct: to the end, after the index jobs (new KBs stay open until deleted; the indexer's buffers)",
    }
    measured = [p for p in phases if p["phase"] != "warmup"]
    idle = {p["users"]: p for p in measured if p["phase"].startswith("idle-")}
    ratios = {}
    for p in measured:
        if p["phase"].startswith("index-") and p["users"] in idle and idle[p["users"]]["p99_ms"]:
            ratios[p["phase"]] = round(p["p99_ms"] / idle[p["users"]]["p99_ms"], 2)
    errors_5xx = sum(p["errors"]["5xx"] for p in phases)
    timeouts = sum(p["errors"]["timeout"] for p in phases)
    out["index_p99_ratio"] = ratios
    out["summary"] = {
        "requests": sum(p["requests"] for p in measured),
        "server_errors_5xx": errors_5xx,
        "timeouts": timeouts,
        "other_errors": sum(p["errors"]["4xx"] + p["errors"]["connection"] for p in phases),
        "rss_growth_idle_pct": out["rss"]["growth_idle_pct"],
        "index_p99_ratio_max": max(ratios.values()) if ratios else None,
        "met": {
            "no_5xx": errors_5xx == 0,
            "no_timeouts": timeouts == 0,
            "rss_growth": out["rss"]["growth_idle_pct"] is not None
            and out["rss"]["growth_idle_pct"] <= TARGETS["rss_growth_pct"],
            "index_p99": bool(ratios) and max(ratios.values()) <= TARGETS["index_p99_ratio"],
        },
    }
    out["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    out_json.parent.mkdir(parents=True, exist_ok=True)
    out_json.write_text(json.dumps(out, indent=2) + "\n")
    png = plot(out, out_png)
    s = out["summary"]
    print(
        f"{s['requests']} requests measured: 5xx {s['server_errors_5xx']}, timeouts {s['timeouts']}, "
        f"RSS {rss_warm:.0f} -> {rss_idle:.0f} MB over the idle phases ({s['rss_growth_idle_pct']:+.2f}%), "
        f"{rss_end:.0f} MB at the end; p99 with indexing / idle: {ratios}; targets met: {s['met']}"
    )
    print(f"wrote {out_json}" + (f" and {png}" if png else ""))
    return 0 if all(s["met"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
