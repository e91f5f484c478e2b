"""The sample corpora in ``../shared/data`` (or ``$MMROUTE_DATA``), as KB definitions.

``make demo`` indexes these; tests and evals use them too. Video KBs get an ``.srt`` sidecar made
from the timed scene captions, so clip search can use what is said on screen.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .base import CorpusError
from .video_folder import bbb_scene_captions, prepare


def data_root() -> Path:
    # default: ../shared/data beside a checkout (this file is <checkout>/mmroute/corpora/shared.py)
    root = Path(os.environ.get("MMROUTE_DATA") or Path(__file__).resolve().parents[3] / "shared" / "data")
    if not root.is_dir():
        raise CorpusError(f"sample data not found at {root}", hint="set MMROUTE_DATA to the shared data folder")
    return root


@dataclass(frozen=True)
class SampleKB:
    kb: str
    relpath: str
    granularity: str
    description: str
    prepare: Callable[[Path, Path], Path] | None = None
    """(data root, work dir) -> input path, for inputs that need sidecars first."""

    def input_path(self, root: Path, work: Path) -> Path:
        return self.prepare(root, work) if self.prepare else root / self.relpath


def _bbb(root: Path, work: Path) -> Path:
    bbb = root / "video/bbb"
    cues = bbb_scene_captions(bbb / "annotations.json")
    return prepare(
        [bbb / "bbb_full_426x240.mp4", bbb / "trailer_bbb.mp4"], work / "bbb", {"bbb_full_426x240.mp4": cues}
    )


SAMPLE_KBS: tuple[SampleKB, ...] = (
    SampleKB(
        "squad",
        "text/squad2_dev/corpus.jsonl",
        "both",
        "Wikipedia articles on the Normans, computational complexity theory and Southern California",
    ),
    SampleKB(
        "hop",
        "text/multihop_ircot/corpus.jsonl",
        "paragraph",
        "Wikipedia paragraphs about films, people, places and music (multi-hop questions)",
    ),
    SampleKB(
        "photos",
        "images/skimage/images",
        "image",
        "Photos: an astronaut, a cat, coffee, a rocket, a horse, motorcycles, the moon, coins and more",
    ),
    SampleKB("bbb", "video/bbb", "both", "The animated short film Big Buck Bunny and its trailer", _bbb),
)
