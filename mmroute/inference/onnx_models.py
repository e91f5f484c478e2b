"""The exported ONNX graphs mmroute ships, and one ONNX Runtime session per graph per process.

>>> session = onnx_model("encoder")          # None when this process runs PyTorch instead
>>> pooled, = session.run({"input_ids": ids, "attention_mask": mask, "token_type_ids": types})
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ConfigError, ModelUnavailableError
from .files import DATA

BACKEND_ENV = "MMROUTE_INFERENCE"
BACKENDS = ("auto", "onnx", "torch")


@dataclass(frozen=True)
class OnnxSpec:
    """Where one exported graph lives, what it returns, and when its int8 version is faithful enough."""

    name: str
    folder: Path
    file: str
    outputs: tuple[str, ...]
    int8_holds: Callable[[Mapping[str, float]], bool]
    delta: str = ""
    """The model's own weights file beside the graph (fine-tuned tensors over the MiniLM base), if any."""

    @property
    def path(self) -> Path:
        return self.folder / self.file


ONNX_MODELS: dict[str, OnnxSpec] = {
    "encoder": OnnxSpec(
        "encoder",
        DATA / "encoder",
        "minilm.onnx",
        ("pooled_layers",),
        lambda p: p.get("min_cosine", 0.0) >= 0.995,
    ),
    "reader": OnnxSpec(
        "reader",
        DATA / "reader",
        "reader.onnx",
        ("start_logits", "end_logits"),
        lambda p: p.get("argmax_agreement", 0.0) >= 0.99 and p.get("max_abs_logit_diff", 9.0) <= 0.5,
        "reader.safetensors",
    ),
    "support": OnnxSpec(
        "support",
        DATA / "verifier" / "support",
        "support.onnx",
        ("logits",),
        # int8 kept its check inputs within 0.06 but moved a held-out right answer's logit by 0.29, across the
        # verifier's threshold (tests/generation/test_endpoint.py's positive control): fp32
        lambda p: False,
        "support.safetensors",
    ),
    "image": OnnxSpec(
        "image",
        DATA / "encoder",
        "efficientnet_lite0.onnx",
        ("logits",),
        lambda p: False,  # dynamic int8 of a small convolutional net moves its class ranking: fp32
    ),
}
MINILM_WEIGHTS = DATA / "encoder" / "minilm.safetensors"
"""all-MiniLM-L6-v2's weights in fp16 (half the size; widened to fp32 at load): the exported graphs' base."""
TOKENIZER_FILE = DATA / "encoder" / "tokenizer.json"
"""all-MiniLM-L6-v2's tokenizer; the packaged reader and support model share its vocabulary."""


def backend() -> str:
    """``$MMROUTE_INFERENCE`` (``auto`` when unset); a one-line error for any other value."""
    value = os.environ.get(BACKEND_ENV, "auto").strip().lower() or "auto"
    if value not in BACKENDS:
        raise ConfigError(
            f"{BACKEND_ENV}={value!r} is not an inference backend",
            hint=f"use one of {', '.join(BACKENDS)} (auto: ONNX Runtime when installed, else PyTorch)",
        )
    return value


def onnxruntime_installed() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def uses_onnx(name: str) -> bool:
    """Whether this process runs the packaged ``name`` with ONNX Runtime (see module doc)."""
    choice = backend()
    if choice == "torch":
        return False
    spec = ONNX_MODELS[name]
    have = (
        onnxruntime_installed()
        and spec.path.is_file()
        and (name == "image" or (TOKENIZER_FILE.is_file() and MINILM_WEIGHTS.is_file()))
    )
    if choice == "onnx" and not have:
        missing = "onnxruntime is not installed" if not onnxruntime_installed() else f"{spec.path} is missing"
        raise ModelUnavailableError(
            f"{BACKEND_ENV}=onnx but {missing}",
            hint="pip install onnxruntime (or `make onnx` to export the graphs), or unset " + BACKEND_ENV,
        )
    return have


class OnnxModel:
    """One ONNX Runtime session over a packaged graph; :meth:`run` takes and returns numpy arrays."""

    def __init__(self, spec: OnnxSpec, threads: int | None = None) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.intra_op_num_threads = threads or min(4, os.cpu_count() or 1)
        opts.inter_op_num_threads = 1
        # no busy-waiting worker threads: on a shared laptop CPU they steal time from everything else
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.log_severity_level = 3
        # every call has its own shapes (batch, window length): a memory pattern would be planned and cached
        # for each shape, so a server's RSS would grow with the variety of its requests (no speed is lost:
        # 58.8 against 57.3 texts/s; the CPU arena stays on, without it embedding ran at half the speed)
        opts.enable_mem_pattern = False
        try:
            names, values = shipped_weights(spec)
            if names:
                opts.add_external_initializers(names, values)
            self._weights = values  # ONNX Runtime borrows them: they live as long as the session
            self.session = ort.InferenceSession(str(spec.path), opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime's own error types: a truncated or foreign file
            raise ModelUnavailableError(
                f"cannot load {spec.path} ({str(e).splitlines()[0][:100]})",
                hint="re-export it with `make onnx`, or set MMROUTE_INFERENCE=torch",
            ) from None
        self.spec = spec
        self.inputs = {
            i.name: (np.float32 if i.type == "tensor(float)" else np.int64) for i in self.session.get_inputs()
        }

    def run(self, feeds: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        """The graph's outputs for ``feeds`` (extra keys are ignored; each input is cast to the graph's type)."""
        inputs = {k: np.ascontiguousarray(feeds[k], dtype=dtype) for k, dtype in self.inputs.items()}
        return list(self.session.run(list(self.spec.outputs), inputs))


def shipped_weights(spec: OnnxSpec) -> tuple[list[str], list[object]]:
    """The graph's weights that ship apart from it (see :func:`mmroute.training.onnx_export.externalize`):
    names and ONNX Runtime values, read from the MiniLM package and the model's own delta file."""
    meta_file = spec.folder / (spec.file + ".json")
    mapping = json.loads(meta_file.read_text(encoding="utf-8")).get("external_weights") or {}
    if not mapping:
        return [], []
    import onnxruntime as ort
    from safetensors.numpy import load_file

    files = {"delta": spec.folder / spec.delta} if spec.delta else {}
    if any(src == "minilm" for src, _ in mapping.values()):
        files["minilm"] = MINILM_WEIGHTS
    tensors = {label: load_file(str(path)) for label, path in files.items()}
    names, values = [], []
    for name, (src, key) in mapping.items():
        array = tensors[src][key]
        names.append(name)
        values.append(
            ort.OrtValue.ortvalue_from_numpy(
                np.ascontiguousarray(array.astype(_DTYPES.get(array.dtype.str, array.dtype)))
            )
        )
    return names, values


_DTYPES = {"<f2": np.float32}
"""fp16 deltas widen to the fp32 the graph computes in (as PyTorch does when it loads them)."""


_SESSIONS: dict[str, OnnxModel] = {}
_LOCK = threading.Lock()


def onnx_model(name: str) -> OnnxModel | None:
    """The process-wide session for packaged graph ``name``, or None when this process uses PyTorch."""
    if not uses_onnx(name):
        return None
    with _LOCK:
        if name not in _SESSIONS:
            _SESSIONS[name] = OnnxModel(ONNX_MODELS[name])
        return _SESSIONS[name]
