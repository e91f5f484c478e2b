"""The ``mmroute`` command line (Click)."""
