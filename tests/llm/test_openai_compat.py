"""The OpenAI-compatible chat client against a real HTTP server on loopback."""

from __future__ import annotations

import time

import pytest

from mmroute.errors import EndpointError
from mmroute.llm import ChatClient, image_data_url
from tests.helpers.fake_openai import FakeOpenAI, Reply, down_url

MSG = [{"role": "user", "content": "hello"}]


def test_chat_returns_text_usage_and_sends_model_params_and_key(monkeypatch):
    monkeypatch.setenv("MMROUTE_TEST_KEY", "sk-secret-123")
    with FakeOpenAI([Reply.ok("Hi there")]) as srv:
        client = ChatClient(srv.base_url, "tiny-model", api_key_env="MMROUTE_TEST_KEY")
        res = client.chat(MSG, temperature=0, max_tokens=5)
        assert res.text == "Hi there"
        assert res.usage["total_tokens"] == 11
        assert res.finish_reason == "stop"
        assert res.elapsed_ms > 0
        body = srv.requests[0]
        assert body["model"] == "tiny-model" and body["temperature"] == 0 and body["max_tokens"] == 5
        assert body["stream"] is False
        assert srv.headers[0]["authorization"] == "Bearer sk-secret-123"
        assert "sk-secret" not in repr(client)


def test_no_key_env_sends_no_authorization(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with FakeOpenAI([Reply.ok("x")]) as srv:
        ChatClient(srv.base_url, "m").chat(MSG)
        assert "authorization" not in srv.headers[0]


def test_retries_429_then_succeeds():
    with FakeOpenAI([Reply.status(429), Reply.status(503), Reply.ok("finally")]) as srv:
        client = ChatClient(srv.base_url, "m", max_retries=2, backoff_s=0.01)
        assert client.chat(MSG).text == "finally"
        assert len(srv.requests) == 3


def test_gives_up_after_retries_with_endpoint_error():
    with FakeOpenAI([Reply.status(500, "boom")]) as srv:
        client = ChatClient(srv.base_url, "m", max_retries=1, backoff_s=0.01)
        with pytest.raises(EndpointError, match="HTTP 500: boom"):
            client.chat(MSG)
        assert len(srv.requests) == 2


def test_client_error_is_not_retried_and_hints_at_key(monkeypatch):
    monkeypatch.setenv("MMROUTE_TEST_KEY", "sk-secret-456")
    with FakeOpenAI([Reply.status(401, "bad key")]) as srv:
        client = ChatClient(srv.base_url, "m", api_key_env="MMROUTE_TEST_KEY", max_retries=3, backoff_s=0.01)
        with pytest.raises(EndpointError) as ei:
            client.chat(MSG)
        assert len(srv.requests) == 1
        assert "MMROUTE_TEST_KEY" in (ei.value.hint or "")
        assert "sk-secret-456" not in str(ei.value) + (ei.value.hint or "")


def test_malformed_body_raises():
    with FakeOpenAI([Reply.raw("{not json")]) as srv:
        with pytest.raises(EndpointError, match="not JSON"):
            ChatClient(srv.base_url, "m").chat(MSG)
    with FakeOpenAI([Reply.raw('{"choices": []}')]) as srv:
        with pytest.raises(EndpointError, match="choices"):
            ChatClient(srv.base_url, "m").chat(MSG)


def test_timeout_raises_quickly():
    with FakeOpenAI([Reply.slow(2.0)]) as srv:
        client = ChatClient(srv.base_url, "m", timeout_s=0.2, max_retries=0)
        t0 = time.perf_counter()
        with pytest.raises(EndpointError, match="timed out"):
            client.chat(MSG)
        assert time.perf_counter() - t0 < 1.5


def test_endpoint_down_raises():
    client = ChatClient(down_url(), "m", timeout_s=1.0, max_retries=1, backoff_s=0.01)
    with pytest.raises(EndpointError, match="cannot connect"):
        client.chat(MSG)


def test_stream_yields_deltas_in_order():
    with FakeOpenAI([Reply.stream(["Hel", "lo", " world"])]) as srv:
        client = ChatClient(srv.base_url, "m")
        assert list(client.stream(MSG)) == ["Hel", "lo", " world"]
        assert srv.requests[0]["stream"] is True


def test_stream_retries_before_first_byte():
    with FakeOpenAI([Reply.status(429), Reply.stream(["a", "b"])]) as srv:
        client = ChatClient(srv.base_url, "m", backoff_s=0.01)
        assert "".join(client.stream(MSG)) == "ab"


def test_multimodal_message_is_sent_verbatim(tmp_path):
    img = tmp_path / "dot.png"
    img.write_bytes(b"\x89PNG\r\n\x1a\nfake")
    url = image_data_url(img)
    assert url.startswith("data:image/png;base64,")
    msg = [
        {
            "role": "user",
            "content": [{"type": "text", "text": "what is this?"}, {"type": "image_url", "image_url": {"url": url}}],
        }
    ]
    with FakeOpenAI([Reply.ok("a dot")]) as srv:
        assert ChatClient(srv.base_url, "m").chat(msg).text == "a dot"
        assert srv.requests[0]["messages"][0]["content"][1]["image_url"]["url"] == url
