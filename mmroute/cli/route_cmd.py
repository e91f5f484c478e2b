"""``mmroute route "QUESTION"``, ``mmroute route eval --data ROUTING.jsonl`` and ``mmroute route train``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from ..errors import MMRouteError
from .common import RouterName, emit_json, handle_errors, home_option, json_option, open_home, parse_options
from .main import cli


class _RouteGroup(click.Group):
    """A group whose first argument may be a question instead of a subcommand:
    ``mmroute route "Who wrote Hamlet?"`` runs the hidden ``ask`` command."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        first = next((a for a in args if not a.startswith("-")), None)
        if first is not None and first not in self.commands and not any(a in ("-h", "--help") for a in args[:1]):
            args = ["ask", *args]
        return super().parse_args(ctx, args)


def _make_router(
    name: str, router_path: Path | None, threshold: float | None = None, options: tuple[str, ...] = ()
) -> Any:
    from ..errors import InputError
    from ..routing.base import create_router

    extra = parse_options(options, "--router-option")
    if "name" in extra:
        raise InputError("--router-option name=… is not an option", hint="name the router with --router")
    if "path" in extra and router_path is not None:
        raise InputError(
            "the router's path is given twice", hint="use --router-path or --router-option path=, not both"
        )
    path = Path(str(extra.pop("path"))) if "path" in extra else router_path
    given = extra.pop("threshold", None)
    if given is not None and (isinstance(given, bool) or not isinstance(given, (int, float))):
        raise InputError(f"--router-option threshold takes a number, not {given!r:.40}", hint="e.g. threshold=0.2")
    return create_router(name, path=path, threshold=threshold if given is None else float(given), **extra)


@cli.group(
    "route",
    cls=_RouteGroup,
    invoke_without_command=False,
    epilog='\b\nExamples:\n  mmroute route "What are the steps for cooking leeks?" --json\n'
    "  mmroute route eval --data routing.jsonl --json\n"
    "  mmroute route train --data routing.jsonl --out ./my-router",
)
def route_group() -> None:
    """Route a question to none, paragraph, document, image, clip or video KBs (or evaluate/train the router).

    \b
    mmroute route QUESTION [--image FILE] [--router NAME] [--router-path DIR]
                           [--threshold X] [--home DIR] [--json]
    routes one question (`mmroute route "any question" --help` says what each option does)."""


@route_group.command("ask", hidden=True)
@click.argument("question")
@click.option(
    "--image",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="An image that comes with the question.",
)
@click.option(
    "--router",
    "router_name",
    type=RouterName(),
    default="default",
    show_default=True,
    help="A registered router (built in or a plugin's), e.g. default, trained, finetuned, description, federated.",
)
@click.option(
    "--router-path",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="A router artifact directory written by `route train` or `route finetune` "
    "(default: the router shipped in the package).",
)
@click.option("--threshold", type=float, default=None, help="Relevance threshold of the federated router.")
@home_option
@json_option
@handle_errors
def route_ask(
    question: str,
    image: Path | None,
    router_name: str,
    router_path: Path | None,
    threshold: float | None,
    home: Path | None,
    as_json: bool,
) -> None:
    """Route QUESTION against the KBs in the home directory (`mmroute route QUESTION` is short for this
    command). A question longer than $MMROUTE_MAX_QUESTION_CHARS characters (default 2000) is refused."""
    from .. import ops
    from ..limits import check_question
    from ..serve.client import read_through

    check_question(question)
    if image is not None:  # a bomb or a corrupt file: refused here, named as typed, whoever answers
        from ..loaders.sniff import check_image_file

        check_image_file(image)

    def warm_router() -> Any:
        router = _make_router(router_name, router_path, threshold)
        router.warm_up()
        return router

    d = read_through(
        home,
        lambda remote: remote.route(
            question, image, router_name, str(router_path.absolute()) if router_path else None, threshold
        ),
        lambda: ops.route(open_home(home), question, warm_router, image),
    )
    if as_json:
        emit_json(d)
        return
    status = "REJECTED" if d["rejected"] else ", ".join(d["chosen"])
    click.echo(f"route: {status}   kbs: {', '.join(d['kbs']) or '-'}   ({d['elapsed_ms']:.1f} ms, {d['router']})")
    for rs in d["ranked"][:6]:
        click.echo(f"  {rs['probability']:6.3f}  {rs['route']:<10} {', '.join(rs['kbs'])}")
    click.echo(f"reason: {d['reason']}")


