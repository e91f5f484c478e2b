"""Vector stores behind the :class:`~mmroute.stores.base.VectorStore` Protocol.

Backends (registered in :data:`STORES`): ``edge`` (Qdrant Edge, the embedded default), ``qdrant``
(qdrant-client: server/cluster, local mode, in-memory) and ``faiss`` (flat or HNSW, optional GPU).
"""

from .base import STORES, Filter, Fusion, Point, ScoredPoint, VectorStore, open_store

__all__ = ["STORES", "Filter", "Fusion", "Point", "ScoredPoint", "VectorStore", "open_store"]
