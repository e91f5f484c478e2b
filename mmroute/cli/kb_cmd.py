"""``mmroute kb list|info|delete|doctor|copy|move|reindex-lexical``."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import click

from .common import StoreBackend, emit_json, handle_errors, home_option, json_option, open_home
from .main import cli


@cli.group(
    "kb",
    epilog="""\b
Examples:
  mmroute kb list
  mmroute kb info hop --json
  mmroute kb delete hop --yes
  mmroute kb copy hop hop-faiss --store faiss
  mmroute kb move hop --store qdrant --store-option url='"https://qdrant.example:6333"'
  mmroute kb reindex-lexical hop
""",
)
def kb_group() -> None:
    """Manage KBs: list, info, doctor, copy, move, delete.

    Also reindex-lexical (rebuild a KB's word index without re-encoding)."""


@kb_group.command(
    "list",
    epilog="""\b
Examples:
  mmroute kb list
  mmroute kb list --json
""",
)
@home_option
@json_option
@handle_errors
def kb_list(home: Path | None, as_json: bool) -> None:
    """List the KBs in the home directory."""
    from .. import ops
    from ..serve.client import ServeClient, read_through

    def served(remote: ServeClient) -> dict[str, Any]:
        listed = remote.kb_list()
        return {"kbs": listed["kbs"], "broken": listed.get("broken", [])}

    data = read_through(home, served, lambda: ops.kb_list(open_home(home)))
    if as_json:
        emit_json(data)
        return
    infos = data["kbs"]
    for b in data["broken"]:
        click.echo(f"broken: {b['problem']} ({b['hint']})", err=True)
    if not infos:
        if not data["broken"]:  # which home: a mistyped --home or $MMROUTE_HOME is the usual cause
            click.echo(f"no KBs yet in {open_home(home).root}; create one with `mmroute index --kb NAME --input PATH`")
        return
    rows = [("NAME", "MODALITY", "GRANULARITY", "ITEMS", "ENCODER", "STORE", "DESCRIPTION")]
    rows += [
        (
            i["name"],
            i["modality"],
            i["granularity"],
            str(i["count"]),
            f"{i['encoder']['name']} ({i['dim']}-d)",
            i["store"]["backend"],
            textwrap.shorten(i["description"], 60, placeholder=" …"),
        )
        for i in infos
    ]
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]) - 1)]
    for r in rows:
        cells = [r[c].rjust(widths[c]) if c == 3 else r[c].ljust(widths[c]) for c in range(len(widths))]
        click.echo("  ".join([*cells, r[-1]]).rstrip())


def options_text(options: dict[str, Any]) -> str:
    """Options as a reader wants them beside a name: " (doc_pooling mean, max_length 256)", or nothing; a URL's
    credentials are masked ("url https://***@qdrant.example:6333")."""
    from ..redact import redact_urls

    return f" ({redact_urls(', '.join(f'{k} {v}' for k, v in sorted(options.items())))})" if options else ""


def layout_line(data: dict[str, Any]) -> str:
    """How an embedded KB's vectors are held, with the move to make when a large one is loaded into RAM."""
    from ..stores.edge import layout_advice

    if data["layout"] == "mapped":
        return "mapped (on_disk: opens without loading; the files searches walk are read in the background)"
    advice = layout_advice(data["name"], data["count"], on_disk=False)
    return "in RAM (loaded when the KB opens)" + (f"; {advice}" if advice else "")


@kb_group.command(
    "info",
    epilog="""\b
Examples:
  mmroute kb info hop
  mmroute kb info squad-paragraph --json
""",
)
@click.argument("name")
@home_option
@json_option
@handle_errors
def kb_info(name: str, home: Path | None, as_json: bool) -> None:
    """Show a KB's descriptor, item count and indexed sources."""
    from .. import ops
    from ..serve.client import read_through

    data = read_through(home, lambda remote: remote.kb_info(name), lambda: ops.kb_info(open_home(home), name))
    if as_json:
        emit_json(data)
        return
    for key in (
        "name",
        "modality",
        "granularity",
        "description",
        "count",
        "dim",
        "disk_bytes",
        "created_at",
        "updated_at",
    ):
        click.echo(f"{key:>12}: {data[key]}")
    click.echo(f"{'encoder':>12}: {data['encoder']['name']}{options_text(data['encoder']['options'])}")
    store_options = {k: v for k, v in data["store"]["options"].items() if k != "lexical"}  # its own line below
    click.echo(f"{'store':>12}: {data['store']['backend']}{options_text(store_options)}")
    if "search_beam" in data:
        click.echo(f"{'search beam':>12}: hnsw_ef {data['search_beam']}")
    if "layout" in data:
        click.echo(f"{'layout':>12}: {layout_line(data)}")
    lexical = data["store"]["options"].get("lexical")
    click.echo(
        f"{'lexical':>12}: "
        + (
            f"BM25 (tokenizer {lexical['tokenizer']}, k1 {lexical['k1']}, b {lexical['b']}, avgdl {lexical['avgdl']})"
            if lexical
            else f"none (dense search only; add it with `mmroute kb reindex-lexical {data['name']}`)"
        )
    )
    for s in data["sources"]:
        if s["status"] == "done":
            click.echo(f"{'source':>12}: [done] {s['path']} ({s['items']} items, {s['skipped']} skipped)")
        else:  # killed or failed mid-source: its item count was never recorded
            click.echo(
                f"{'source':>12}: [{s['status']}] {s['path']} (interrupted; re-run the same "
                "`mmroute index` command to finish it)"
            )


