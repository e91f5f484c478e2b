"""A folder of videos plus timed captions -> videos with ``.srt`` sidecars the video loader fuses.

Timed captions come as ``[(start_s, end_s, text), ...]`` per video; :func:`write_srt` writes the
sidecar next to the video. :func:`bbb_scene_captions` reads the timed scene captions of Big Buck
Bunny in ``../shared/data/video/bbb/annotations.json``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

from .base import CorpusError


def _ts(seconds: float) -> str:
    ms = int(round(max(seconds, 0.0) * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def write_srt(path: Path, cues: Iterable[tuple[float, float, str]]) -> Path:
    lines = []
    for i, (start, end, text) in enumerate(sorted(cues), start=1):
        lines += [str(i), f"{_ts(start)} --> {_ts(end)}", text.strip(), ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def bbb_scene_captions(annotations: Path) -> list[tuple[float, float, str]]:
    """Timed scene captions of the full Big Buck Bunny film from the shared annotations file."""
    try:
        data = json.loads(Path(annotations).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise CorpusError(f"cannot read {annotations}: {e}") from e
    scenes = data.get("scenes_from_moviepy_tutorial") or {}
    cues: list[tuple[float, float, str]] = []
    for sc in scenes.get("scenes") or []:
        start, end = sc.get("start_s"), sc.get("end_s")
        text = sc.get("caption") or sc.get("text") or sc.get("description")
        if start is None or end is None or not text:
            continue
        cues.append((float(start), float(end), str(text)))
    if not cues:
        raise CorpusError(f"{annotations} holds no timed scene captions")
    return cues


def prepare(
    videos: Sequence[Path],
    out_dir: Path,
    captions: dict[str, list[tuple[float, float, str]]] | None = None,
    link: bool = True,
) -> Path:
    """Put ``videos`` into ``out_dir`` (symlinked when possible) with ``NAME.srt`` sidecars from ``captions``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for v in videos:
        v = Path(v)
        if not v.is_file():
            raise CorpusError(f"video {v} not found")
        target = out_dir / v.name
        if not target.exists():
            try:
                if not link:
                    raise OSError
                target.symlink_to(v.resolve())
            except OSError:
                shutil.copyfile(v, target)
        cues = (captions or {}).get(v.name)
        if cues:
            write_srt(out_dir / f"{v.stem}.srt", cues)
    return out_dir
