"""Fine-tune an encoder into an extractive reader on SQuAD-format data (``mmroute reader train``).

The recipe: a span head (start/end logits) on the base encoder; SQuAD 2.0 unanswerable questions and
windows that miss the answer are trained to point at ``[CLS]``; AdamW with linear warm-up and decay;
dynamic padding over length-sorted buckets (most SQuAD windows are far shorter than ``max_length``,
so this halves the work on a CPU); the word-embedding table is frozen, which both regularises a small
training set and lets the result ship as an fp16 delta over the packaged base (see
:mod:`~mmroute.reading.weights`). ``unanswerable`` adds rule-made unanswerable questions
(:mod:`~mmroute.reading.negatives`) for training data that has few. Windows are cached on disk, keyed by data, tokenizer and window size.

>>> report = train_reader([Path("train-v2.0.json")], base="minilm", out=Path("my-reader"),
...                       config=ReaderTrainConfig(epochs=2), valid=[Path("dev-v2.0.json")])
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import pickle
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .negatives import synthetic_unanswerables
from .squad import QAExample, articles, load_squad
from .windows import Window, collate, make_windows

FROZEN = ("embeddings.word_embeddings.weight",)
"""Parameter-name suffixes kept frozen (and therefore not shipped)."""


@dataclass(frozen=True)
class ReaderTrainConfig:
    max_length: int = 256
    stride: int = 96
    epochs: float = 2.0
    batch_size: int = 16
    lr: float = 8e-5
    warmup: float = 0.1
    weight_decay: float = 0.01
    seed: int = 0
    device: str = "auto"
    max_steps: int = 0
    """Stop after this many optimiser steps (0: no limit); for smoke tests."""
    unanswerable: float = 0.0
    """Add synthetic unanswerable questions made from this fraction of the answerable training questions
    (:mod:`~mmroute.reading.negatives`; 0: none)."""


def cached_windows(
    tokenizer: Any, tok_id: str, examples: Sequence[QAExample], cfg: ReaderTrainConfig, cache_dir: Path | None
) -> list[Window]:
    key = hashlib.sha256(
        json.dumps(
            [tok_id, cfg.max_length, cfg.stride, [(e.id, e.question, e.context, e.answer_starts) for e in examples]]
        ).encode()
    ).hexdigest()[:20]
    path = cache_dir / f"windows-{key}.pkl" if cache_dir else None
    if path is not None and path.is_file():
        return pickle.loads(path.read_bytes())
    answers = [(e.answer_starts[0], e.answer_starts[0] + len(e.answers[0])) if e.answerable else None for e in examples]
    windows = make_windows(
        tokenizer,
        [e.question for e in examples],
        [e.context for e in examples],
        max_length=cfg.max_length,
        stride=cfg.stride,
        answers=answers,
    )
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(pickle.dumps(windows))
        tmp.replace(path)
    return windows


def length_bucketed_batches(windows: Sequence[Window], batch_size: int, rng: random.Random) -> list[list[Window]]:
    """Shuffle, sort within chunks of 50 batches by length, then shuffle the batches."""
    order = list(windows)
    rng.shuffle(order)
    chunk = batch_size * 50
    batches: list[list[Window]] = []
    for c in range(0, len(order), chunk):
        part = sorted(order[c : c + chunk], key=len)
        batches.extend(part[i : i + batch_size] for i in range(0, len(part), batch_size))
    rng.shuffle(batches)
    return batches


def train_reader(
    data: Sequence[Path],
    base: str,
    out: Path,
    config: ReaderTrainConfig = ReaderTrainConfig(),
    valid: Sequence[Path] = (),
    log: Callable[[str], None] = print,
    cache_dir: Path | None = None,
    init: str | None = None,
) -> dict[str, Any]:
    """Train, save the delta folder to ``out``, and return a report (timings, validation EM/F1).

    ``init`` continues training an existing reader ("packaged" or a folder ``reader train`` wrote over the
    same ``base``) instead of starting from ``base``'s encoder with a fresh span head.
    """
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    from ..encoders.base import resolve_device
    from .weights import base_path, save_delta

    t0 = time.perf_counter()
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    examples = [e for p in data for e in load_squad(p)]
    if not examples:
        raise ValueError("no training questions in " + ", ".join(map(str, data)))
    made = synthetic_unanswerables(examples, config.unanswerable, config.seed) if config.unanswerable > 0 else []
    made_by_kind = dict(Counter(e.id.rsplit("-", 1)[1] for e in made))
    if made:
        log(f"{len(made)} synthetic unanswerable questions: {made_by_kind}")
    given = len(examples)
    examples = examples + made
    bpath = base_path(base)
    if init:
        from ..errors import ConfigError
        from .weights import load_reader_model

        model, tok, init_meta = load_reader_model(init)
        if str(init_meta.get("base")) != base:
            raise ConfigError(
                f"reader {init!r} was trained over base {init_meta.get('base')!r}, not {base!r}",
                hint=f"pass --base {init_meta.get('base')} to continue training it",
            )
    else:
        tok = AutoTokenizer.from_pretrained(bpath)
        model = AutoModelForQuestionAnswering.from_pretrained(bpath)
    device = torch.device(resolve_device(config.device))
    model.to(device).train()
    frozen = {n for n, _ in model.named_parameters() if n.endswith(FROZEN)}
    for n, p in model.named_parameters():
        p.requires_grad_(n not in frozen)
    windows = cached_windows(tok, bpath, examples, config, cache_dir)
    log(
        f"{len(examples)} questions from {len(articles(examples))} articles -> {len(windows)} windows "
        f"(max_length {config.max_length}, stride {config.stride})"
    )
    steps_per_epoch = math.ceil(len(windows) / config.batch_size)
    total = int(steps_per_epoch * config.epochs)
    if config.max_steps:
        total = min(total, config.max_steps)
    decay = [p for n, p in model.named_parameters() if p.requires_grad and p.ndim > 1]
    no_decay = [p for n, p in model.named_parameters() if p.requires_grad and p.ndim <= 1]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=config.lr,
    )
    warm = max(1, int(total * config.warmup))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm)))
    )
    step, running = 0, 0.0
    pad = tok.pad_token_id or 0
    while step < total:
        for batch in length_bucketed_batches(windows, config.batch_size, rng):
            if step >= total:
                break
            b = {k: torch.from_numpy(v).to(device) for k, v in collate(batch, pad).items()}
            if "token_type_ids" not in tok.model_input_names:
                b.pop("token_type_ids")
            loss = model(**b).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            step += 1
            running = 0.98 * running + 0.02 * loss.item() if step > 1 else loss.item()
            if step % 50 == 0 or step == total:
                el = time.perf_counter() - t0
                log(
                    f"step {step}/{total} loss {running:.3f} {el:.0f}s elapsed, ~{el / step * (total - step):.0f}s left"
                )
    train_s = time.perf_counter() - t0
    model.eval()
    report: dict[str, Any] = {
        "base": base,
        "init": init,
        "config": asdict(config),
        "train_data": [str(p) for p in data],
        "train_articles": articles(examples),
        "train_questions": given,
        "synthetic_unanswerable": made_by_kind,
        "train_windows": len(windows),
        "steps": step,
        "train_seconds": round(train_s, 1),
        "device": str(device),
    }
    meta = {
        "format": 1,
        "base": base,
        "max_length": config.max_length,
        "stride": config.stride,
        "frozen": sorted(frozen),
        "trained": report,
    }
    size = save_delta(model, out, frozen, meta)  # saved before validation: a failed validation loses nothing
    report["weights_bytes"] = size
    log(f"saved {out} ({size / 1e6:.1f} MB) in {time.perf_counter() - t0:.0f}s")
    if valid:
        report["validation"] = evaluate_model(model, tok, [e for p in valid for e in load_squad(p)], config)
        log("validation: " + json.dumps(report["validation"]))
        meta["trained"] = report
        save_delta(model, out, frozen, meta)
    return report


def evaluate_model(model: Any, tok: Any, examples: Sequence[QAExample], config: ReaderTrainConfig) -> dict[str, Any]:
    """Validation of a just-trained model through the same code path users run (:class:`TransformerReader`)."""
    from .evaluation import evaluate_reader
    from .reader import TransformerReader

    reader = TransformerReader.from_loaded(model, tok, {"max_length": config.max_length, "stride": config.stride})
    return evaluate_reader(reader, examples)
