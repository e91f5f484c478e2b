"""LlamaIndex integration: mmroute's router, step-wise retriever, encoders and verifier as LlamaIndex parts.

Needs ``llama-index-core`` (the ``llamaindex`` extra). What maps to what:

==========================  ==============================================================
mmroute                     LlamaIndex
==========================  ==============================================================
retriever (step-wise, …)    :class:`MMRouteRetriever` (``BaseRetriever``), sync + async
router                      :class:`MMRouteSelector` (``BaseSelector``) for ``RouterRetriever``
                            and ``RouterQueryEngine``
encoder of a KB             :class:`MMRouteEmbedding` (``MultiModalEmbedding``)
pipeline (answer + verify)  :class:`MMRouteQueryEngine` (``CustomQueryEngine``)
route / follow-up / verdict :class:`RouteEvent`, :class:`FollowUpEvent`, :class:`VerificationEvent`
                            through ``llama_index.core.instrumentation``
KB on the ``qdrant`` store  :func:`qdrant_vector_store` (``llama-index-vector-stores-qdrant``)
==========================  ==============================================================

Example (offline, against a home directory with KBs)::

    from llama_index.core.query_engine import RetrieverQueryEngine
    from llama_index.core.llms import MockLLM
    from mmroute.integrations.llamaindex import MMRouteRetriever

    retriever = MMRouteRetriever.from_home("~/.mmroute", k=5)
    for n in retriever.retrieve("Who directed Inception?"):
        print(n.score, n.node.metadata["kb"], n.node.metadata["item_id"])
    engine = RetrieverQueryEngine.from_args(retriever, llm=MockLLM())
"""

from .embedding import MMRouteEmbedding
from .events import FollowUpEvent, RouteEvent, VerificationEvent, emit_answer_events, emit_retrieval_events
from .nodes import hit_to_node, node_id_for
from .qdrant import qdrant_vector_store
from .query_engine import MMRouteQueryEngine
from .retriever import MMRouteRetriever
from .selector import MMRouteSelector, choice_targets

__all__ = [
    "MMRouteRetriever",
    "MMRouteSelector",
    "MMRouteEmbedding",
    "MMRouteQueryEngine",
    "RouteEvent",
    "FollowUpEvent",
    "VerificationEvent",
    "emit_answer_events",
    "emit_retrieval_events",
    "hit_to_node",
    "node_id_for",
    "choice_targets",
    "qdrant_vector_store",
]
