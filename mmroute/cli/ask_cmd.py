"""``mmroute ask`` and ``mmroute eval answers``: guarded answers from the KBs."""

from __future__ import annotations

import functools
import sys
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import click

from .common import (
    GeneratorName,
    RouterName,
    VerifierName,
    check_out_file,
    emit_json,
    handle_errors,
    home_option,
    json_option,
    open_home,
    progress_enabled,
)
from .eval_cmd import eval_group
from .main import cli


def pipeline_options(f: Any) -> Any:
    """Flags shared by ``ask`` and ``eval answers``; each maps onto a :class:`PipelineConfig` field."""
    opts = [
        click.option(
            "--config",
            "config_path",
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            help="A TOML pipeline config; flags override it.",
        ),
        click.option(
            "--stepwise/--single-shot",
            default=None,
            help="Step-wise retrieval with follow-up queries (the default of ask, serve, the app and LlamaIndex), or one "
            "search per question.",
        ),
        click.option(
            "--retriever-option",
            "retriever_options",
            multiple=True,
            metavar="KEY=JSON",
            help="Retriever option, e.g. --retriever-option max_steps=2 (step-wise, the default: max_steps; with "
            "--single-shot: mode=hybrid|dense|sparse, fusion=rrf|dbsf, weights='[1,2]' for dense and sparse, "
            "rrf_k=60; both: widen=false to search only the routed KBs) (repeatable).",
        ),
        click.option("--k", "k", type=click.IntRange(1, 100), default=None, help="Evidence budget (default 5)."),
        click.option(
            "--generator",
            type=GeneratorName(),
            default=None,
            help="Answer generator: a registered name, a plugin's too (default reader: the packaged extractive "
            "reader, no LLM; offline: the lexical extractor).",
        ),
        click.option(
            "--generator-option",
            "generator_options",
            multiple=True,
            metavar="KEY=JSON",
            help="Generator option, e.g. --generator-option model=deepset/roberta-base-squad2 for the "
            "reader, model=/models/qwen for hf-causal (repeatable).",
        ),
        click.option(
            "--verifier",
            type=VerifierName(),
            default=None,
            help="Verifier: a registered name, a plugin's too (default evidence).",
        ),
        click.option(
            "--verifier-option",
            "verifier_options",
            multiple=True,
            metavar="KEY=JSON",
            help="Verifier option, e.g. --verifier-option threshold=0.3: the estimated chance of being right an "
            "answer needs (default: each generator's calibrated one; lower answers more and is wrong more often) "
            "(repeatable).",
        ),
        click.option("--no-verify", is_flag=True, default=False, help="Skip the verifier (answers are not guarded)."),
        click.option(
            "--router",
            type=RouterName(),
            default=None,
            help="Router that picks the KBs to search when none are named (and the follow-ups' KBs): a registered name, a "
            "plugin's too (default: the shipped router).",
        ),
        click.option("--endpoint-url", default=None, help="OpenAI-compatible base URL, e.g. http://localhost:8000/v1."),
        click.option("--endpoint-model", default=None, help="Model name at the endpoint."),
        click.option(
            "--api-key-env", default=None, help="Environment variable holding the API key (default OPENAI_API_KEY)."
        ),
        click.option(
            "--multimodal", is_flag=True, default=None, help="Send images/video frames to the endpoint model."
        ),
        click.option("--judge", is_flag=True, default=None, help="Also use the endpoint as an LLM judge."),
    ]

    @functools.wraps(f)
    def gathered(*args: Any, **kwargs: Any) -> Any:
        flags = PipelineFlags(**{name: kwargs.pop(name) for name in _FLAG_NAMES})
        return f(*args, flags=flags, **kwargs)

    for o in reversed(opts):
        gathered = o(gathered)
    return gathered


