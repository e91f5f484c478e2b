"""Extractive reading: SQuAD-style span readers, their training, and the SQuAD metrics."""

from .decode import Reading, Span
from .reader import READERS, Reader, TransformerReader, create_reader

__all__ = ["READERS", "Reader", "Reading", "Span", "TransformerReader", "create_reader"]
