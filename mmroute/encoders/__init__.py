"""Encoders (text, image, video) behind the :class:`~mmroute.encoders.base.Encoder` Protocol."""

from .base import ENCODERS, Encoder, create_encoder, normalize

__all__ = ["ENCODERS", "Encoder", "create_encoder", "normalize"]
