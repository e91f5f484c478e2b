"""Running the ``mmroute`` CLI in subprocesses against this checkout, and small homes to run it on."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TEXTS = [
    "Apples grow on trees in orchards across Normandy.",
    "The Seine flows through Paris to the English Channel.",
    "Christopher Nolan directed the film Inception in 2010.",
    "Honey bees pollinate apple blossoms every spring.",
]


def cli_env(**extra: str) -> dict[str, str]:
    """The environment for a CLI subprocess: this checkout first on PYTHONPATH, offline, no server."""
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "MMROUTE_NO_SERVER": "1",
    }
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])
    env.pop("MMROUTE_DEBUG", None)
    env.update(extra)
    return env


def mmroute(
    *args: str | Path,
    home: Path | None = None,
    timeout: float = 120,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "mmroute", *map(str, args)]
    if home is not None:
        cmd += ["--home", str(home)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env or cli_env())


def popen(*args: str | Path, home: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mmroute", *map(str, args), "--home", str(home)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
    )


def write_texts(folder: Path, n: int = 4) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (folder / f"doc{i}.txt").write_text(TEXTS[i % len(TEXTS)] + f" (note {i})\n", encoding="utf-8")
    return folder


def index_args(kb: str, src: Path, *extra: str) -> list[str]:
    return ["index", "--kb", kb, "--input", str(src), "--encoder", "hashing", "--encoder-option", "dim=32", *extra]


def assert_one_line_error(res: subprocess.CompletedProcess[str], *, what: str = "") -> None:
    """A failed command says what is wrong in one ``error:`` line (plus a hint), never a traceback."""
    assert res.returncode != 0, what
    assert "Traceback" not in res.stderr and "Exception ignored" not in res.stderr, f"{what}\n{res.stderr[-3000:]}"
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error:")]
    assert len(errors) == 1, f"{what}\n{res.stderr[-3000:]}"
    assert any(ln.startswith("hint:") for ln in lines), f"{what}\n{res.stderr[-3000:]}"


def tree_state(root: Path) -> dict[str, tuple[int, str]]:
    """Every path under ``root`` with its mtime and (for files) content hash: to detect any write."""
    out: dict[str, tuple[int, str]] = {}
    for d, dirs, files in os.walk(root):
        for name in dirs + files:
            p = Path(d) / name
            st = p.lstat()
            digest = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() and not p.is_symlink() else ""
            out[str(p.relative_to(root))] = (st.st_mtime_ns, digest)
    return out