@dataclass(frozen=True)
class PipelineFlags:
    """The values of :func:`pipeline_options`' flags, handed to a command as one ``flags`` argument."""

    config_path: Path | None
    stepwise: bool | None
    retriever_options: tuple[str, ...]
    k: int | None
    generator: str | None
    generator_options: tuple[str, ...]
    verifier: str | None
    verifier_options: tuple[str, ...]
    no_verify: bool
    router: str | None
    endpoint_url: str | None
    endpoint_model: str | None
    api_key_env: str | None
    multimodal: bool | None
    judge: bool | None

    def config(self, kbs: tuple[str, ...]) -> Any:
        """The :class:`PipelineConfig` these flags ask for: the TOML file's (or the defaults), flags on top."""
        from ..config import PipelineConfig
        from .common import parse_options

        base = PipelineConfig.from_toml(self.config_path).to_dict() if self.config_path else PipelineConfig().to_dict()
        if kbs:
            base["kbs"] = list(kbs)
        if self.stepwise is not None:
            base["retriever"] = "stepwise" if self.stepwise else "single"
        if self.retriever_options:
            base["retriever_options"] = {
                **base["retriever_options"],
                **parse_options(self.retriever_options, "--retriever-option"),
            }
        if self.k is not None:
            base["k"] = self.k
        if self.generator:
            base["generator"] = self.generator
        if self.generator_options:
            base["generator_options"] = {
                **base["generator_options"],
                **parse_options(self.generator_options, "--generator-option"),
            }
        if self.verifier:
            if self.verifier != base["verifier"]:  # another verifier's options do not apply to this one
                base["verifier_options"] = {}
            base["verifier"] = self.verifier
        if self.verifier_options:
            base["verifier_options"] = {
                **base["verifier_options"],
                **parse_options(self.verifier_options, "--verifier-option"),
            }
        if self.no_verify:
            base["verify"] = False
        if self.router:
            if self.router != base["router"]:  # another router's options do not apply to this one
                base["router_options"] = {}
            base["router"] = self.router
        ep = base["endpoint"]
        for key, val in (
            ("url", self.endpoint_url),
            ("model", self.endpoint_model),
            ("api_key_env", self.api_key_env),
            ("multimodal", self.multimodal),
            ("judge", self.judge),
        ):
            if val is not None:
                ep[key] = val
        return PipelineConfig.from_dict(base)


_FLAG_NAMES = tuple(f.name for f in fields(PipelineFlags))


def render(ans: Mapping[str, Any]) -> None:
    """Readable terminal view of ``Answer.to_dict()``: answer or "I don't know", why, the evidence, the
    trace and timings (the same view whether the answer came from a server or from this process)."""
    from ..types import RouteDecision, Verification

    ver, draft, route = ans.get("verification"), ans.get("draft"), ans.get("route")
    if ans["abstained"]:
        click.secho("I don't know", fg="yellow", bold=True)
        if draft and draft.get("text"):
            click.echo(f"  withheld draft (not verified, do not rely on it): {draft['text']!r}")
    else:
        click.secho(ans["answer"], fg="green", bold=True)
    click.echo(f"  why: {ans['reason']}")
    if ver:
        click.echo(f"  verdict: {ver['verdict']}  ({Verification.from_dict(ver).confidence_text()})")
        for r in ver["reasons"][1:]:
            click.echo(f"    - {r}")
    searched = ans.get("searched_kbs")
    if searched is None:  # an answer from an older server
        searched = list(dict.fromkeys(kb for s in (ans.get("retrieval") or {}).get("steps", []) for kb in s["kbs"]))
    if route:
        ranked = ", ".join(f"{r['route']} {r['probability']:.2f}" for r in route["ranked"][:3])
        beyond = RouteDecision.from_dict(route).beyond(searched)
        click.echo(
            f"  route: {', '.join(route['chosen']) or 'none'} ({ranked}) -> searched {', '.join(searched) or '-'}"
            + beyond
        )
    if ans.get("retrieval"):
        for s in ans["retrieval"]["steps"]:
            click.echo(
                f"  step {s['index']}: {s['query']!r} -> {', '.join(s['kbs']) or '-'}: {len(s['hit_ids'])} hits  "
                f"{s['note']}"
            )
    click.echo("  evidence:")
    support = (draft.get("support") or "") if draft else ""
    shown = ans["evidence"][:5]
    # the answer's own item when it is shown (overlapping clips all hold a moment's subtitle), else any that holds it
    own = set(draft.get("evidence_ids") or ()) & {h["id"] for h in shown} if draft else set()
    for h in shown:
        item_text = h["item"].get("text") or " ".join(h["item"].get("captions") or ())
        holds = bool(support) and support in item_text and (not own or h["id"] in own)
        text = " ".join((support if holds else item_text).split()) or "(no text: an image or clip without a caption)"
        mark = "  <- the answer's sentence" if holds else ""
        click.echo(f"    [{h['kb']}] {h['id']} ({h['score']:.3f}): {text[:220]}{'…' if len(text) > 220 else ''}{mark}")
    click.echo("  timings (ms): " + "  ".join(f"{k} {v:.0f}" for k, v in ans["timings_ms"].items()))


