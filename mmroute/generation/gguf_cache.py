"""A GGUF model's de-quantised weights, written to the cache once so that later processes need not de-quantise.

transformers turns a GGUF file into float32 tensors on every load: 16-35 s for the SmolLM2-135M that
``smollm2`` uses, on 2 cores, which was most of a one-off ``mmroute ask --generator smollm2``. The same float32
tensors, written as safetensors beside the model's config, generation config and tokenizer, load in under a
second and generate the same text (the tensors are equal, not re-rounded).

The folder is named after the GGUF file, its size and its modification time
(:func:`dequantised_dir`), under ``$MMROUTE_CACHE/gguf`` (default ``~/.cache/mmroute/gguf``; about 520 MB for
SmolLM2-135M). It is written to a temporary folder and renamed into place, so a process that is killed half way
leaves no folder that looks complete; a cache that cannot be written (read-only, full disk) or read (damaged)
costs only the slow load.
"""

from __future__ import annotations

import copy
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ..fsutil import cache_root

log = logging.getLogger(__name__)

CACHE_FOLDER = "gguf"
"""The cache's sub-folder for de-quantised GGUF models."""
WEIGHTS = "model.safetensors"
"""The weights file of a de-quantised copy (what :func:`is_complete` looks for, with ``config.json``)."""


def dequantised_dir(gguf_path: Path) -> Path:
    """Where the de-quantised copy of ``gguf_path`` is kept: a new file (another size or time) gets a new folder."""
    st = gguf_path.stat()
    return cache_root() / CACHE_FOLDER / f"{gguf_path.stem}-{st.st_size}-{st.st_mtime_ns}"


def is_complete(folder: Path) -> bool:
    """Whether ``folder`` holds a finished copy (it only ever appears whole: :func:`save_dequantised`)."""
    return (folder / WEIGHTS).is_file() and (folder / "config.json").is_file()


def save_dequantised(tokenizer: Any, model: Any, folder: Path) -> bool:
    """Write ``model`` (de-quantised from a GGUF file) and ``tokenizer`` to ``folder`` for
    ``from_pretrained``; True when ``folder`` holds a complete copy afterwards (this one or one another process
    wrote first), False when it cannot be written (logged; the caller goes on with the model in memory).

    transformers refuses ``save_pretrained`` on a model loaded from GGUF ("quantized ... not serializable"),
    though its tensors are plain float32: the weights are written with safetensors, and the config without its
    GGUF quantisation entry, so that loading the copy reads ordinary safetensors."""
    from safetensors.torch import save_model

    tmp: Path | None = None
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.", suffix=".tmp"))
        config = copy.deepcopy(model.config)
        if hasattr(config, "quantization_config"):
            delattr(config, "quantization_config")
        config.save_pretrained(tmp)
        if getattr(model, "generation_config", None) is not None:
            model.generation_config.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        save_model(model, str(tmp / WEIGHTS))  # tied embeddings are written once
        os.chmod(tmp / WEIGHTS, 0o644)  # ordinary files in an ordinary folder, like the rest of the cache
        os.chmod(tmp, 0o755)
        os.rename(tmp, folder)  # atomic; fails when another process has put a copy there first
        return True
    except OSError as e:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        if is_complete(folder):
            return True
        log.warning("could not keep the de-quantised model in %s (%s); the next load de-quantises again", folder, e)
        return False


def discard(folder: Path, why: BaseException) -> None:
    """Remove a copy that failed to load (a damaged file), so that the next load writes a new one."""
    log.warning("the de-quantised model in %s did not load (%s); de-quantising the GGUF file again", folder, why)
    shutil.rmtree(folder, ignore_errors=True)
