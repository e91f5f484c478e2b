"""mmroute.redact: URL credentials and echoed keys are masked; URLs are joined with urllib.parse."""

from __future__ import annotations

from mmroute.errors import EndpointError
from mmroute.llm.openai_compat import ChatClient
from mmroute.redact import join_url, redact_text, redact_url


def test_userinfo_and_credential_params_are_masked() -> None:
    assert (
        redact_url("https://u:p@h:1/v1?api_key=K&token=T&model=m") == "https://***@h:1/v1?api_key=***&token=***&model=m"
    )
    assert redact_url("http://h/v1") == "http://h/v1"


def test_known_secrets_and_urls_in_server_text_are_masked() -> None:
    text = "bad key Bearer sk-abcdef at http://a:b@h/x?access_token=z"
    assert redact_text(text, ["sk-abcdef"]) == "bad key Bearer *** at http://***@h/x?access_token=***"


def test_paths_are_joined_before_the_query_string() -> None:
    assert join_url("http://h/v1/?q=1", "chat/completions") == "http://h/v1/chat/completions?q=1"
    client = ChatClient("http://u:pw@h/v1?api_key=s", "m")
    assert client.url == "http://u:pw@h/v1/chat/completions?api_key=s"
    assert client.shown_url == "http://***@h/v1/chat/completions?api_key=***"
    assert "pw" not in repr(client)


def test_every_mmroute_error_masks_urls() -> None:
    e = EndpointError("failed at http://x:secret@h/v1", hint="see http://h/?password=p")
    assert "secret" not in e.message and "password=***" in (e.hint or "")
