"""Query routing: pick the knowledge (none, paragraph, document, image, clip, video, or a KB by description)."""
from .base import ROUTERS, Router, kbs_for_route

__all__ = ["ROUTERS", "Router", "kbs_for_route"]
