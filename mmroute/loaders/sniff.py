"""Looking inside a file before trusting its extension: binary "text", corrupt images, corrupt videos.

An extension says what a file should be, not what it is. These checks read what they need to tell
(the first 8 KB of a text file; an image's header, then its pixels at the smallest scale the format
allows; a video's container and a decoded frame) and return why the file cannot be indexed, or None.
The loaders call them on every file; :func:`mmroute.loaders.detect.plan_sources` calls
:func:`file_problem` before it decides which modality a mixed folder holds, so junk never decides it.

>>> text_problem(Path("notes.txt"))          # b"\\x00\\x01\\x02binary"
'binary file, not UTF-8 text (it holds NUL bytes)'
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from ..limits import max_image_pixels
from ..types import Modality

SNIFF_BYTES = 8192
"""How much of a text file is read to tell text from binary."""
MAX_CONTROL_SHARE = 0.1
"""A text sample with more control characters than this share (NUL aside: one is enough) is binary."""
_TEXT_CONTROLS = frozenset("\t\n\r\f\v\x1b")
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def text_problem(path: Path, strict_utf8: bool = True) -> str | None:
    """Why ``path`` is not UTF-8 text (NUL bytes, UTF-16, control characters, undecodable bytes in its
    first 8 KB), or None. ``strict_utf8=False`` lets undecodable bytes through (JSON Lines reports them
    line by line, keeping the good lines)."""
    with open(path, "rb") as f:
        head = f.read(SNIFF_BYTES)
    if not head:
        return None
    if head.startswith(_UTF16_BOMS):
        return "UTF-16 text, not UTF-8 (save it as UTF-8)"
    if b"\x00" in head:
        return "binary file, not UTF-8 text (it holds NUL bytes)"
    try:
        sample = head.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        if e.reason == "unexpected end of data" and e.start >= len(head) - 3:  # a character cut by the sample
            sample = head[: e.start].decode("utf-8-sig")
        elif strict_utf8:
            return (
                f"not UTF-8 text (byte 0x{head[e.start]:02x} at offset {e.start:,}): a binary file, or text in "
                "another encoding (save it as UTF-8)"
            )
        else:
            sample = head.decode("utf-8-sig", errors="replace")
    controls = sum(1 for c in sample if (c < " " or c == "\x7f") and c not in _TEXT_CONTROLS)
    if sample and controls > MAX_CONTROL_SHARE * len(sample):
        return f"binary file, not text ({controls} control characters in its first {len(head):,} bytes)"
    return None


def image_check(path: Path, max_pixels: int | None = None) -> tuple[dict[str, Any] | None, str | None]:
    """``({"width", "height", "format", "frames"}, None)`` for a usable image, else ``(None, why)``.

    The size comes from the header and is checked against ``max_pixels`` (default
    :func:`mmroute.limits.max_image_pixels`) before any pixel is decoded, so a decompression bomb costs
    nothing; then the file is verified (chunk checksums) and decoded (a JPEG at 1/8 scale), so a
    truncated or damaged file is reported here, by name, rather than when it is encoded.
    """
    from PIL import Image, UnidentifiedImageError

    limit = max_image_pixels() if max_pixels is None else int(max_pixels)
    pillow_allows(limit)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's notes on damaged metadata: what matters is reported below
            with Image.open(path) as im:
                w, h = im.size
                fmt = im.format
                frames = int(getattr(im, "n_frames", 1) or 1)
                if w * h > limit:
                    return None, bomb_message(w, h, limit)
                im.verify()
            if w <= 0 or h <= 0:
                return None, f"image has no pixels ({w}x{h})"
            if fmt != "PNG":  # verify() read every PNG chunk's checksum; other formats are decoded to be sure
                with Image.open(path) as im:
                    if fmt == "JPEG":
                        im.draft("RGB", (max(1, w // 8), max(1, h // 8)))
                    im.seek(0)
                    im.load()
    except Image.DecompressionBombError as e:
        return None, f"image refused as a decompression bomb ({e}); raise $MMROUTE_MAX_IMAGE_PIXELS if it is genuine"
    except UnidentifiedImageError:
        return None, "corrupt image: not a readable image (damaged, or not an image despite its extension)"
    except MemoryError:
        return None, "image too large to decode in memory (a decompression bomb?)"
    except Exception as e:  # noqa: BLE001 - Pillow's parsers raise struct.error, IndexError... on damaged files
        return None, f"corrupt image: {e or e.__class__.__name__}"
    return {"width": w, "height": h, "format": fmt, "frames": frames}, None


def check_image_file(path: Path, shown: str | None = None) -> Path:
    """``path`` when it is a usable image; else :class:`InputError` naming it as ``shown`` (default the path
    as given): a query image, an upload. A decompression bomb is refused from its header."""
    from ..errors import InputError
    from .images import IMAGE_EXTENSIONS

    _, problem = image_check(Path(path))
    suffix = Path(path).suffix.lower()
    if problem is not None and problem.startswith("corrupt image: not a readable") and suffix not in IMAGE_EXTENSIONS:
        kind = f"a {suffix} file" if suffix else "a file without an extension"  # README.md read as a "corrupt image"
        raise InputError(
            f"{shown or path}: not an image ({kind})",
            hint="give a photo: " + ", ".join(sorted(e for e in IMAGE_EXTENSIONS if e not in (".jpeg", ".tiff"))),
        )
    if problem is not None:
        raise InputError(f"{shown or path}: {problem}", hint="use another image")
    return Path(path)


def pillow_allows(limit: int) -> None:
    """Let Pillow open images up to ``limit`` pixels when the configured limit is above its own hard limit
    (2x ``Image.MAX_IMAGE_PIXELS``): the callers check ``limit`` from the header themselves."""
    from PIL import Image

    current = Image.MAX_IMAGE_PIXELS
    if current is not None and limit > 2 * current:
        Image.MAX_IMAGE_PIXELS = limit // 2 + 1


def bomb_message(w: int, h: int, limit: int) -> str:
    return (
        f"image is {w}x{h} ({w * h / 1e6:,.0f} megapixels), over the {limit / 1e6:,.0f} megapixel limit "
        "(a decompression bomb?); if it is genuine, raise $MMROUTE_MAX_IMAGE_PIXELS"
    )


def video_problem(path: Path) -> str | None:
    """Why ``path`` is not a readable video (empty, no container, no decodable frame), or None."""
    from .video import _av_reason, probe_video

    try:
        if Path(path).stat().st_size == 0:
            return "file is empty"
        probe = probe_video(Path(path))
    except OSError as e:
        return f"cannot read: {e.strerror or e}"
    except ValueError as e:
        return str(e)
    except Exception as e:  # noqa: BLE001 - FFmpeg errors on damaged containers that probe_video did not wrap
        return f"cannot decode video ({_av_reason(e)}); the file is corrupt"
    if probe.duration_s <= 0:
        return "video has no duration (no frames?)"
    return None


def file_problem(path: Path, modality: Modality) -> str | None:
    """Why ``path`` cannot be indexed as ``modality`` (see the module doc), or None."""
    try:
        if modality is Modality.TEXT:
            return text_problem(path, strict_utf8=path.suffix.lower() not in (".jsonl", ".ndjson"))
        if modality is Modality.IMAGE:
            return image_check(path)[1]
        if modality is Modality.VIDEO:
            return video_problem(path)
    except OSError as e:
        return f"cannot read: {e.strerror or e}"
    return None
