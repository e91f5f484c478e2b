"""``open-clip``: any open_clip model as an image encoder (images and text in CLIP's space)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, ModelUnavailableError
from .base import normalize, resolve_device
from .image import ImageEncoderBase


class OpenClipEncoder(ImageEncoderBase):
    """An open_clip model: ``model`` (e.g. ``ViT-B-32``) with ``pretrained`` (a tag such as
    ``laion2b_s34b_b79k``, downloaded by open_clip where a hub is reachable, or a local checkpoint path).

    ``model_config`` names a JSON model config file (or folder of them) to register first, for
    architectures open_clip does not ship; ``model`` is then its file stem.

    >>> enc = OpenClipEncoder(model="ViT-B-32", pretrained="/models/vit-b-32.pt")
    """

    registered_name = "open-clip"

    def __init__(
        self, model: str = "ViT-B-32", pretrained: str | None = None, *, model_config: str | None = None, **options: Any
    ) -> None:
        super().__init__(**options)
        self.model = model
        self.pretrained = pretrained
        self.model_config = model_config
        self._net: Any = None

    def _options(self) -> dict[str, Any]:
        opts = {**super()._options(), "model": self.model, "pretrained": self.pretrained}
        if self.model_config:
            opts["model_config"] = self.model_config
        return opts

    def _load(self) -> None:
        try:
            import open_clip
        except ImportError as e:
            raise ModelUnavailableError(
                "open_clip is not installed (or torchvision does not import)",
                hint="pip install 'mmroute[clip]' (open-clip-torch with a matching torchvision)",
            ) from e
        if self.model_config:
            if not Path(self.model_config).exists():
                raise ConfigError(f"open_clip model config {self.model_config!r} not found")
            open_clip.add_model_config(self.model_config)
        self._device = resolve_device(self.device)
        try:
            net, _, preprocess = open_clip.create_model_and_transforms(
                self.model, pretrained=self.pretrained, device=self.device if self.device != "auto" else self._device
            )
        except RuntimeError as e:
            raise ModelUnavailableError(
                f"cannot load open_clip model {self.model!r} with pretrained={self.pretrained!r}: {e}",
                hint="offline, pass pretrained=/path/to/checkpoint.pt (open_clip cannot download tags without a hub)",
            ) from e
        self._net = net.eval()
        self._preprocess = preprocess
        self._tokenizer = open_clip.get_tokenizer(self.model)
        self._dim = int(getattr(net.visual, "output_dim", 0) or self._embed_texts(["x"]).shape[1])

    def _embed_images(self, images: list[Any]) -> np.ndarray:
        import torch

        x = torch.stack([self._preprocess(im) for im in images]).to(self._device)
        with torch.inference_mode():
            return normalize(self._net.encode_image(x).float().cpu().numpy())

    def _embed_texts(self, texts: list[str]) -> np.ndarray:
        import torch

        out = []
        for s in range(0, len(texts), self.batch_size):
            tokens = self._tokenizer(texts[s : s + self.batch_size]).to(self._device)
            with torch.inference_mode():
                out.append(self._net.encode_text(tokens).float().cpu().numpy())
        return normalize(np.concatenate(out, axis=0))