@route_group.command(
    "eval",
    epilog="""\b
Examples:
  mmroute route eval --data ../shared/data/routing/universalrag_train.jsonl --json
  mmroute route eval --data ../shared/data/routing/universalrag_train.jsonl --limit 120
The shipped router was trained on universalrag_train.jsonl, so its accuracy there is in-sample (1.0; the report says
how many questions it was trained on, by fingerprint, under any file name): give
questions it never saw for a figure to quote (docs/benchmarks.md gives its out-of-fold accuracy on this file).
""",
)
@click.option(
    "--data",
    "data",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help='Routing data: JSON Lines {"question", "route"}.',
)
@click.option(
    "--router",
    "router_name",
    type=RouterName(),
    default="default",
    show_default=True,
    help="A registered router (built in or a plugin's), e.g. default, trained, finetuned.",
)
@click.option(
    "--router-path",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="A router artifact directory written by `route train` or `route finetune` "
    "(default: the router shipped in the package).",
)
@click.option(
    "--router-option",
    "router_options",
    multiple=True,
    metavar="KEY=VALUE",
    help="An option of --router, as router_options in a pipeline TOML (repeatable; VALUE may be JSON), "
    "e.g. --router-option base_url=http://localhost:8000/v1 --router-option model=NAME for the llm router.",
)
@click.option(
    "--limit",
    type=click.IntRange(1),
    default=None,
    help="Evaluate a stratified sample of N queries (every route in proportion), not the first N.",
)
@json_option
@handle_errors
def route_eval(
    data: Path,
    router_name: str,
    router_path: Path | None,
    router_options: tuple[str, ...],
    limit: int | None,
    as_json: bool,
) -> None:
    """Accuracy, per-route accuracy, confusion and per-query latency (batch of one, embedding included)."""
    from ..routing.dataset import load_routing_jsonl
    from ..routing.evaluation import evaluate_router

    examples = load_routing_jsonl(data)
    if limit:
        examples = stratified_sample(examples, limit)
    router = _make_router(router_name, router_path, options=router_options)
    router.warm_up()
    report = evaluate_router(router, examples)
    given = parse_options(router_options, "--router-option").get("path")  # the path the router was built from
    used = router_path or (Path(str(given)) if given else None)
    report.update(in_sample_report(router_name, used, data, [e.question for e in examples]))
    if as_json:
        emit_json(report)
        return
    click.echo(
        f"n={report['n']}  accuracy={report['accuracy']:.4f}  p50={report['p50_ms']:.1f} ms  "
        f"p95={report['p95_ms']:.1f} ms"
    )
    for r, acc in report["per_route"].items():
        click.echo(f"  {r:<10} {acc:.4f}")
    if "note" in report:
        click.echo(f"note: {report['note']}")


