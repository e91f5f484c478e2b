"""Image loader: ids, caption sidecars (txt, json, captions.json, EXIF), validation problems."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from mmroute.errors import ConfigError
from mmroute.loaders.images import ImageLoader
from mmroute.types import Granularity

IMG = [Granularity.IMAGE]


def _png(path: Path, size: tuple[int, int] = (32, 24), color: tuple[int, int, int] = (200, 30, 30)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)
    return path


def test_folder_ids_and_sidecars(tmp_path: Path) -> None:
    root = tmp_path / "photos"
    _png(root / "a.png")
    (root / "a.txt").write_text("a red square\n")
    _png(root / "sub" / "b.png")
    (root / "sub" / "b.json").write_text(
        json.dumps({"title": "Bee", "captions": ["a bee", "A bee."], "license": "CC0"})
    )
    exif = Image.Exif()
    exif[0x010E] = "a jpeg with an exif description"
    Image.new("RGB", (16, 16), (0, 0, 255)).save(root / "c.jpg", exif=exif)
    (root / ".hidden").mkdir()
    _png(root / ".hidden" / "x.png")
    res = ImageLoader().load(root, IMG, root=root)
    assert res.problems == []
    items = {it.id: it for it in res.items}
    assert sorted(items) == ["a.png", "c.jpg", "sub/b.png"]
    assert items["a.png"].captions == ("a red square",) and items["a.png"].text == "a red square"
    assert items["sub/b.png"].title == "Bee"
    assert items["sub/b.png"].captions == ("Bee", "a bee")  # record order, duplicates dropped, licence not taken
    assert items["c.jpg"].captions == ("a jpeg with an exif description",)
    assert items["a.png"].source == str(root / "a.png")
    assert items["a.png"].metadata["width"] == 32


def test_shared_captions_json_formats(data_dir: Path) -> None:
    root = data_dir / "images/skimage/images"  # captions.json sits one folder above the input root
    res = ImageLoader().load(root, IMG, root=root)
    items = {it.id: it for it in res.items}
    assert len(items) == 21 and res.problems == []
    cat = items["chelsea.png"].captions
    assert "a facial photo of a tabby cat" in cat and any("Stefan" in c for c in cat)
    assert not any("copyright" in c.lower() and "CC0" in c for c in cat)  # licence notes are not captions
    media = data_dir / "media/imageio"
    res = ImageLoader().load(media / "wikkie.png", IMG, root=media)
    assert res.items[0].id == "wikkie.png" and res.items[0].captions == ("Image of Almar's cat",)


def test_webqa_style_and_mapping_captions_json(tmp_path: Path) -> None:
    _png(tmp_path / "images" / "1.jpg")
    _png(tmp_path / "images" / "2.jpg")
    (tmp_path / "captions.json").write_text(json.dumps([{"image": "images/1.jpg", "caption": "one", "title": "T1"}]))
    (tmp_path / "images" / "captions.json").write_text(json.dumps({"2.jpg": "two"}))
    res = ImageLoader().load(tmp_path, IMG, root=tmp_path)
    items = {it.id: it for it in res.items}
    assert items["images/1.jpg"].captions == ("one", "T1") and items["images/1.jpg"].title == "T1"
    assert items["images/2.jpg"].captions == ("two",)


def test_bad_images_become_problems_and_the_rest_load(tmp_path: Path) -> None:
    _png(tmp_path / "good.png")
    (tmp_path / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    good = (tmp_path / "good.png").read_bytes()
    (tmp_path / "truncated.png").write_bytes(good[: len(good) // 2])
    (tmp_path / "empty.gif").write_bytes(b"")
    _png(tmp_path / "huge.png", size=(400, 300))
    (tmp_path / "bad.json").write_text("{not json")
    _png(tmp_path / "bad.png")
    res = ImageLoader(max_pixels=100_000).load(tmp_path, IMG, root=tmp_path)
    assert sorted(it.id for it in res.items) == ["bad.png", "good.png"]
    msgs = {Path(p.source).name: p.message for p in res.problems}
    assert set(msgs) == {"corrupt.jpg", "truncated.png", "empty.gif", "huge.png", "bad.json"}
    assert "decompression bomb" in msgs["huge.png"] and "400x300" in msgs["huge.png"]


def test_unknown_extension_and_wrong_options(tmp_path: Path) -> None:
    f = tmp_path / "notes.xyz"
    f.write_text("hi")
    res = ImageLoader().load(f, IMG, root=tmp_path)
    assert res.items == [] and "not an image file type" in res.problems[0].message
    with pytest.raises(ConfigError):
        ImageLoader(clip_seconds=30)
