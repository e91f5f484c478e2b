"""Video files -> clip items (overlapping time windows) and/or whole-video items. No pixels decoded.

The loader probes each file with PyAV (duration, size, frame rate; one frame decoded at the start
and one near the end, so corrupt and truncated files are caught here), cuts it into windows, and
fills each item's ``text`` with what can be read about that span:

- subtitles/transcripts from ``NAME.srt``/``NAME.vtt`` (also ``NAME.en.srt``), the cues overlapping
  the window; for a whole video, all cues;
- the title and description from a ``NAME.json`` sidecar (``title``, ``description``, ``caption(s)``,
  ``summary``), a folder-level ``captions.json``/``labels.json``/``annotations.json`` record naming
  the file, or the container's own ``title``/``comment``/``description`` tags.

The parts are also kept apart in ``metadata`` (``subtitles``, ``description``) so the video encoder
can weigh what is said in a window above what describes the whole film.

Windows: 30 s long with 10 s overlap by default (a 20 s stride). 30 s holds a scene of typical
edited video while its mean-pooled frames still describe one thing; the overlap means any event
up to 10 s long lies whole inside at least one clip, and it costs no extra decoding because the
video encoder embeds each sampled frame once per file. The final window ends at the video's end;
a tail shorter than the overlap is already covered and gets no window of its own.

>>> res = VideoLoader(clip_seconds=30, clip_overlap=10).load(Path("films/bbb.mp4"), [Granularity.CLIP], root=Path("films"))
>>> res.items[0].id, res.items[0].start_s, res.items[0].end_s
('bbb.mp4#t=0-30', 0.0, 30.0)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..types import Granularity, Item, Modality
from .base import LoadProblem, LoadResult, relative_id, walk_files
from .images import MAX_SIDECAR_BYTES, caption_fields, dedupe, folder_index_files, folder_records
from .subtitles import Cue, find_subtitles, parse_subtitles, text_in_range

VIDEO_EXTENSIONS = frozenset({".mp4", ".mkv", ".webm", ".mov", ".avi", ".m4v", ".gif"})
VIDEO_INDEX_NAMES = ("captions.json", "labels.json", "annotations.json")
_META_KEYS = ("title", "description", "caption", "captions", "summary", "label", "labels", "synopsis")
MAX_VIDEO_SECONDS = 24 * 3600.0


def format_seconds(t: float) -> str:
    """Compact seconds for ids: 20 -> '20', 596.47 -> '596.47'."""
    s = f"{round(t, 2):.2f}".rstrip("0").rstrip(".")
    return s or "0"


def clip_id(video_id: str, start_s: float, end_s: float) -> str:
    return f"{video_id}#t={format_seconds(start_s)}-{format_seconds(end_s)}"


def clip_windows(duration_s: float, clip_seconds: float, overlap_s: float) -> list[tuple[float, float]]:
    """Fixed windows covering [0, duration]: ``clip_seconds`` long, each starting ``clip - overlap`` after the last."""
    if duration_s <= 0:
        return []
    if duration_s <= clip_seconds:
        return [(0.0, round(duration_s, 3))]
    stride = clip_seconds - overlap_s
    out = []
    start = 0.0
    while True:
        end = min(start + clip_seconds, duration_s)
        out.append((round(start, 3), round(end, 3)))
        if end >= duration_s:
            break
        start += stride
        if duration_s - start <= overlap_s:  # what is left lies inside the previous window
            break
    return out


@dataclass(frozen=True)
class VideoProbe:
    duration_s: float
    width: int
    height: int
    fps: float | None
    codec: str
    tags: dict[str, str]


def probe_video(path: Path) -> VideoProbe:
    """Open ``path`` with PyAV and check it decodes at its start and near its end.

    Raises ``ValueError`` with a readable reason when it does not.
    """
    import av

    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as e:
        raise ValueError(
            f"cannot open as video ({_av_reason(e)}); the file is corrupt, truncated or not a video"
        ) from e
    with container:
        streams = container.streams.video
        if not streams:
            raise ValueError("file has no video stream")
        stream = streams[0]
        duration = None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        if not duration and container.duration:
            duration = container.duration / 1_000_000
        fps = float(stream.average_rate) if stream.average_rate else None
        if not duration and stream.frames and fps:
            duration = stream.frames / fps
        first = _first_frame_time(container, stream, 0.0)
        if first is None:
            raise ValueError("no frame could be decoded; the file is corrupt")
        if not duration:
            duration = _scan_duration(container, stream)
        if duration and duration > 2.0:
            tail = _first_frame_time(container, stream, max(duration - 1.0, 0.0))
            if tail is None:
                raise ValueError(f"no frame decodes near the end ({duration:.1f}s); the file looks truncated")
        tags = {str(k).lower(): str(v) for k, v in dict(container.metadata or {}).items()}
        return VideoProbe(
            float(duration or 0.0),
            int(stream.codec_context.width or 0),
            int(stream.codec_context.height or 0),
            fps,
            str(stream.codec_context.name),
            tags,
        )


def _av_reason(e: BaseException) -> str:
    return getattr(e, "strerror", None) or str(e) or e.__class__.__name__


def _first_frame_time(container: Any, stream: Any, at_s: float) -> float | None:
    import av

    try:
        if at_s > 0:
            container.seek(int(at_s / stream.time_base), stream=stream, backward=True)
        for frame in container.decode(stream):
            return float(frame.time or 0.0)
    except (av.error.FFmpegError, OSError, ValueError):
        return None
    return None


def _scan_duration(container: Any, stream: Any) -> float:
    """Duration by decoding packets' timestamps (for streams whose header has none, e.g. some GIFs)."""
    container.seek(0)
    last = 0.0
    for packet in container.demux(stream):
        if packet.pts is not None and packet.time_base is not None:
            last = max(last, float((packet.pts + (packet.duration or 0)) * packet.time_base))
    return last


