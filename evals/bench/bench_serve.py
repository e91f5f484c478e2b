"""``mmroute serve`` benchmark: CLI wall time with a warm server, 50 concurrent clients, kill -9 during indexing.

What it measures (each a section of the JSON):

- ``cold_cli``: wall time of ``mmroute search`` / ``mmroute ask`` subprocesses with no server (in-process,
  the models load every call), for reference;
- ``warm_cli``: the same subprocesses while a warm server owns the home (targets: search <= 0.5 s,
  ask <= 1 s on 2 cores); medians of several calls with different queries;
- ``load``: N concurrent loopback clients (threads, one HTTP connection each) for S seconds sending a mix
  of search / route / ask requests: requests, errors, throughput, p50/p95/p99 per operation and overall;
- ``kill9_index``: a server killed by SIGKILL in the middle of an index job (a scratch home, a generated
  corpus, the hashing encoder), restarted: the job resumes; items expected vs stored, duplicates.

Usage (a home with real KBs, e.g. the demo home: ``MMROUTE_HOME=/tmp/serve-bench python -m mmroute.demo``)::

    python -m evals.bench.bench_serve --home /tmp/serve-bench
    python -m evals.bench.bench_serve --home /tmp/serve-bench --clients 50 --seconds 60 --generator offline

Writes ``bench_serve.json`` (to ``--out``; default: a scratch folder, ``--out evals/results`` replaces the committed one). The server is started (``--port 0``) and stopped by the
benchmark unless one already serves the home, in which case that one is used and left running.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from ..paths import SCRATCH, report_path

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "evals" / "results"
DATA = Path(os.environ.get("MMROUTE_DATA") or REPO.parent / "shared" / "data")

FALLBACK_QUESTIONS = [
    "In what country is Normandy located?",
    "When were the Normans in Normandy?",
    "Who was the duke in the battle of Hastings?",
    "What is the capital of Mars's largest moon?",
]


def _env() -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if k not in ("MMROUTE_NO_SERVER", "MMROUTE_DEBUG")}
    e.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    return e


def _questions(rel: str, n: int) -> list[str]:
    path = DATA / rel
    if not path.is_file():
        return FALLBACK_QUESTIONS[:n]
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            out.append(json.loads(line)["question"])
    random.Random(0).shuffle(out)
    return out[:n]


def _pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))]


def _summary(xs: list[float]) -> dict[str, Any]:
    return {
        "n": len(xs),
        "median": round(statistics.median(xs), 4) if xs else None,
        "p90": round(_pct(xs, 90), 4) if xs else None,
        "min": round(min(xs), 4) if xs else None,
        "max": round(max(xs), 4) if xs else None,
    }


def _cli_times(home: Path, argv_list: list[list[str]]) -> tuple[dict[str, Any], list[int]]:
    walls, codes = [], []
    for argv in argv_list:
        t = time.perf_counter()
        r = subprocess.run(
            [sys.executable, "-m", "mmroute", *argv, "--home", str(home)], capture_output=True, text=True, env=_env()
        )
        walls.append(time.perf_counter() - t)
        codes.append(r.returncode)
        if r.returncode != 0:
            print(f"  {' '.join(argv[:3])} ... exit {r.returncode}: {r.stderr.strip()[-300:]}", file=sys.stderr)
    return {**_summary(walls), "seconds": [round(w, 4) for w in walls], "exit_codes": codes}, codes


class _Server:
    def __init__(self, home: Path, *extra: str) -> None:
        self.home = home
        self.log = open(Path(tempfile.gettempdir()) / f"bench-serve-{os.getpid()}-{time.monotonic_ns()}.log", "w")
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mmroute", "serve", "--home", str(home), "--port", "0", *extra],
            stdout=self.log,
            stderr=self.log,
            env=_env(),
        )

    def wait(self, timeout: float = 600) -> _Server:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"mmroute serve exited ({self.proc.returncode}); log: {self.log.name}")
            try:
                info = json.loads((self.home / "serve.json").read_text())
                if info["pid"] == self.proc.pid:
                    self.url = f"http://127.0.0.1:{info['port']}"
                    self.ready_s = time.perf_counter() - self.t0
                    return self
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.1)
        raise SystemExit(f"mmroute serve not ready in {timeout}s; log: {self.log.name}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        self.proc.wait(timeout=120)
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


def _load(
    url: str,
    clients: int,
    seconds: float,
    mix: dict[str, int],
    kb: str,
    search_qs: list[str],
    ask_qs: list[str],
    ask_config: dict[str, Any],
) -> dict[str, Any]:
    from mmroute.serve.client import ServeClient

    ops = [op for op, w in mix.items() for _ in range(w)]
    lat: dict[str, list[float]] = {op: [] for op in mix}
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(clients)
    deadline_box: list[float] = []

    def worker(i: int) -> None:
        rng = random.Random(i)
        client = ServeClient(url, timeout_s=300)
        mine: dict[str, list[float]] = {op: [] for op in mix}
        errs: list[str] = []
        start.wait()
        deadline = deadline_box[0]
        while time.perf_counter() < deadline:
            op = rng.choice(ops)
            t = time.perf_counter()
            try:
                if op == "search":
                    client.search(kb, rng.choice(search_qs), k=5)
                elif op == "route":
                    client.route(rng.choice(ask_qs))
                else:
                    client.ask(rng.choice(ask_qs), ask_config)
                mine[op].append(time.perf_counter() - t)
            except Exception as e:  # noqa: BLE001 - every failure counts as an error
                errs.append(f"{op}: {type(e).__name__}: {e}"[:300])
        client.close()
        with lock:
            for op, xs in mine.items():
                lat[op].extend(xs)
            errors.extend(errs)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    deadline_box.append(time.perf_counter() + seconds + 0.5)
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    allx = [x for xs in lat.values() for x in xs]
    per = {
        op: {
            "requests": len(xs),
            "p50_ms": round(_pct(xs, 50) * 1000, 1),
            "p95_ms": round(_pct(xs, 95) * 1000, 1),
            "p99_ms": round(_pct(xs, 99) * 1000, 1),
            "max_ms": round(max(xs) * 1000, 1) if xs else None,
        }
        for op, xs in lat.items()
    }
    return {
        "clients": clients,
        "seconds": round(wall, 1),
        "mix": mix,
        "requests": len(allx),
        "errors": len(errors),
        "error_samples": errors[:10],
        "throughput_rps": round(len(allx) / wall, 1),
        "p50_ms": round(_pct(allx, 50) * 1000, 1),
        "p95_ms": round(_pct(allx, 95) * 1000, 1),
        "p99_ms": round(_pct(allx, 99) * 1000, 1),
        "per_op": per,
    }


def _kill9_index(items: int) -> dict[str, Any]:
    """Scratch home: SIGKILL the server mid-job, restart it, check every item is stored exactly once."""
    from mmroute.kb import Home
    from mmroute.serve.client import ServeClient
    from mmroute.types import point_id

    with tempfile.TemporaryDirectory(prefix="bench-kill9-") as tmp:
        home = Path(tmp) / "home"
        src = Path(tmp) / "corpus.jsonl"
        ids = [f"r{i}" for i in range(items)]
        with open(src, "w", encoding="utf-8") as f:
            for i, rid in enumerate(ids):
                f.write(
                    json.dumps({"id": rid, "text": f"record {i} about topic {i % 17} " + "lorem ipsum " * 10}) + "\n"
                )
        server = _Server(home, "--lazy").wait()
        client = ServeClient(server.url)
        job = client.submit_index("big", {"input": str(src), "encoder": {"name": "hashing", "options": {"dim": 32}}})
        killed_at: dict[str, Any] = {}
        while True:
            j = client.job(job["id"])
            p = next(iter(j["progress"].values()), None)
            if j["status"] == "running" and p and 0 < p["done"] < p["total"]:
                killed_at = p
                break
            if j["status"] in ("done", "failed"):
                raise SystemExit(f"kill -9 check: the job ended before it could be killed ({j['status']})")
            time.sleep(0.01)
        server.stop(signal.SIGKILL)
        t = time.perf_counter()
        again = _Server(home, "--lazy").wait()
        done = ServeClient(again.url).wait_job(job["id"])
        resume_s = time.perf_counter() - t
        again.stop()
        kb = Home(home).open("big")
        stored = kb.store.all_ids()
        count = kb.count()
        kb.close()
        expected = {point_id("big", i) for i in ids}
        rep = (done.get("result") or {"reports": [{}]})["reports"][0]
        return {
            "items": items,
            "killed_at": killed_at,
            "job_status": done["status"],
            "resumed": done.get("resumed"),
            "resume_and_finish_s": round(resume_s, 1),
            "count_after": count,
            "missing": len(expected - stored),
            "extra": len(stored - expected),
            "duplicates": count - len(stored),
            "report_after_resume": {k: rep.get(k) for k in ("indexed", "unchanged", "count")},
            "nothing_lost": count == items and stored == expected,
        }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--home", type=Path, required=True, help="A home with KBs (e.g. the demo home).")
    ap.add_argument("--kb", default=None, help="KB for search (default: hop, else the first KB).")
    ap.add_argument("--runs", type=int, default=7, help="CLI calls per command (warm).")
    ap.add_argument("--cold-runs", type=int, default=3, help="CLI calls per command without a server (0: skip).")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--mix", default="search=8,route=1,ask=1", help="Weights of the load test's operations.")
    ap.add_argument("--generator", default=None, help="ask --generator (default: the CLI's default).")
    ap.add_argument("--kill9-items", type=int, default=20000, help="Items of the kill -9 check (0: skip).")
    ap.add_argument(
        "--out", type=Path, default=SCRATCH / "bench_serve.json", help="the report (default: a scratch folder)"
    )
    args = ap.parse_args(argv)
    args.out = report_path(Path(args.out), "bench_serve.json")  # a folder or a .json file, checked before the run

    from mmroute.kb import Home
    from mmroute.serve.client import discover

    home = args.home.expanduser().absolute()
    names = Home(home).names()
    if not names:
        raise SystemExit(f"no KBs in {home}; build some first, e.g. MMROUTE_HOME={home} python -m mmroute.demo")
    kb = args.kb or ("hop" if "hop" in names else names[0])
    search_qs = _questions("text/multihop_ircot/questions.jsonl", 40)
    ask_qs = _questions("text/squad2_dev/questions.jsonl", 40)
    gen = ["--generator", args.generator] if args.generator else []
    ask_config: dict[str, Any] = {"generator": args.generator} if args.generator else {}
    out: dict[str, Any] = {
        "command": "python -m evals.bench.bench_serve " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "home": str(home),
        "kbs": names,
        "search_kb": kb,
        "generator": args.generator or "default",
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],  # other work on the machine skews the figures
    }
    search_argv = [["search", "--kb", kb, q, "--k", "5", "--json"] for q in search_qs]
    ask_argv = [["ask", q, *gen, "--json"] for q in ask_qs]

    running = discover(home)
    if args.cold_runs and running is None:
        print(f"cold CLI (no server), {args.cold_runs} calls each ...", flush=True)
        out["cold_cli"] = {
            "search": _cli_times(home, search_argv[: args.cold_runs])[0],
            "ask": _cli_times(home, ask_argv[: args.cold_runs])[0],
        }
    server = None
    if running is None:
        server = _Server(home).wait()
        url = server.url
        out["server_ready_s"] = round(server.ready_s, 1)
        print(f"server warm in {server.ready_s:.1f}s at {url}", flush=True)
    else:
        url = running.url
        print(f"using the running server {url} (pid {running.pid})", flush=True)
    try:
        # one untimed call each: the first ask builds the pipeline of a non-default config
        _cli_times(home, [search_argv[-1], ask_argv[-1]])
        print(f"warm CLI, {args.runs} calls each ...", flush=True)
        s, s_codes = _cli_times(home, search_argv[: args.runs])
        a, a_codes = _cli_times(home, ask_argv[: args.runs])
        r, _ = _cli_times(home, [["route", q, "--json"] for q in ask_qs[: args.runs]])
        out["warm_cli"] = {
            "search": s,
            "ask": a,
            "route": r,
            "targets": {
                "search_median_s": 0.5,
                "ask_median_s": 1.0,
                "search_met": s["median"] <= 0.5 and not any(s_codes),
                "ask_met": a["median"] <= 1.0 and not any(a_codes),
            },
        }
        mix = {k: int(v) for k, v in (p.split("=") for p in args.mix.split(",") if p)}
        print(f"load: {args.clients} clients x {args.seconds:.0f}s, mix {mix} ...", flush=True)
        out["load"] = _load(url, args.clients, args.seconds, mix, kb, search_qs, ask_qs, ask_config)
    finally:
        if server is not None:
            server.stop()
    if args.kill9_items:
        print(f"kill -9 during an index job ({args.kill9_items} items) ...", flush=True)
        out["kill9_index"] = _kill9_index(args.kill9_items)
    out["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    w, ld = out["warm_cli"], out["load"]
    print(
        f"warm CLI median: search {w['search']['median']:.3f}s, ask {w['ask']['median']:.3f}s, "
        f"route {w['route']['median']:.3f}s"
    )
    print(
        f"load: {ld['requests']} requests, {ld['errors']} errors, {ld['throughput_rps']} req/s, "
        f"p50 {ld['p50_ms']} ms, p95 {ld['p95_ms']} ms"
    )
    if "kill9_index" in out:
        k = out["kill9_index"]
        print(
            f"kill -9: killed at {k['killed_at']}, after resume {k['count_after']}/{k['items']} items, "
            f"duplicates {k['duplicates']}, nothing lost: {k['nothing_lost']}"
        )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
