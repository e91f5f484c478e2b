"""A router with its own fine-tuned encoder, optionally averaged with the shipped linear router.

The shipped (linear) router shares the retrieval encoder's forward pass, which keeps it at ~12 ms on
two CPU cores but caps it near 94.7% on the UniversalRAG split (on raw text; on the canonical text it reads
now, less: see the README and ``evals/results/router_eval.json``). Fine-tuning a larger encoder as a
classifier and averaging its route probabilities with the linear router's reaches 95.96% in 5-fold
cross-validation with all-mpnet-base-v2 (``evals/experiments/exp_router_adapter.py``), at the price of a second,
larger forward pass per query: ~55 ms on two CPU cores (less on a GPU; not timed per query). This is that path, for
users who can pay for it; it is not the default. Like every router it reads the canonical form of the
query (:mod:`.canonical`), when its artifact was trained on canonical text.

Artifact (written by ``mmroute route finetune``, see :mod:`.finetuning`)::

    DIR/finetuned.json   labels, the route of each label, max_length, blend weight, base model, meta
    DIR/head.npz         the classification head over the mean-pooled last hidden state
    DIR/encoder/         the fine-tuned encoder and its tokenizer (transformers ``save_pretrained``)

>>> router = FinetunedRouter("./my-router")             # blend from the artifact (e.g. 0.5)
>>> router.route("Which singer is younger, Terri Nunn or Sonya Scarlet?", kbs).chosen
('document',)
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..encoders.base import mean_pool, resolve_device
from ..errors import ConfigError, ModelUnavailableError
from ..types import KBInfo, RouteDecision
from .canonical import routing_text
from .decision import MultiRoutePolicy, make_decision
from .model import ordered_routes, route_sums, softmax

CONFIG_FILE = "finetuned.json"
HEAD_FILE = "head.npz"
ENCODER_DIR = "encoder"
ARTIFACT_KIND = "finetuned-encoder"


def check_blend(blend: float) -> float:
    b = float(blend)
    if not 0.0 <= b <= 1.0:
        raise ConfigError(
            f"blend must be between 0 and 1, not {blend!r}",
            hint="1 uses the fine-tuned encoder alone, 0 the linear router alone; 0.5 averages them",
        )
    return b


@dataclass
class FinetunedArtifact:
    """What ``finetuned.json`` holds (the weights live beside it)."""

    labels: list[str]
    label_routes: list[str]
    max_length: int = 128
    blend: float = 0.5
    """Weight of the fine-tuned encoder's probabilities; the rest goes to the linear router."""
    base_model: str = ""
    canonical: int = 0
    """Canonicalisation version of the texts it was trained on (:mod:`.canonical`); 0: raw text."""
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def routes(self) -> list[str]:
        return ordered_routes(self.label_routes)

    def save(self, directory: Path) -> None:
        from ..fsutil import atomic_write_json

        atomic_write_json(directory / CONFIG_FILE, {"kind": ARTIFACT_KIND, **self.__dict__})

    @classmethod
    def load(cls, directory: Path) -> FinetunedArtifact:
        missing = [n for n in (CONFIG_FILE, HEAD_FILE, ENCODER_DIR) if not (directory / n).exists()]
        if missing:
            raise ModelUnavailableError(
                f"no fine-tuned router at {directory} (missing {', '.join(missing)})",
                hint="write one with `mmroute route finetune --data ROUTING.jsonl --model ENCODER --out DIR`",
            )
        cfg = json.loads((directory / CONFIG_FILE).read_text(encoding="utf-8"))
        if cfg.get("kind") != ARTIFACT_KIND:
            raise ConfigError(
                f"{directory / CONFIG_FILE} is not a fine-tuned router artifact",
                hint="give the directory `mmroute route finetune --out` wrote",
            )
        return cls(
            labels=list(cfg["labels"]),
            label_routes=list(cfg["label_routes"]),
            max_length=int(cfg.get("max_length", 128)),
            blend=check_blend(cfg.get("blend", 0.5)),
            base_model=str(cfg.get("base_model", "")),
            canonical=int(cfg.get("canonical", 0)),
            meta=dict(cfg.get("meta") or {}),
        )


