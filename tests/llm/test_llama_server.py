"""The verifier behind a real OpenAI-compatible server on loopback: llama-cpp-python's server with the packaged
SmolLM2-135M-Instruct GGUF (built from source with ``CMAKE_ARGS=-DGGML_NATIVE=OFF``; ``.ci/run`` installs it).
A chat model answers in sentences; the user is shown its sentence and the verifier judges the claim in it."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("llama_cpp.server", reason="llama-cpp-python[server] is not installed (.ci/run builds it)")

from mmroute.config import EndpointConfig, PipelineConfig  # noqa: E402
from mmroute.generation.base import create_generator  # noqa: E402
from mmroute.generation.local_lm import SMOLLM2_GGUF, smollm2_dir  # noqa: E402
from mmroute.pipeline import Pipeline  # noqa: E402
from mmroute.verification.verifier import EvidenceVerifier  # noqa: E402

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    gguf = Path(smollm2_dir()) / SMOLLM2_GGUF
    log = open(tmp_path_factory.mktemp("llama") / "server.log", "w+")
    port = _free_port()
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--n_ctx", "4096", "--model_alias", "smollm2", "--n_threads", "2"]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, text=True)  # a pipe would fill and block it
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(url + "/models", timeout=2) as r:
                assert "smollm2" in json.loads(r.read())["data"][0]["id"]
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                log.seek(0)
                pytest.fail("llama.cpp server did not start: " + log.read()[-2000:])
            time.sleep(0.5)
    yield url
    proc.terminate()
    proc.wait(timeout=30)
    log.close()


class FixedRetriever:
    name = "fixed"

    def __init__(self, hits) -> None:  # noqa: ANN001
        self.hits = tuple(hits)

    def warm_up(self) -> None: ...

    def retrieve(self, question, k=5, kbs=None, image=None):  # noqa: ANN001, ANN201
        from mmroute.types import RetrievalResult

        return RetrievalResult(question, self.hits[:k], ())


def test_sentence_answers_from_a_real_server_are_shown_and_judged_by_their_claim(llama_server, normans_hits) -> None:
    gen = create_generator("openai", base_url=llama_server, model="smollm2", api_key_env=None, max_tokens=48)
    cfg = PipelineConfig(generator="openai", endpoint=EndpointConfig(url=llama_server, model="smollm2"))
    pipe = Pipeline(FixedRetriever(normans_hits), gen, EvidenceVerifier(), cfg)
    seen = []
    for q, gold in (
        ("In what country is Normandy located?", "France"),
        ("Who was the leader of the Norse raiders?", "Rollo"),
        ("What is the name of the region the Normans gave their name to?", "Normandy"),
    ):
        ans = pipe.ask(q)
        assert ans.draft is not None and ans.draft.text, "the server answered"
        assert ans.text == ans.draft.text, "the user sees the model's own answer"
        assert ans.verification is not None and ans.verification.reasons[0].startswith(("supported", "withheld"))
        claim = [r for r in ans.verification.reasons if r.startswith("the answer's claim")]
        if len(ans.draft.text.split()) > 4 and ans.draft.text.casefold() not in normans_hits[0].item.text.casefold():
            assert claim, ("a sentence answer is judged by its claim", ans.draft.text, ans.verification.reasons)
        seen.append((q, ans.draft.text, ans.abstained, round(ans.verification.confidence, 3)))
        # positive control: a sentence that gives the right answer is let through; negative control: one
        # that never names it (SmolLM2 at temperature 0 told of Sicily for the first) is withheld
        assert ans.abstained is (gold.casefold() not in ans.draft.text.casefold()), seen[-1]
    print(json.dumps(seen, indent=1))
    # the same server's answers, wrapped the way chat models wrap them, judged like the bare span
    v = EvidenceVerifier()
    from mmroute.types import Draft

    q = "In what country is Normandy located?"
    bare = v.verify(q, Draft("France", generator="openai"), normans_hits)
    wrapped = v.verify(
        q, Draft("Based on the context, Normandy is located in France", generator="openai"), normans_hits
    )
    assert not bare.abstain and not wrapped.abstain
