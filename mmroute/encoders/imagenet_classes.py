"""The 1,000 ImageNet-1k class names, in class-index order, as readable English phrases.

The names are data: ``mmroute/data/imagenet/classes.txt``, one per line (provenance and licence in the
README beside it), read once, when this module is first imported. Index ``i`` is the label of logit
``i`` of any ImageNet-1k classifier (e.g. EfficientNet-Lite0).
"""

from __future__ import annotations

from pathlib import Path

CLASSES_PATH = Path(__file__).resolve().parents[1] / "data" / "imagenet" / "classes.txt"


def load_classes(path: Path = CLASSES_PATH) -> tuple[str, ...]:
    names = tuple(line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    if len(names) != 1000:
        raise ValueError(f"{path} names {len(names)} ImageNet classes, not 1000")
    return names


IMAGENET_CLASSES: tuple[str, ...] = load_classes()
