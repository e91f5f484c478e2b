"""The encoder role: turn items and queries into unit vectors of one space.

Every KB is encoded by one encoder (recorded in its manifest by :class:`mmroute.types.EncoderSpec`).
Queries for that KB are encoded by the same encoder's :meth:`Encoder.encode_queries`, so text
queries can reach images and videos when the encoder maps both into one space.

Constructors are light; weights load in :meth:`Encoder.warm_up` (called lazily on first use).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..registry import Registry
from ..types import EncoderSpec, Item, Modality


@runtime_checkable
class Encoder(Protocol):
    """Maps items of one modality, and text (or image) queries, to L2-normalised float32 vectors."""

    modality: Modality
    """The modality of items this encoder indexes."""

    @property
    def dim(self) -> int: ...

    @property
    def spec(self) -> EncoderSpec:
        """Registered name + options; ``ENCODERS.create(spec.name, **spec.options)`` rebuilds it."""
        ...

    def warm_up(self) -> None: ...

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """(n, dim) vectors for text queries against items encoded by :meth:`encode_items`."""
        ...

    def encode_items(self, items: Sequence[Item]) -> np.ndarray:
        """(n, dim) vectors for items. Raises :class:`mmroute.errors.ItemError` naming a bad item."""
        ...

    def encode_image_queries(self, paths: Sequence[Path]) -> np.ndarray:
        """(n, dim) vectors for query images. Text-only encoders raise ``NotImplementedError``."""
        ...


ENCODERS: Registry[Encoder] = Registry(
    "encoder",
    {
        "hashing": "mmroute.encoders.hashing:HashingTextEncoder",
        "minilm": "mmroute.encoders.text:create_minilm",
        "hf-text": "mmroute.encoders.text:create_hf_text",
        "conse": "mmroute.encoders.conse:create_conse",
        "conse-efficientnet": "mmroute.encoders.conse:create_conse_efficientnet",
        "open-clip": "mmroute.encoders.openclip:OpenClipEncoder",
        "hf-clip": "mmroute.encoders.hf_clip:HFClipEncoder",
        "video-frames": "mmroute.encoders.video:FrameVideoEncoder",
    },
)
"""Encoders by name; factories take keyword options (all JSON-serialisable)."""


def create_encoder(spec: EncoderSpec | str, **options: Any) -> Encoder:
    if isinstance(spec, str):
        spec = EncoderSpec(spec, options)
    return ENCODERS.create(spec.name, **dict(spec.options))


def resolve_device(device: str) -> str:
    """``auto`` -> ``cuda`` when torch sees a GPU, else ``cpu``; any other value is returned as given."""
    if device != "auto":
        return device
    try:
        import torch
    except ImportError:  # the base install runs everything on ONNX Runtime, on the CPU
        return "cpu"

    return "cuda" if torch.cuda.is_available() else "cpu"


def mean_pool(hidden: Any, attention_mask: Any) -> Any:
    """Mean of a transformer's token states over the real (unpadded) tokens: (batch, dim) tensor."""
    m = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)


def normalize(v: np.ndarray) -> np.ndarray:
    """Row-wise L2 normalisation to float32; zero rows stay zero."""
    v = np.asarray(v, dtype=np.float32)
    if v.ndim == 1:
        v = v[None, :]
    n = np.linalg.norm(v, axis=1, keepdims=True)
    n[n == 0] = 1.0
    return (v / n).astype(np.float32)
