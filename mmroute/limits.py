"""Limits on what users send, checked the same way by every entry point (CLI, ``mmroute serve``, Pipeline).

Standard library only: the CLI's server client imports it without paying for numpy or torch.

- Questions and queries: at most :func:`max_question_chars` characters (2000 by default; set
  ``$MMROUTE_MAX_QUESTION_CHARS`` to change it, in the environment of the process that answers: the CLI
  in-process, or ``mmroute serve``). A longer one is refused by :func:`check_question` with one line
  that gives its length and a short prefix, never the whole text.
- KB names: :func:`validate_kb_name` (1-64 letters, digits, ``-``, ``_`` or ``.``), checked before a name
  is put in a path or in a URL.
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

from .errors import ConfigError, InputError

DEFAULT_MAX_QUESTION_CHARS = 2000
"""Longest question or query accepted (characters); far above any real question, far below an abuse."""
MAX_QUESTION_CHARS_ENV = "MMROUTE_MAX_QUESTION_CHARS"
DEFAULT_MAX_IMAGE_PIXELS = 178_956_970
"""Largest image accepted (width x height): Pillow's own hard limit (2x ``Image.MAX_IMAGE_PIXELS``),
about 13,000 x 13,000 pixels, 540 MB decoded as RGB."""
MAX_IMAGE_PIXELS_ENV = "MMROUTE_MAX_IMAGE_PIXELS"
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


def check_question(text: str, what: str = "question", limit: int | None = None) -> str:
    """``text`` when it is at most the limit long; else :class:`InputError` with its length and a prefix."""
    limit = max_question_chars() if limit is None else limit
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