def in_sample_report(router_name: str, router_path: Path | None, data: Path, questions: list[str]) -> dict[str, Any]:
    """``in_sample`` (every question evaluated was trained on), ``seen_in_training`` (how many were; None when
    unknown) and a ``note`` when any was. The artifact keeps fingerprints of its training questions; one from
    before they were kept is known by the name of the file it was trained on."""
    if router_name not in ("default", "trained"):
        return {"in_sample": False, "seen_in_training": None}
    from ..routing.model import RouterModel, default_artifact_dir

    directory = router_path or default_artifact_dir()
    try:
        model = RouterModel.load(directory)
    except MMRouteError:
        return {"in_sample": False, "seen_in_training": None}
    seen = model.seen_in_training(questions)
    if seen is None:  # an older artifact: its training file's name is all it says
        seen = len(questions) if model.meta.get("data") == data.name else None
    out: dict[str, Any] = {"in_sample": bool(questions) and seen == len(questions), "seen_in_training": seen}
    if seen:
        share = f"all {seen}" if seen == len(questions) else f"{seen} of these {len(questions)}"
        out["note"] = (
            f"the router was trained on {share} questions: this accuracy is "
            f"{'in-sample' if seen == len(questions) else 'partly in-sample'}, not a figure to quote "
            "(evaluate on questions it never saw)"
        )
    return out


def stratified_sample(examples: list[Any], n: int) -> list[Any]:
    """``n`` examples with every route in proportion to its share (deterministic: evenly spaced picks)."""
    if n >= len(examples):
        return list(examples)
    by_route: dict[str, list[Any]] = {}
    for e in examples:
        by_route.setdefault(e.route, []).append(e)
    share = {r: n * len(v) / len(examples) for r, v in by_route.items()}
    quota = {r: min(len(by_route[r]), max(1, int(x))) for r, x in share.items()}
    while sum(quota.values()) > n:  # more routes than n: the biggest give way
        quota[max(quota, key=lambda r: quota[r])] -= 1
    while sum(quota.values()) < n:  # largest remainders first, so exactly n are taken (200 gave 199)
        room = [r for r in quota if quota[r] < len(by_route[r])]
        quota[max(room, key=lambda r: share[r] - quota[r])] += 1
    out: list[Any] = []
    for r, v in by_route.items():
        if not quota[r]:
            continue
        step = len(v) / quota[r]
        out.extend(v[int(i * step)] for i in range(quota[r]))
    return out


