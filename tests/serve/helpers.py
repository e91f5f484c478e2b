"""Real `mmroute serve` processes and real CLI subprocesses for the serve tests."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

HASH = ["--encoder", "hashing", "--encoder-option", "dim=64"]
FILMS = [
    {
        "id": "f1",
        "title": "Inception",
        "text": "Inception is a 2010 science fiction film directed by Christopher Nolan.",
    },
    {"id": "f2", "title": "Christopher Nolan", "text": "Christopher Nolan is a British film director born in London."},
    {"id": "f3", "title": "Titanic", "text": "Titanic is a 1997 film directed by James Cameron about the ship."},
    {"id": "f4", "title": "Normandy", "text": "Normandy is a region in the north of France, named after the Normans."},
]


def env(token: str | None = None) -> dict[str, str]:
    e = {
        k: v
        for k, v in os.environ.items()
        if k not in ("MMROUTE_HOME", "MMROUTE_DEBUG", "MMROUTE_SERVE_TOKEN", "MMROUTE_NO_SERVER")
    }
    e.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    if token:
        e["MMROUTE_SERVE_TOKEN"] = token
    return e


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def films_home(folder: Path) -> Path:
    """``folder/home`` with the KB ``films`` (:data:`FILMS`, hashing encoder), indexed through the CLI."""
    home = folder / "home"
    r = mmroute(
        "index", "--kb", "films", "--input", str(write_jsonl(folder / "films.jsonl", FILMS)), *HASH, "--home", str(home)
    )
    assert r.returncode == 0, r.stderr
    return home


def mmroute(
    *args: str, token: str | None = None, cwd: Path | None = None, timeout: float = 600
) -> subprocess.CompletedProcess:
    """Run the real CLI in a subprocess."""
    return subprocess.run(
        [sys.executable, "-m", "mmroute", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env(token),
        cwd=cwd,
    )


class Server:
    """A `mmroute serve` subprocess on a free loopback port, ready once its discovery file names it."""

    def __init__(self, home: Path, *extra: str, token: str | None = None, log_dir: Path | None = None) -> None:
        self.home = home
        log_dir = log_dir or home.parent
        self.out_path = log_dir / f"serve-{time.monotonic_ns()}.out"
        self.err_path = self.out_path.with_suffix(".err")
        self._out = open(self.out_path, "w")
        self._err = open(self.err_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mmroute", "serve", "--home", str(home), "--port", "0", *extra],
            stdout=self._out,
            stderr=self._err,
            env=env(token),
        )

    def wait_ready(self, timeout: float = 300) -> Server:
        deadline = time.monotonic() + timeout
        path = self.home / "serve.json"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}: {self.stderr()[-3000:]}")
            try:
                info = json.loads(path.read_text())
                if info["pid"] == self.proc.pid:
                    self.info = info
                    self.url = f"http://127.0.0.1:{info['port']}"
                    return self
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.1)
        raise AssertionError(f"server not ready in {timeout}s: {self.stderr()[-3000:]}")

    def stderr(self) -> str:
        self._err.flush()
        return self.err_path.read_text()

    def stdout(self) -> str:
        self._out.flush()
        return self.out_path.read_text()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=timeout)
        self._out.close()
        self._err.close()
        return rc

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=60)
        self._out.close()
        self._err.close()

    def __enter__(self) -> Server:
        return self.wait_ready()

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.stop()


def http(
    url: str,
    method: str = "GET",
    body: dict | bytes | None = None,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 300,
) -> tuple[int, dict]:
    """One real HTTP request; returns (status, decoded JSON)."""
    import urllib.error
    import urllib.request

    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


_TIMING = re.compile(r'"(elapsed_ms|elapsed_s|encode_s)": [0-9.e+-]+')
_TIMINGS = re.compile(r'"timings_ms": \{[^}]*\}')
_TEXT_MS = re.compile(r"\(\d+\.\d ms, |timings \(ms\):.*$|in \d+\.\ds$", re.M)


def mask_timings(text: str) -> str:
    """Blank the wall-clock figures (they differ between any two runs); everything else must match."""
    text = _TIMINGS.sub('"timings_ms": {}', _TIMING.sub(r'"\1": 0', text))
    return _TEXT_MS.sub("<ms>", text)
