"""mmroute encoders as a LlamaIndex ``MultiModalEmbedding``.

Vectors come out exactly as mmroute stores and queries them (L2-normalised), so a LlamaIndex
index built with this embedding is searchable like an mmroute KB with the same encoder, and a KB's
vectors can be queried from LlamaIndex (see :func:`~.qdrant.qdrant_vector_store`).

- query text -> ``encode_queries`` (the query side of the KB's space);
- text (a document to index) -> ``encode_items`` of a paragraph for text encoders; for image/video
  encoders, whose items are media, the text is embedded on the query side (captions live there);
- image -> ``encode_image_queries`` (needs an encoder that embeds images, e.g. ``conse``, ``clip``).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from io import BytesIO
from pathlib import Path
from typing import Any

from llama_index.core.base.embeddings.base import Embedding
from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.embeddings import MultiModalEmbedding
from llama_index.core.schema import ImageType

from ...encoders.base import Encoder, create_encoder, normalize
from ...kb import Home
from ...types import EncoderSpec, Granularity, Item, Modality


class MMRouteEmbedding(MultiModalEmbedding):
    """Wrap an mmroute :class:`~mmroute.encoders.base.Encoder` (or build one from its spec).

    >>> emb = MMRouteEmbedding.from_kb("~/.mmroute", "hop")      # the encoder the KB was built with
    >>> len(emb.get_query_embedding("Who directed Inception?"))
    384
    """

    _encoder: Any = PrivateAttr()

    def __init__(self, encoder: Encoder, embed_batch_size: int = 32, **kwargs: Any) -> None:
        super().__init__(model_name=f"mmroute:{encoder.spec.name}", embed_batch_size=embed_batch_size, **kwargs)
        self._encoder = encoder

    @classmethod
    def class_name(cls) -> str:
        return "MMRouteEmbedding"

    @classmethod
    def from_spec(cls, spec: EncoderSpec | str, **kwargs: Any) -> MMRouteEmbedding:
        return cls(create_encoder(spec), **kwargs)

    @classmethod
    def from_kb(cls, home: Home | str | os.PathLike[str] | None, kb: str, **kwargs: Any) -> MMRouteEmbedding:
        h = home if isinstance(home, Home) else Home(home)
        return cls(h.encoders.get(h.manifest(kb).info.encoder), **kwargs)

    @property
    def encoder(self) -> Encoder:
        return self._encoder

    @property
    def dim(self) -> int:
        return int(self._encoder.dim)

    # ----- text -----------------------------------------------------------------------------
    def _get_query_embedding(self, query: str) -> Embedding:
        return normalize(self._encoder.encode_queries([query]))[0].tolist()

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        if not texts:
            return []
        if self._encoder.modality is Modality.TEXT:
            items = [Item(id=f"text-{i}", kind=Granularity.PARAGRAPH, text=t) for i, t in enumerate(texts)]
            vecs = self._encoder.encode_items(items)
        else:
            vecs = self._encoder.encode_queries(list(texts))
        return normalize(vecs).tolist()

    def _get_text_embedding(self, text: str) -> Embedding:
        return self._get_text_embeddings([text])[0]

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return await asyncio.to_thread(self._get_query_embedding, query)

    async def _aget_text_embedding(self, text: str) -> Embedding:
        return await asyncio.to_thread(self._get_text_embedding, text)

    # ----- images ---------------------------------------------------------------------------
    def _get_image_embeddings(self, img_file_paths: list[ImageType]) -> list[Embedding]:
        temps: list[Path] = []
        try:
            paths = []
            for img in img_file_paths:
                if isinstance(img, BytesIO):
                    fd, name = tempfile.mkstemp(suffix=".img")
                    with os.fdopen(fd, "wb") as f:
                        f.write(img.getvalue())
                    temps.append(Path(name))
                    paths.append(Path(name))
                else:
                    paths.append(Path(img))
            return normalize(self._encoder.encode_image_queries(paths)).tolist()
        finally:
            for t in temps:
                t.unlink(missing_ok=True)

    def _get_image_embedding(self, img_file_path: ImageType) -> Embedding:
        return self._get_image_embeddings([img_file_path])[0]

    async def _aget_image_embedding(self, img_file_path: ImageType) -> Embedding:
        return await asyncio.to_thread(self._get_image_embedding, img_file_path)