@cli.command(
    "ask",
    epilog="""\b
Examples:
  mmroute ask "Who was the Norse leader?" --kb squad-paragraph
  mmroute ask "What is in this picture?" --image ../shared/data/images/skimage/images/coffee.png --json
  mmroute ask "Who founded X?" --generator smollm2 --stepwise
  mmroute ask "Q" --generator openai --endpoint-url http://localhost:8000/v1 --endpoint-model qwen2.5-vl --multimodal
""",
)
@click.argument("question")
@click.option(
    "--image",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A query image (routes to image KBs; sent to multimodal endpoints).",
)
@click.option("--kb", "kbs", multiple=True, help="KB(s) to search (repeatable; default: the router picks).")
@pipeline_options
@home_option
@json_option
@handle_errors
def ask_command(
    question: str,
    image: Path | None,
    kbs: tuple[str, ...],
    flags: PipelineFlags,
    home: Path | None,
    as_json: bool,
) -> None:
    """Answer QUESTION from the KBs, or say "I don't know" with the reason.

    A question longer than $MMROUTE_MAX_QUESTION_CHARS characters (default 2000) is refused."""
    from .. import ops
    from ..limits import check_question
    from ..serve.client import read_through

    check_question(question)
    if image is not None:  # a bomb or a corrupt file: refused here, named as typed, whoever answers
        from ..loaders.sniff import check_image_file

        check_image_file(image)
    cfg = flags.config(kbs)
    ans = read_through(
        home,
        lambda remote: remote.ask(question, cfg.to_dict(), image),
        lambda: ops.ask(open_home(home), cfg, question, image),
    )
    if as_json:
        emit_json(ans)
    else:
        render(ans)


@eval_group.command(
    "answers",
    epilog="""\b
Examples:
  mmroute eval answers --kb squad-paragraph --questions ../shared/data/text/squad2_dev/questions.jsonl --limit 50 --json
  mmroute eval answers --kb squad-paragraph --questions ../shared/data/text/squad2_dev/questions.jsonl --no-verify --out raw.jsonl
  mmroute eval answers --questions ../shared/data/text/squad2_dev/questions.jsonl --limit 50   # routed, as ask is
""",
)
@click.option(
    "--kb",
    "kbs",
    multiple=True,
    help="KB(s) to search (repeatable; default: the --config file's kbs, else the router picks, as in ask).",
)
@click.option(
    "--questions", required=True, type=click.Path(path_type=Path), help="Questions JSONL (answers: [] = unanswerable)."
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write one JSON line per question: id, answer, abstained, verdict, confidence, evidence_ids, draft "
    "(the generator's answer, shown or not), reason.",
)
@click.option("--limit", type=click.IntRange(1), default=None, help="Only the first N questions.")
@pipeline_options
@home_option
@json_option
@handle_errors
def eval_answers(
    kbs: tuple[str, ...],
    questions: Path,
    out: Path | None,
    limit: int | None,
    flags: PipelineFlags,
    home: Path | None,
    as_json: bool,
) -> None:
    """SQuAD EM/F1, truthfulness (+1 correct, 0 "I don't know", -1 wrong) and correct/wrong/abstain rates.

    Correct means an exact match of a gold answer after SQuAD normalisation; any answer to an
    unanswerable question (answers: []) is wrong. The lenient match is reported beside it.
    """
    from ..evaluation.answers import evaluate_answers
    from ..evaluation.questions import load_questions
    from ..pipeline import Pipeline
    from ..serve.client import refuse_if_served

    refuse_if_served(home, "mmroute eval answers")
    check_out_file(out)
    cfg = flags.config(kbs)
    h = open_home(home)
    for name in cfg.kbs:
        h.manifest(name)
    qs = load_questions(questions)[:limit]
    pipe = Pipeline.from_home(h, cfg)
    pipe.warm_up()
    bar = None
    if progress_enabled(as_json):
        from tqdm import tqdm

        bar = tqdm(total=len(qs), desc="questions", file=sys.stderr, leave=False)
    res = evaluate_answers(lambda q: pipe.ask(q), qs, out, on_progress=(lambda d, t: bar.update(1)) if bar else None)
    if bar:
        bar.close()
    a = res.aggregates
    a["config"] = cfg.to_dict()
    if as_json:
        emit_json(a)
        return
    click.echo(
        f"{a['n']} questions ({a['scored']} scored), generator {cfg.generator}, "
        f"verifier {'on' if cfg.verify else 'off'}"
    )
    click.echo(
        f"  EM {a['em']:.3f}  F1 {a['f1']:.3f} on {a['answerable']} answerable questions"
        f"   (SQuAD 2.0 over all: EM {a['squad2_em']:.3f}  F1 {a['squad2_f1']:.3f})"
    )
    click.echo(
        f"  truthfulness {a['truthfulness']:+.3f}   correct {a['correct_rate']:.1%}   wrong {a['wrong_rate']:.1%}"
        f"   abstain {a['abstain_rate']:.1%}   p50 {a['p50_ms']} ms"
    )
    u = a["unguarded"]
    click.echo(
        f"  answering every draft: EM {u['em']:.3f}  F1 {u['f1']:.3f}   truthfulness {u['truthfulness']:+.3f}"
        f"   correct {u['correct_rate']:.1%}   wrong {u['wrong_rate']:.1%}"
    )
    le = a["lenient"]
    click.echo(
        f"  lenient match (gold within <= 5 extra words): correct {le['correct_rate']:.1%}"
        f"   wrong {le['wrong_rate']:.1%}   truthfulness {le['truthfulness']:+.3f}"
    )
    if out:
        click.echo(f"  per-question results: {out}")
