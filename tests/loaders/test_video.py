"""Video loader: clip windows, subtitle fusion by overlap, metadata sidecars, corrupt files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mmroute.errors import ConfigError
from mmroute.loaders.video import VideoLoader, clip_windows, probe_video
from mmroute.types import Granularity


def make_video(
    path: Path, seconds: int = 12, fps: int = 5, size: tuple[int, int] = (64, 48), title: str | None = None
) -> Path:
    """A small H.264 mp4 whose colour changes every second (written with PyAV)."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        if title:
            out.metadata["title"] = title
        st = out.add_stream("libx264", rate=fps)
        st.width, st.height, st.pix_fmt = size[0], size[1], "yuv420p"
        st.options = {"g": str(fps * 2)}  # keyframe every 2 s, so seeking is exercised
        for i in range(seconds * fps):
            sec = i // fps
            img = np.zeros((size[1], size[0], 3), np.uint8)
            img[..., sec % 3] = 60 + 15 * sec
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            for pkt in st.encode(frame):
                out.mux(pkt)
        for pkt in st.encode():
            out.mux(pkt)
    return path


def test_clip_windows() -> None:
    assert clip_windows(10, 30, 10) == [(0.0, 10.0)]
    assert clip_windows(70, 30, 10) == [(0.0, 30.0), (20.0, 50.0), (40.0, 70.0)]
    assert clip_windows(75, 30, 10) == [(0.0, 30.0), (20.0, 50.0), (40.0, 70.0), (60.0, 75.0)]
    assert clip_windows(78, 30, 10)[-1] == (60.0, 78.0)
    assert clip_windows(61, 30, 0) == [(0.0, 30.0), (30.0, 60.0), (60.0, 61.0)]
    for d in (1.0, 29.9, 30.0, 31.0, 596.47):
        w = clip_windows(d, 30, 10)
        assert w[0][0] == 0 and w[-1][1] == pytest.approx(d, abs=1e-3)
        assert all(b[0] < a[1] for a, b in zip(w, w[1:]))  # consecutive windows overlap: no gaps


def test_clips_and_video_with_subtitles_and_sidecar(tmp_path: Path) -> None:
    v = make_video(tmp_path / "vids" / "demo.mp4", seconds=12, title="container title")
    (tmp_path / "vids" / "demo.srt").write_text(
        "1\n00:00:01,000 --> 00:00:02,000\nfirst words\n\n2\n00:00:10,500 --> 00:00:11,500\nlast words\n"
    )
    (tmp_path / "vids" / "demo.json").write_text(json.dumps({"title": "Demo", "description": "coloured squares"}))
    res = VideoLoader(clip_seconds=6, clip_overlap=2).load(
        tmp_path / "vids", [Granularity.CLIP, Granularity.VIDEO], root=tmp_path
    )
    assert res.problems == []
    clips = [it for it in res.items if it.kind is Granularity.CLIP]
    video = [it for it in res.items if it.kind is Granularity.VIDEO]
    assert [c.id for c in clips] == ["vids/demo.mp4#t=0-6", "vids/demo.mp4#t=4-10", "vids/demo.mp4#t=8-12"]
    assert [c.metadata["subtitles"] for c in clips] == ["first words", "", "last words"]
    assert clips[0].text == "first words\ncoloured squares" and clips[1].text == "coloured squares"
    assert clips[0].title == "Demo" and clips[0].source == str(v) and clips[0].doc_id == "vids/demo.mp4"
    assert video[0].id == "vids/demo.mp4" and video[0].metadata["subtitles"] == "first words last words"
    assert video[0].end_s == pytest.approx(12.0, abs=0.3)


def test_container_title_and_folder_labels(tmp_path: Path) -> None:
    make_video(tmp_path / "a.mp4", seconds=3, title="Squares in a row")
    (tmp_path / "labels.json").write_text(json.dumps([{"file": "a.mp4", "label": "colour test", "sha256": "00"}]))
    res = VideoLoader().load(tmp_path / "a.mp4", [Granularity.VIDEO], root=tmp_path)
    assert res.items[0].title == "Squares in a row" and res.items[0].text == "colour test"


def test_bad_videos_are_problems(tmp_path: Path) -> None:
    good = make_video(tmp_path / "good.mp4", seconds=4)
    data = good.read_bytes()
    (tmp_path / "truncated.mp4").write_bytes(data[: len(data) // 2])
    (tmp_path / "empty.mkv").write_bytes(b"")
    (tmp_path / "noise.webm").write_bytes(np.random.default_rng(0).bytes(5000))
    (tmp_path / "clip.xyz").write_bytes(b"???")
    (tmp_path / "good.srt").write_text("1\n00:00:01,000 --> nonsense\nbroken\n")
    loader = VideoLoader()
    res = loader.load(tmp_path, [Granularity.CLIP], root=tmp_path)
    assert [it.id for it in res.items] == ["good.mp4#t=0-4"]
    msgs = {Path(p.source).name: p.message for p in res.problems}
    assert set(msgs) == {"truncated.mp4", "empty.mkv", "noise.webm", "good.srt"}
    assert "empty" in msgs["empty.mkv"] and "malformed timing" in msgs["good.srt"]
    res = loader.load(tmp_path / "clip.xyz", [Granularity.CLIP], root=tmp_path)
    assert res.items == [] and "not a video file type" in res.problems[0].message
    with pytest.raises(ValueError):
        probe_video(tmp_path / "truncated.mp4")


def test_gif_as_video_and_options(data_dir: Path, tmp_path: Path) -> None:
    res = VideoLoader().load(
        data_dir / "media/imageio/newtonscradle.gif", [Granularity.VIDEO], root=data_dir / "media/imageio"
    )
    assert res.items[0].id == "newtonscradle.gif" and "newton's cradle" in res.items[0].text
    with pytest.raises(ConfigError):
        VideoLoader(clip_seconds=10, clip_overlap=10)
