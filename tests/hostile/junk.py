"""Hostile files, made for real on disk: binary "text", a truncated JPEG, a garbage .mp4, PNG bombs."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np

BINARY_NOTES = b"\x00\x01\x02binary"
"""The reported ``notes.txt``: once indexed as the text "\\u0000\\u0001\\u0002binary"."""


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def noise_jpeg(path: Path, size: tuple[int, int] = (320, 240)) -> Path:
    from PIL import Image

    arr = np.random.default_rng(0).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path, quality=90)
    return path


def truncated_jpeg(path: Path) -> Path:
    """A JPEG whose header is whole (it opens, and has a size) but whose pixels stop at 60 %."""
    noise_jpeg(path)
    data = path.read_bytes()
    return write(path, data[: int(len(data) * 0.6)])


def garbage_mp4(path: Path) -> Path:
    """An ``ftyp`` box, then noise: it looks like an mp4 for 16 bytes."""
    noise = np.random.default_rng(1).integers(0, 255, 4000, dtype=np.uint8).tobytes()
    return write(path, b"\x00\x00\x00\x18ftypmp42" + noise)


def png_bomb(path: Path, width: int = 50_000, height: int = 50_000) -> Path:
    """A small real PNG whose header was patched (checksum fixed) to claim ``width`` x ``height`` pixels:
    10 GB as RGBA if anything decoded it."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 10, 10)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return write(path, bytes(data))


def png(path: Path, size: tuple[int, int], color: tuple[int, int, int] = (30, 120, 200)) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)
    return path
