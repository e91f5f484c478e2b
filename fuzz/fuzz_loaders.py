"""Coverage-guided fuzzing of mmroute's input parsers with atheris (libFuzzer for Python).

The first byte of each input picks the target, the rest is the file's content:

====  ===========================================================
0     JSONL corpus (``JsonlLoader``)
1     plain text / markdown (``PlainTextLoader``)
2     subtitles, SRT/WebVTT (``parse_subtitles``)
3     image file, extension from the second byte (``ImageLoader`` + ``load_image``)
4     video container (``VideoLoader``: probe, windows, sidecars)
5     pipeline TOML config (``PipelineConfig.from_toml``)
====  ===========================================================

An input passes when it yields items, :class:`LoadProblem` reports or an ``MMRouteError``; any other
exception is a finding (atheris stops and writes the crashing input to ``crash-*``).

Run (from the repo root)::

    python fuzz/fuzz_loaders.py -atheris_runs=20000 /tmp/mmroute-corpus fuzz/seeds   # first dir grows
    python fuzz/fuzz_loaders.py --make-seeds fuzz/seeds               # (re)create the seed inputs
    python fuzz/fuzz_loaders.py crash-<sha1>                          # replay one input

Needs ``pip install atheris==3.0.0``. At exit it prints how many inputs each target received.
"""

from __future__ import annotations

import atexit
import io
import os
import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent))
with atheris.instrument_imports(include=["mmroute", "targets"]):
    import targets
    from targets import IMAGE_EXTS, TARGETS, TRIED, WORK


def make_seeds(folder: Path) -> None:
    """Small valid inputs for each target, so mutation starts from real formats."""
    import json

    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    seeds = {
        "jsonl": b"\x00"
        + b"\n".join(json.dumps({"id": f"p{i}", "text": f"text {i}", "doc_id": "d"}).encode() for i in range(3)),
        "text": b"\x01# Title\n\nfirst paragraph\n\nsecond one\n",
        "srt": b"\x02" + b"1\n00:00:01,000 --> 00:00:02,500\n<i>Hello</i>\n\n2\n00:00:03.000 --> 00:00:04.000\nworld\n",
        "vtt": b"\x02WEBVTT\n\nNOTE a note\n\ncue-1\n00:01.000 --> 00:02.000 align:start\nHi\n",
        "toml": b'\x05k = 3\nkbs = ["squad"]\nverify = true\n[endpoint]\nurl = "http://localhost:8000/v1"\nmodel = "m"\n',
    }
    for i, (ext, fmt) in enumerate([("png", "PNG"), ("jpg", "JPEG"), ("gif", "GIF")]):
        buf = io.BytesIO()
        Image.new("RGB", (8, 6), (10 * i, 100, 200)).save(buf, format=fmt)
        seeds[f"image-{ext}"] = b"\x03" + bytes([IMAGE_EXTS.index(ext)]) + buf.getvalue()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.reliability.media import write_video

    seeds["video"] = b"\x04" + write_video(WORK / "seed.mp4", seconds=2, fps=2, size=(16, 16)).read_bytes()
    for name, data in seeds.items():
        (folder / f"seed-{name}").write_bytes(data)
    print(f"wrote {len(seeds)} seeds to {folder}")


def _report() -> None:
    total = sum(TRIED.values())
    print(f"\nmmroute fuzz: {total} inputs tried: " + ", ".join(f"{t}={TRIED[t]}" for t in TARGETS), file=sys.stderr)


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--make-seeds":
        make_seeds(Path(sys.argv[2]))
        return
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    atexit.register(_report)
    atheris.Setup(sys.argv, targets.run_one)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
