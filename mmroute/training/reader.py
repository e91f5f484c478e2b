"""Fine-tune an encoder into an extractive reader on SQuAD-format data (``mmroute reader train``).

The recipe: a span head (start/end logits) on the base encoder; SQuAD 2.0 unanswerable questions and
windows that miss the answer are trained to point at ``[CLS]``; AdamW with linear warm-up and decay;
dynamic padding over length-sorted buckets (most SQuAD windows are far shorter than ``max_length``,
so this halves the work on a CPU); the word-embedding table is frozen, which both regularises a small
training set and lets the result ship as an fp16 delta over the packaged base (see
:mod:`~mmroute.reading.weights`); ``frozen_layers`` also freezes the rest of the embeddings and the first
transformer layers, which cuts the backward pass on a CPU. ``unanswerable`` adds rule-made unanswerable
questions (:mod:`~mmroute.training.unanswerables`) for training data that has few. Windows are cached on disk,
keyed by data, tokenizer and window size.

A run is killable: every ``checkpoint_every`` steps the trainable weights, the optimiser and the schedule
go (atomically) into a checkpoint folder keyed by the data and the configuration, and the same command
started again continues from the last one. The batch order is a function of the seed and the epoch, so a
resumed run sees exactly the batches the killed one had not. ``snapshot_windows`` saves the reader as it
was after that many training windows (a learning curve from one run).

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

from ..reading.squad import QAExample, articles, load_squad
from ..reading.windows import Window, collate, make_windows
from .unanswerables import synthetic_unanswerables

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
    (:mod:`~mmroute.training.unanswerables`; 0: none)."""
    frozen_layers: int = -1
    """-1: only the word-embedding table is frozen; N >= 0: all embeddings and the first N layers too."""
    checkpoint_every: int = 100
    """Save a resumable checkpoint every this many optimiser steps (0: never)."""
    snapshot_windows: tuple[int, ...] = ()
    """Save the reader after this many training windows (the learning curve of one run)."""

    def run_key(self) -> dict[str, Any]:
        """What a checkpoint must agree on to be resumed (not the checkpoint cadence or snapshots)."""
        d = asdict(self)
        for k in ("checkpoint_every", "snapshot_windows", "device"):
            d.pop(k)
        return d


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


def planned_batches(windows: Sequence[Window], config: ReaderTrainConfig, total: int) -> list[list[Window]]:
    """The whole run's batches in order: epoch ``e`` is shuffled by ``(seed, e)`` alone, so a resumed run
    rebuilds the same plan and skips the steps already taken."""
    plan: list[list[Window]] = []
    epoch = 0
    while len(plan) < total:
        plan.extend(length_bucketed_batches(windows, config.batch_size, random.Random(f"{config.seed}|{epoch}")))
        epoch += 1
    return plan[:total]


def frozen_names(names: Sequence[str], frozen_layers: int) -> set[str]:
    """Parameters kept frozen: the word embeddings always; with ``frozen_layers >= 0`` all embeddings and
    encoder layers ``0 .. frozen_layers - 1`` as well."""
    out = {n for n in names if n.endswith(FROZEN)}
    if frozen_layers >= 0:
        layers = tuple(f".layer.{i}." for i in range(frozen_layers))
        out |= {n for n in names if ".embeddings." in f".{n}" or any(t in n for t in layers)}
    return out


def checkpoint_folder(root: Path, data: Sequence[Path], base: str, init: str | None, config: ReaderTrainConfig) -> Path:
    """A folder per (training files, base, init, configuration): a changed run never resumes a stale one."""
    files = [(str(Path(p).resolve()), Path(p).stat().st_size) for p in data]
    key = hashlib.sha256(json.dumps([files, base, init, config.run_key()]).encode()).hexdigest()[:16]
    return root / f"run-{key}"


def save_checkpoint(folder: Path, model: Any, opt: Any, sched: Any, step: int, train_s: float) -> None:
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    state = {
        "model": {n: p.detach().cpu() for n, p in model.named_parameters() if p.requires_grad},
        "opt": opt.state_dict(),
        "sched": sched.state_dict(),
        "step": step,
        "train_seconds": train_s,
        "torch_rng": torch.get_rng_state(),
    }
    tmp = folder / "checkpoint.pt.tmp"
    torch.save(state, tmp)
    os.replace(tmp, folder / "checkpoint.pt")


def load_checkpoint(folder: Path, model: Any, opt: Any, sched: Any) -> tuple[int, float]:
    """(step, training seconds so far) after restoring a checkpoint; (0, 0.0) when there is none."""
    import torch

    path = folder / "checkpoint.pt"
    if not path.is_file():
        return 0, 0.0
    state = torch.load(path, map_location="cpu", weights_only=False)
    params = dict(model.named_parameters())
    with torch.no_grad():
        for n, v in state["model"].items():
            params[n].copy_(v)
    opt.load_state_dict(state["opt"])
    sched.load_state_dict(state["sched"])
    torch.set_rng_state(state["torch_rng"])
    return int(state["step"]), float(state["train_seconds"])


