"""``mmroute eval ...``: evaluation commands (retrieval here; answers in ``ask_cmd``)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .common import check_out_file, emit_json, handle_errors, home_option, json_option, open_home, progress_enabled
from .main import cli


@cli.group("eval")
def eval_group() -> None:
    """Evaluate retrieval and answers against question files."""


@eval_group.command(
    "retrieval",
    epilog="""\b
Examples:
  mmroute eval retrieval --kb hop --questions questions.jsonl --k 5 --out out.jsonl --json
  mmroute eval retrieval --kb hop --questions questions.jsonl --k 5 --stepwise --out out.jsonl
""",
)
@click.option("--kb", "kbs", multiple=True, required=True, help="KB(s) to search (repeatable).")
@click.option("--questions", required=True, type=click.Path(path_type=Path), help="Questions JSONL with gold_ids.")
@click.option("--k", "k", type=click.IntRange(1, 1000), default=5, show_default=True, help="Evidence budget.")
@click.option("--stepwise", is_flag=True, help="Use the step-wise retriever (follow-up queries).")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write one JSON line per question: id, retrieved_ids, steps.",
)
@home_option
@json_option
@handle_errors
def eval_retrieval(
    kbs: tuple[str, ...], questions: Path, k: int, stepwise: bool, out: Path | None, home: Path | None, as_json: bool
) -> None:
    """Retrieval recall of gold ids (any gold and all gold in the top k), MRR, steps, latency."""
    from ..evaluation.questions import load_questions
    from ..evaluation.retrieval import evaluate_retrieval, gold_ids_held
    from ..retrieval import RETRIEVERS
    from ..retrieval.single import SingleShotRetriever
    from ..serve.client import refuse_if_served

    refuse_if_served(home, "mmroute eval retrieval")
    check_out_file(out)
    h = open_home(home)
    for name in kbs:
        h.manifest(name)  # clear error for an unknown KB before any work
    qs = load_questions(questions)
    held, gold = gold_ids_held([h.open(name) for name in kbs], qs)
    if held < gold:
        said = f"none of the {gold} gold ids" if not held else f"{gold - held} of the {gold} gold ids"
        click.echo(
            f"note: {said} of {questions} are items of {', '.join(kbs)}"
            + (", so every recall will be 0" if not held else "")
            + " (gold ids name items as the KB does: a paragraph's id is not an item of a document KB)",
            err=True,
        )
    if stepwise:
        import mmroute.retrieval.stepwise  # noqa: F401  (registers "stepwise")

        retriever = RETRIEVERS.create("stepwise", home=h, router=_router_or_none())
    else:
        retriever = SingleShotRetriever(h)
    bar = None
    if progress_enabled(as_json):
        from tqdm import tqdm

        bar = tqdm(total=len(qs), desc="questions", file=sys.stderr, leave=False)
    res = evaluate_retrieval(
        retriever, qs, k, list(kbs), out, on_progress=(lambda d, t: bar.update(1)) if bar else None
    )
    if bar:
        bar.close()
    if as_json:
        emit_json(res.aggregates)
        return
    a = res.aggregates
    click.echo(
        f"{a['n']} questions ({a['with_gold']} with gold ids), k={k}, {'step-wise' if stepwise else 'single-shot'}"
    )
    click.echo("  all gold in the top k: " + "  ".join(f"@{c} {v:.1%}" for c, v in a["recall_all"].items()))
    click.echo("  any gold in the top k: " + "  ".join(f"@{c} {v:.1%}" for c, v in a["recall_any"].items()))
    click.echo(f"  MRR {a['mrr']:.3f}  steps {a['avg_steps']}  KB calls {a['avg_kb_calls']}  p50 {a['p50_ms']} ms")


def _router_or_none():  # noqa: ANN202
    try:
        from ..routing import default_router
    except ImportError:
        return None
    return default_router()
