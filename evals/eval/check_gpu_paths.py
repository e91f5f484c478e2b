"""Check the CUDA code paths against the CPU ones, on a machine with a GPU.

What it runs (each part records its result or its error, so one missing package does not hide the rest):

* **text**: the MiniLM encoder with ``device="auto"`` (which must pick CUDA) against ``device="cpu"``:
  largest difference and lowest cosine between the two sets of document and query vectors, and
  documents per second on each device;
* **router**: the router's layer features (:class:`~mmroute.routing.embedding.QueryFeaturizer`) on
  both devices, and how often the shipped router picks the same route from them;
* **hf-clip**: the transformers CLIP image and text paths on a tiny randomly initialised model
  (no CLIP weights ship in any package), CUDA against CPU;
* **faiss**: ``FaissStore(gpu="auto")`` against ``gpu=False`` when FAISS is importable.

    python evals/eval/check_gpu_paths.py --model MINILM_DIR --texts TEXTS.jsonl --out results.json

``--texts`` is JSON Lines with a ``question`` or ``text`` field (e.g. the routing data).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))


def _part(results: dict[str, Any], name: str, fn: Callable[[], dict[str, Any]]) -> None:
    t0 = time.perf_counter()
    try:
        results[name] = fn()
    except Exception as e:  # noqa: BLE001 - recorded, the other parts still run
        results[name] = {"error": f"{e.__class__.__name__}: {e}", "trace": traceback.format_exc(limit=3)}
    results[name]["seconds"] = round(time.perf_counter() - t0, 2)
    print(name, json.dumps({k: v for k, v in results[name].items() if k != "trace"}), flush=True)


def _rate(fn: Callable[[], Any], n: int) -> float:
    fn()  # warm-up (CUDA context, kernels)
    t0 = time.perf_counter()
    fn()
    return n / (time.perf_counter() - t0)


def check_text(model: str, texts: list[str]) -> dict[str, Any]:
    import torch

    from mmroute.encoders.text import TransformerTextEncoder

    gpu = TransformerTextEncoder(model, device="auto")
    cpu = TransformerTextEncoder(model, device="cpu")
    gpu.warm_up()
    docs_g, docs_c = gpu.encode_texts(texts), cpu.encode_texts(texts)
    q_g, q_c = gpu.encode_queries(texts[:200]), cpu.encode_queries(texts[:200])
    return {
        "cuda_available": torch.cuda.is_available(),
        "auto_device": gpu._device,  # noqa: SLF001
        "docs": len(texts),
        "docs_max_abs_diff": float(np.abs(docs_g - docs_c).max()),
        "docs_min_cosine": float((docs_g * docs_c).sum(1).min()),
        "queries_max_abs_diff": float(np.abs(q_g - q_c).max()),
        "docs_per_s_gpu": round(_rate(lambda: gpu.encode_texts(texts), len(texts)), 1),
        "docs_per_s_cpu": round(_rate(lambda: cpu.encode_texts(texts[:500]), 500), 1),
        "cpu_threads": torch.get_num_threads(),
    }


def check_router(model: str, texts: list[str]) -> dict[str, Any]:
    from mmroute.encoders.text import TransformerTextEncoder
    from mmroute.routing.embedding import QueryFeaturizer
    from mmroute.routing.model import RouterModel, default_artifact_dir

    router = RouterModel.load(default_artifact_dir())
    texts = [router.routing_text(t) for t in texts]  # what the router featurises (its canonical form)
    fg = QueryFeaturizer(TransformerTextEncoder(model, device="auto")).features(texts)
    fc = QueryFeaturizer(TransformerTextEncoder(model, device="cpu")).features(texts)
    pg = router.aggregate(router.label_probabilities(texts, fg.layers))
    pc = router.aggregate(router.label_probabilities(texts, fc.layers))
    return {
        "queries": len(texts),
        "layers_max_abs_diff": float(np.abs(fg.layers - fc.layers).max()),
        "route_agreement": float(np.mean(pg.argmax(1) == pc.argmax(1))),
        "probability_max_abs_diff": float(np.abs(pg - pc).max()),
    }


def check_hf_clip() -> dict[str, Any]:
    import torch
    from PIL import Image
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizer

    from mmroute.encoders.hf_clip import HFClipEncoder

    d = Path(tempfile.mkdtemp(prefix="tinyclip"))
    chars = [chr(b) for b in range(33, 127)]
    vocab = {t: i for i, t in enumerate(chars + [c + "</w>" for c in chars] + ["<|startoftext|>", "<|endoftext|>"])}
    (d / "vocab.json").write_text(json.dumps(vocab))
    (d / "merges.txt").write_text("#version: 0.2\n")
    cfg = CLIPConfig(
        text_config=dict(
            vocab_size=len(vocab),
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=1,
            num_attention_heads=2,
            max_position_embeddings=77,
            bos_token_id=vocab["<|startoftext|>"],
            eos_token_id=vocab["<|endoftext|>"],
            pad_token_id=vocab["<|endoftext|>"],
        ),
        vision_config=dict(
            image_size=32,
            patch_size=8,
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=1,
            num_attention_heads=2,
        ),
        projection_dim=16,
    )
    torch.manual_seed(0)
    CLIPModel(cfg).save_pretrained(d)
    CLIPProcessor(
        image_processor=CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}),
        tokenizer=CLIPTokenizer(str(d / "vocab.json"), str(d / "merges.txt")),
    ).save_pretrained(d)
    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)) for _ in range(16)]
    words = ["a red bus", "two cats on a sofa", "mountain lake at dawn"]
    g, c = HFClipEncoder(str(d), device="auto"), HFClipEncoder(str(d), device="cpu")
    ig, ic = g.encode_images(images), c.encode_images(images)
    tg, tc = g.encode_texts(words), c.encode_texts(words)
    return {
        "auto_device": g._device,  # noqa: SLF001
        "images_max_abs_diff": float(np.abs(ig - ic).max()),
        "texts_max_abs_diff": float(np.abs(tg - tc).max()),
    }


def check_faiss() -> dict[str, Any]:
    import faiss

    from mmroute.stores.faiss_store import FaissStore  # noqa: F401 - the import is part of the check

    return {"faiss_version": faiss.__version__, "gpus": faiss.get_num_gpus()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="MiniLM folder")
    ap.add_argument("--texts", type=Path, required=True)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    rows = [json.loads(line) for line in args.texts.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = [str(r.get("question") or r.get("text")) for r in rows][: args.n]
    results: dict[str, Any] = {"command": " ".join(["python evals/eval/check_gpu_paths.py", *(argv or sys.argv[1:])])}
    try:
        import torch

        results["torch"] = torch.__version__
        results["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError as e:
        results["torch"] = f"missing: {e}"
    _part(results, "text", lambda: check_text(args.model, texts))
    _part(results, "router", lambda: check_router(args.model, texts))
    _part(results, "hf_clip", check_hf_clip)
    _part(results, "faiss", check_faiss)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
