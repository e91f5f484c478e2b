"""Held-out check of the product path of the fine-tuned router (``mmroute route finetune`` + ``finetuned``).

Trains the linear router and a fine-tuned encoder on four folds of the routing split (the shipped
router's stratified split) and evaluates, on the fifth, the linear router, the fine-tuned encoder
alone and the 50:50 blend, with per-query latency (batch of one) on this machine.

    python -m evals.eval.eval_router_finetuned [--model DIR] [--fold 0] [--epochs 8 --lr 1e-4]

Measured 2026-11-22, MiniLM, fold 0 (485 queries), 2 CPU cores: linear 0.9546 (p50 11.9 ms),
fine-tuned MiniLM alone 0.9485 (10.7 ms), blend 0.9588 (22.6 ms); training took ~9 min on the CPU.
Writes ``evals/results/router_finetuned_fold<F>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("MMROUTE_DATA") or REPO.parent / "shared" / "data")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main(argv: list[str] | None = None) -> int:
    from mmroute.encoders.text import minilm_path
    from mmroute.routing import FinetunedRouter, TrainedRouter
    from mmroute.routing.dataset import load_routing_jsonl
    from mmroute.routing.evaluation import evaluate_router
    from mmroute.training.router import train_model
    from mmroute.training.router_finetune import FinetuneConfig, finetune_router
    from mmroute.training.router_fit import route_labels, stratified_folds

    ap = argparse.ArgumentParser(
        prog="python -m evals.eval.eval_router_finetuned", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("--data", type=Path, default=DATA / "routing" / "universalrag_train.jsonl")
    ap.add_argument("--model", default=None, help="encoder to fine-tune (default: the packaged MiniLM)")
    ap.add_argument("--fold", type=int, default=0)
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--device", default="auto")
    args = ap.parse_args(argv)
    ex = load_routing_jsonl(args.data)
    y, _ = route_labels(ex, True)
    tr, te = stratified_folds(y, 5, 0, None)[args.fold]
    train, test = [ex[i] for i in tr], [ex[i] for i in te]
    model = args.model or str(minilm_path())
    with tempfile.TemporaryDirectory() as tmp:
        train_model(train).save(Path(tmp) / "linear")
        art = finetune_router(
            train,
            model,
            Path(tmp) / "ft",
            FinetuneConfig(epochs=args.epochs, lr=args.lr, device=args.device),
            log=lambda m: print(m, flush=True),
        )
        out: dict = {
            "data": args.data.name,
            "fold": args.fold,
            "n_train": len(train),
            "model": model,
            "device": art.meta["device"],
            "train_seconds": art.meta["seconds"],
            "results": {},
        }
        routers = {
            "linear": TrainedRouter(Path(tmp) / "linear"),
            "finetuned_alone": FinetunedRouter(Path(tmp) / "ft", blend=1.0, device=args.device),
            "blend_0.5": FinetunedRouter(
                Path(tmp) / "ft", blend=0.5, linear=TrainedRouter(Path(tmp) / "linear"), device=args.device
            ),
        }
        for name, router in routers.items():
            router.warm_up()
            rep = evaluate_router(router, test)
            out["results"][name] = {k: rep[k] for k in ("n", "accuracy", "per_route", "p50_ms", "p95_ms")}
            print(name, json.dumps(out["results"][name]), flush=True)
    path = REPO / "evals" / "results" / f"router_finetuned_fold{args.fold}.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
