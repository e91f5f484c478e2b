"""``hf-clip``: a transformers CLIP model as an image encoder (images and text in CLIP's space)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelUnavailableError
from .base import normalize, resolve_device
from .image import ImageEncoderBase


class HFClipEncoder(ImageEncoderBase):
    """A transformers ``CLIPModel`` + ``CLIPProcessor`` from a local directory or a hub name.

    >>> enc = HFClipEncoder(model="/models/clip-vit-base-patch32")
    """

    registered_name = "hf-clip"

    def __init__(self, model: str = "openai/clip-vit-base-patch32", **options: Any) -> None:
        super().__init__(**options)
        self.model = model
        self._net: Any = None

    def _options(self) -> dict[str, Any]:
        return {**super()._options(), "model": self.model}

    def _load(self) -> None:
        from ..inference.extras import require_torch

        require_torch("the hf-clip image encoder", extra="clip")
        from transformers import CLIPModel, CLIPProcessor
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        local = Path(self.model).exists()
        try:
            net = CLIPModel.from_pretrained(self.model, local_files_only=local)
            self._processor = CLIPProcessor.from_pretrained(self.model, local_files_only=local)
        except OSError as e:
            raise ModelUnavailableError(
                f"cannot load CLIP model {self.model!r}: {e.__class__.__name__}",
                hint="give a local directory saved with save_pretrained, or a hub name on a machine that can reach the hub",
            ) from e
        self._device = resolve_device(self.device)
        self._net = net.eval().to(self._device)
        dim = net.config.projection_dim
        if not dim:
            raise ModelUnavailableError(f"CLIP model {self.model!r} has no projection_dim in its config")
        self._dim = int(dim)

    @staticmethod
    def _features(out: Any) -> Any:
        return out if hasattr(out, "float") else out.pooler_output

    def _embed_images(self, images: list[Any]) -> np.ndarray:
        import torch

        batch = self._processor(images=images, return_tensors="pt")
        with torch.inference_mode():
            out = self._net.get_image_features(pixel_values=batch["pixel_values"].to(self._device))
        return normalize(self._features(out).float().cpu().numpy())

    def _embed_texts(self, texts: list[str]) -> np.ndarray:
        import torch

        out = []
        max_len = int(getattr(self._net.config.text_config, "max_position_embeddings", 77))
        for s in range(0, len(texts), self.batch_size):
            batch = self._processor(
                text=texts[s : s + self.batch_size],
                padding=True,
                truncation=True,
                max_length=max_len,
                return_tensors="pt",
            )
            with torch.inference_mode():
                feats = self._net.get_text_features(
                    input_ids=batch["input_ids"].to(self._device),
                    attention_mask=batch["attention_mask"].to(self._device),
                )
            out.append(self._features(feats).float().cpu().numpy())
        return normalize(np.concatenate(out, axis=0))
