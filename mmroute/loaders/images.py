"""Image files -> image items, with captions gathered from sidecars. Pixels are decoded only to check the file.

Captions come from, in this order (duplicates dropped):

1. ``NAME.txt`` next to the image (the whole file is one caption);
2. ``NAME.json`` next to the image: string (or list of strings) fields ``caption``, ``captions``,
   ``alt``, ``alt_text``, ``description``, ``title``;
3. a folder-level ``captions.json`` in the image's folder or any folder above it up to the parent
   of the input root: a list of records (or a mapping ``relpath -> record``) naming the file in
   ``image``/``file``/``path``/``filename`` (relative to the ``captions.json`` folder, or a bare
   file name); every string field whose key mentions caption/description/alt/title is taken
   (e.g. ``clip_notebook_caption``, ``imageio_caption``), licence notes are not;
4. the image's own metadata: EXIF ImageDescription, PNG ``Title``/``Description`` text chunks.

Each image is validated (its pixel count read from the header and checked against ``max_pixels``
before anything is decoded, then verified and decoded by Pillow, a JPEG at 1/8 scale), so a corrupt or
truncated file or a decompression bomb becomes a problem naming the file and the rest load.

>>> res = ImageLoader().load(Path("photos"), [Granularity.IMAGE], root=Path("photos"))
>>> res.items[0].id, res.items[0].captions
('cat.jpg', ('a tabby cat on a sofa',))
"""

from __future__ import annotations

import json
import re
import threading
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..limits import DEFAULT_MAX_IMAGE_PIXELS, max_image_pixels
from ..types import Granularity, Item, Modality
from .base import LoadProblem, LoadResult, relative_id, walk_files
from .sniff import image_check

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff"})
DEFAULT_MAX_PIXELS = DEFAULT_MAX_IMAGE_PIXELS
"""Pillow's own hard limit (2x ``Image.MAX_IMAGE_PIXELS``): about 13,000 x 13,000 pixels."""
MAX_SIDECAR_BYTES = 20 * 1024**2
FOLDER_INDEX_NAMES = ("captions.json",)
_SIDECAR_KEYS = ("caption", "captions", "alt", "alt_text", "description", "title")
_CAPTION_WORDS = ("caption", "description", "title", "label")
_SKIP_WORDS = ("licen", "sha", "source", "url", "path")
# Camera/software boilerplate found in EXIF ImageDescription instead of a real description.
_BOILERPLATE = re.compile(
    r"^(?:file written by|olympus digital camera|sony dsc|digital camera|default|untitled|image)\b|^\W*$", re.I
)
_FILE_KEYS = ("image", "file", "path", "filename", "file_name", "video")


