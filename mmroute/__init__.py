"""mmroute: multimodal retrieval-augmented QA with knowledge-base routing.

The public namespace is small; heavy modules load lazily on first attribute access::

    import mmroute
    home = mmroute.Home()                    # KBs under $MMROUTE_HOME or ~/.mmroute
    kb = home.open("hop")
    hits = kb.search("Who directed Inception?", k=5)
    answer = mmroute.Pipeline.from_home(home).ask("Who directed Inception?")
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "Home": "mmroute.kb",
    "KnowledgeBase": "mmroute.kb",
    "Indexer": "mmroute.indexer",
    "IndexReport": "mmroute.indexer",
    "Pipeline": "mmroute.pipeline",
    "PipelineConfig": "mmroute.config",
    "Item": "mmroute.types",
    "Hit": "mmroute.types",
    "KBInfo": "mmroute.types",
    "Route": "mmroute.types",
    "RouteDecision": "mmroute.types",
    "RetrievalResult": "mmroute.types",
    "Answer": "mmroute.types",
    "Verdict": "mmroute.types",
    "Filter": "mmroute.stores.base",
    "MMRouteError": "mmroute.errors",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    mod = _EXPORTS.get(name)
    if mod is None:
        raise AttributeError(f"module 'mmroute' has no attribute {name!r}")
    return getattr(importlib.import_module(mod), name)
