"""``mmroute search``: nearest items of one KB for a text query (or a query image)."""
from __future__ import annotations

from pathlib import Path

import click

from .common import emit_json, handle_errors, home_option, json_option, open_home
from .main import cli


@cli.command("search", epilog="""\b
Examples:
  mmroute search --kb hop "Who directed Inception?" --k 5
  mmroute search --kb photos "a cup of coffee" --json
  mmroute search --kb photos --image query.jpg
""")
@click.option("--kb", required=True, help="KB to search.")
@click.argument("query", required=False, default="")
@click.option("--k", "k", type=click.IntRange(1, 1000), default=10, show_default=True, help="Number of hits.")
@click.option("--image", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Search by a query image instead of text.")
@home_option
@json_option
@handle_errors
def search_command(kb: str, query: str, k: int, image: Path | None, home: Path | None, as_json: bool) -> None:
    """Search one KB directly (no routing)."""
    from ..errors import InputError

    if not query.strip() and image is None:
        raise InputError("nothing to search for", hint='give a QUERY text or --image PATH')
    base = open_home(home).open(kb)
    hits = base.search_image(image, k) if image is not None else base.search(query, k)
    if as_json:
        emit_json({"query": query, "kb": kb, "hits": [h.to_dict() for h in hits]})
        return
    for h in hits:
        it = h.item
        span = f" [{it.start_s:.0f}-{it.end_s:.0f}s]" if it.start_s is not None and it.end_s is not None else ""
        title = f"{it.title}: " if it.title else ""
        snippet = (it.text or "").replace("\n", " ")
        click.echo(f"{h.rank:>3}. {h.score:.3f}  {it.id}{span}  {title}{snippet[:100]}")
