"""The optional PyTorch stack: a one-line error naming the extra that brings it, where a path needs it."""

from __future__ import annotations

import importlib

from ..errors import ModelUnavailableError


def require_torch(what: str, extra: str = "torch", modules: tuple[str, ...] = ("torch", "transformers")) -> None:
    """Raise :class:`ModelUnavailableError` naming ``extra`` when any of ``modules`` cannot be imported.

    >>> require_torch("a Hugging Face reader by name")   # nothing happens with torch installed
    """
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError:
            raise ModelUnavailableError(
                f"{what} needs {module}, which this install does not have",
                hint=f"pip install 'mmroute[{extra}]' (the packaged models run without it, on ONNX Runtime)",
            ) from None
