"""Text corpora: JSON Lines records and plain text/markdown files.

JSONL records follow DESIGN.md §3: ``{"id", "text", "title"?, "doc_id"?, ...}``. Paragraph items
keep the record ``id``; records sharing a ``doc_id`` form one document item whose id is the
``doc_id`` (a record without ``doc_id`` is its own document, id = record id). Extra fields go
to ``metadata``. Plain ``.txt``/``.md`` files are split into paragraphs on blank lines; the
file is one document.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..text import split_sentences
from ..types import Granularity, Item, Modality
from .base import MAX_RECORD_CHARS, MAX_TEXT_FILE_BYTES, LoadProblem, LoadResult, relative_id
from .sniff import text_problem

_RESERVED = {"id", "text", "title", "doc_id"}


def _documents(paragraphs: list[Item]) -> list[Item]:
    groups: dict[str, list[Item]] = {}
    for p in paragraphs:
        groups.setdefault(p.doc_id or p.id, []).append(p)
    docs = []
    for doc_id, paras in groups.items():
        title = next((p.title for p in paras if p.title), None)
        docs.append(
            Item(
                id=doc_id,
                kind=Granularity.DOCUMENT,
                text="\n\n".join(p.text for p in paras),
                title=title,
                source=paras[0].source,
                doc_id=doc_id,
                parts=tuple(p.text for p in paras),
                metadata={"paragraph_ids": [p.id for p in paras]},
            )
        )
    return docs


def _finish(paragraphs: list[Item], granularities: Sequence[Granularity], result: LoadResult) -> LoadResult:
    if Granularity.PARAGRAPH in granularities:
        result.items.extend(paragraphs)
    if Granularity.DOCUMENT in granularities:
        result.items.extend(_documents(paragraphs))
    return result


def _check_size(path: Path, result: LoadResult, json_lines: bool = False) -> bool:
    """False (with a problem naming the file) when it is too large, empty, or binary whatever its extension.

    JSON Lines are judged line by line (a bad line is reported, the good ones load) unless the file is binary
    and does not even start like a record: then it is refused whole, as binary."""
    try:
        size = path.stat().st_size
        binary = text_problem(path, strict_utf8=not json_lines) if 0 < size <= MAX_TEXT_FILE_BYTES else None
        if binary and json_lines and _starts_like_a_record(path):
            binary = None
    except OSError as e:
        result.problems.append(LoadProblem(str(path), f"cannot read: {e.strerror or e}"))
        return False
    if size > MAX_TEXT_FILE_BYTES:
        result.problems.append(LoadProblem(str(path), f"file is {size / 1e9:.1f} GB, over the 2 GB limit; split it"))
        return False
    if size == 0:
        result.problems.append(LoadProblem(str(path), "file is empty"))
        return False
    if binary:
        result.problems.append(LoadProblem(str(path), binary))
        return False
    return True


_BOM = b"\xef\xbb\xbf"


def _starts_like_a_record(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(256).removeprefix(_BOM).lstrip().startswith(b"{")


class JsonlLoader:
    """Loads a JSON Lines text corpus. Bad lines are reported with their line number and skipped.

    >>> res = JsonlLoader().load(Path("corpus.jsonl"), [Granularity.PARAGRAPH])
    >>> len(res.items), [str(p) for p in res.problems]
    """

    modality = Modality.TEXT.value
    extensions = frozenset({".jsonl", ".ndjson"})

    def companions(self, path: Path, root: Path | None = None) -> list[Path]:
        """None: a text file holds all of its items."""
        return []

    def load(self, path: Path, granularities: Sequence[Granularity], root: Path | None = None) -> LoadResult:
        result = LoadResult()
        if not _check_size(path, result, json_lines=True):
            return result
        paragraphs: list[Item] = []
        seen: set[str] = set()
        src = str(path)
        try:
            fh = open(path, "rb")
        except OSError as e:
            result.problems.append(LoadProblem(src, f"cannot read: {e.strerror}"))
            return result
        with fh:
            for lineno, raw in enumerate(_bounded_lines(fh, 4 * MAX_RECORD_CHARS), start=1):
                if raw is None:
                    result.problems.append(
                        LoadProblem(
                            src,
                            f"record is over {4 * MAX_RECORD_CHARS:,} bytes, over the {MAX_RECORD_CHARS:,} character limit",
                            lineno,
                        )
                    )
                    continue
                if not raw.strip():
                    continue
                problem = None
                if lineno == 1 and raw.startswith(_BOM):  # a UTF-8 byte order mark (Windows editors)
                    raw = raw[len(_BOM) :]
                try:
                    line = raw.decode("utf-8")
                    if len(line) > MAX_RECORD_CHARS:
                        problem = f"record is {len(line):,} characters, over the {MAX_RECORD_CHARS:,} limit"
                    else:
                        line = line.rstrip("\r\n")  # an error at the end is then at the end of this line, not "line 2"
                        rec: Any = json.loads(line)
                        problem = _validate(rec)
                except UnicodeDecodeError:
                    problem = "not valid UTF-8"
                except json.JSONDecodeError as e:
                    cut = ", the end of the line: the record is cut short" if e.pos >= len(e.doc.rstrip()) else ""
                    problem = f"malformed JSON ({e.msg.removesuffix(' at')} at column {e.colno}{cut})"
                except RecursionError:
                    problem = "malformed JSON (nested too deeply)"
                if problem:
                    result.problems.append(LoadProblem(src, problem, lineno))
                    continue
                rid = str(rec["id"])
                if rid in seen:
                    result.problems.append(LoadProblem(src, f"duplicate id {rid!r} (first occurrence kept)", lineno))
                    continue
                seen.add(rid)
                meta = {k: v for k, v in rec.items() if k not in _RESERVED}
                doc_id = rec.get("doc_id")
                paragraphs.append(
                    Item(
                        id=rid,
                        kind=Granularity.PARAGRAPH,
                        text=rec["text"].strip(),
                        title=(str(rec["title"]) if rec.get("title") else None),
                        source=src,
                        doc_id=str(doc_id) if doc_id not in (None, "") else None,
                        metadata=meta,
                    )
                )
        return _finish(paragraphs, granularities, result)


def _bounded_lines(fh: Any, max_bytes: int) -> Iterator[bytes | None]:
    """Lines of a binary file, never holding more than ``max_bytes`` of one line in memory.

    A longer line (a multi-GB file without newlines) is skipped to its end and yields ``None``.
    """
    while True:
        line = fh.readline(max_bytes + 1)
        if not line:
            return
        if len(line) <= max_bytes or line.endswith(b"\n"):
            yield line
            continue
        while line and not line.endswith(b"\n"):  # drain the rest of the overlong line in chunks
            line = fh.readline(1 << 20)
        yield None


def _validate(rec: Any) -> str | None:
    if not isinstance(rec, dict):
        return f"expected a JSON object, got {type(rec).__name__}"
    if "id" not in rec or not isinstance(rec["id"], (str, int)) or str(rec["id"]) == "":
        return 'missing or empty "id" (a string)'
    if not isinstance(rec.get("text"), str):
        if isinstance(rec.get("question"), str):
            return 'a question record, not a passage (no "text"): index the corpus; questions go to `mmroute eval`'
        return 'missing "text" (a string)'
    if not rec["text"].strip():
        return 'empty "text"'
    if "title" in rec and rec["title"] is not None and not isinstance(rec["title"], str):
        return '"title" must be a string'
    if "doc_id" in rec and rec["doc_id"] is not None and not isinstance(rec["doc_id"], (str, int)):
        return '"doc_id" must be a string'
    return None


class PlainTextLoader:
    """Loads ``.txt``/``.md`` files: paragraphs split on blank lines; the file is one document."""

    modality = Modality.TEXT.value
    extensions = frozenset({".txt", ".md", ".markdown"})

    def companions(self, path: Path, root: Path | None = None) -> list[Path]:
        """None: a text file holds all of its items."""
        return []

    def load(self, path: Path, granularities: Sequence[Granularity], root: Path | None = None) -> LoadResult:
        result = LoadResult()
        if not _check_size(path, result):
            return result
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError as e:
            result.problems.append(
                LoadProblem(
                    str(path),
                    f"not UTF-8 text (byte 0x{e.object[e.start]:02x} at offset {e.start:,}): a binary file, or text "
                    "in another encoding (save it as UTF-8)",
                )
            )
            return result
        except OSError as e:
            result.problems.append(LoadProblem(str(path), f"cannot read: {e.strerror}"))
            return result
        if "\x00" in text:
            at = text.index("\x00")
            result.problems.append(
                LoadProblem(str(path), f"binary file, not UTF-8 text (a NUL byte at character {at:,})")
            )
            return result
        blocks = [b.strip() for b in text.replace("\r\n", "\n").split("\n\n")]
        blocks = [b for b in blocks if b]
        if not blocks:
            result.problems.append(LoadProblem(str(path), "no text in file"))
            return result
        doc_id = relative_id(path, root)
        title = path.stem.replace("_", " ")
        if blocks[0].startswith("#"):
            title = blocks[0].lstrip("#").strip() or title
        paragraphs = [
            Item(
                id=f"{doc_id}#p{i}" + (f".{j}" if j else ""),
                kind=Granularity.PARAGRAPH,
                text=piece,
                title=title,
                source=str(path),
                doc_id=doc_id,
            )
            for i, b in enumerate(blocks)
            for j, piece in enumerate(paragraph_pieces(b))
        ]
        return _finish(paragraphs, granularities, result)


MAX_PARAGRAPH_CHARS = 2000
"""A blank-line block longer than this (a file written as one long line) is indexed as several paragraphs of at most
this many characters, cut between sentences: a 2.7 MB line as one paragraph was one vector for its first few hundred
words, and every question whose evidence held it ran for minutes in the reader, the planner and the verifier. The
first piece keeps the block's id (``notes.md#p3``), the others add their number (``notes.md#p3.1``)."""


def paragraph_pieces(block: str, limit: int = MAX_PARAGRAPH_CHARS) -> list[str]:
    """``block`` as pieces of at most ``limit`` characters, cut after a sentence where one ends, else at a space,
    else anywhere (a run of characters without either)."""
    if len(block) <= limit:
        return [block]
    pieces: list[str] = []
    start = 0
    ends = [b for _, b in split_sentences(block)]
    while len(block) - start > limit:
        at = bisect.bisect_right(ends, start + limit) - 1  # the last sentence end within reach
        cut = ends[at] if at >= 0 else 0
        if cut <= start:
            space = block.rfind(" ", start + 1, start + limit + 1)
            cut = space if space > start else start + limit
        pieces.append(block[start:cut].strip())
        start = cut
    pieces.append(block[start:].strip())
    return [p for p in pieces if p]
