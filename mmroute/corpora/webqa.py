"""WebQA-style image sets -> an image folder mmroute can index.

WebQA's released JSON maps question ids to records whose ``img_posFacts``/``img_negFacts`` list
images as ``{"image_id", "title", "caption", "url"?}``; the images themselves ship as files
(or a TSV of base64 in the original release). This module writes a folder with the images and
a ``captions.json`` sidecar (``[{"image": RELPATH, "caption": ..., "title": ...}]``) that the
image loader reads, plus a questions JSONL with ``gold_ids`` = the image item ids.
"""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .base import CorpusError, fetch


def _facts(rec: dict[str, Any]) -> Iterable[tuple[dict[str, Any], bool]]:
    for f in rec.get("img_posFacts") or []:
        yield f, True
    for f in rec.get("img_negFacts") or []:
        yield f, False


def convert(
    webqa_json: str | Path,
    images: str | Path,
    out_dir: str | Path,
    *,
    split: str | None = None,
    limit: int | None = None,
) -> tuple[Path, Path]:
    """Write ``out_dir/images/<image_id>.jpg`` + ``captions.json`` and ``out_dir/questions.jsonl``.

    ``images`` is a folder of ``<image_id>.<ext>`` files or a TSV ``image_id<TAB>base64``.
    Returns (image folder, questions file).
    """
    src = fetch(webqa_json)
    try:
        data = json.loads(Path(src).read_text(encoding="utf-8"))
    except (ValueError, OSError) as e:
        raise CorpusError(f"{src} is not a WebQA JSON file: {e}") from e
    if not isinstance(data, dict):
        raise CorpusError(f"{src}: expected an object keyed by question id")
    image_src = fetch(images)
    out = Path(out_dir)
    img_out = out / "images"
    img_out.mkdir(parents=True, exist_ok=True)
    tsv: dict[str, str] = {}
    if image_src.is_file():
        with open(image_src, encoding="utf-8") as f:
            for line in f:
                key, _, b64 = line.rstrip("\n").partition("\t")
                tsv[key] = b64
    captions: dict[str, dict[str, str]] = {}
    questions = []
    for qid, rec in data.items():
        if split and rec.get("split") != split:
            continue
        gold = []
        for fact, positive in _facts(rec):
            image_id = str(fact.get("image_id"))
            rel = f"images/{image_id}.jpg"
            if image_id not in captions:
                target = out / rel
                if not target.exists():
                    if tsv:
                        if image_id not in tsv:
                            continue
                        target.write_bytes(base64.b64decode(tsv[image_id]))
                    else:
                        found = next(iter(sorted(Path(image_src).glob(f"{image_id}.*"))), None)
                        if found is None:
                            continue
                        shutil.copyfile(found, target)
                captions[image_id] = {
                    "image": rel,
                    "caption": str(fact.get("caption") or ""),
                    "title": str(fact.get("title") or ""),
                }
            if positive:
                gold.append(f"{image_id}.jpg")
        if gold:
            answers = rec.get("A") or []
            questions.append(
                {
                    "id": str(qid),
                    "question": str(rec.get("Q", "")).strip('"'),
                    "answers": [str(a).strip('"') for a in answers],
                    "gold_ids": gold,
                    "route": "image",
                }
            )
        if limit and len(questions) >= limit:
            break
    (img_out / "captions.json").write_text(
        json.dumps(list(captions.values()), indent=1, ensure_ascii=False), encoding="utf-8"
    )
    qpath = out / "questions.jsonl"
    with open(qpath, "w", encoding="utf-8") as f:
        for q in questions:
            f.write(json.dumps(q, ensure_ascii=False) + "\n")
    return img_out, qpath