@kb_group.command(
    "delete",
    epilog="""\b
Examples:
  mmroute kb delete hop            (asks for confirmation)
  mmroute kb delete hop --yes
""",
)
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@home_option
@handle_errors
def kb_delete(name: str, yes: bool, home: Path | None) -> None:
    """Delete a KB and its vectors (the source files are not touched)."""
    from .. import ops
    from ..serve.client import connect

    remote = connect(home)
    h = None
    if remote:
        info = remote.kb_descriptor(name)
    else:
        h = open_home(home)
        info = ops.kb_descriptor(h, name)
    if not yes:
        what = (
            f"broken KB {name!r} ({info['broken']})" if "broken" in info else f"KB {name!r} with {info['count']} items"
        )
        click.confirm(f"delete {what}?", abort=True)
    if remote:
        remote.kb_delete(name)
    elif h is not None:
        h.delete(name)
    click.echo(f"deleted {name}" + (" (broken)" if "broken" in info else ""))


@kb_group.command(
    "doctor",
    epilog="""\b
Examples:
  mmroute kb doctor
  mmroute kb doctor hop --json
""",
)
@click.argument("names", nargs=-1)
@home_option
@json_option
@handle_errors
def kb_doctor(names: tuple[str, ...], home: Path | None, as_json: bool) -> None:
    """Check KBs (manifest, store, item count) and say what is wrong and how to fix it; exit 1 if any is not ok."""
    import sys

    from .. import ops
    from ..serve.client import refuse_if_served

    refuse_if_served(home, "mmroute kb doctor")
    data = ops.kb_doctor(open_home(home), list(names) or None)
    if as_json:
        emit_json(data)
    else:
        if not data["kbs"]:
            click.echo("no KBs yet; create one with `mmroute index --kb NAME --input PATH`")
        for r in data["kbs"]:
            if r["status"] == "ok":
                click.echo(f"{r['name']}: ok ({r['count']} items)")
            else:
                click.echo(f"{r['name']}: {r['status']}: {r['problem']} (hint: {r['hint']})")
    if any(r["status"] != "ok" for r in data["kbs"]):
        sys.exit(1)


def _store_spec(store_backend: str, store_options: tuple[str, ...]):  # noqa: ANN202
    from ..types import StoreSpec
    from .common import parse_options

    return StoreSpec(store_backend, parse_options(store_options, "--store-option"))


_store_flags = [
    click.option("--store", "store_backend", type=StoreBackend(), required=True, help="Destination store backend."),
    click.option(
        "--store-option",
        "store_options",
        multiple=True,
        metavar="KEY=JSON",
        help="Destination store option, e.g. url='\"https://host:6333\"' (repeatable; the API key "
        "comes from $QDRANT_API_KEY, never from a flag).",
    ),
]


def _with_store_flags(f):  # noqa: ANN001, ANN202
    for deco in reversed(_store_flags):
        f = deco(f)
    return f


@kb_group.command(
    "copy",
    epilog="""\b
Example:
  mmroute kb copy hop hop-cluster --store qdrant --store-option url='"http://localhost:6333"'
""",
)
@click.argument("source")
@click.argument("destination")
@_with_store_flags
@home_option
@json_option
@handle_errors
def kb_copy(
    source: str, destination: str, store_backend: str, store_options: tuple[str, ...], home: Path | None, as_json: bool
) -> None:
    """Copy a KB's vectors and payloads into a new KB on another store (no re-encoding)."""
    from ..migrate import copy_kb
    from ..serve.client import refuse_if_served

    refuse_if_served(home, "mmroute kb copy")
    rep = copy_kb(open_home(home), source, destination, _store_spec(store_backend, store_options))
    emit_json(rep.to_dict()) if as_json else click.echo(
        f"copied {rep.points} points: {source} -> {destination} ({rep.backend})"
    )


@kb_group.command(
    "move",
    epilog="""\b
Example:
  mmroute kb move hop --store qdrant --store-option url='"https://qdrant.example:6333"'
""",
)
@click.argument("name")
@_with_store_flags
@home_option
@json_option
@handle_errors
def kb_move(name: str, store_backend: str, store_options: tuple[str, ...], home: Path | None, as_json: bool) -> None:
    """Move a KB onto another store under the same name (e.g. the embedded store -> a Qdrant cluster)."""
    from ..migrate import move_kb
    from ..serve.client import refuse_if_served

    refuse_if_served(home, "mmroute kb move")
    rep = move_kb(open_home(home), name, _store_spec(store_backend, store_options))
    emit_json(rep.to_dict()) if as_json else click.echo(f"moved {name}: {rep.points} points now on {rep.backend}")


@kb_group.command(
    "reindex-lexical",
    epilog="""\b
Examples:
  mmroute kb reindex-lexical hop
  mmroute kb reindex-lexical hop --json
""",
)
@click.argument("name")
@home_option
@json_option
@handle_errors
def kb_reindex_lexical(name: str, home: Path | None, as_json: bool) -> None:
    """Build a KB's lexical (BM25) index from its stored items, without re-encoding the vectors.

    KBs indexed before mmroute indexed words have none (they are searched by dense vectors only). The
    points are copied into a new store with the index, which replaces the old one atomically; progress
    goes to stderr."""
    import time

    from ..migrate import reindex_lexical
    from ..serve.client import refuse_if_served

    refuse_if_served(home, "mmroute kb reindex-lexical")
    last = [0.0]

    def progress(done: int, total: int) -> None:
        now = time.monotonic()
        if done >= total or now - last[0] >= 1.0:
            last[0] = now
            click.echo(f"reindex-lexical {name}: {done}/{total} points", err=True)

    rep = reindex_lexical(open_home(home), name, progress=progress)
    emit_json(rep.to_dict()) if as_json else click.echo(
        f"{name}: lexical index built over {rep.points} points ({rep.backend})"
    )
