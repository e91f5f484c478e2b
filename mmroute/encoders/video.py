"""Video encoder ``video-frames``: mean-pooled frame embeddings of an image encoder, text fused in.

Frames are sampled on a fixed grid of ``fps`` frames per second (default 1) aligned to the start
of the file, so overlapping clips share frames; a whole-video item (or a clip with more grid
points than ``max_frames``) takes ``max_frames`` evenly spaced grid points. All frames one batch
needs from one file are decoded in a single forward pass with PyAV, seeking (to the previous
keyframe, then decoding forward) only across gaps longer than ``seek_gap_s``; frames are scaled
down while converting to RGB and embedded once (kept in a small cache across batches).

The item vector is ``normalise(visual_weight * mean(frames) + text_weight * text)``, where the
text vector mixes what is said in the window (``metadata["subtitles"]``, weight ``subtitle_weight``)
with what describes the whole video (title + description, weight ``context_weight``). Subtitles
weigh more by default because they tell clips apart; a description is the same for every clip.

>>> enc = ENCODERS.create("video-frames", fps=1.0)
>>> enc.encode_items(VideoLoader().load(Path("bbb.mp4"), [Granularity.CLIP]).items).shape
(30, 384)
"""

from __future__ import annotations

import math
import os
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, ItemError
from ..types import EncoderSpec, Item, Modality
from .base import create_encoder, normalize
from .image import ImageEncoderBase, check_fusion_weights, fuse

FRAME_SHORT_SIDE = 256
"""Frames are scaled so their short side is this many pixels while converting to RGB (CLIP and
ConSE both crop 224 px; decoding 1080p to full-size RGB would only waste time)."""


