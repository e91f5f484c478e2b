"""Import side effect: register every built-in generator in :data:`GENERATORS`."""
from . import endpoint, extractive, local_lm  # noqa: F401
