"""The loader role: turn a source file into items, reporting (not raising on) bad parts.

A loader never aborts a whole source for one bad record: a malformed JSONL line, a corrupt image
or an undecodable video becomes a :class:`LoadProblem` naming the path (and line), and the
other items load. Problems end up in the indexing summary and the CLI's exit code.
"""

from __future__ import annotations

import errno
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from ..registry import Registry
from ..types import Granularity, Item

MAX_TEXT_FILE_BYTES = 2 * 1024**3
MAX_RECORD_CHARS = 2_000_000


@dataclass(frozen=True)
class LoadProblem:
    """Something in a source that could not be loaded, with where and why."""

    source: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.message}"


@dataclass
class LoadResult:
    items: list[Item] = field(default_factory=list)
    problems: list[LoadProblem] = field(default_factory=list)

    def extend(self, other: LoadResult) -> None:
        self.items.extend(other.items)
        self.problems.extend(other.problems)


@runtime_checkable
class Loader(Protocol):
    """Loads one source file into items of the requested granularities.

    ``root`` is the folder the user named (ids of media items are paths relative to it).
    """

    modality: str
    extensions: frozenset[str]

    def load(self, path: Path, granularities: Sequence[Granularity], root: Path | None = None) -> LoadResult: ...

    def companions(self, path: Path, root: Path | None = None) -> list[Path]:
        """The other files whose contents go into the items of source file ``path`` (caption and subtitle
        sidecars, folder-level caption indexes): the indexer reads a source again when one of them changes."""
        ...


def walk_files(folder: Path, extensions: frozenset[str] | set[str] | None = None) -> list[Path]:
    """Files below ``folder`` (recursive, sorted), skipping hidden files and folders, an mmroute home's own files
    (``kbs/``, ``serve/`` and ``serve.json`` beside a ``kbs/*/manifest.json``: its stores are no corpus), and a symbolic link to a file also
    found (it would be indexed twice, under its own name); optionally only those whose lower-cased suffix is in
    ``extensions``."""
    folder = Path(folder)
    homes = {m.parent.parent.parent for m in folder.rglob("kbs/*/manifest.json")}
    store_parts = [h / part for h in homes for part in ("kbs", "serve", "serve.json")]  # a home's own files only
    found = [
        p
        for p in folder.rglob("*")
        if p.is_file()
        and (extensions is None or p.suffix.lower() in extensions)
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        and not any(p == s or p.is_relative_to(s) for s in store_parts)
    ]
    real = {p.resolve() for p in found if not p.is_symlink()}
    return sorted(p for p in found if not (p.is_symlink() and p.resolve() in real))


def unusable_links(folder: Path) -> list[LoadProblem]:
    """Symbolic links below ``folder`` (not hidden) that lead nowhere: a loop, or a missing target.

    :func:`walk_files` leaves them out (they are not files); these are the messages saying so.
    """
    folder = Path(folder)
    out: list[LoadProblem] = []
    for p in sorted(folder.rglob("*")):
        if not p.is_symlink() or any(part.startswith(".") for part in p.relative_to(folder).parts):
            continue
        try:
            p.resolve(strict=True)
        except RuntimeError:  # Python < 3.13 reports a loop this way
            out.append(LoadProblem(str(p), "symbolic link loop"))
        except OSError as e:
            why = "symbolic link loop" if e.errno == errno.ELOOP else "broken symbolic link (its target is missing)"
            out.append(LoadProblem(str(p), why))
    return out


def relative_id(path: Path, root: Path | None) -> str:
    """Stable, portable id for a media file: its path relative to the input root, with '/'."""
    path = Path(path)
    if root is not None:
        try:
            return path.resolve().relative_to(Path(root).resolve()).as_posix()
        except ValueError:
            pass
    return path.name


LOADERS: Registry[Loader] = Registry(
    "loader",
    {
        "jsonl": "mmroute.loaders.text:JsonlLoader",
        "plaintext": "mmroute.loaders.text:PlainTextLoader",
        "image": "mmroute.loaders.images:ImageLoader",
        "video": "mmroute.loaders.video:VideoLoader",
    },
)
"""Loaders by name: ``jsonl``, ``plaintext`` (text), ``image``, ``video``. Factories take keyword
options (e.g. clip window length for video)."""
