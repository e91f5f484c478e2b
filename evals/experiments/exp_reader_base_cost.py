"""Experiment: what a base-size reader would cost to train on this machine's CPU cores.

The offline truthfulness target of the answer benchmark needs a stronger reader than the packaged
MiniLM-L6 one (see ``bench_answers.json``: even a verifier that let through exactly the right drafts would
stay under it). The next reader in line is an mpnet-base-size encoder (12 layers, 768 wide, the size of
the packaged all-mpnet-base-v2). This measures one training step (forward, backward, AdamW update; batch
16, sequence length 192, the shipped recipe's shape) of both architectures in the same run, and scales the
shipped reader's measured training time by the ratio. Weights are random: the cost of a step does not
depend on them, so nothing has to be downloaded.

    python -m evals.experiments.exp_reader_base_cost [--steps 6] [--out FILE]

Writes ``exp_reader_base_cost.json`` (to ``--out``; default: a scratch folder).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from ..paths import SCRATCH, write_result

SHIPPED_MINUTES = 45.0
"""Wall-clock minutes of ``make reader`` (the packaged reader, 2 epochs with synthetic unanswerable
questions) on 2 CPU cores, as measured when it was trained."""


def step_seconds(model: Any, steps: int, batch: int, length: int) -> list[float]:
    import torch

    opt = torch.optim.AdamW(model.parameters(), lr=5e-5)
    ids = torch.randint(1000, 20000, (batch, length))
    mask = torch.ones_like(ids)
    start = torch.randint(0, length, (batch,))
    end = torch.clamp(start + 3, max=length - 1)
    out: list[float] = []
    model.train()
    for i in range(steps + 1):
        t = time.perf_counter()
        loss = model(input_ids=ids, attention_mask=mask, start_positions=start, end_positions=end).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
        if i:  # the first step warms up allocators and kernels
            out.append(time.perf_counter() - t)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m evals.experiments.exp_reader_base_cost", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--length", type=int, default=192)
    ap.add_argument("--out", type=Path, default=SCRATCH, help="a .json file or a folder (default: a scratch folder)")
    args = ap.parse_args(argv)
    import torch
    from transformers import BertConfig, BertForQuestionAnswering, MPNetConfig, MPNetForQuestionAnswering

    torch.manual_seed(0)
    minilm = BertForQuestionAnswering(
        BertConfig(hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536)
    )
    mpnet = MPNetForQuestionAnswering(MPNetConfig())  # the base size: 12 layers, 768 wide
    result: dict[str, Any] = {
        "torch_threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "load_average_before": list(os.getloadavg()),
        "shape": {"batch": args.batch, "length": args.length, "steps_timed": args.steps},
    }
    for name, model in (("minilm_l6", minilm), ("mpnet_base", mpnet), ("minilm_l6_again", minilm)):
        secs = step_seconds(model, args.steps, args.batch, args.length)
        result[name] = {
            "parameters_m": round(sum(p.numel() for p in model.parameters()) / 1e6, 1),
            "step_s_median": round(statistics.median(secs), 3),
            "step_s": [round(s, 3) for s in secs],
        }
        print(f"[exp_reader_base_cost] {name}: {result[name]['step_s_median']} s per step", file=sys.stderr)
    base = statistics.mean([result["minilm_l6"]["step_s_median"], result["minilm_l6_again"]["step_s_median"]])
    ratio = result["mpnet_base"]["step_s_median"] / base
    result["load_average_after"] = list(os.getloadavg())
    result["mpnet_over_minilm"] = round(ratio, 2)
    result["shipped_recipe_minutes_minilm"] = SHIPPED_MINUTES
    result["shipped_recipe_hours_mpnet_estimate"] = round(SHIPPED_MINUTES * ratio / 60, 1)
    out = write_result(args.out, "exp_reader_base_cost.json", result)
    print(f"[exp_reader_base_cost] ratio {ratio:.2f}; wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