def train_reader(
    data: Sequence[Path],
    base: str,
    out: Path,
    config: ReaderTrainConfig = ReaderTrainConfig(),
    valid: Sequence[Path] = (),
    log: Callable[[str], None] = print,
    cache_dir: Path | None = None,
    init: str | None = None,
    checkpoint_dir: Path | None = None,
) -> dict[str, Any]:
    """Train, save the delta folder to ``out``, and return a report (timings, validation EM/F1).

    ``init`` continues training an existing reader ("packaged" or a folder ``reader train`` wrote over the
    same ``base``) instead of starting from ``base``'s encoder with a fresh span head. With
    ``checkpoint_dir`` the run checkpoints there and resumes from it (see module doc); a finished run
    removes its checkpoint (snapshots stay).
    """
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer
    from transformers.utils import logging as hf_logging

    from ..encoders.base import resolve_device
    from ..reading.weights import base_path, save_delta

    hf_logging.set_verbosity_error()  # a fresh span head is expected: no load report in the user's terminal
    t0 = time.perf_counter()
    torch.manual_seed(config.seed)
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
        from ..reading.weights import load_reader_model

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
    frozen = frozen_names([n for n, _ in model.named_parameters()], config.frozen_layers)
    for n, p in model.named_parameters():
        p.requires_grad_(n not in frozen)
    windows = cached_windows(tok, bpath, examples, config, cache_dir)
    log(
        f"{len(examples)} questions from {len(articles(examples))} articles -> {len(windows)} windows "
        f"(max_length {config.max_length}, stride {config.stride})"
    )
    steps_per_epoch = math.ceil(len(windows) / config.batch_size)
    total = max(1, int(steps_per_epoch * config.epochs))
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
    ckpt = checkpoint_folder(checkpoint_dir, data, base, init, config) if checkpoint_dir else None
    step, done_s = load_checkpoint(ckpt, model, opt, sched) if ckpt else (0, 0.0)
    if step:
        log(f"resuming from {ckpt} at step {step}/{total}")
    t_run = time.perf_counter()
    running = 0.0
    pad = tok.pad_token_id or 0
    plan = planned_batches(windows, config, total)
    seen = sum(len(b) for b in plan[:step])
    snapshots = sorted(w for w in config.snapshot_windows if w > seen)
    for batch in plan[step:]:
        b = {k: torch.from_numpy(v).to(device) for k, v in collate(batch, pad).items()}
        if "token_type_ids" not in tok.model_input_names:
            b.pop("token_type_ids")
        loss = model(**b).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 1.0)
        opt.step()
        sched.step()
        opt.zero_grad(set_to_none=True)
        step += 1
        seen += len(batch)
        running = 0.98 * running + 0.02 * loss.item() if running else loss.item()
        el = done_s + time.perf_counter() - t_run
        if ckpt and config.checkpoint_every and step % config.checkpoint_every == 0 and step < total:
            save_checkpoint(ckpt, model, opt, sched, step, el)
        while snapshots and seen >= snapshots[0] and ckpt:
            snap = ckpt / "snapshots" / f"windows-{snapshots.pop(0)}"
            save_delta(model, snap, frozen, delta_meta(base, config, frozen, {"windows_seen": seen, "steps": step}))
            log(f"snapshot after {seen} windows: {snap}")
        if step % 50 == 0 or step == total:
            log(f"step {step}/{total} loss {running:.3f} {el:.0f}s training, ~{el / step * (total - step):.0f}s left")
    train_s = done_s + time.perf_counter() - t_run
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
        "train_windows_seen": seen,
        "train_seconds": round(train_s, 1),
        "device": str(device),
    }
    meta = delta_meta(base, config, frozen, report)
    size = save_delta(model, out, frozen, meta)  # saved before validation: a failed validation loses nothing
    if ckpt:
        (ckpt / "checkpoint.pt").unlink(missing_ok=True)
    report["weights_bytes"] = size
    log(f"saved {out} ({size / 1e6:.1f} MB) in {time.perf_counter() - t0:.0f}s")
    if valid:
        report["validation"] = evaluate_model(model, tok, [e for p in valid for e in load_squad(p)], config)
        log("validation: " + json.dumps(report["validation"]))
        meta["trained"] = report
        save_delta(model, out, frozen, meta)
    return report


def delta_meta(base: str, config: ReaderTrainConfig, frozen: set[str], trained: dict[str, Any]) -> dict[str, Any]:
    """``reader.json`` of a delta folder (:mod:`~mmroute.reading.weights`): what loading it needs, and how it
    was trained."""
    return {
        "format": 1,
        "base": base,
        "max_length": config.max_length,
        "stride": config.stride,
        "frozen": sorted(frozen),
        "trained": trained,
    }


def evaluate_model(model: Any, tok: Any, examples: Sequence[QAExample], config: ReaderTrainConfig) -> dict[str, Any]:
    """Validation of a just-trained model through the same code path users run (:class:`TransformerReader`)."""
    from ..reading.evaluation import evaluate_reader
    from ..reading.reader import TransformerReader

    reader = TransformerReader.from_loaded(model, tok, {"max_length": config.max_length, "stride": config.stride})
    return evaluate_reader(reader, examples)
