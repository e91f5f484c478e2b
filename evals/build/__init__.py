"""Scripts that build artifacts shipped in ``mmroute/data`` (``make calibrate``): the verifier policies and the
offline extractor's ranker."""
