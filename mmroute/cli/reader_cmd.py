"""``mmroute reader train`` and ``mmroute reader eval``: the extractive reader behind the default generator."""

from __future__ import annotations

from pathlib import Path

import click

from .common import emit_json, handle_errors, json_option
from .main import cli

SQUAD_PATH = click.Path(exists=True, dir_okay=False, path_type=Path)


@cli.group(
    "reader",
    epilog="""\b
Examples:
  mmroute reader eval --data ../shared/data/text/squad2_dev/dev-v2.0-shared3articles.json
  mmroute reader train --data ../shared/data/text/squad2_train_partial/train-v2.0-first10articles.json --out ./my-reader
""",
)
def reader_group() -> None:
    """Train and evaluate extractive readers (SQuAD-format data, Hugging Face QA models)."""


@reader_group.command(
    "train",
    epilog="""\b
Examples:
  mmroute reader train --data ../shared/data/text/squad2_train_partial/train-v2.0-first10articles.json \\
      --valid ../shared/data/text/squad2_dev/dev-v2.0-shared3articles.json --out ./my-reader
  mmroute reader train --data a.json --data b.json --base /models/bert-base-uncased --device cuda --out ./r
  mmroute reader train --data ../shared/data/text/squad2_train_partial/train-v2.0-first10articles.json \\
      --init packaged --epochs 2 --lr 3e-5 --out ./my-reader        # continue training the packaged reader
Then: mmroute ask "..." --generator reader --generator-option model=./my-reader
""",
)
@click.option(
    "--data",
    "data",
    multiple=True,
    required=True,
    type=SQUAD_PATH,
    help="SQuAD v1.1/v2.0 JSON training file (repeatable).",
)
@click.option(
    "--valid",
    "valid",
    multiple=True,
    type=SQUAD_PATH,
    help="SQuAD JSON for validation only (repeatable); its EM/F1 go into the report.",
)
@click.option(
    "--base",
    default="minilm",
    show_default=True,
    help="Encoder to start from: minilm (the packaged all-MiniLM-L6-v2), a local folder or a hub name.",
)
@click.option(
    "--init",
    default=None,
    help="Continue training this reader (packaged, or a folder reader train wrote over the same --base).",
)
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path), help="Output folder.")
@click.option("--epochs", type=click.FloatRange(min=0.01), default=3.0, show_default=True)
@click.option(
    "--max-length",
    type=click.IntRange(64, 512),
    default=384,
    show_default=True,
    help="Window length in tokens (longer passages are read in overlapping windows).",
)
@click.option(
    "--stride",
    type=click.IntRange(16, 256),
    default=128,
    show_default=True,
    help="Overlap between windows of one passage, in tokens.",
)
@click.option("--batch-size", type=click.IntRange(1), default=16, show_default=True)
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=8e-5, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--device", default="auto", show_default=True, help="auto (CUDA when present), cpu or cuda.")
@click.option("--max-steps", type=click.IntRange(0), default=0, help="Stop after N optimiser steps (0: no limit).")
@click.option(
    "--synthetic-unanswerable",
    "unanswerable",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Add rule-made unanswerable questions (entity, number, antonym or exclusive-word swaps, negation, an "
    "impossible condition, another paragraph) made from this fraction of the answerable training questions, "
    "to train the no-answer score.",
)
@click.option(
    "--frozen-layers",
    type=click.IntRange(-1, 24),
    default=-1,
    show_default=True,
    help="-1: freeze only the word embeddings; N: freeze all embeddings and the first N layers (faster on a CPU).",
)
@click.option(
    "--checkpoint-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the run checkpoints and resumes from after a kill (default: reader-runs beside --cache-dir).",
)
@click.option(
    "--checkpoint-every", type=click.IntRange(0), default=100, show_default=True, help="Steps between checkpoints."
)
@click.option(
    "--snapshot-windows",
    default="",
    help="Comma-separated window counts after which the reader is also saved (a learning curve from one run).",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where tokenised windows are cached (default: ~/.cache/mmroute/reader-windows).",
)
@json_option
@handle_errors
def reader_train(
    data: tuple[Path, ...],
    valid: tuple[Path, ...],
    base: str,
    init: str | None,
    out: Path,
    epochs: float,
    max_length: int,
    stride: int,
    batch_size: int,
    lr: float,
    seed: int,
    device: str,
    max_steps: int,
    unanswerable: float,
    frozen_layers: int,
    checkpoint_dir: Path | None,
    checkpoint_every: int,
    snapshot_windows: str,
    cache_dir: Path | None,
    as_json: bool,
) -> None:
    """Fine-tune BASE into an extractive reader (span start/end + SQuAD 2.0 no-answer) and save it to OUT.

    OUT holds reader.json and reader.safetensors: the tensors training changed, in fp16, over BASE.
    """
    from ..errors import InputError
    from ..training.reader import ReaderTrainConfig, train_reader

    if stride >= max_length // 2:
        raise InputError(
            f"--stride {stride} must be under half of --max-length {max_length}",
            hint="e.g. --max-length 384 --stride 128",
        )
    try:
        snapshots = tuple(int(x) for x in snapshot_windows.split(",") if x.strip())
    except ValueError:
        raise InputError(
            f"--snapshot-windows {snapshot_windows!r} is not a list of numbers",
            hint="e.g. --snapshot-windows 5000,13000",
        ) from None
    cfg = ReaderTrainConfig(
        max_length=max_length,
        stride=stride,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        seed=seed,
        device=device,
        max_steps=max_steps,
        unanswerable=unanswerable,
        frozen_layers=frozen_layers,
        checkpoint_every=checkpoint_every,
        snapshot_windows=snapshots,
    )

    def log(message: str) -> None:
        click.echo(message, err=True)

    windows_dir = cache_dir or Path.home() / ".cache" / "mmroute" / "reader-windows"
    report = train_reader(
        list(data),
        base,
        out,
        cfg,
        valid=list(valid),
        log=log,
        cache_dir=windows_dir,
        init=init,
        checkpoint_dir=checkpoint_dir or windows_dir.parent / "reader-runs",
    )
    if as_json:
        emit_json(report)
        return
    click.echo(
        f"reader saved to {out} ({report['weights_bytes'] / 1e6:.1f} MB), {report['steps']} steps "
        f"in {report['train_seconds']:.0f} s on {report['device']}"
    )
    if "validation" in report:
        v = report["validation"]
        click.echo(f"  validation: EM {v['em']:.3f}  F1 {v['f1']:.3f} on {v['answerable']} answerable questions")


@reader_group.command(
    "eval",
    epilog="""\b
Examples:
  mmroute reader eval --data ../shared/data/text/squad2_dev/dev-v2.0-shared3articles.json --json
  mmroute reader eval --data dev.json --model ./my-reader --limit 200
""",
)
@click.option("--data", "data", multiple=True, required=True, type=SQUAD_PATH, help="SQuAD JSON (repeatable).")
@click.option(
    "--model",
    default="packaged",
    show_default=True,
    help="packaged, an mmroute reader folder, a Hugging Face QA checkpoint folder or a hub name.",
)
@click.option("--limit", type=click.IntRange(1), default=None, help="Only the first N questions.")
@click.option("--device", default="auto", show_default=True)
@json_option
@handle_errors
def reader_eval(data: tuple[Path, ...], model: str, limit: int | None, device: str, as_json: bool) -> None:
    """EM/F1 of a reader given each question's own paragraph (SQuAD-official normalisation)."""
    from ..reading.evaluation import evaluate_reader
    from ..reading.reader import TransformerReader
    from ..reading.squad import load_squad

    examples = [e for p in data for e in load_squad(p)][:limit]
    res = evaluate_reader(TransformerReader(model, device=device), examples)
    if as_json:
        emit_json(res)
        return
    n = len(res["articles"])
    click.echo(f"{res['questions']} questions from {n} article{'s' if n != 1 else ''}, reader {model}")
    click.echo(f"  answerable ({res['answerable']}): EM {res['em']:.3f}  F1 {res['f1']:.3f}")
    click.echo(
        f"  all, SQuAD 2.0 with the reader's no-answer: EM {res['squad2_em']:.3f}  F1 {res['squad2_f1']:.3f}"
        f"  (no-answer decision right {res['no_answer_accuracy']:.1%})   p50 {res['p50_ms']} ms/question"
    )
    if res["no_answer_auc"] is not None:
        click.echo(f"  answerable vs unanswerable, AUC of the reader's no-answer margin: {res['no_answer_auc']:.3f}")


@reader_group.command(
    "calibrate",
    epilog="""\b
Examples:
  mmroute reader calibrate --model ./my-reader --data ../shared/data/text/squad2_dev/dev-v2.0-shared3articles.json
  mmroute reader calibrate --model ./my-reader --data my-validation.json --every 2
""",
)
@click.option(
    "--model",
    required=True,
    help="a local reader folder (mmroute delta or Hugging Face checkpoint), or packaged: that writes into the "
    "installed package and changes every later ask (what `make reader` does when it ships a reader), so it is "
    "never the default.",
)
@click.option(
    "--data",
    "data",
    multiple=True,
    required=True,
    type=SQUAD_PATH,
    help="SQuAD JSON to choose on (repeatable): questions the reader was NOT trained on.",
)
@click.option(
    "--every",
    type=click.IntRange(1),
    default=1,
    show_default=True,
    help="Use every N-th answerable question (faster on big files).",
)
@click.option("--device", default="auto", show_default=True)
@json_option
@handle_errors
def reader_calibrate(model: str, data: tuple[Path, ...], every: int, device: str, as_json: bool) -> None:
    """Choose the reader's span-length penalty on DATA and store it beside the reader (decoding.json).

    With two or more articles in DATA the report also gives the leave-one-article-out EM/F1: each article
    scored with the penalty chosen on the others, the figure to quote for this choice.
    """
    from ..reading.evaluation import choose_length_penalty, held_out_length_penalty, read_answerable
    from ..reading.reader import TransformerReader
    from ..reading.squad import articles, load_squad
    from ..reading.weights import reader_folder, save_decoding

    folder = reader_folder(model)
    examples = [e for p in data for e in load_squad(p) if e.answerable][::every]
    pairs = read_answerable(TransformerReader(model, device=device, length_penalty=0.0), examples)
    choice = choose_length_penalty(pairs)
    choice["data"] = [str(p) for p in data]
    if len(articles(examples)) > 1:
        choice["held_out"] = held_out_length_penalty(pairs)
    save_decoding(folder, choice)
    if as_json:
        emit_json(choice)
        return
    click.echo(
        f"length penalty {choice['length_penalty']:g} chosen on {choice['questions']} answerable questions "
        f"from {len(choice['articles'])} articles; saved to {folder}"
    )
    for penalty, row in choice["grid"].items():
        click.echo(f"  {penalty:>5}: EM {row['em']:.3f}  F1 {row['f1']:.3f}")
    if "held_out" in choice:
        h = choice["held_out"]
        click.echo(f"  leave-one-article-out: EM {h['em']:.3f}  F1 {h['f1']:.3f}")
