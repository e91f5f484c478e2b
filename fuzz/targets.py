"""The fuzz targets of ``fuzz_loaders.py`` without atheris, so tests can replay ``fuzz/regressions``.

The first byte of an input picks the target (see ``fuzz_loaders.py``); :func:`run_one` raises only for
a finding: an exception that is not an :class:`~mmroute.errors.MMRouteError`, or a broken result.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

from mmroute.config import PipelineConfig
from mmroute.encoders.image import load_image
from mmroute.errors import MMRouteError
from mmroute.loaders.base import LoadProblem, LoadResult
from mmroute.loaders.images import ImageLoader
from mmroute.loaders.subtitles import parse_subtitles
from mmroute.loaders.text import JsonlLoader, PlainTextLoader
from mmroute.loaders.video import VideoLoader
from mmroute.types import Granularity

TARGETS = ("jsonl", "text", "subtitles", "image", "video", "toml")
IMAGE_EXTS = ("png", "jpg", "gif", "webp", "bmp", "tif")
WORK = Path(tempfile.mkdtemp(prefix="mmroute-fuzz-"))
TRIED: Counter[str] = Counter()


def _check(res: LoadResult) -> None:
    assert isinstance(res, LoadResult)
    for p in res.problems:
        assert isinstance(p, LoadProblem) and p.message, p
    for it in res.items:
        assert it.id, it


def run_one(data: bytes) -> None:
    if len(data) < 2:
        return
    target = TARGETS[data[0] % len(TARGETS)]
    TRIED[target] += 1
    body = data[1:]
    if target == "jsonl":
        p = WORK / "c.jsonl"
        p.write_bytes(body)
        _check(JsonlLoader().load(p, [Granularity.PARAGRAPH, Granularity.DOCUMENT]))
    elif target == "text":
        p = WORK / "c.md"
        p.write_bytes(body)
        _check(PlainTextLoader().load(p, [Granularity.PARAGRAPH, Granularity.DOCUMENT], root=WORK))
    elif target == "subtitles":
        p = WORK / "s.srt"
        p.write_bytes(body)
        cues, problems = parse_subtitles(p)
        assert all(c.end_s >= c.start_s for c in cues)
        assert cues or problems
    elif target == "image":
        p = WORK / f"i.{IMAGE_EXTS[body[0] % len(IMAGE_EXTS)]}"
        p.write_bytes(body[1:])
        _check(ImageLoader().load(p, [Granularity.IMAGE], root=WORK))
        try:
            load_image(p)
        except MMRouteError:
            pass
    elif target == "video":
        p = WORK / "v.mp4"
        p.write_bytes(body)
        res = VideoLoader(clip_seconds=2, clip_overlap=0).load(p, [Granularity.CLIP, Granularity.VIDEO], root=WORK)
        _check(res)
    else:
        p = WORK / "c.toml"
        p.write_bytes(body)
        try:
            PipelineConfig.from_toml(p)
        except MMRouteError:
            pass
