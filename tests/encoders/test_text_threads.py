"""A few queries are embedded with one torch thread (a spinning pool of two loses the CPU under load);
batches keep every thread, and the thread count is restored after."""

from __future__ import annotations

import threading

import pytest

from mmroute.encoders import text as text_mod

torch = pytest.importorskip("torch")


def test_few_queries_use_one_thread_and_restore_the_count() -> None:
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        seen: list[int] = []
        with text_mod.few_threads(1, "cpu"):
            seen.append(torch.get_num_threads())
        with text_mod.few_threads(text_mod.FEW_QUERIES + 1, "cpu"):  # a batch keeps its threads
            seen.append(torch.get_num_threads())
        with text_mod.few_threads(1, "cuda"):  # not a CPU matter
            seen.append(torch.get_num_threads())
        assert seen == [text_mod.QUERY_THREADS, 2, 2] and torch.get_num_threads() == 2
        with pytest.raises(RuntimeError), text_mod.few_threads(1, "cpu"):
            raise RuntimeError("the count comes back even on an error")
        assert torch.get_num_threads() == 2
        # concurrent callers each get one thread and never leave the process at one thread
        inside: list[int] = []
        for _ in range(20):
            ts = [threading.Thread(target=_embed_once, args=(inside,)) for _ in range(4)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
        assert inside == [text_mod.QUERY_THREADS] * 80 and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def _embed_once(inside: list[int]) -> None:
    with text_mod.few_threads(1, "cpu"):
        inside.append(torch.get_num_threads())
