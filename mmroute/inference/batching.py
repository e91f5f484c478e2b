"""Batches of like length under a padded-token budget, for transformer inference on a CPU.

A batch is padded to its longest row, so rows of mixed length waste work on padding; and on a 2-core CPU
wide batches of long rows run slower per token than narrow ones (cache). Measured on the packaged MiniLM
under ONNX Runtime: IRCoT paragraphs embed 2.9x faster in like-length batches of at most 1,024 padded
tokens than in file-order batches of 64 (``evals/bench/bench_indexing``); reader windows of up to 256 tokens
read fastest one at a time (see :class:`mmroute.reading.reader.TransformerReader`), so the reader's budget is
one window.
"""

from __future__ import annotations

from collections.abc import Sequence

CPU_BATCH_TOKENS = 1024
"""Padded tokens a CPU batch holds at most (a single row longer than this is a batch of its own)."""


def length_batches(lengths: Sequence[int], max_rows: int, max_tokens: int = CPU_BATCH_TOKENS) -> list[list[int]]:
    """Indices ``0..len(lengths)-1`` in batches: shortest first, each at most ``max_rows`` rows and
    ``max_tokens`` padded tokens (rows x its longest row), every index exactly once.

    >>> length_batches([300, 20, 25, 400, 22], max_rows=8, max_tokens=512)
    [[1, 4, 2], [0], [3]]
    """
    batches: list[list[int]] = []
    current: list[int] = []
    for i in sorted(range(len(lengths)), key=lambda j: lengths[j]):
        if current and (len(current) >= max_rows or (len(current) + 1) * lengths[i] > max_tokens):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches
