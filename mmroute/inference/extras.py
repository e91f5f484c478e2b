"""The optional PyTorch stack: a one-line error naming the extra that brings it, where a path needs it."""

from __future__ import annotations

import importlib

from ..errors import ModelUnavailableError


def require(what: str, extra: str, modules: tuple[str, ...]) -> None:
    """Raise :class:`ModelUnavailableError` naming ``extra`` when any of ``modules`` cannot be imported.

    >>> require("fitting a verifier policy", extra="train", modules=("sklearn",))  # silent when installed
    """
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError:
            raise ModelUnavailableError(
                f"{what} needs {module}, which this install does not have",
                hint=f"pip install 'mmroute[{extra}]' (the base install asks, indexes and serves without it)",
            ) from None


def require_torch(what: str, extra: str = "torch", modules: tuple[str, ...] = ("torch", "transformers")) -> None:
    """:func:`require` for the PyTorch stack (the packaged models run without it, on ONNX Runtime)."""
    require(what, extra, modules)
