"""Fetching corpus sources: a local path is used as is; a URL is downloaded once into a cache."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from mmroute.errors import InputError


class CorpusError(InputError):
    """A corpus source is missing, unreachable or not in the expected format."""


def cache_dir() -> Path:
    return Path(os.environ.get("MMROUTE_CACHE") or Path.home() / ".cache" / "mmroute" / "corpora")


def fetch(source: str | os.PathLike[str], *, sha256: str | None = None, timeout_s: float = 60.0) -> Path:
    """Return a local path for ``source``: a file path (checked) or an http(s) URL (downloaded once).

    The download goes to a temporary file and is moved into the cache only when complete (and
    its sha256 matches, when given), so an interrupted download never leaves a half file behind.
    """
    s = str(source)
    if not s.startswith(("http://", "https://")):
        p = Path(s).expanduser()
        if not p.exists():
            raise CorpusError(
                f"corpus source {s!r} not found", hint="give a local path, or a URL on a machine with internet"
            )
        return p
    import httpx

    name = hashlib.sha256(s.encode()).hexdigest()[:16] + "-" + (s.rstrip("/").rsplit("/", 1)[-1] or "download")
    dest = cache_dir() / name
    if dest.exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    h = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(dir=dest.parent, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, httpx.stream("GET", s, timeout=timeout_s, follow_redirects=True) as r:
            if r.status_code != 200:
                raise CorpusError(f"downloading {s} failed with HTTP {r.status_code}")
            for chunk in r.iter_bytes():
                out.write(chunk)
                h.update(chunk)
        if sha256 and h.hexdigest() != sha256:
            raise CorpusError(
                f"downloaded {s} but its sha256 does not match", hint="the file changed upstream; check the URL"
            )
        shutil.move(tmp, dest)
    except httpx.HTTPError as e:
        raise CorpusError(
            f"cannot download {s}: {e.__class__.__name__}", hint="check the network, or pass a local copy"
        ) from e
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return dest
