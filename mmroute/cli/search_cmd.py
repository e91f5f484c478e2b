"""``mmroute search``: nearest items of one KB for a text query (or a query image)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .common import emit_json, handle_errors, home_option, json_option, open_home
from .main import cli


@cli.command(
    "search",
    epilog="""\b
Examples:
  mmroute search --kb hop "Who directed Laughter in Hell?" --k 5
  mmroute search --kb photos "a cup of coffee" --json
  mmroute search --kb photos --image query.jpg
  mmroute search --kb hop "Walls and Bridges" --mode sparse
""",
)
@click.option("--kb", required=True, help="KB to search.")
@click.argument("query", required=False, default="")
@click.option("--k", "k", type=click.IntRange(1, 1000), default=10, show_default=True, help="Number of hits.")
@click.option(
    "--image",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Search by a query image instead of text.",
)
@click.option(
    "--mode",
    type=click.Choice(["dense", "sparse", "hybrid"]),
    default="dense",
    show_default=True,
    help="dense vectors, BM25 over the words (sparse), or both fused (hybrid).",
)
@home_option
@json_option
@handle_errors
def search_command(
    kb: str, query: str, k: int, image: Path | None, mode: str, home: Path | None, as_json: bool
) -> None:
    """Search one KB directly (no routing). A query longer than $MMROUTE_MAX_QUESTION_CHARS characters
    (default 2000) is refused."""
    from .. import ops
    from ..limits import check_question
    from ..serve.client import read_through

    check_question(query, "query")
    if image is not None:  # a bomb or a corrupt file: refused here, named as typed, whoever answers
        from ..loaders.sniff import check_image_file

        check_image_file(image)
    data = read_through(
        home,
        lambda remote: remote.search(kb, query, k, image, mode),
        lambda: ops.search(open_home(home), kb, query, k, image, mode),
    )
    if as_json:
        emit_json(data)
        return
    render_hits(data["hits"])


def render_hits(hits: list[dict[str, Any]]) -> None:
    """One line per hit: rank, score, id, clip span, title and the start of the text."""
    for h in hits:
        it = h["item"]
        span = (
            f" [{it['start_s']:.0f}-{it['end_s']:.0f}s]"
            if it.get("start_s") is not None and it.get("end_s") is not None
            else ""
        )
        title = f"{it['title']}: " if it.get("title") else ""
        snippet = (it.get("text") or "").replace("\n", " ")
        click.echo(f"{h['rank']:>3}. {h['score']:.3f}  {h['id']}{span}  {title}{snippet[:100]}")
