"""Importing this module registers every built-in backend in :data:`mmroute.stores.base.STORES`.

Each backend imports its engine (qdrant_edge, qdrant_client, faiss) lazily, on first use.
"""
from . import edge, faiss_store, qdrant  # noqa: F401

__all__ = ["edge", "faiss_store", "qdrant"]
