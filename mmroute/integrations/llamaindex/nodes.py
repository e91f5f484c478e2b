"""mmroute hits as LlamaIndex nodes.

Node ids are the store's deterministic point ids (uuid5 of KB + item id). Clip item ids carry the
time range, so two segments of one video with the same caption keep distinct ids; LlamaIndex
deduplicates retrieved nodes by id, never by text, so they are not merged.
"""

from __future__ import annotations

from typing import Any

from llama_index.core.schema import ImageNode, NodeWithScore, TextNode

from ...types import Hit, Modality, point_id

_HIDDEN_FROM_LLM = ("item_id", "kb", "modality", "granularity", "source", "doc_id", "rank", "start_s", "end_s")


def node_id_for(hit: Hit) -> str:
    return point_id(hit.kb, hit.item.id)


def hit_metadata(hit: Hit) -> dict[str, Any]:
    it = hit.item
    meta: dict[str, Any] = {
        "kb": hit.kb,
        "modality": it.modality.value,
        "granularity": it.kind.value,
        "item_id": it.id,
        "rank": hit.rank,
    }
    for key, value in (
        ("title", it.title),
        ("source", it.source),
        ("doc_id", it.doc_id),
        ("start_s", it.start_s),
        ("end_s", it.end_s),
    ):
        if value is not None:
            meta[key] = value
    return meta


def hit_to_node(hit: Hit) -> NodeWithScore:
    """A ``TextNode`` for paragraphs, documents and video items (their text is the captions or
    subtitles; ``source``/``start_s``/``end_s`` locate the clip), an ``ImageNode`` for images."""
    it = hit.item
    meta = hit_metadata(hit)
    hidden = [k for k in _HIDDEN_FROM_LLM if k in meta]
    common: dict[str, Any] = dict(
        id_=node_id_for(hit),
        text=it.text or (it.title or ""),
        metadata=meta,
        excluded_llm_metadata_keys=hidden,
        excluded_embed_metadata_keys=list(meta),
    )
    if it.modality is Modality.IMAGE:
        node: TextNode = ImageNode(image_path=it.source, **common)
    else:
        node = TextNode(**common)
    return NodeWithScore(node=node, score=float(hit.score))