class VideoLoader:
    """Loads video files (or a folder of them, recursively) as clip and/or whole-video items.

    Options: ``clip_seconds`` (window length, default 30), ``clip_overlap`` (default 10),
    ``scan_folder_index`` (read ``captions.json``/``labels.json``/``annotations.json``, default on).
    """

    modality = Modality.VIDEO.value
    extensions = VIDEO_EXTENSIONS

    def __init__(self, clip_seconds: float = 30.0, clip_overlap: float = 10.0, scan_folder_index: bool = True) -> None:
        self.clip_seconds = float(clip_seconds)
        self.clip_overlap = float(clip_overlap)
        if not (self.clip_seconds > 0):
            raise ConfigError(f"clip length must be positive, got {clip_seconds}", hint="e.g. --clip-seconds 30")
        if not (0 <= self.clip_overlap < self.clip_seconds):
            raise ConfigError(
                f"clip overlap {clip_overlap}s must be at least 0 and shorter than the clip ({clip_seconds}s)",
                hint="e.g. --clip-seconds 30 --clip-overlap 10",
            )
        self.scan_folder_index = bool(scan_folder_index)

    def load(self, path: Path, granularities: Sequence[Granularity], root: Path | None = None) -> LoadResult:
        path = Path(path)
        result = LoadResult()
        if path.is_dir():
            root = root or path
            files = walk_files(path, VIDEO_EXTENSIONS)
        else:
            files = [path]
        for f in files:
            self._load_one(f, root if root is not None else f.parent, granularities, result)
        return result

    def companions(self, path: Path, root: Path | None = None) -> list[Path]:
        """The video's subtitle files, its ``NAME.json`` and the folder-level indexes that may describe it."""
        path = Path(path)
        side = [p for p in (path.with_suffix(".json"),) if p.is_file()]
        if not self.scan_folder_index:
            return find_subtitles(path) + side
        return find_subtitles(path) + side + folder_index_files(path, root or path.parent, VIDEO_INDEX_NAMES)

    def _load_one(self, path: Path, root: Path, granularities: Sequence[Granularity], result: LoadResult) -> None:
        src = str(path)
        if path.suffix.lower() not in VIDEO_EXTENSIONS:
            result.problems.append(LoadProblem(src, f"not a video file type ({path.suffix or 'no extension'!r})"))
            return
        try:
            if path.stat().st_size == 0:
                result.problems.append(LoadProblem(src, "file is empty"))
                return
            probe = probe_video(path)
        except OSError as e:
            result.problems.append(LoadProblem(src, f"cannot read: {e.strerror or e}"))
            return
        except ValueError as e:
            result.problems.append(LoadProblem(src, str(e)))
            return
        except Exception as e:  # noqa: BLE001 - FFmpeg errors on damaged containers that probe_video did not wrap
            result.problems.append(LoadProblem(src, f"cannot decode video ({_av_reason(e)}); the file is corrupt"))
            return
        if probe.duration_s <= 0:
            result.problems.append(LoadProblem(src, "video has no duration (no frames?)"))
            return
        if probe.duration_s > MAX_VIDEO_SECONDS:
            result.problems.append(
                LoadProblem(src, f"video claims {probe.duration_s / 3600:.0f} hours; over the 24 h limit")
            )
            return
        cues: list[Cue] = []
        for sub in find_subtitles(path):
            c, problems = parse_subtitles(sub)
            cues.extend(c)
            result.problems.extend(problems)
        cues.sort(key=lambda c: (c.start_s, c.end_s))
        title, description = self._describe(path, root, probe, result)
        vid = relative_id(path, root)
        meta_base = {
            "duration_s": round(probe.duration_s, 3),
            "width": probe.width,
            "height": probe.height,
            "fps": probe.fps,
            "codec": probe.codec,
            "description": description,
        }

        def make(kind: Granularity, item_id: str, start: float, end: float) -> Item:
            subs = text_in_range(cues, start, end)
            text = "\n".join(t for t in (subs, description) if t)
            return Item(
                id=item_id,
                kind=kind,
                text=text,
                title=title,
                source=src,
                doc_id=vid,
                start_s=start,
                end_s=end,
                captions=tuple(c for c in (description,) if c),
                metadata={**meta_base, "subtitles": subs},
            )

        if Granularity.CLIP in granularities:
            for start, end in clip_windows(probe.duration_s, self.clip_seconds, self.clip_overlap):
                result.items.append(make(Granularity.CLIP, clip_id(vid, start, end), start, end))
        if Granularity.VIDEO in granularities:
            result.items.append(make(Granularity.VIDEO, vid, 0.0, round(probe.duration_s, 3)))

    def _describe(self, path: Path, root: Path, probe: VideoProbe, result: LoadResult) -> tuple[str | None, str]:
        """(title, description) from the NAME.json sidecar, folder index records and container tags."""
        fields: list[tuple[str, str]] = []
        side = path.with_suffix(".json")
        if side.is_file():
            try:
                if side.stat().st_size > MAX_SIDECAR_BYTES:
                    raise ValueError("sidecar too large")
                rec = json.loads(side.read_text(encoding="utf-8-sig"))
                if isinstance(rec, dict):
                    fields.extend(caption_fields(rec, _META_KEYS))
                else:
                    result.problems.append(LoadProblem(str(side), "metadata sidecar is not a JSON object; ignored"))
            except (OSError, ValueError) as e:
                result.problems.append(LoadProblem(str(side), f"metadata sidecar unreadable: {e}"))
        if self.scan_folder_index:
            records, problems = folder_records(path, root, VIDEO_INDEX_NAMES)
            result.problems.extend(p for p in problems if p not in result.problems)
            for rec in records:
                fields.extend(caption_fields(rec))
        for key in ("title", "description", "comment", "synopsis"):
            if probe.tags.get(key, "").strip():
                fields.append((key, " ".join(probe.tags[key].split())))
        title = next((t for k, t in fields if k == "title"), None)
        rest = dedupe(t for k, t in fields if k != "title" and t != title)
        return title, " ".join(rest)
