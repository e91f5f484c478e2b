"""``mmroute app``: start the Streamlit app on this machine (localhost by default)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import click

from ..app import app_script
from ..errors import MMRouteError
from ..serve.launch import stop_process
from .common import fail, home_option
from .main import cli


def streamlit_command(script: Path, host: str, port: int, headless: bool, extra: tuple[str, ...] = ()) -> list[str]:
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(script),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true" if headless else "false",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        *extra,
    ]


@cli.command(
    "app",
    epilog="""\b
Examples:
  mmroute app                          # http://127.0.0.1:8501, KBs from $MMROUTE_HOME or ~/.mmroute
  mmroute app --home ./kbs --port 8600
  mmroute app --host 0.0.0.0 --open-to-network   # reachable from other machines, with no login
  mmroute app --print-path             # where the installed app script is; starts nothing
""",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (localhost by default).")
@click.option("--port", default=8501, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option("--open-browser/--no-browser", default=False, help="Open a browser tab on start.")
@click.option(
    "--open-to-network",
    is_flag=True,
    help="Allow a --host other machines reach. The app has no login: whoever reaches it can index and delete KBs "
    "and send questions, with this machine's endpoint key, to an endpoint they choose.",
)
@click.option(
    "--app",
    "script",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Another app script to run (default: the app installed with mmroute).",
)
@click.option("--print-path", is_flag=True, help="Print the app script that would run, and exit.")
@home_option
@click.argument("streamlit_args", nargs=-1, type=click.UNPROCESSED)
def app_cmd(
    host: str,
    port: int,
    open_browser: bool,
    open_to_network: bool,
    script: Path | None,
    print_path: bool,
    home: Path | None,
    streamlit_args: tuple[str, ...],
) -> None:
    """Start the web app: chat with routed, verified answers and manage knowledge bases.

    Extra arguments after `--` go to `streamlit run` (e.g. `-- --server.maxUploadSize 500`).
    """
    from ..serve.discovery import is_loopback

    if any(a.split("=", 1)[0] in ("--server.address", "--server.port") for a in streamlit_args):
        fail(  # after `--` they would override --host (and its check below) and --port
            "give the address and port with --host and --port, not to streamlit after --",
            "e.g. mmroute app --host 127.0.0.1 --port 8600",
        )
    if not is_loopback(host) and not open_to_network:
        fail(
            f"--host {host} lets other machines reach the app, and the app has no login: anyone who reaches it could "
            "index and delete KBs and use this machine's endpoint key",
            "keep the default 127.0.0.1 and reach it through an SSH tunnel (ssh -L 8501:127.0.0.1:8501 HOST), or add "
            "--open-to-network on a network you trust",
        )
    if print_path:
        click.echo(str((script or app_script()).resolve()))
        return
    try:
        import streamlit  # noqa: F401
    except ImportError:
        fail("streamlit is not installed", "pip install 'mmroute[app]'")
    target = script or app_script()
    if not target.is_file():
        fail(f"the app script {target} is missing", "reinstall mmroute, or pass --app PATH")
    from ..serve.client import home_root
    from ..serve.launch import ensure_server

    root = home_root(home).absolute()
    env = dict(os.environ)
    env["MMROUTE_HOME"] = str(root)
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    env.pop("MMROUTE_NO_SERVER", None)  # the app only works through the server
    with _forwarded_signals() as stopping:
        try:
            server = ensure_server(root, env=env)
        except MMRouteError as e:
            fail(e.message, e.hint)
        how = "started" if server.started else "using the running"
        click.echo(
            f"mmroute app: {how} mmroute serve for {root} at {server.info.url} (pid {server.info.pid})", err=True
        )
        cmd = streamlit_command(target, host, port, headless=not open_browser, extra=streamlit_args)
        click.echo(f"mmroute app on http://{host}:{port}  (KBs in {root}; Ctrl-C stops)", err=True)
        ui: subprocess.Popen | None = None
        rc = 1
        try:
            if not stopping():
                ui = subprocess.Popen(cmd, env=env)
                rc = ui.wait()
        except _Stop as e:
            rc = 128 + e.signum
        finally:
            if ui is not None:
                stop_process(ui)
            server.stop()
    sys.exit(128 - rc if rc < 0 else rc)


class _Stop(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def _forwarded_signals() -> Iterator[Callable[[], bool]]:
    """SIGTERM, SIGINT and SIGHUP stop the app's children (Streamlit and a server it started) before it exits:
    the handler raises :class:`_Stop` in the main thread, whose ``finally`` stops them."""
    got: list[int] = []

    def handler(signum: int, _frame: object) -> None:
        if got:  # already stopping: let the clean-up finish
            return
        got.append(signum)
        raise _Stop(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    try:
        yield lambda: bool(got)
    except _Stop as e:
        sys.exit(128 + e.signum)
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
