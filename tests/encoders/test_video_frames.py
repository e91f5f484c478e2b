"""video-frames encoder: frame sampling/decoding, pooling + text fusion, bad files, BBB clip search."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from mmroute.encoders.base import create_encoder
from mmroute.encoders.video import FrameVideoEncoder, decode_frames
from mmroute.errors import ItemError
from mmroute.loaders.video import VideoLoader
from mmroute.types import Granularity, Item


def make_video(path: Path, seconds: int = 8, fps: int = 5, size: tuple[int, int] = (64, 48)) -> Path:
    """A small H.264 mp4 whose colour changes every second: red, green, blue, red, ..."""
    import av

    with av.open(str(path), "w") as out:
        st = out.add_stream("libx264", rate=fps)
        st.width, st.height, st.pix_fmt = size[0], size[1], "yuv420p"
        st.options = {"g": str(fps * 2)}
        for i in range(seconds * fps):
            img = np.zeros((size[1], size[0], 3), np.uint8)
            img[..., (i // fps) % 3] = 220
            for pkt in st.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(pkt)
        for pkt in st.encode():
            out.mux(pkt)
    return path


@pytest.fixture(scope="module")
def enc() -> FrameVideoEncoder:
    e = create_encoder("video-frames", fps=2.0, max_frames=6)
    e.warm_up()
    return e


def test_decode_frames_lands_on_the_right_time(tmp_path: Path) -> None:
    v = make_video(tmp_path / "c.mp4")
    frames = decode_frames(str(v), [0.25, 1.25, 2.25, 6.5, 7.9, 8.5, 30.0], seek_gap_s=1.0)
    # the last frame is at 7.8 s and lasts 0.2 s: 7.9 gets it, 8.5 and 30 lie past the end
    assert [t for t, _ in frames] == [0.25, 1.25, 2.25, 6.5, 7.9]
    dominant = [int(np.asarray(im).reshape(-1, 3).mean(0).argmax()) for _, im in frames]
    assert dominant == [0, 1, 2, 0, 1]


def test_frame_times_grid_and_cap(enc: FrameVideoEncoder) -> None:
    clip = Item(id="v#t=1-3", kind=Granularity.CLIP, source="v", start_s=1.0, end_s=3.0)
    assert enc.frame_times(clip) == [1.0, 1.5, 2.0, 2.5]
    whole = Item(id="v", kind=Granularity.VIDEO, source="v", start_s=0.0, end_s=100.0)
    ts = enc.frame_times(whole)
    assert len(ts) == 6 and ts[0] == 0.0 and ts[-1] == 99.5


def test_encode_clips_and_videos(enc: FrameVideoEncoder, tmp_path: Path) -> None:
    v = make_video(tmp_path / "c.mp4")
    (tmp_path / "c.srt").write_text("1\n00:00:06,000 --> 00:00:07,000\na red ball\n")
    items = (
        VideoLoader(clip_seconds=2, clip_overlap=1).load(v, [Granularity.CLIP, Granularity.VIDEO], root=tmp_path).items
    )
    vecs = enc.encode_items(items)
    assert vecs.shape == (len(items), enc.dim) and np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    single = np.concatenate([enc.encode_items([it]) for it in items])
    assert np.allclose(single, vecs, atol=1e-5)
    assert np.allclose(create_encoder(enc.spec).encode_items(items), vecs, atol=1e-5)
    clips = [it for it in items if it.kind is Granularity.CLIP]
    assert not np.allclose(vecs[0], vecs[1], atol=1e-3)  # red+green vs green+blue frames
    # the subtitle pulls its clip towards the matching query
    q = enc.encode_queries(["a red ball"])[0]
    with_sub = [i for i, it in enumerate(clips) if it.metadata["subtitles"]]
    assert with_sub and int(np.argmax(vecs[: len(clips)] @ q)) in with_sub
    visual_only = create_encoder("video-frames", fps=2.0, max_frames=6, text_weight=0.0)
    assert not np.allclose(visual_only.encode_items(clips[-1:]), vecs[len(clips) - 1 : len(clips)])


def test_frames_are_decoded_and_embedded_once(enc: FrameVideoEncoder, tmp_path: Path, monkeypatch) -> None:
    v = make_video(tmp_path / "c.mp4")
    items = VideoLoader(clip_seconds=4, clip_overlap=2).load(v, [Granularity.CLIP], root=tmp_path).items
    seen: list[int] = []
    real = type(enc.image).encode_images
    monkeypatch.setattr(type(enc.image), "encode_images", lambda self, ims: (seen.append(len(ims)), real(self, ims))[1])
    fresh = create_encoder("video-frames", fps=2.0, max_frames=10)
    fresh._image = enc.image
    fresh.encode_items(items)
    assert sum(seen) == 16  # 8 s at 2 fps; overlapping windows share frames
    fresh.encode_items(items)
    assert sum(seen) == 16  # second call served from the cache


def test_corrupt_and_truncated_videos_raise_item_error(enc: FrameVideoEncoder, tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42 garbage garbage")
    with pytest.raises(ItemError, match="bad.mp4"):
        enc.encode_items([Item(id="bad.mp4#t=0-3", kind=Granularity.CLIP, source=str(bad), start_s=0, end_s=3)])
    good = make_video(tmp_path / "good.mp4")
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(good.read_bytes()[:-400])
    with pytest.raises(ItemError, match="cut.mp4"):
        enc.encode_items([Item(id="cut.mp4", kind=Granularity.VIDEO, source=str(cut), start_s=0, end_s=8)])


@pytest.mark.slow
def test_bbb_clip_search_finds_the_rodents(data_dir: Path, tmp_path: Path) -> None:
    """Acceptance: 'three rodent pests' ranks first a clip overlapping 214-236 s (srt from the scene captions)."""
    from mmroute.corpora.video_folder import bbb_scene_captions, write_srt

    bbb = data_dir / "video/bbb"
    video = tmp_path / "bbb_full_426x240.mp4"
    try:
        video.symlink_to(bbb / "bbb_full_426x240.mp4")
    except OSError:
        shutil.copyfile(bbb / "bbb_full_426x240.mp4", video)
    write_srt(tmp_path / "bbb_full_426x240.srt", bbb_scene_captions(bbb / "annotations.json"))
    items = VideoLoader().load(video, [Granularity.CLIP], root=tmp_path).items
    assert len(items) == 30
    enc = create_encoder("video-frames", fps=0.5)
    vecs = enc.encode_items(items)
    scores = vecs @ enc.encode_queries(["three rodent pests"])[0]
    best = items[int(np.argmax(scores))]
    assert best.start_s < 236 and best.end_s > 214, best.id
