"""Fine-tuning an encoder as a router (``mmroute route finetune``); see :mod:`mmroute.routing.finetuned` for why.

Recipe (the one cross-validated in ``evals/experiments/exp_router_adapter.py``): every weight of the encoder plus
a linear head over the mean-pooled last hidden state, trained on the source-dataset labels (or the
routes, when the data has no sources) with class-balanced cross-entropy and label smoothing 0.05,
AdamW (weight decay 0.01; the head at ``max(lr, 1e-3)``), a one-cycle schedule with 10% warm-up,
batches of 32, on the canonical routing texts (:mod:`mmroute.routing.canonical`). For MiniLM on the 2,425-query split this took 12 s on an H100 and 9 minutes on two
CPU cores; mpnet takes several times longer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..encoders.base import mean_pool, resolve_device
from ..errors import InputError, ModelUnavailableError
from ..routing.canonical import CANONICAL_VERSION, routing_text
from ..routing.dataset import RoutingExample
from ..routing.finetuned import ENCODER_DIR, HEAD_FILE, FinetunedArtifact, check_blend
from .router_fit import route_labels


@dataclass
class FinetuneConfig:
    epochs: int = 8
    lr: float = 5e-5
    batch_size: int = 32
    max_length: int = 128
    label_smoothing: float = 0.05
    blend: float = 0.5
    seed: int = 0
    device: str = "auto"


def finetune_router(
    examples: Sequence[RoutingExample],
    base_model: str,
    out: str | Path,
    cfg: FinetuneConfig | None = None,
    log: Callable[[str], None] | None = None,
) -> FinetunedArtifact:
    """Fine-tune ``base_model`` (a local directory or a hub name) on ``examples`` and write the
    artifact to ``out``; returns its description (training accuracy in ``meta``)."""
    import torch
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    cfg = cfg or FinetuneConfig()
    check_blend(cfg.blend)
    say = log or (lambda _m: None)
    if len(examples) < 2:
        raise InputError("fine-tuning needs at least two routing examples")
    y_names, mapping = route_labels(examples, use_sources=True)
    labels = sorted(set(y_names))
    if len(labels) < 2:
        raise InputError("fine-tuning needs examples of at least two routes or sources")
    y = np.asarray([labels.index(v) for v in y_names])
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    folder = Path(base_model).expanduser()
    local = folder.exists()
    if not local and base_model.startswith(("/", ".", "~")):  # a path, not a hub name ("org/model")
        raise InputError(
            f"no model folder at {base_model!r}",
            hint="give the folder of a transformers model (with its config.json), e.g. ~/models/all-mpnet-base-v2",
        )
    if local and not (folder / "config.json").is_file():
        raise InputError(
            f"{base_model!r} is not a transformers model folder: it has no config.json",
            hint="give the folder a model was saved to (save_pretrained), e.g. ~/models/all-mpnet-base-v2",
        )
    try:
        tok = AutoTokenizer.from_pretrained(str(folder) if local else base_model, local_files_only=local)
        net = AutoModel.from_pretrained(str(folder) if local else base_model, local_files_only=local)
    except (OSError, ValueError) as e:  # a missing or unreadable file; a tokenizer transformers cannot build
        said = (str(e).strip().splitlines() or [e.__class__.__name__])[0][:200]
        raise ModelUnavailableError(
            f"cannot load encoder {base_model!r}: {said}",
            hint="give a local model directory, or a hub name on a machine that can reach the hub",
        ) from e
    device = resolve_device(cfg.device)
    torch.manual_seed(cfg.seed)
    net = net.to(device).train()
    head = torch.nn.Linear(net.config.hidden_size, len(labels)).to(device)
    drop = torch.nn.Dropout(0.1)
    texts = [routing_text(e.question, CANONICAL_VERSION) for e in examples]  # what the router will read
    enc = tok(
        [t if t.strip() else " " for t in texts],
        padding=True,
        truncation=True,
        max_length=cfg.max_length,
        return_tensors="pt",
    )
    ids, mask = enc["input_ids"].to(device), enc["attention_mask"].to(device)

    def logits(idx: np.ndarray, train: bool) -> torch.Tensor:
        t = torch.as_tensor(idx, device=device)
        width = int(mask[t].sum(1).max())
        m = mask[t, :width]
        pooled = mean_pool(net(input_ids=ids[t, :width], attention_mask=m).last_hidden_state, m)
        return head(drop(pooled) if train else pooled)

    head_lr = max(cfg.lr, 1e-3)
    opt = torch.optim.AdamW(
        [{"params": net.parameters(), "lr": cfg.lr}, {"params": head.parameters(), "lr": head_lr}], weight_decay=0.01
    )
    steps = cfg.epochs * -(-len(examples) // cfg.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=[cfg.lr, head_lr], pct_start=0.1, total_steps=max(1, steps), anneal_strategy="linear"
    )
    counts = np.bincount(y, minlength=len(labels))
    weight = torch.tensor(len(y) / (len(labels) * np.maximum(counts, 1)), dtype=torch.float32, device=device)
    rng = np.random.default_rng(cfg.seed)
    t0 = time.perf_counter()
    for epoch in range(cfg.epochs):
        total = 0.0
        order = rng.permutation(len(y))
        for s in range(0, len(y), cfg.batch_size):
            idx = order[s : s + cfg.batch_size]
            loss = torch.nn.functional.cross_entropy(
                logits(idx, True),
                torch.as_tensor(y[idx], device=device),
                weight=weight,
                label_smoothing=cfg.label_smoothing,
            )
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
        say(f"epoch {epoch + 1}/{cfg.epochs}: loss {total / len(y):.4f} ({time.perf_counter() - t0:.0f} s)")
    net.eval()
    with torch.inference_mode():
        pred = np.concatenate(
            [logits(np.arange(s, min(s + 256, len(y))), False).argmax(1).cpu().numpy() for s in range(0, len(y), 256)]
        )
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    net.save_pretrained(out_dir / ENCODER_DIR)
    tok.save_pretrained(out_dir / ENCODER_DIR)
    np.savez(
        out_dir / HEAD_FILE,
        weight=head.weight.detach().float().cpu().numpy(),
        bias=head.bias.detach().float().cpu().numpy(),
    )
    art = FinetunedArtifact(
        labels=labels,
        label_routes=[mapping[x] for x in labels],
        max_length=cfg.max_length,
        blend=cfg.blend,
        base_model=str(base_model),
        canonical=CANONICAL_VERSION,
        meta={
            "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "n_examples": len(y),
            "train_accuracy": float(np.mean(pred == y)),
            "device": device,
            "seconds": round(time.perf_counter() - t0, 1),
            "config": {k: v for k, v in cfg.__dict__.items()},
        },
    )
    art.save(out_dir)
    return art
