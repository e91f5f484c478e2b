"""The discovery file ``HOME/serve.json``: how a CLI call finds the server that owns a home.

``mmroute serve`` writes it once it is warm and listening, and removes it on a clean exit. It holds
the pid, the address and the start time, never a secret (the bearer token stays in the environment).
A server killed by SIGKILL leaves the file behind; such a *stale* file is recognised because its
process is gone, or because the server lock (``HOME/.serve.lock``, an ``flock`` the kernel drops when
the holder dies) is not held, or because ``/health`` does not answer; the next ``mmroute serve``
replaces it and clients ignore it.

The module imports only the standard library: every CLI call reads this file, and a CLI talking
to a warm server must start fast.

>>> info = read_discovery(Path("~/.mmroute").expanduser())
>>> info.url if info and process_alive(info.pid) else "no server"
'http://127.0.0.1:8765'
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from ..fsutil import lock_is_held, try_flock

DISCOVERY_NAME = "serve.json"
LOCK_NAME = ".serve.lock"


@dataclass(frozen=True)
class ServerInfo:
    """What the discovery file says about a running server."""

    pid: int
    host: str
    port: int
    started_at: str
    home: str
    version: str = ""

    @property
    def url(self) -> str:
        """Where a client on this machine reaches the server (a wildcard bind is reached on loopback)."""
        host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(self.host, self.host)
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or address, as a bind address or a URL's host gives it) is this machine's loopback."""
    import ipaddress

    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def discovery_path(home_root: Path) -> Path:
    return Path(home_root) / DISCOVERY_NAME


def read_discovery(home_root: Path) -> ServerInfo | None:
    """The server info in ``HOME/serve.json``, or None when there is none or it cannot be read."""
    try:
        d = json.loads(discovery_path(home_root).read_text(encoding="utf-8"))
        return ServerInfo(
            pid=int(d["pid"]),
            host=str(d["host"]),
            port=int(d["port"]),
            started_at=str(d.get("started_at") or ""),
            home=str(d.get("home") or ""),
            version=str(d.get("version") or ""),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_discovery(home_root: Path, info: ServerInfo) -> Path:
    """Write the file atomically (readers see the old file or the new one, never half of one)."""
    from ..fsutil import atomic_write_text

    path = discovery_path(home_root)
    atomic_write_text(path, json.dumps(info.to_dict(), indent=2, sort_keys=True) + "\n")
    return path


def remove_discovery(home_root: Path, pid: int) -> None:
    """Remove the file if it still names ``pid`` (a newer server's file is left alone)."""
    info = read_discovery(home_root)
    if info is not None and info.pid == pid:
        try:
            discovery_path(home_root).unlink()
        except FileNotFoundError:
            pass


def process_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


class ServeLock:
    """One server per home: an exclusive ``flock`` on ``HOME/.serve.lock`` held for the server's life.

    The kernel releases it when the process dies, even by SIGKILL, so a killed server never blocks
    the next one, and two servers started at once cannot both own the home.
    """

    def __init__(self, home_root: Path) -> None:
        self.path = Path(home_root) / LOCK_NAME
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        fd = try_flock(self.path)
        if fd is None:
            return False
        self._fd = fd
        return True

    def held_by_another(self) -> bool:
        """True while some process (not this object) holds the lock."""
        return lock_is_held(self.path)

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
