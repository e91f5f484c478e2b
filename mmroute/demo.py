"""``make demo``: index the sample corpora into the embedded store and ask real questions.

Run with ``python -m mmroute.demo`` (``MMROUTE_HOME`` and ``MMROUTE_DATA`` pick the folders).
Indexing is resumable, so a second run only answers the questions.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time

from .kb import Home

DEMO_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "demo.json")
"""What the demo searches (KB, query) and asks, as data."""


def demo_queries(
    path: str | os.PathLike[str] = DEMO_DATA,
) -> tuple[list[tuple[str, str]], list[tuple[str, str | None]]]:
    """(searches as (KB, query), questions as (question, query image's path under the data folder or None)) from
    ``mmroute/data/demo.json``, where a question is a string or ``{"question": ..., "image": ...}``."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    questions = [(q, None) if isinstance(q, str) else (q["question"], q.get("image")) for q in data["questions"]]
    return [(s["kb"], s["query"]) for s in data["searches"]], questions


def main() -> int:
    from .corpora.shared import SAMPLE_KBS, data_root
    from .indexer import Indexer

    home = Home()
    root = data_root()
    searches, questions = demo_queries()
    work = home.root / "inputs"
    print(f"mmroute demo: home {home.root}, data {root}\n")
    indexer = Indexer(home)
    for sample in SAMPLE_KBS:
        t = time.perf_counter()
        reports = indexer.index(
            sample.kb, sample.input_path(root, work), granularity=sample.granularity, description=sample.description
        )
        for r in reports:
            print(
                f"indexed {r.kb:<14} {r.count:>5} items ({r.indexed} new, {r.skipped} skipped) "
                f"in {time.perf_counter() - t:.1f}s"
            )
    print()
    for kb, query in searches:
        if not home.exists(kb):
            continue
        hits = home.open(kb).search(query, k=3)
        print(f"search {kb}: {query!r}")
        for h in hits:
            span = f" [{h.item.start_s:.0f}-{h.item.end_s:.0f}s]" if h.item.start_s is not None else ""
            print(f"   {h.rank}. {h.score:.3f} {h.item.id}{span}")
    if importlib.util.find_spec("mmroute.pipeline") is not None:
        from .pipeline import Pipeline

        pipe = Pipeline.from_home(home)
        print()
        for q, image in questions:
            ans = pipe.ask(q, image=root / image if image else None)
            route = ans.route.chosen if ans.route else ()
            withheld = ans.draft.text if ans.abstained and ans.draft and ans.draft.text else None
            asked = f"{q} (with the image {image})" if image else q
            print(
                f"ask: {asked}\n   route {list(route)}, searched {list(ans.searched_kbs)} -> {ans.display_text!r}"
                f"{'' if not ans.abstained else f' ({ans.reason})'}  [{ans.timings_ms.get('total', 0):.0f} ms]"
                + (f"\n   draft withheld by the verifier: {withheld!r}" if withheld else "")
            )
    return 0


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.exit(main())