class FrameVideoEncoder:
    """Embeds clips and videos by pooling an image encoder's frame vectors; see the module doc.

    ``image_encoder`` is a registered image encoder name (``conse`` by default, or ``open-clip``,
    ``hf-clip``) and ``image_options`` its options; queries are encoded by that encoder, so the
    same text query reaches image and video KBs built on it.
    """

    modality = Modality.VIDEO

    def __init__(
        self,
        image_encoder: str = "conse",
        image_options: Mapping[str, Any] | None = None,
        *,
        fps: float = 1.0,
        max_frames: int = 32,
        visual_weight: float = 0.8,
        text_weight: float = 0.2,
        subtitle_weight: float = 1.0,
        context_weight: float = 0.5,
        seek_gap_s: float = 5.0,
        cache_frames: int = 20_000,
    ) -> None:
        if not (float(fps) > 0):
            raise ConfigError(f"fps must be positive, got {fps}", hint="e.g. fps=1.0")
        if int(max_frames) < 1:
            raise ConfigError(f"max_frames must be at least 1, got {max_frames}")
        self.visual_weight, self.text_weight = check_fusion_weights(visual_weight, text_weight)
        if float(subtitle_weight) < 0 or float(context_weight) < 0:
            raise ConfigError("subtitle_weight and context_weight must be non-negative")
        self.image_encoder_name = image_encoder
        self.image_options = dict(image_options or {})
        self.fps = float(fps)
        self.max_frames = int(max_frames)
        self.subtitle_weight = float(subtitle_weight)
        self.context_weight = float(context_weight)
        self.seek_gap_s = float(seek_gap_s)
        self._cache: OrderedDict[tuple[str, float], np.ndarray] = OrderedDict()
        self._cache_size = int(cache_frames)
        self._image: ImageEncoderBase | None = None
        self._lock = threading.RLock()

    # -- Encoder protocol ------------------------------------------------------------------------
    @property
    def spec(self) -> EncoderSpec:
        return EncoderSpec(
            "video-frames",
            {
                "image_encoder": self.image_encoder_name,
                "image_options": dict(self.image_options),
                "fps": self.fps,
                "max_frames": self.max_frames,
                "visual_weight": self.visual_weight,
                "text_weight": self.text_weight,
                "subtitle_weight": self.subtitle_weight,
                "context_weight": self.context_weight,
            },
        )

    @property
    def image(self) -> ImageEncoderBase:
        with self._lock:
            if self._image is None:
                enc = create_encoder(EncoderSpec(self.image_encoder_name, self.image_options))
                if not isinstance(enc, ImageEncoderBase):
                    raise ConfigError(
                        f"{self.image_encoder_name!r} is not an image encoder", hint="use conse, open-clip or hf-clip"
                    )
                self._image = enc
            return self._image

    @property
    def dim(self) -> int:
        return self.image.dim

    def warm_up(self) -> None:
        self.image.warm_up()

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.image.encode_queries(texts)

    def encode_image_queries(self, paths: Sequence[Path]) -> np.ndarray:
        return self.image.encode_image_queries(paths)

    def encode_items(self, items: Sequence[Item]) -> np.ndarray:
        self.warm_up()
        if not items:
            return np.zeros((0, self.dim), np.float32)
        times = [self.frame_times(it) for it in items]
        by_source: dict[str, set[float]] = {}
        for it, ts in zip(items, times):
            by_source.setdefault(self._source(it), set()).update(ts)
        frames: dict[tuple[str, float], np.ndarray] = {}
        for src, src_times in by_source.items():
            frames.update(self._frame_vectors(src, sorted(src_times)))
        visual = np.zeros((len(items), self.dim), np.float32)
        for row, (it, ts) in enumerate(zip(items, times)):
            src = self._source(it)
            vecs = [frames[(src, t)] for t in ts if (src, t) in frames]
            if not vecs:
                raise ItemError(
                    f"{src}: no frame could be decoded between {it.start_s or 0:.1f}s and "
                    f"{it.end_s or 0:.1f}s (item {it.id!r}); the file may be truncated",
                    source=src,
                )
            visual[row] = np.mean(vecs, axis=0)
        text, has = self._text_vectors(items)
        return fuse(visual, text, has, self.visual_weight, self.text_weight)

    # -- frames ----------------------------------------------------------------------------------
    @staticmethod
    def _source(item: Item) -> str:
        return str(item.source or item.id.split("#", 1)[0])

    def frame_times(self, item: Item) -> list[float]:
        """Grid times (seconds) sampled for an item: every 1/fps inside its span, at most ``max_frames``."""
        start = float(item.start_s or 0.0)
        end = item.end_s
        if end is None:
            end = float((item.metadata or {}).get("duration_s") or start + 1.0 / self.fps)
        end = max(float(end), start)
        step = 1.0 / self.fps
        first = math.ceil(start / step - 1e-9)
        last = math.floor((end - 1e-9) / step) if end > start else first
        grid = [round(k * step, 4) for k in range(first, max(last, first) + 1)]
        grid = [t for t in grid if t < end or t == grid[0]] or [round(start, 4)]
        if len(grid) > self.max_frames:
            idx = np.linspace(0, len(grid) - 1, self.max_frames).round().astype(int)
            grid = [grid[i] for i in sorted(set(idx.tolist()))]
        return grid

    def _frame_vectors(self, src: str, times: list[float]) -> dict[tuple[str, float], np.ndarray]:
        key_src = _file_key(src)
        out: dict[tuple[str, float], np.ndarray] = {}
        todo = []
        with self._lock:
            for t in times:
                v = self._cache.get((key_src, t))
                if v is not None:
                    self._cache.move_to_end((key_src, t))
                    out[(src, t)] = v
                else:
                    todo.append(t)
        if not todo:
            return out
        decoded = decode_frames(src, todo, seek_gap_s=self.seek_gap_s)
        if decoded:
            ts = [t for t, _ in decoded]
            vecs = self.image.encode_images([im for _, im in decoded])
            with self._lock:
                for t, v in zip(ts, vecs):
                    out[(src, t)] = v
                    self._cache[(key_src, t)] = v
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return out

    # -- text ------------------------------------------------------------------------------------
    def _text_vectors(self, items: Sequence[Item]) -> tuple[np.ndarray, list[bool]]:
        subs: list[list[str]] = []
        ctxs: list[list[str]] = []
        for it in items:
            meta = it.metadata or {}
            if "subtitles" in meta or "description" in meta:
                sub = str(meta.get("subtitles") or "")
                ctx = " ".join(p for p in (it.title or "", str(meta.get("description") or "")) if p).strip()
            else:
                sub, ctx = it.text, (it.title or "")
            subs.append(_chunks(sub))
            ctxs.append(_chunks(ctx))
        sub_vecs, has_sub = self.image.caption_vectors(subs)
        ctx_vecs, has_ctx = self.image.caption_vectors(ctxs)
        text = (
            self.subtitle_weight * sub_vecs * np.asarray(has_sub, np.float32)[:, None]
            + self.context_weight * ctx_vecs * np.asarray(has_ctx, np.float32)[:, None]
        )
        has = [(s and self.subtitle_weight > 0) or (c and self.context_weight > 0) for s, c in zip(has_sub, has_ctx)]
        return normalize(text), has


