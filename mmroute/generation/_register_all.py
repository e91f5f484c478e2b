"""Import side effect: register every built-in generator in :data:`GENERATORS`."""
from . import endpoint, extractive, local_lm, reader_gen  # noqa: F401
