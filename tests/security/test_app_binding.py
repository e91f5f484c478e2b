"""`mmroute app` binds to localhost unless told otherwise, and never phones home."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from mmroute.cli.main import cli


class _FakeUI:
    """Stands in for the Streamlit child: records its command and environment, exits at once."""

    seen: dict[str, object] = {}

    def __init__(self, cmd: list[str], env: dict[str, str] | None = None, **_: object) -> None:
        _FakeUI.seen.update(cmd=cmd, env=env or {})

    def wait(self, timeout: float | None = None) -> int:
        return 0

    def poll(self) -> int:
        return 0


def _run_app(monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[list[str], dict[str, str], str]:
    from mmroute.serve import launch
    from mmroute.serve.discovery import ServerInfo

    server = launch.AppServer(ServerInfo(pid=1, host="127.0.0.1", port=1, started_at="", home=""))
    monkeypatch.setattr(launch, "ensure_server", lambda root, env=None: server)  # no real server for these checks
    monkeypatch.setattr(subprocess, "Popen", _FakeUI)
    _FakeUI.seen.clear()
    out = CliRunner().invoke(cli, ["app", *args])
    assert out.exit_code == 0, out.output
    return _FakeUI.seen["cmd"], _FakeUI.seen["env"], out.output  # type: ignore[return-value]


def _opt(cmd: list[str], name: str) -> str:
    return cmd[cmd.index(name) + 1]


def test_default_binds_to_localhost_only(monkeypatch: pytest.MonkeyPatch) -> None:
    cmd, _, output = _run_app(monkeypatch)
    assert cmd[1:4] == ["-m", "streamlit", "run"]
    assert _opt(cmd, "--server.address") == "127.0.0.1"
    assert _opt(cmd, "--browser.gatherUsageStats") == "false"
    assert _opt(cmd, "--server.headless") == "true"
    assert "http://127.0.0.1:8501" in output


def test_other_address_only_when_asked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: pytest.fail("must not start"))
    out = CliRunner().invoke(cli, ["app", "--host", "0.0.0.0", "--home", str(tmp_path)])
    assert out.exit_code == 2 and "the app has no login" in out.output and "--open-to-network" in out.output
    for extra in (["--", "--server.address", "0.0.0.0"], ["--", "--server.address=0.0.0.0"]):  # not around the check
        out = CliRunner().invoke(cli, ["app", "--home", str(tmp_path), *extra])
        assert out.exit_code == 2 and "with --host and --port" in out.output, out.output
    monkeypatch.undo()
    args = ("--host", "0.0.0.0", "--open-to-network", "--port", "8600", "--home", str(tmp_path))
    cmd, env, _ = _run_app(monkeypatch, *args)
    assert _opt(cmd, "--server.address") == "0.0.0.0" and _opt(cmd, "--server.port") == "8600"
    assert env["MMROUTE_HOME"] == str(tmp_path.resolve())


def test_bad_port_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: pytest.fail("must not start"))
    out = CliRunner().invoke(cli, ["app", "--port", "70000"])
    assert out.exit_code == 2 and "70000" in out.output


def test_streamlit_really_listens_on_loopback_only(tmp_path: Path) -> None:
    """Start the real server through `mmroute app` and check the socket it listens on."""
    import os
    import socket
    import sys
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "MMROUTE_HOME": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mmroute", "app", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 240  # `mmroute app` first starts the home's server
        listening: set[str] = set()
        while time.monotonic() < deadline and not listening:
            for line in (
                Path("/proc/net/tcp").read_text().splitlines()[1:] + Path("/proc/net/tcp6").read_text().splitlines()[1:]
            ):
                local, state = line.split()[1], line.split()[3]
                addr, p = local.rsplit(":", 1)
                if state == "0A" and int(p, 16) == port:  # LISTEN
                    listening.add(addr)
            time.sleep(0.3)
        assert listening, "the app never started listening"
        assert listening <= {"0100007F"}, f"listening on {listening}, not only 127.0.0.1"
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
