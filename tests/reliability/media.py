"""Small generated corpora for the reliability tests: text JSONL, images with captions, videos with subtitles."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from mmroute.loaders.video import clip_id, clip_windows


def make_text_corpus(folder: Path, n: int = 600) -> tuple[Path, list[str]]:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "corpus.jsonl"
    ids = [f"r{i}" for i in range(n)]
    with open(path, "w", encoding="utf-8") as f:
        for i, rid in enumerate(ids):
            f.write(
                json.dumps(
                    {
                        "id": rid,
                        "text": f"record {i} about topic {i % 17} " + "lorem ipsum " * 10,
                        "doc_id": f"d{i // 5}",
                    }
                )
                + "\n"
            )
    return path, ids


def make_images(folder: Path, n: int = 40, size: tuple[int, int] = (48, 32)) -> tuple[Path, list[str]]:
    """``n`` small PNG/JPEG images in two sub-folders, some with captions (sidecar .txt, captions.json)."""
    from PIL import Image

    rng = np.random.default_rng(0)
    ids: list[str] = []
    captions: dict[str, str] = {}
    for i in range(n):
        sub = "a" if i % 2 == 0 else "b"
        ext = "png" if i % 3 else "jpg"
        rel = f"{sub}/img{i:03d}.{ext}"
        p = folder / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        arr = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
        Image.fromarray(arr).save(p)
        if i % 5 == 0:
            p.with_suffix(".txt").write_text(f"a test picture number {i} of coloured noise\n")
        elif i % 7 == 0:
            captions[p.name] = f"noise photograph {i}"
        ids.append(rel)
    for sub in ("a", "b"):
        recs = [{"file": name, "caption": cap} for name, cap in captions.items() if (folder / sub / name).exists()]
        if recs:
            (folder / sub / "captions.json").write_text(json.dumps(recs))
    return folder, ids


def write_video(path: Path, seconds: int, fps: int = 4, size: tuple[int, int] = (32, 24)) -> Path:
    """A tiny H.264 mp4 whose colour changes every second (PyAV)."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        st = out.add_stream("libx264", rate=fps)
        st.width, st.height, st.pix_fmt = size[0], size[1], "yuv420p"
        st.options = {"g": str(fps * 2)}
        for i in range(seconds * fps):
            sec = i // fps
            img = np.zeros((size[1], size[0], 3), np.uint8)
            img[..., sec % 3] = 40 + 10 * sec
            for pkt in st.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(pkt)
        for pkt in st.encode():
            out.mux(pkt)
    return path


def _srt_time(t: float) -> str:
    ms = int(round(t * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def make_videos(
    folder: Path, n: int = 4, seconds: int = 12, clip_seconds: float = 2.0, clip_overlap: float = 0.0
) -> tuple[Path, list[str]]:
    """``n`` short videos with subtitles; returns the folder and the expected clip ids.

    The expected ids are computed from the loader's own window rule over the probed duration, so the
    test checks the indexer and store (nothing lost or doubled), not the window arithmetic.
    """
    from mmroute.loaders.video import probe_video

    ids: list[str] = []
    for v in range(n):
        p = write_video(folder / f"v{v}.mp4", seconds)
        cues = [
            f"{i + 1}\n{_srt_time(i)} --> {_srt_time(i + 0.9)}\nvideo {v} second {i} says word{v}x{i}\n"
            for i in range(seconds)
        ]
        p.with_suffix(".srt").write_text("\n".join(cues))
        dur = probe_video(p).duration_s
        ids.extend(clip_id(p.name, s, e) for s, e in clip_windows(dur, clip_seconds, clip_overlap))
    return folder, ids
