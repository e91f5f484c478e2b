"""Chat turns that survive a rerun: each question is answered on a worker thread, not in the page script.

Streamlit stops the running script when the user sends the next message; an answer computed inside
the script was then lost. A :class:`Turn` holds its answer's future instead: the thread finishes
whatever happens to the script, and the next run shows the answer in its place.

>>> turn = Turn.submit("Who directed Inception?", None, lambda: app.ask(...))
>>> turn.wait(0.2)        # False while the server works; the page polls and re-renders
>>> turn.answer.display_text
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from ..errors import MMRouteError
from ..types import Answer

WORKERS = 4
"""Questions answered at once per app process (the server does the work; these threads wait on HTTP)."""

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="mmroute-app-ask")
        return _pool


@dataclass
class Turn:
    """One question and, once the worker is done, its answer or the error to show instead."""

    question: str
    image: str | None = None
    answer: Answer | None = None
    error: str | None = None
    future: Future | None = field(default=None, repr=False, compare=False)

    @classmethod
    def submit(
        cls,
        question: str,
        image: str | None,
        ask: Callable[[], Answer],
        describe: Callable[[MMRouteError], str] = lambda e: e.message,
    ) -> Turn:
        """Start answering on a worker thread; ``describe`` turns a user error into the text shown."""
        turn = cls(question=question, image=image)

        def work() -> None:
            try:
                turn.answer = ask()
            except MMRouteError as e:
                turn.error = describe(e)
            except Exception as e:  # noqa: BLE001 - shown in the chat instead of vanishing with the thread
                turn.error = f"the question failed: {type(e).__name__}: {e}"

        turn.future = _executor().submit(work)
        return turn

    @property
    def pending(self) -> bool:
        return self.future is not None and not self.future.done()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Wait up to ``timeout_s`` for the answer; True once it (or an error) is there."""
        if self.future is None:
            return True
        try:
            self.future.result(timeout=timeout_s)
        except TimeoutError:
            return False
        return True
