"""``mmroute serve``: one warm resident process per home that owns its KBs (like Ollama serves its CLI).

Why: every CLI call otherwise starts from zero (imports and model loading take seconds), and an embedded
KB has one owner process, so the app, the CLI and an indexing run could not work on a home side by side.
The server owns the KBs, keeps the models warm, serialises writes per KB and answers many readers at once.

Parts (the client side imports only the standard library, so a CLI call answered by the server is fast):

- :mod:`.discovery`: ``HOME/serve.json`` (pid, host, port, start time) and the server lock; stale files.
- :mod:`.client`: :func:`~.client.connect` and :class:`~.client.ServeClient`, used by the CLI.
- :mod:`.app`: the FastAPI app (endpoints listed there), :mod:`.gate`: per-KB readers/writer admission,
  :mod:`.jobs`: persisted, resumable index jobs, :mod:`.server`: start-up, binding, signals.

Usage::

    mmroute serve                      # 127.0.0.1:8765, the home of $MMROUTE_HOME or ~/.mmroute
    mmroute search --kb hop "Who directed Inception?"    # answered by the server while it runs
    MMROUTE_SERVE_TOKEN=... mmroute serve --host 0.0.0.0  # any other bind needs a bearer token
"""
