"""``mmroute index``: index a JSONL corpus, a folder or files into a KB."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import click

from .common import (
    StoreBackend,
    emit_json,
    handle_errors,
    home_option,
    json_option,
    open_home,
    parse_options,
    progress_enabled,
)
from .main import cli


@cli.command(
    "index",
    epilog="""\b
Examples:
  mmroute index --kb hop --input corpus.jsonl --granularity paragraph
  mmroute index --kb wiki --input corpus.jsonl --granularity both     # makes wiki-paragraph + wiki-document
  mmroute index --kb photos --input ./photos                          # modality detected from extensions
  mmroute index --kb films --input ./videos --granularity clip --clip-seconds 30
""",
)
@click.option("--kb", required=True, help="Name of the KB to create or add to.")
@click.option(
    "--input",
    "input_paths",
    required=True,
    multiple=True,  # only to refuse a second one: click would silently keep the last
    type=click.Path(path_type=Path),
    help="A JSONL corpus, a folder, or a single file (one per run).",
)
@click.option(
    "--modality",
    type=click.Choice(["text", "image", "video"]),
    default=None,
    help="Force the modality (default: detected from file extensions).",
)
@click.option(
    "--granularity",
    type=click.Choice(["paragraph", "document", "both", "image", "clip", "video"]),
    default=None,
    help="Unit to index (text: paragraph; video: clip by default).",
)
@click.option(
    "--encoder", default=None, help="Registered encoder name (default per modality: minilm, conse, video-frames)."
)
@click.option(
    "--encoder-option",
    "encoder_options",
    multiple=True,
    metavar="KEY=JSON",
    help='Encoder option, e.g. --encoder-option model="/models/clip" (repeatable).',
)
@click.option(
    "--store",
    "store_backend",
    type=StoreBackend(),
    default=None,
    help="Vector store backend (default: edge, the embedded Qdrant engine).",
)
@click.option(
    "--store-option",
    "store_options",
    multiple=True,
    metavar="KEY=JSON",
    help="Store option of --store (default edge), e.g. --store-option on_disk=true for a large KB (repeatable).",
)
@click.option("--description", default="", help="What the KB holds; used for routing queries to custom KBs.")
@click.option("--clip-seconds", type=float, default=None, help="Video clip window length in seconds.")
@click.option("--clip-overlap", type=float, default=None, help="Overlap between consecutive clip windows, seconds.")
@home_option
@json_option
@handle_errors
def index_command(
    kb: str,
    input_paths: tuple[Path, ...],
    modality: str | None,
    granularity: str | None,
    encoder: str | None,
    encoder_options: tuple[str, ...],
    store_backend: str | None,
    store_options: tuple[str, ...],
    description: str,
    clip_seconds: float | None,
    clip_overlap: float | None,
    home: Path | None,
    as_json: bool,
) -> None:
    """Index sources into a KB. Re-running the same command adds nothing new; a killed run resumes."""
    from .. import ops
    from ..errors import InputError
    from ..indexer import DEFAULT_STORE
    from ..serve.client import connect, run_index
    from ..types import EncoderSpec, StoreSpec

    if len(input_paths) > 1:
        raise InputError(
            f"--input given {len(input_paths)} times; one run indexes one input",
            hint="put the files in one folder and index the folder, or run index once per input (each run adds to "
            "the KB)",
        )
    input_path = input_paths[0]
    if encoder_options and not encoder:  # the default encoder depends on the modality: options need its name
        raise InputError(
            "--encoder-option needs --encoder (the default encoder depends on what is indexed)",
            hint="name it, e.g. --encoder minilm --encoder-option max_length=128",
        )
    enc_spec = EncoderSpec(encoder, parse_options(encoder_options, "--encoder-option")) if encoder else None
    store_spec = (  # options without --store are the default store's (they were silently dropped before)
        StoreSpec(store_backend or DEFAULT_STORE.backend, parse_options(store_options, "--store-option"))
        if store_backend or store_options
        else None
    )
    loader_options = {
        k: v for k, v in {"clip_seconds": clip_seconds, "clip_overlap": clip_overlap}.items() if v is not None
    }
    spec = ops.index_spec(input_path, modality, granularity, enc_spec, store_spec, description, loader_options)

    bars: dict[str, object] = {}

    def progress(stage: str, done: int, total: int) -> None:
        from tqdm import tqdm

        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total, desc=f"indexing {stage}", unit="item", file=sys.stderr, leave=False)
        bar.n = done  # type: ignore[attr-defined]
        bar.refresh()  # type: ignore[attr-defined]

    def job_progress(job: dict) -> None:
        for stage, p in job.get("progress", {}).items():
            progress(stage, p["done"], p["total"])

    show = progress_enabled(as_json)
    remote = connect(home)
    if remote is not None:  # the server owns the home: it runs the index as a job, this call follows it
        absolute = input_path if input_path.is_absolute() else Path.cwd() / input_path
        data = run_index(
            remote,
            kb,
            {**spec, "input": str(absolute), "display_input": str(input_path)},
            job_progress if show else None,
        )
    else:
        data = ops.index(open_home(home), kb, spec, progress=progress if show else None)
    for bar in bars.values():
        bar.close()  # type: ignore[attr-defined]
    reports = data["reports"]
    for note in dict.fromkeys(n for r in reports for n in r.get("notes") or ()):
        click.echo(f"note: {note}", err=True)
    if as_json:
        emit_json(data)
    else:
        for r in reports:
            click.echo(
                f"{r['kb']}: {r['indexed']} indexed, {r['unchanged']} already present, "
                + (f"{r['removed']} removed (no longer in their files), " if r.get("removed") else "")
                + f"{r['skipped']} skipped "
                f"-> {r['count']} items ({r['granularity']}) in {r['elapsed_s']:.1f}s"
            )
            problems = problem_lines(r["problems"])
            for p in problems[:50]:
                click.echo(f"  skipped {p}", err=True)
            if len(problems) > 50:
                click.echo(f"  ... and {len(problems) - 50} more (see `mmroute kb info {r['kb']} --json`)", err=True)
    if any(r["skipped"] for r in reports):
        sys.exit(1)


def problem_lines(problems: Sequence[Mapping[str, Any]]) -> list[str]:
    """One line per skipped item, except that the lines of one file skipped for one reason are said once
    ("questions.jsonl: 89 lines (1-89): a question record, ..."), not once per line."""
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for p in problems:
        groups.setdefault((str(p["source"]), str(p["message"])), []).append(p)
    out: list[str] = []
    for (source, message), ps in groups.items():
        lines = [int(p["line"]) for p in ps if p.get("line")]
        if len(lines) > 3:
            out.append(f"{source}: {len(lines)} lines ({min(lines)}-{max(lines)}): {message}")
            ps = [p for p in ps if not p.get("line")]
        out.extend(f"{source}:{p['line']}: {message}" if p.get("line") else f"{source}: {message}" for p in ps)
    return out