def caption_fields(record: Mapping[str, Any], keys: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """(key, text) pairs of the caption-like string fields of a sidecar record, in record order.

    With ``keys`` only those keys are taken; otherwise any key that mentions caption, description,
    alt, title or label (and is not a licence note, hash, URL or path).
    """
    out: list[tuple[str, str]] = []
    wanted = set(keys) if keys is not None else None
    for key, value in record.items():
        k = str(key).lower()
        if wanted is not None:
            if k not in wanted:
                continue
        else:
            parts = re.split(r"[_\-\s.]+", k)
            if not (any(p.startswith(_CAPTION_WORDS) for p in parts) or "alt" in parts):
                continue
            if any(p.startswith(_SKIP_WORDS) or p in ("note", "notes") for p in parts):
                continue
        values = value if isinstance(value, list) else [value]
        for v in values:
            if isinstance(v, str) and v.strip():
                out.append((k, " ".join(v.split())))
    return out


def dedupe(texts: Iterable[str]) -> tuple[str, ...]:
    seen: set[str] = set()
    out = []
    for t in texts:
        key = t.strip().lower().rstrip(".")
        if key and key not in seen:
            seen.add(key)
            out.append(t.strip())
    return tuple(out)


def _read_json(path: Path) -> Any:
    if path.stat().st_size > MAX_SIDECAR_BYTES:
        raise ValueError(f"over {MAX_SIDECAR_BYTES // 1024**2} MB")
    return json.loads(path.read_text(encoding="utf-8-sig"))


class FolderIndex:
    """Records of one folder-level sidecar (``captions.json``), keyed by resolved path and by file name."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.by_path: dict[Path, dict[str, Any]] = {}
        self.by_name: dict[str, list[dict[str, Any]]] = {}
        self.error: str | None = None
        try:
            data = _read_json(path)
        except (OSError, ValueError) as e:
            self.error = f"cannot read caption index: {e}"
            return
        base = path.parent.resolve()
        for rel, rec in self._records(data):
            target = (base / rel).resolve()
            self.by_path.setdefault(target, rec)
            self.by_name.setdefault(Path(rel).name, []).append(rec)

    @staticmethod
    def _records(data: Any) -> Iterable[tuple[str, dict[str, Any]]]:
        if isinstance(data, dict):
            # {relpath: "caption"}, {relpath: {...}}, {"images": [...]}, or {"any": {"file": relpath, ...}}
            for key, v in data.items():
                if isinstance(v, str):
                    yield str(key), {"caption": v}
                elif isinstance(v, list):
                    yield from FolderIndex._records(v)
                elif isinstance(v, dict):
                    rel = next((v[k] for k in _FILE_KEYS if isinstance(v.get(k), str) and v.get(k)), None)
                    yield (rel or str(key)), v
        elif isinstance(data, list):
            for rec in data:
                if not isinstance(rec, dict):
                    continue
                rel = next((rec[k] for k in _FILE_KEYS if isinstance(rec.get(k), str) and rec.get(k)), None)
                if rel:
                    yield rel, rec

    def lookup(self, file: Path) -> dict[str, Any] | None:
        rec = self.by_path.get(file.resolve())
        if rec is not None:
            return rec
        by_name = self.by_name.get(file.name) or []
        return by_name[0] if len(by_name) == 1 else None


_INDEX_CACHE: dict[tuple[str, int, int], FolderIndex] = {}
_INDEX_LOCK = threading.Lock()


def folder_index(path: Path) -> FolderIndex:
    """Parsed ``captions.json`` (cached per path, size and mtime: loaders run once per file)."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    with _INDEX_LOCK:
        idx = _INDEX_CACHE.get(key)
        if idx is None:
            if len(_INDEX_CACHE) > 256:
                _INDEX_CACHE.clear()
            idx = _INDEX_CACHE[key] = FolderIndex(path)
        return idx


def folder_index_files(file: Path, root: Path | None, names: Sequence[str] = FOLDER_INDEX_NAMES) -> list[Path]:
    """The folder-level sidecars (``names``) that may describe ``file``: in its folder and each folder above it up
    to ``root``'s parent, nearest first."""
    file = file.resolve()
    stop = Path(root).resolve().parent if root is not None else file.parent
    found: list[Path] = []
    folder = file.parent
    while True:
        found.extend(p for p in (folder / name for name in names) if p.is_file())
        if folder == stop or folder.parent == folder or stop not in folder.parents:
            return found
        folder = folder.parent


def folder_records(
    file: Path, root: Path | None, names: Sequence[str] = FOLDER_INDEX_NAMES
) -> tuple[list[dict[str, Any]], list[LoadProblem]]:
    """Records describing ``file`` in folder-level sidecars from its folder up to ``root``'s parent."""
    file = file.resolve()
    records: list[dict[str, Any]] = []
    problems: list[LoadProblem] = []
    for p in folder_index_files(file, root, names):
        idx = folder_index(p)
        if idx.error:
            problems.append(LoadProblem(str(p), idx.error))
        elif (rec := idx.lookup(file)) is not None:
            records.append(rec)
    return records, problems


class ImageLoader:
    """Loads image files (or a folder of them, recursively) as image items with their captions.

    ``max_pixels`` rejects decompression bombs (huge images that would exhaust memory when decoded); by
    default ``$MMROUTE_MAX_IMAGE_PIXELS`` or 178,956,970 (:func:`mmroute.limits.max_image_pixels`).
    """

    modality = Modality.IMAGE.value
    extensions = IMAGE_EXTENSIONS

    def __init__(self, max_pixels: int | None = None, **unknown: Any) -> None:
        if unknown:
            raise ConfigError(
                f"image loader options {sorted(unknown)} do not apply to images",
                hint="--clip-seconds/--clip-overlap are for video input",
            )
        self.max_pixels = max_image_pixels() if max_pixels is None else int(max_pixels)

    def load(self, path: Path, granularities: Sequence[Granularity], root: Path | None = None) -> LoadResult:
        path = Path(path)
        result = LoadResult()
        if Granularity.IMAGE not in granularities:
            return result
        if path.is_dir():
            root = root or path
            files = walk_files(path, IMAGE_EXTENSIONS)
        else:
            files = [path]
        for f in files:
            item = self._load_one(f, root if root is not None else f.parent, result)
            if item is not None:
                result.items.append(item)
        return result

    def companions(self, path: Path, root: Path | None = None) -> list[Path]:
        """``NAME.txt``, ``NAME.json`` and the ``captions.json`` files that may hold the image's captions."""
        path = Path(path)
        beside = [p for p in (path.with_suffix(".txt"), path.with_suffix(".json")) if p.is_file()]
        return beside + folder_index_files(path, root if root is not None else path.parent)

    def _load_one(self, path: Path, root: Path, result: LoadResult) -> Item | None:
        src = str(path)
        if path.suffix.lower() not in IMAGE_EXTENSIONS:
            result.problems.append(LoadProblem(src, f"not an image file type ({path.suffix or 'no extension'!r})"))
            return None
        info = self._validate(path, result)
        if info is None:
            return None
        captions: list[str] = []
        title: str | None = None
        txt = path.with_suffix(".txt")
        if txt.is_file():
            try:
                if txt.stat().st_size > MAX_SIDECAR_BYTES:
                    raise ValueError(f"over {MAX_SIDECAR_BYTES // 1024**2} MB")
                text = txt.read_text(encoding="utf-8-sig").strip()
                if text:
                    captions.append(" ".join(text.split()))
            except (OSError, ValueError) as e:  # UnicodeDecodeError is a ValueError
                result.problems.append(LoadProblem(str(txt), f"caption sidecar unreadable: {e}"))
        side = path.with_suffix(".json")
        if side.is_file():
            try:
                rec = _read_json(side)
                if isinstance(rec, dict):
                    fields = caption_fields(rec, _SIDECAR_KEYS)
                    captions.extend(t for _, t in fields)
                    title = next((t for k, t in fields if k == "title"), None)
                else:
                    result.problems.append(LoadProblem(str(side), "caption sidecar is not a JSON object; ignored"))
            except (OSError, ValueError) as e:
                result.problems.append(LoadProblem(str(side), f"caption sidecar unreadable: {e}"))
        records, problems = folder_records(path, root)
        for p in problems:
            if p not in result.problems:
                result.problems.append(p)
        for rec in records:
            fields = caption_fields(rec)
            captions.extend(t for _, t in fields)
            title = title or next((t for k, t in fields if k == "title"), None)
        captions.extend(info.pop("embedded_captions"))
        caps = dedupe(captions)
        return Item(
            id=relative_id(path, root),
            kind=Granularity.IMAGE,
            text="\n".join(caps),
            title=title,
            source=src,
            captions=caps,
            metadata=info,
        )

    def _validate(self, path: Path, result: LoadResult) -> dict[str, Any] | None:
        """The image's size, format and embedded captions; None (and a problem naming the file) when it is
        a decompression bomb (checked from the header), corrupt or truncated (see :func:`.sniff.image_check`)."""
        from PIL import Image

        info, problem = image_check(path, self.max_pixels)
        if info is None:
            result.problems.append(LoadProblem(str(path), str(problem)))
            return None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                with Image.open(path) as im:
                    info["embedded_captions"] = _embedded_captions(im)
        except Exception:  # noqa: BLE001 - it decoded a moment ago; without its metadata it is still an image
            info["embedded_captions"] = []
        return info


def _embedded_captions(im: Any) -> list[str]:
    out: list[str] = []
    try:
        exif = im.getexif()
        desc = exif.get(0x010E)  # ImageDescription
        if isinstance(desc, bytes):
            desc = desc.decode("utf-8", errors="ignore")
        if isinstance(desc, str):
            desc = " ".join(desc.strip("\x00").split())
            if desc and not _BOILERPLATE.match(desc):
                out.append(desc)
    except Exception:  # noqa: BLE001 - a broken EXIF block must not make a good image fail
        pass
    for key in ("Title", "Description", "Comment"):
        v = im.info.get(key) if isinstance(getattr(im, "info", None), dict) else None
        if isinstance(v, str) and v.strip() and not _BOILERPLATE.match(v.strip()):
            out.append(" ".join(v.split()))
    return out
