"""Small filesystem helpers: atomic writes, file hashing, a per-KB writer lock, the cache folder."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .errors import KBLockedError


def cache_root() -> Path:
    """Where mmroute keeps what it can rebuild (encoder tables, de-quantised models): ``$MMROUTE_CACHE``, else
    ``~/.cache/mmroute``."""
    return Path(os.environ.get("MMROUTE_CACHE") or Path.home() / ".cache" / "mmroute")


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old or the new file, never half of one."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old or the new file, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes 0600 files; written files are ordinary, readable ones
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def atomic_write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n")


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def is_read_only(path: Path) -> bool:
    """True when ``path`` (a folder) cannot or must not be written: a read-only mount, a folder (or its
    parent) without any write permission bit (``chmod -R a-w``: honoured even by root, who could
    write anyway), or one this process has no write access to."""
    try:
        if os.statvfs(path).f_flag & os.ST_RDONLY:
            return True
        return any(not (p.stat().st_mode & 0o222) or not os.access(p, os.W_OK) for p in (path, path.parent))
    except OSError:
        return True


def try_flock(path: Path) -> int | None:
    """Open ``path`` (created if missing) and take an exclusive non-blocking flock on it.

    Returns the open descriptor (the lock lives as long as it stays open; the kernel drops it when the
    process dies, even by SIGKILL), or None when another process holds the lock.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as e:
        os.close(fd)
        if e.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            return None
        raise
    return fd


def lock_is_held(path: Path) -> bool:
    """True while some open descriptor (in this or another process) holds an exclusive flock on ``path``."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


WRITE_LOCK_NAME = ".write.lock"


class WriterLock:
    """An exclusive, crash-safe lock on a KB directory (``flock`` on ``.write.lock``).

    The kernel drops the lock when the holder dies, even by SIGKILL, so a killed indexing run
    never leaves a KB locked. A second writer gets :class:`KBLockedError` naming the holder's pid.
    """

    def __init__(self, directory: Path, name: str) -> None:
        self.path = directory / WRITE_LOCK_NAME
        self.name = name
        self._fd: int | None = None

    def acquire(self) -> WriterLock:
        fd = try_flock(self.path)
        if fd is None:
            pid = self.holder_pid()
            who = f"process {pid}" if pid else "another process"
            raise KBLockedError(
                f"KB {self.name!r} is being written by {who}",
                hint="wait for that run to finish (or stop it), then try again",
            )
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        os.fsync(fd)
        self._fd = fd
        return self

    @property
    def held(self) -> bool:
        """True while this object holds the lock."""
        return self._fd is not None

    def active_holder(self) -> int | None:
        """The pid of the process holding the lock now (0 if held by an unknown one), else None."""
        return (self.holder_pid() or 0) if lock_is_held(self.path) else None

    def holder_pid(self) -> int | None:
        try:
            return int(self.path.read_text().strip() or 0) or None
        except (OSError, ValueError):
            return None

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> WriterLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
