"""Per-KB admission inside the server: many concurrent readers, one writer per KB.

Readers (search, kb info, ask) enter a KB's gate without waiting; a writer (an index job, a delete)
first marks its KBs as *being written*, which turns new readers away at once, then waits for the
readers already inside to leave before it touches the store. Two writers of one KB queue up (the
second waits for the first), so writes to a KB are serialised inside the server.

Routed questions do not fail on a KB being written: :meth:`KBGate.read` with ``skip_writing``
leaves such KBs out, and :class:`ServedHome` reports them to the retrievers, which name them in
the trace.

>>> gate = KBGate()
>>> with gate.read(["hop"]):
...     ...                                  # search hop
>>> with gate.write(["hop"], holder="index job 3f2a"):
...     ...                                  # index into hop; readers get KBLockedError meanwhile
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from ..errors import KBLockedError
from ..kb import Home


class KBGate:
    """Reader/writer admission per KB name, with writers preferred (see the module doc)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers: Counter[str] = Counter()
        self._writing: dict[str, str] = {}

    def writing(self) -> dict[str, str]:
        """KB name -> who is writing it (e.g. ``"index job 3f2a"``)."""
        with self._cond:
            return dict(self._writing)

    def _refusal(self, name: str) -> KBLockedError:
        return KBLockedError(
            f"KB {name!r} is being written by the server ({self._writing[name]})",
            hint="try again when it has finished (GET /v1/jobs shows the server's index jobs)",
        )

    @contextmanager
    def read(self, names: Iterable[str], skip_writing: bool = False) -> Iterator[list[str]]:
        """Enter the KBs ``names`` as a reader; yields the names entered.

        A KB being written raises :class:`KBLockedError`, or is left out with ``skip_writing``.
        """
        held: list[str] = []
        with self._cond:
            wanted = list(dict.fromkeys(names))
            if not skip_writing:
                for n in wanted:
                    if n in self._writing:
                        raise self._refusal(n)
            for n in wanted:
                if n not in self._writing:
                    self._readers[n] += 1
                    held.append(n)
        try:
            yield held
        finally:
            with self._cond:
                for n in held:
                    self._readers[n] -= 1
                    if self._readers[n] <= 0:
                        del self._readers[n]
                self._cond.notify_all()

    @contextmanager
    def write(self, names: Iterable[str], holder: str, wait: bool = True) -> Iterator[None]:
        """Own the KBs ``names`` for writing: queue behind another writer (or refuse with ``wait=False``),
        turn new readers away, and wait until the readers inside have left."""
        wanted = list(dict.fromkeys(names))
        with self._cond:
            while any(n in self._writing for n in wanted):
                if not wait:
                    raise self._refusal(next(n for n in wanted if n in self._writing))
                self._cond.wait()
            for n in wanted:
                self._writing[n] = holder
            while any(self._readers[n] for n in wanted):
                self._cond.wait()
        try:
            yield
        finally:
            with self._cond:
                for n in wanted:
                    self._writing.pop(n, None)
                self._cond.notify_all()


class ServedHome(Home):
    """The server's :class:`~mmroute.kb.Home`: KBs its own index jobs write count as being written
    from the moment the job claims them (before the indexer's file lock is taken)."""

    def __init__(self, root: str | None, gate: KBGate) -> None:
        super().__init__(root)
        self.gate = gate

    def writing(self) -> list[str]:
        busy = set(super().writing()) | set(self.gate.writing())
        return [n for n in self.names() if n in busy]
