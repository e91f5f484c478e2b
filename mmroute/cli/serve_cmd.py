"""``mmroute serve``: the warm resident process of a home (the other commands use it while it runs)."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click

from .common import handle_errors, home_option
from .main import cli


@cli.command(
    "serve",
    epilog="""\b
Examples:
  mmroute serve                                   # 127.0.0.1:8765, the home of $MMROUTE_HOME or ~/.mmroute
  mmroute serve --home ./demo-home --port 0       # a free port; clients find it in HOME/serve.json
  MMROUTE_SERVE_TOKEN=$(openssl rand -hex 24) mmroute serve --host 0.0.0.0   # other binds need a token
  curl -s 127.0.0.1:8765/health    # then http://127.0.0.1:8765/docs in a browser: the API
  mmroute serve --stop --home ./demo-home         # stop the server of that home
""",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind. Anything but loopback needs $MMROUTE_SERVE_TOKEN (a bearer token).",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port to bind; 0 picks a free one (written to HOME/serve.json).",
)
@click.option(
    "--max-body-mb",
    type=click.FloatRange(0.001),
    default=32.0,
    show_default=True,
    help="Largest request body accepted (an image travels inside the request).",
)
@click.option("--lazy", is_flag=True, help="Do not warm the models at start; they load on first use.")
@click.option(
    "--stop",
    is_flag=True,
    help="Stop the server of the home (SIGTERM; its index jobs resume on the next start) instead of starting one.",
)
@home_option
@handle_errors
def serve_command(host: str, port: int, max_body_mb: float, lazy: bool, stop: bool, home: Path | None) -> None:
    """Serve a home's KBs over HTTP from one warm process (search, route, ask, KBs, index jobs).

    While it runs, `mmroute search|route|ask|kb|index` on the same home are answered by it with the
    same output; without it they work in-process. Stop it with Ctrl-C, SIGTERM or `mmroute serve --stop`.
    """
    if stop:
        from ..serve.client import home_root as served_root
        from ..serve.launch import stop_served

        root = served_root(home)
        info = stop_served(root)
        click.echo(
            f"stopped mmroute serve (pid {info.pid}) of {root}" if info else f"no mmroute serve runs for {root}",
            err=True,
        )
        return
    # Requests run on many threads, and each thread that calls torch gets its own OpenMP team; teams that
    # spin while idle steal the cores from the one working (measured on 2 cores: a warm ask took 2.7 s
    # with spinning teams, 0.5-0.7 s with sleeping ones). Must be set before torch loads.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from ..serve.client import home_root
    from ..serve.server import run_server

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    run_server(home_root(home), host=host, port=port, max_body=int(max_body_mb * 1024 * 1024), warm=not lazy)
