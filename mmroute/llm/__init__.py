"""Clients for LLM endpoints (OpenAI-compatible chat completions), shared by the router and generators."""

from .openai_compat import ChatClient, ChatResult, image_data_url

__all__ = ["ChatClient", "ChatResult", "image_data_url"]