def _chunks(text: str, words: int = 120) -> list[str]:
    """Long transcripts are embedded in ~120-word pieces and averaged (MiniLM reads 256 tokens)."""
    w = text.split()
    return [" ".join(w[i : i + words]) for i in range(0, len(w), words)]


def _file_key(src: str) -> str:
    try:
        st = os.stat(src)
        return f"{os.path.realpath(src)}:{st.st_size}:{st.st_mtime_ns}"
    except OSError:
        return src


def decode_frames(
    src: str, times: Sequence[float], *, seek_gap_s: float = 5.0, short_side: int = FRAME_SHORT_SIDE
) -> list[tuple[float, Any]]:
    """RGB PIL frames at (or just after) each of ``times`` (sorted seconds), in one pass over ``src``.

    Times past the last decodable frame are dropped. Raises :class:`ItemError` naming the file
    when it cannot be opened or decoding fails.
    """
    import av

    wanted = sorted(set(times))
    out: list[tuple[float, Any]] = []
    if not wanted:
        return out
    try:
        container = av.open(src)
    except (av.error.FFmpegError, OSError) as e:
        raise ItemError(
            f"{src}: cannot open video ({getattr(e, 'strerror', None) or e})",
            source=src,
            hint="the file is corrupt, truncated or not a video",
        ) from e
    try:
        with container:
            if not container.streams.video:
                raise ItemError(f"{src}: no video stream", source=src)
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            tb = float(stream.time_base) if stream.time_base else 1e-3
            i = 0
            pos = -1.0  # time of the last decoded frame
            gen: Any = None
            last_frame: Any = None
            rate = float(stream.average_rate) if stream.average_rate else 0.0
            frame_s = 1.0 / rate if rate > 0 else 0.25
            while i < len(wanted):
                target = wanted[i]
                if gen is None or target - pos > seek_gap_s:
                    container.seek(int(max(target - 0.001, 0.0) / tb), stream=stream, backward=True)
                    gen = container.decode(stream)
                found = False
                for frame in gen:
                    t = float(frame.time) if frame.time is not None else pos + 1e-3
                    pos = t
                    last_frame = frame
                    if t + 1e-3 >= target:
                        image = _to_pil(frame, short_side)
                        # this frame also serves later targets it reaches (grids finer than the frame rate)
                        while i < len(wanted) and wanted[i] <= t + 1e-3:
                            out.append((wanted[i], image))
                            i += 1
                        found = True
                        break
                if not found:
                    # end of stream: a target within one frame of the last frame still gets it
                    last_image = _to_pil(last_frame, short_side) if last_frame is not None else None
                    while i < len(wanted) and last_image is not None and wanted[i] - pos <= frame_s:
                        out.append((wanted[i], last_image))
                        i += 1
                    break  # the remaining times lie past the last frame
    except ItemError:
        raise
    except (av.error.FFmpegError, OSError, ValueError) as e:
        if out:
            return out  # decoding broke midway (e.g. truncated data): keep what decoded
        raise ItemError(
            f"{src}: video decoding failed ({e})", source=src, hint="the file is corrupt or truncated"
        ) from e
    return out


def _to_pil(frame: Any, short_side: int) -> Any:
    w, h = frame.width, frame.height
    s = short_side / min(w, h)
    if s < 1.0:
        w, h = max(1, round(w * s)), max(1, round(h * s))
        return frame.to_image(width=w, height=h)
    return frame.to_image()
