"""Importing this module registers every built-in encoder in :data:`ENCODERS`."""
from . import hashing, text  # noqa: F401

try:  # image/video encoders need torch/PIL/av; text-only installs still work without them
    from . import image  # noqa: F401
    from . import video  # noqa: F401
except ImportError:  # pragma: no cover - optional modules
    pass
