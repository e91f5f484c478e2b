"""Retrieval over one or several KBs: single-shot, and step-wise with follow-up queries."""

from .base import RETRIEVERS, Retriever
from .fusion import fuse_hits
from .single import SingleShotRetriever

__all__ = ["RETRIEVERS", "Retriever", "SingleShotRetriever", "fuse_hits"]
