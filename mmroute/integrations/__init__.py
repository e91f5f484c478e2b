"""Adapters that plug mmroute into other frameworks (optional extras).

- :mod:`mmroute.integrations.llamaindex` — retriever, router selector, multimodal embedding,
  query engine and instrumentation events for LlamaIndex (``pip install 'mmroute[llamaindex]'``).
"""
