"""Deciding what to load: expand an input path into source files and pick a loader per file.

A folder is walked recursively (hidden files and sidecars skipped); the modality of each file
comes from its extension unless the user forces one with ``--modality``. Files whose extension
no loader handles are reported as problems, not silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..types import Modality
from .base import LOADERS, Loader, LoadProblem, unusable_links, walk_files

TEXT_EXTS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".txt": "plaintext", ".md": "plaintext", ".markdown": "plaintext"}
IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff"}
VIDEO_EXTS = {".mp4", ".mkv", ".webm", ".mov", ".avi", ".m4v"}
# Files that describe other files; never indexed as items of their own.
SIDECAR_EXTS = {".srt", ".vtt", ".json"}
SIDECAR_NAMES = {"captions.json", "labels.json", "annotations.json", "manifest.json"}


@dataclass(frozen=True)
class SourcePlan:
    path: Path
    loader: str  # LOADERS name


def get_loader(name: str, **options: object) -> Loader:
    return LOADERS.create(name, **options)


def modality_of(path: Path) -> Modality | None:
    ext = path.suffix.lower()
    if ext in TEXT_EXTS:
        return Modality.TEXT
    if ext in IMAGE_EXTS:
        return Modality.IMAGE
    if ext in VIDEO_EXTS:
        return Modality.VIDEO
    return None


def _loader_for(path: Path, modality: Modality) -> str | None:
    ext = path.suffix.lower()
    if modality is Modality.TEXT:
        return TEXT_EXTS.get(ext)
    if modality is Modality.IMAGE:
        return "image" if ext in IMAGE_EXTS else None
    if modality is Modality.VIDEO:
        # an animated GIF can be indexed as a video when the user asks for video
        return "video" if ext in VIDEO_EXTS or ext == ".gif" else None
    return None


INDEXED_FORMATS = (
    "text .jsonl .ndjson .txt .md; images .jpg .png .gif .webp .bmp .tif; video .mp4 .mkv .webm .mov .avi .m4v"
)
"""What a folder may hold to be indexed (said when a file is left out)."""


def ignored_json(input_path: Path) -> list[Path]:
    """``.json`` files of a folder that nothing reads: not ``captions.json``-style indexes, and not the
    ``NAME.json`` caption sidecar of an image or video beside them (a ``data.json`` corpus, say)."""
    input_path = Path(input_path)
    if not input_path.is_dir():
        return []
    files = walk_files(input_path)
    media_stems = {(f.parent, f.stem) for f in files if modality_of(f) in (Modality.IMAGE, Modality.VIDEO)}
    return [
        f
        for f in files
        if f.suffix.lower() == ".json" and f.name not in SIDECAR_NAMES and (f.parent, f.stem) not in media_stems
    ]


def ignored_note(path: Path) -> str:
    """One line saying why ``path`` was not indexed and what is."""
    return (
        f"{path} is not indexed: a .json file is read only as the captions of the image or video "
        f"beside it (NAME.json) or as captions.json; indexed formats: {INDEXED_FORMATS}"
    )


def _refuse_unreadable(files: list[Path]) -> tuple[list[Path], list[LoadProblem]]:
    """``files`` less those whose content is not what their extension says (:func:`.sniff.file_problem`),
    and a problem naming each of those."""
    from .sniff import file_problem

    kept: list[Path] = []
    refused: list[LoadProblem] = []
    for f in files:
        m = modality_of(f)
        why = file_problem(f, m) if m is not None else None
        if why:
            refused.append(LoadProblem(str(f), why))
        else:
            kept.append(f)
    return kept, refused


def _all_refused(input_path: Path, refused: list[LoadProblem]) -> InputError:
    shown = "; ".join(str(p) for p in refused[:3]) + (f"; and {len(refused) - 3} more" if len(refused) > 3 else "")
    return InputError(
        f"nothing to index in {str(input_path)!r}: its {len(refused)} file(s) are unreadable ({shown}); "
        "no KB was created",
        hint="replace or remove those files (binary files are not text, corrupt images and videos cannot be "
        "decoded), then run the command again",
    )


def plan_sources(
    input_path: Path, modality: Modality | None = None
) -> tuple[Modality, list[SourcePlan], list[LoadProblem]]:
    """Expand ``input_path`` into (modality, sources, problems).

    Raises :class:`InputError` when the path does not exist or holds nothing loadable.
    """
    input_path = Path(input_path)
    if not input_path.exists():
        raise InputError(f"input {str(input_path)!r} does not exist", hint="check the --input path")
    if input_path.is_file():
        files = [input_path]
    else:
        files = walk_files(input_path)
    problems: list[LoadProblem] = [] if input_path.is_file() else unusable_links(input_path)
    candidates = [
        f for f in files if not (f.name in SIDECAR_NAMES or (input_path.is_dir() and f.suffix.lower() in SIDECAR_EXTS))
    ]
    if input_path.is_dir():  # NAME.txt beside NAME.jpg / NAME.mp4 is that file's caption, not a text source
        media_stems = {(f.parent, f.stem) for f in candidates if modality_of(f) in (Modality.IMAGE, Modality.VIDEO)}
        candidates = [f for f in candidates if not (f.suffix.lower() == ".txt" and (f.parent, f.stem) in media_stems)]
    if modality is None:
        found = {m for f in candidates if (m := modality_of(f)) is not None}
        if len(found) > 1:  # junk (a binary .txt, a corrupt .jpg) must not decide what a mixed folder holds
            candidates, refused = _refuse_unreadable(candidates)
            problems.extend(refused)
            found = {m for f in candidates if (m := modality_of(f)) is not None}
            if not found:
                raise _all_refused(input_path, refused)
        if not found:
            unread = ignored_json(input_path)
            also = f" ({unread[0].name} is JSON, not JSON Lines: write one record per line as .jsonl)" if unread else ""
            raise InputError(
                f"nothing to index in {str(input_path)!r}: no file with a known extension{also}",
                hint="text: .jsonl .txt .md; images: .jpg .png .gif .webp ...; video: .mp4 .mkv .webm .mov",
            )
        if len(found) > 1:
            order = [Modality.TEXT, Modality.IMAGE, Modality.VIDEO]
            counts = {m: sum(1 for f in candidates if modality_of(f) is m) for m in found}
            modality = max(order, key=lambda m: counts.get(m, 0))
            others = ", ".join(f"{counts[m]} {m.value}" for m in order if m in found and m is not modality)
            problems.append(
                LoadProblem(
                    str(input_path),
                    f"mixed modalities: indexing {modality.value} files, skipping {others} "
                    f"(index them into another KB with --modality)",
                )
            )
        else:
            (modality,) = found
    plans: list[SourcePlan] = []
    for f in candidates:
        loader = _loader_for(f, modality)
        if loader is not None:
            plans.append(SourcePlan(f, loader))
        elif modality_of(f) is None:
            problems.append(LoadProblem(str(f), f"unknown file type {f.suffix or '(no extension)'!r}; skipped"))
    if not plans:
        raise InputError(
            f"no {modality.value} files in {str(input_path)!r}", hint="check --modality, or the file extensions"
        )
    return modality, plans, problems