@route_group.command(
    "train",
    epilog="""\b
Examples:
  mmroute route train --data ../shared/data/routing/universalrag_train.jsonl --out ./my-router
  mmroute route eval --data ../shared/data/routing/universalrag_train.jsonl --router trained --router-path ./my-router
""",
)
@click.option(
    "--data",
    "data",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    multiple=True,
    help='Routing data: JSON Lines {"question", "route", "source"?}. Repeat to train on '
    "several files together (e.g. the shared split plus your own labelled questions).",
)
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory to write the router artifact to (router.json + weights.npz).",
)
@click.option("--C", "c", type=float, default=None, help="Inverse regularisation of the linear classifier.")
@click.option(
    "--augment",
    type=int,
    default=None,
    help="Perturbed copies of each training question (typos, very short/long forms); 0 for none.",
)
@click.option(
    "--teacher-model",
    "teacher",
    default=None,
    help="Distil from a teacher: a local encoder directory (e.g. all-mpnet-base-v2, as `make router` "
    "installs it) whose linear probe, averaged with this router's own recipe, gives out-of-fold "
    "soft labels. Slower training (the teacher reads every question); same query-time cost.",
)
@click.option(
    "--soft-weight",
    type=float,
    default=None,
    help="With --teacher-model: weight of the teacher's probabilities in the targets.",
)
@click.option(
    "--feature-cache",
    "feature_cache",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="An .npz file keeping the encoder features of every text trained on, so a re-run skips the "
    "encoder for texts it has seen (the model is the same as without it).",
)
@json_option
@handle_errors
def route_train(
    data: tuple[Path, ...],
    out: Path,
    c: float | None,
    augment: int | None,
    teacher: str | None,
    soft_weight: float | None,
    feature_cache: Path | None,
    as_json: bool,
) -> None:
    """Train the router on routing data and write a small artifact (numpy + JSON)."""
    from dataclasses import replace

    from ..routing.dataset import load_routing_jsonl
    from ..training.router import train_model
    from ..training.router_fit import TrainConfig

    t0 = time.perf_counter()
    examples = [e for path in data for e in load_routing_jsonl(path)]
    cfg = TrainConfig()
    changes: dict[str, Any] = {k: v for k, v in (("C", c), ("augment", augment)) if v is not None}
    if teacher:
        changes.update(
            teacher=teacher,
            classifier="logreg",
            soft_weight=TrainConfig.distilled_soft_weight if soft_weight is None else soft_weight,
        )
    elif soft_weight is not None:
        raise click.UsageError("--soft-weight needs --teacher-model")
    cfg = replace(cfg, **changes)
    featurize = None
    if feature_cache is not None:
        from ..routing.embedding import FeatureCache

        featurize = FeatureCache(feature_cache).features
    model = train_model(examples, cfg=cfg, featurizer=featurize, log=None if as_json else click.echo)
    model.meta["data"] = data[0].name if len(data) == 1 else [p.name for p in data]
    path = model.save(out)
    size = sum(p.stat().st_size for p in path.iterdir() if p.is_file())
    summary = {
        "out": str(path),
        "n": len(examples),
        "oof_accuracy": model.meta["oof_accuracy"],
        "temperature": model.temperature,
        "vocabulary_terms": model.vocab.size,
        "bytes": size,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    if as_json:
        emit_json(summary)
    else:
        click.echo(f"wrote {path} ({size / 1e6:.2f} MB) in {summary['seconds']} s")


@route_group.command(
    "finetune",
    epilog="\b\nExample:\n  mmroute route finetune --data routing.jsonl "
    "--model ~/models/all-mpnet-base-v2 --out ./mpnet-router\n"
    "  mmroute route eval --data heldout.jsonl --router finetuned --router-path ./mpnet-router",
)
@click.option(
    "--data",
    "data",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    multiple=True,
    help='Routing data: JSON Lines {"question", "route", "source"?}; repeatable.',
)
@click.option(
    "--model",
    "model",
    required=True,
    help="The encoder to fine-tune: a local transformers directory, or a hub name where the hub is reachable.",
)
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory to write the fine-tuned router to (encoder/, head.npz, finetuned.json).",
)
@click.option("--epochs", type=int, default=8, show_default=True)
@click.option("--lr", type=float, default=5e-5, show_default=True)
@click.option("--batch-size", type=int, default=32, show_default=True)
@click.option(
    "--blend",
    type=float,
    default=0.5,
    show_default=True,
    help="Weight of the fine-tuned encoder at query time; the rest goes to the shipped linear router.",
)
@click.option("--device", type=click.Choice(("auto", "cpu", "cuda")), default="auto", show_default=True)
@json_option
@handle_errors
def route_finetune(
    data: tuple[Path, ...],
    model: str,
    out: Path,
    epochs: int,
    lr: float,
    batch_size: int,
    blend: float,
    device: str,
    as_json: bool,
) -> None:
    """Fine-tune an encoder as a router (slower and larger than the shipped one; a GPU helps).

    With all-mpnet-base-v2 averaged with the shipped router this reached 95.96% in 5-fold CV on the
    UniversalRAG split (the shipped router then: 94.7%, on raw text), at ~55 ms more per query on two CPU cores.
    """
    from ..routing.dataset import load_routing_jsonl
    from ..training.router_finetune import FinetuneConfig, finetune_router

    examples = [e for path in data for e in load_routing_jsonl(path)]
    cfg = FinetuneConfig(epochs=epochs, lr=lr, batch_size=batch_size, blend=blend, device=device)
    art = finetune_router(examples, model, out, cfg, log=None if as_json else click.echo)
    summary = {"out": str(out), "n": len(examples), "labels": art.labels, "blend": art.blend, **art.meta}
    if as_json:
        emit_json(summary)
    else:
        click.echo(
            f"wrote {out}: {len(art.labels)} classes, training accuracy {art.meta['train_accuracy']:.4f}, "
            f"{art.meta['seconds']} s on {art.meta['device']}"
        )