class EncoderClassifier:
    """The fine-tuned encoder + head at query time: route probabilities of a batch of texts."""

    def __init__(self, directory: Path, artifact: FinetunedArtifact, device: str = "auto") -> None:
        from ..inference.extras import require_torch

        require_torch("the fine-tuned router")
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        self.artifact = artifact
        self.device = resolve_device(device)
        enc = directory / ENCODER_DIR
        self.tokenizer = AutoTokenizer.from_pretrained(str(enc), local_files_only=True)
        self.net = AutoModel.from_pretrained(str(enc), local_files_only=True).eval().to(self.device)
        with np.load(directory / HEAD_FILE) as z:
            self.weight = torch.as_tensor(z["weight"], dtype=torch.float32, device=self.device)
            self.bias = torch.as_tensor(z["bias"], dtype=torch.float32, device=self.device)
        if self.weight.shape != (len(artifact.labels), self.net.config.hidden_size):
            raise ConfigError(
                f"the head in {directory / HEAD_FILE} does not fit the encoder or the labels",
                hint="re-run `mmroute route finetune`",
            )

    def label_probabilities(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        texts = [routing_text(t, self.artifact.canonical) for t in texts]
        batch = self.tokenizer(
            [t if t.strip() else " " for t in texts],
            padding=True,
            truncation=True,
            max_length=self.artifact.max_length,
            return_tensors="pt",
        ).to(self.device)
        with torch.inference_mode():
            h = self.net(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
            logits = mean_pool(h, batch["attention_mask"]).float() @ self.weight.T + self.bias
        return softmax(logits.cpu().numpy().astype(np.float64))

    def route_probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """(n, routes) in ``artifact.routes`` order: sums over the labels of each route."""
        return route_sums(self.label_probabilities(texts), self.artifact.label_routes)


class FinetunedRouter:
    """Routes with a fine-tuned encoder artifact, averaged with the linear router by ``blend``.

    ``blend`` (default: the artifact's) is the fine-tuned encoder's weight: 1.0 uses it alone, 0.5
    averages it with ``linear`` (default: the shipped trained router). ``device``: ``auto`` (CUDA
    when available), ``cpu`` or ``cuda``.
    """

    name = "finetuned"

    def __init__(
        self,
        path: str | Path,
        *,
        blend: float | None = None,
        linear: Any = None,
        policy: MultiRoutePolicy | None = None,
        device: str = "auto",
    ) -> None:
        self.path = Path(path)
        self._blend = None if blend is None else check_blend(blend)
        self._linear = linear
        self.policy = policy or MultiRoutePolicy()
        self.device = device
        self._clf: EncoderClassifier | None = None
        self._lock = threading.Lock()

    @property
    def classifier(self) -> EncoderClassifier:
        if self._clf is None:
            self.warm_up()
        assert self._clf is not None
        return self._clf

    @property
    def blend(self) -> float:
        return self.classifier.artifact.blend if self._blend is None else self._blend

    @property
    def linear(self) -> Any:
        if self._linear is None:
            from .trained import TrainedRouter

            self._linear = TrainedRouter(policy=self.policy)
        return self._linear

    def warm_up(self) -> None:
        with self._lock:
            if self._clf is None:
                self._clf = EncoderClassifier(self.path, FinetunedArtifact.load(self.path), self.device)
        if self.blend < 1.0:
            self.linear.warm_up()

    def probabilities(self, query: str) -> dict[str, float]:
        clf = self.classifier
        p = dict(zip(clf.artifact.routes, (float(x) for x in clf.route_probabilities([query])[0])))
        w = self.blend
        if w >= 1.0:
            return p
        lin = self.linear.probabilities(query)
        return {r: w * p.get(r, 0.0) + (1.0 - w) * lin.get(r, 0.0) for r in sorted(set(p) | set(lin))}

    def route(
        self, query: str, kbs: Sequence[KBInfo], image: Path | None = None, *, exclude: Sequence[str] = ()
    ) -> RouteDecision:
        from .trained import boost_route

        t0 = time.perf_counter()
        probs = self.probabilities(query)
        details: dict[str, Any] = {"blend": self.blend, "base_model": self.classifier.artifact.base_model}
        if image is not None and "image" in probs:
            probs = boost_route(probs, "image", 0.5)
            details["image_query"] = True
        return make_decision(query, probs, kbs, self.name, t0, self.policy, details=details, exclude=exclude)


def create_finetuned(path: str | None = None, **options: Any) -> FinetunedRouter:
    if not path:
        raise ConfigError(
            "the finetuned router needs the path of its artifact",
            hint="`mmroute route finetune ... --out DIR`, then `--router finetuned --router-path DIR`",
        )
    return FinetunedRouter(path, **options)
