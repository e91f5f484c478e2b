"""``mmroute app``: start the Streamlit app on this machine (localhost by default)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click

from .common import fail, home_option
from .main import cli


def app_script() -> Path:
    """``apps/mmroute_app.py`` of this checkout (the app ships beside the package, not inside it)."""
    return Path(__file__).resolve().parents[2] / "apps" / "mmroute_app.py"


def streamlit_command(script: Path, host: str, port: int, headless: bool, extra: tuple[str, ...] = ()) -> list[str]:
    return [sys.executable, "-m", "streamlit", "run", str(script),
            "--server.address", host, "--server.port", str(port),
            "--server.headless", "true" if headless else "false",
            "--browser.gatherUsageStats", "false",
            "--server.fileWatcherType", "none",
            *extra]


@cli.command("app", epilog="""\b
Examples:
  mmroute app                          # http://127.0.0.1:8501, KBs from $MMROUTE_HOME or ~/.mmroute
  mmroute app --home ./kbs --port 8600
  mmroute app --host 0.0.0.0           # reachable from other machines: only on a trusted network
""")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (localhost by default).")
@click.option("--port", default=8501, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option("--open-browser/--no-browser", default=False, help="Open a browser tab on start.")
@click.option("--app", "script", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Another app script to run (default: apps/mmroute_app.py).")
@home_option
@click.argument("streamlit_args", nargs=-1, type=click.UNPROCESSED)
def app_cmd(host: str, port: int, open_browser: bool, script: Path | None, home: Path | None,
            streamlit_args: tuple[str, ...]) -> None:
    """Start the web app: chat with routed, verified answers and manage knowledge bases.

    Extra arguments after `--` go to `streamlit run` (e.g. `-- --server.maxUploadSize 500`).
    """
    try:
        import streamlit  # noqa: F401
    except ImportError:
        fail("streamlit is not installed", "pip install 'mmroute[app]'")
    target = script or app_script()
    if not target.is_file():
        fail(f"the app script {target} is missing", "run from a checkout of mmroute, or pass --app PATH")
    env = dict(os.environ)
    if home is not None:
        env["MMROUTE_HOME"] = str(Path(home).expanduser().resolve())
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    cmd = streamlit_command(target, host, port, headless=not open_browser, extra=streamlit_args)
    click.echo(f"mmroute app on http://{host}:{port}  (KBs in {env.get('MMROUTE_HOME') or '~/.mmroute'}; Ctrl-C stops)",
               err=True)
    try:
        sys.exit(subprocess.call(cmd, env=env))
    except KeyboardInterrupt:
        sys.exit(130)
