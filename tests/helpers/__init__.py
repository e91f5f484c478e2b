"""Test helpers shared across test packages (e.g. a fake OpenAI-compatible server)."""
