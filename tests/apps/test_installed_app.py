"""The app is part of the package: build the wheel, install it alone into a fresh venv, and run it there.

The fresh venv sees the test environment's dependencies (a ``.pth`` naming its site-packages, where an
editable mmroute is only a ``.pth`` hook that such a path entry does not run) but not this checkout:
``mmroute`` must come from the installed wheel, and ``mmroute app`` must find its script inside it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# What a wheel build needs is the project file and the packages; the rest of the checkout stays out.
SKIP = {
    ".git",
    ".venv",
    ".mmroute",
    "build",
    "dist",
    "tests",
    "evals",
    "fuzz",
    "examples",
    "apps",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".mypy_cache",
}

pytestmark = pytest.mark.slow


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = 300) -> str:
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, f"{cmd}\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, str]]:
    """(the fresh venv's python, its site-packages, an environment without this checkout on the path)."""
    tmp = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    env.update(
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        TOKENIZERS_PARALLELISM="false",
        PIP_NO_INDEX="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    src = tmp / "src"  # a copy, so the build writes its build/ and egg-info there, not into the checkout
    shutil.copytree(
        REPO,
        src,
        ignore=lambda d, names: [
            n
            for n in names
            if n in {"__pycache__", ".pytest_cache"} or Path(d) == REPO and (n in SKIP or n.endswith(".egg-info"))
        ],
    )
    wheels = tmp / "wheels"
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(src)],
        tmp,
        env,
    )
    (wheel,) = wheels.glob("mmroute-*.whl")
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp, env)
    py = venv / "bin" / "python"
    site = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp, env).strip())
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "_mmroute_test_deps.pth").write_text("".join(f"{d}\n" for d in sorted(deps)))
    _run([str(py), "-m", "pip", "install", "--no-deps", "-q", str(wheel)], tmp, env)  # pip from the deps' path
    return py, site, env


def test_the_wheel_installs_mmroute_itself(installed, tmp_path: Path) -> None:
    py, site, env = installed
    where = _run([str(py), "-c", "import mmroute; print(mmroute.__file__)"], tmp_path, env).strip()
    assert Path(where).is_relative_to(site), where  # the installed copy, not this checkout
    data = _run(
        [
            str(py),
            "-c",
            "from mmroute.encoders.imagenet_classes import IMAGENET_CLASSES as C; "
            "from mmroute.demo import demo_queries; print(len(C), C[0], len(demo_queries()[1]))",
        ],
        tmp_path,
        env,
    )
    from mmroute.demo import demo_queries

    assert data.split() == ["1000", "tench", str(len(demo_queries()[1]))]  # the data files ship as package data
    shown = _run([str(py.parent / "mmroute"), "--help"], tmp_path, env)
    assert "app" in shown and "index" in shown and "ask" in shown


def test_mmroute_app_runs_the_script_inside_the_installed_package(installed, tmp_path: Path) -> None:
    py, site, env = installed
    script = Path(_run([str(py.parent / "mmroute"), "app", "--print-path"], tmp_path, env).strip())
    assert script.is_file() and script.is_relative_to(site / "mmroute" / "app"), script
    # the installed script renders (no server runs for this home: the app says how to start one)
    pytest.importorskip("streamlit")
    home = tmp_path / "home"
    code = (
        "import sys; from streamlit.testing.v1 import AppTest\n"
        "at = AppTest.from_file(sys.argv[1], default_timeout=120).run()\n"
        "print('EXC', [str(e.value) for e in at.exception]); print('ERR', [e.value for e in at.error])\n"
    )
    out = _run([str(py), "-c", code, str(script)], tmp_path, {**env, "MMROUTE_HOME": str(home)})
    assert "EXC []" in out, out
    assert f"no mmroute serve runs for {home}" in out, out
