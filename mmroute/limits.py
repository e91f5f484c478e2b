"""Limits on what users send, checked the same way by every entry point (CLI, ``mmroute serve``, Pipeline).

Standard library only: the CLI's server client imports it without paying for numpy or torch.

- Questions and queries: at most :func:`max_question_chars` characters (2000 by default; set
  ``$MMROUTE_MAX_QUESTION_CHARS`` to change it, in the environment of the process that answers: the CLI
  in-process, or ``mmroute serve``). A longer one is refused by :func:`check_question` with one line
  that gives its length and a short prefix, never the whole text.
- KB names: :func:`validate_kb_name` (1-64 letters, digits, ``-``, ``_`` or ``.``), checked before a name
  is put in a path or in a URL.
- Disk: a KB is written only while the disk holding it keeps :func:`min_free_bytes` free (128 MB by default,
  ``$MMROUTE_MIN_FREE_MB``), checked before a run and before each batch, and a store is opened only with
  :data:`OPEN_FREE_BYTES` free: Qdrant Edge maps its files into memory, and a write into a mapped page the
  disk cannot hold kills the process with SIGBUS instead of raising an error. :func:`check_free_space`
  raises the one-line :class:`~mmroute.errors.DiskFullError` instead.
- Images: at most :func:`max_image_pixels` pixels (width x height read from the file's header, before
  any pixel is decoded; ``$MMROUTE_MAX_IMAGE_PIXELS``, default 178,956,970, Pillow's own hard limit), so a
  decompression bomb is refused within a known memory bound.

>>> check_question("Who directed Inception?")
'Who directed Inception?'
>>> check_question("why " * 1000)
Traceback (most recent call last):
mmroute.errors.InputError: the question is 4,000 characters, over the 2,000 character limit ('why why why why why why why why why why ...')
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from .errors import ConfigError, DiskFullError, InputError

DEFAULT_MAX_QUESTION_CHARS = 2000
"""Longest question or query accepted (characters); far above any real question, far below an abuse."""
MAX_QUESTION_CHARS_ENV = "MMROUTE_MAX_QUESTION_CHARS"
DEFAULT_MAX_IMAGE_PIXELS = 178_956_970
"""Largest image accepted (width x height): Pillow's own hard limit (2x ``Image.MAX_IMAGE_PIXELS``),
about 13,000 x 13,000 pixels, 540 MB decoded as RGB."""
MAX_IMAGE_PIXELS_ENV = "MMROUTE_MAX_IMAGE_PIXELS"
DEFAULT_MIN_FREE_MB = 128
"""Room kept free on the disk of a home while a KB is written (MB): Qdrant Edge grows its write-ahead log,
vectors, payloads and lexical postings in 32 MB memory-mapped steps, so 128 MB covers one step of each."""
MIN_FREE_MB_ENV = "MMROUTE_MIN_FREE_MB"
OPEN_FREE_BYTES = 4 * 1024 * 1024
"""Room needed to open a store at all (its lock files, a write-ahead log replayed after a crash)."""
PREVIEW_CHARS = 40
"""How much of a refused text an error message shows."""

_KB_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip().replace("_", "").replace(",", "")
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigError(
            f"${name} must be a positive whole number, not {os.environ[name][:PREVIEW_CHARS]!r}",
            hint=f"e.g. {name}={default}, or unset it for the default",
        )
    return value


def max_question_chars() -> int:
    """The question length limit in force: ``$MMROUTE_MAX_QUESTION_CHARS``, else 2000."""
    return _env_int(MAX_QUESTION_CHARS_ENV, DEFAULT_MAX_QUESTION_CHARS)


def max_image_pixels() -> int:
    """The image size limit in force (pixels): ``$MMROUTE_MAX_IMAGE_PIXELS``, else 178,956,970."""
    return _env_int(MAX_IMAGE_PIXELS_ENV, DEFAULT_MAX_IMAGE_PIXELS)


def preview(text: str, chars: int = PREVIEW_CHARS) -> str:
    """The start of ``text`` on one line, marked ``...`` when cut: what an error may show of a long text."""
    flat = " ".join(text[: chars * 4].split())
    if len(flat) <= chars and len(text) <= chars * 4:
        return flat
    cut = flat[: chars + 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > chars // 2 else cut[:chars]).rstrip() + " ..."


_SURROGATE = re.compile("[\ud800-\udfff]")
"""What Python makes of bytes that are not UTF-8 in ``sys.argv`` (``surrogateescape``), and what a lone ``\\ud800``
escape in a JSON body decodes to: no tokenizer or encoder takes it."""


def check_question(text: str, what: str = "question", limit: int | None = None) -> str:
    """``text`` when it is at most the limit long; else :class:`InputError` with its length and a prefix."""
    limit = max_question_chars() if limit is None else limit
    if _SURROGATE.search(text):  # bytes that were not UTF-8 (a Latin-1 terminal), or a lone surrogate in JSON
        raise InputError(
            f"the {what} is not valid UTF-8 text ({preview(_SURROGATE.sub(chr(0xFFFD), text))!r})",
            hint="type it again, or convert it to UTF-8 (iconv -f latin1 -t utf-8)",
        )
    if len(text) > limit:
        raise InputError(
            f"the {what} is {len(text):,} characters, over the {limit:,} character limit ({preview(text)!r})",
            hint=f"shorten it to at most {limit:,} characters (the limit is ${MAX_QUESTION_CHARS_ENV} "
            "where the question is answered)",
        )
    return text


def validate_kb_name(name: str) -> str:
    """``name`` when it can name a KB (a folder, a URL segment); else :class:`InputError` with the rule."""
    if (
        not isinstance(name, str)
        or not name
        or len(name) > 64
        or not set(name) <= _KB_NAME_CHARS
        or name.startswith((".", "-"))
    ):
        shown = name if not isinstance(name, str) or len(name) <= 80 else preview(name)
        raise InputError(
            f"invalid KB name {shown!r}",
            hint="use 1-64 letters, digits, '-', '_' or '.', not starting with '.' or '-'",
        )
    return name


def min_free_bytes() -> int:
    """Bytes kept free while writing a KB: ``$MMROUTE_MIN_FREE_MB`` (MB) or :data:`DEFAULT_MIN_FREE_MB`."""
    raw = os.environ.get(MIN_FREE_MB_ENV, "").strip()
    if not raw:
        return DEFAULT_MIN_FREE_MB * 1024 * 1024
    try:
        value = float(raw)
        if value < 0:
            raise ValueError
    except ValueError:
        raise ConfigError(
            f"{MIN_FREE_MB_ENV}={raw!r} is not a number of megabytes",
            hint=f"e.g. {MIN_FREE_MB_ENV}=512, or unset it for {DEFAULT_MIN_FREE_MB}",
        ) from None
    return int(value * 1024 * 1024)


def check_free_space(path: Path, doing: str, need: int | None = None) -> None:
    """Raise :class:`DiskFullError` when the disk holding ``path`` has less than ``need`` bytes free
    (default :func:`min_free_bytes`); ``doing`` says what needed the room ("writing KB 'hop'")."""
    margin = need is None
    need = min_free_bytes() if need is None else need
    probe = Path(path)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if free < need:
        raise DiskFullError(
            f"the disk holding {path} has {free / 1048576:.1f} MB free, less than the {need / 1048576:.0f} MB "
            f"mmroute keeps free while {doing}",
            hint="free some space, or use a home on another disk (--home DIR)"
            + (f"; {MIN_FREE_MB_ENV} sets the margin" if margin else ""),
        )
