"""Read an mmroute KB from LlamaIndex's ``QdrantVectorStore`` (``llama-index-vector-stores-qdrant``).

What fits: a KB on the ``qdrant`` store (``mmroute index --store qdrant``; local mode on disk or a
Qdrant server via ``url``) is a plain Qdrant collection with one unnamed cosine vector per item and
the item's fields as a flat payload (``text``, ``item_id``, ``kind``, ``title``, ``source``, …).
``QdrantVectorStore`` detects the unnamed vector (its "legacy" format) and turns each point into a
``TextNode`` whose text is ``payload["text"]`` and whose metadata holds the other fields; query it
with :class:`~.embedding.MMRouteEmbedding` of the same KB so query vectors live in the KB's space.

What does not fit:

- KBs on the default ``edge`` store: Qdrant Edge keeps its shard in-process, not as a collection a
  ``qdrant_client.QdrantClient`` can open; use :class:`~.retriever.MMRouteRetriever` for those (or
  re-index into a ``--store qdrant`` KB).
- Writing through ``QdrantVectorStore`` into an mmroute KB: it stores ``_node_content`` JSON payloads,
  named ``text-dense`` vectors and random ids, and updates no manifest, so mmroute would not see
  those points as items. Index with mmroute and read with LlamaIndex, not the reverse.
- Local mode allows one client per folder: close the KB in mmroute (``home.forget(name)``) before
  opening it here, or use a Qdrant server.
"""

from __future__ import annotations

import os
from typing import Any

from ...errors import ConfigError
from ...kb import Home


def qdrant_vector_store(home: Home | str | os.PathLike[str] | None, kb: str, client: Any = None) -> Any:
    """A ``QdrantVectorStore`` over KB ``kb`` (which must use the ``qdrant`` store backend).

    ``client``: an open ``QdrantClient`` to use; by default one is opened like mmroute's store does
    (``url`` + the API key from the env var named in the KB's store options, or local mode on disk).
    """
    try:
        from llama_index.vector_stores.qdrant import QdrantVectorStore
    except ImportError as e:
        raise ConfigError(
            "llama-index-vector-stores-qdrant is not installed",
            hint="pip install llama-index-vector-stores-qdrant==0.10.4",
        ) from e
    from ...stores.qdrant import default_collection

    h = home if isinstance(home, Home) else Home(home)
    manifest = h.manifest(kb)
    info = manifest.info
    if info.store.backend != "qdrant":
        raise ConfigError(
            f"KB {kb!r} is on the {info.store.backend!r} store, which is not a Qdrant collection",
            hint="use MMRouteRetriever for it, or re-index with `mmroute index --store qdrant` to read it "
            "with QdrantVectorStore",
        )
    opts = dict(info.store.options)
    directory = manifest.store_path(h.kb_dir(kb))
    collection = opts.get("collection") or default_collection(directory)
    if client is None:
        from qdrant_client import QdrantClient

        if opts.get("url"):
            key = os.environ.get(str(opts.get("api_key_env") or "QDRANT_API_KEY")) or None
            client = QdrantClient(url=opts["url"], api_key=key, check_compatibility=False)
        elif opts.get("location"):
            raise ConfigError(f"KB {kb!r} lives in an in-memory Qdrant and cannot be reopened")
        else:
            h.forget(kb)  # local mode: one client per folder
            client = QdrantClient(path=str(directory))
    return QdrantVectorStore(collection_name=collection, client=client)
