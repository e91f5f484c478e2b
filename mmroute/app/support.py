"""What the Streamlit app (:mod:`mmroute.app.ui`) needs that is not UI: settings, safe uploads,
KB table rows, and flat views of an :class:`~mmroute.types.Answer` for rendering. (The app talks to
``mmroute serve`` through :mod:`mmroute.app.client`.)

Kept free of Streamlit so it is tested directly and reusable by other front ends.

>>> s = GeneratorSettings(kind="openai", endpoint_url="http://localhost:8000/v1", model="qwen")
>>> s.generator()                                   # the key itself is never part of the settings
('openai', {'base_url': 'http://localhost:8000/v1', 'model': 'qwen', 'api_key_env': 'OPENAI_API_KEY'})
"""

from __future__ import annotations

import os
import re
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import DEFAULT_RETRIEVER
from ..errors import ConfigError, InputError
from ..kb import Home
from ..loaders.base import LoadProblem
from ..types import Answer, EncoderSpec, Granularity, Hit, Item, KBInfo, Modality, RouteDecision

# ----------------------------------------------------------------------------------------------
# Uploads
# ----------------------------------------------------------------------------------------------

TEXT_UPLOAD_TYPES = ("jsonl", "ndjson", "txt", "md")
IMAGE_UPLOAD_TYPES = ("jpg", "jpeg", "png", "gif", "bmp", "webp")
VIDEO_UPLOAD_TYPES = ("mp4", "webm", "mov", "mkv", "m4v")
SIDECAR_UPLOAD_TYPES = ("srt", "vtt", "json")
INDEX_UPLOAD_TYPES = TEXT_UPLOAD_TYPES + IMAGE_UPLOAD_TYPES + VIDEO_UPLOAD_TYPES + SIDECAR_UPLOAD_TYPES
QUERY_IMAGE_TYPES = ("jpg", "jpeg", "png", "gif", "bmp", "webp")
MAX_INDEX_UPLOAD_MB = 200
MAX_QUERY_IMAGE_MB = 20

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def sanitize_filename(name: str, max_len: int = 120) -> str:
    """A file name that cannot leave its folder: last path component only (``/`` and ``\\``),
    ASCII letters/digits/``._-``, no leading dots, at most ``max_len`` characters.

    >>> sanitize_filename("../../etc/passwd")
    'passwd'
    >>> sanitize_filename("C:\\\\x\\\\My Photo (1).JPG")
    'My_Photo_1_.JPG'
    """
    base = re.split(r"[\\/]", name or "")[-1]
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode("ascii")
    base = _UNSAFE.sub("_", base).lstrip("._-")
    if len(base) > max_len:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: max_len - len(ext) - 1] + "." + ext) if dot and len(ext) < 10 else base[:max_len]
    if not base or base.strip("._-") == "":
        raise InputError(f"unusable file name {name!r}", hint="rename the file to letters, digits, '.', '-' or '_'")
    return base


def save_upload(name: str, data: bytes, folder: Path, allowed: Sequence[str], max_mb: float) -> Path:
    """Write one uploaded file into ``folder`` under a sanitised name; refuse other types or sizes, and images
    that are corrupt or over the pixel limit (:func:`mmroute.limits.max_image_pixels`)."""
    safe = sanitize_filename(name)
    ext = safe.rsplit(".", 1)[-1].lower() if "." in safe else ""
    if ext not in {a.lower() for a in allowed}:
        raise InputError(
            f"{name!r}: file type {('.' + ext) if ext else '(none)'} is not accepted",
            hint=f"accepted: {', '.join('.' + a for a in allowed)}",
        )
    if len(data) > max_mb * 1024 * 1024:
        raise InputError(f"{name!r} is {len(data) / 1048576:.1f} MB, over the {max_mb:g} MB limit")
    folder.mkdir(parents=True, exist_ok=True)
    target = (folder / safe).resolve()
    if target.parent != folder.resolve():  # belt and braces: sanitize_filename already prevents this
        raise InputError(f"{name!r} would be written outside the upload folder")
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
    tmp.write_bytes(data)
    if ext in IMAGE_UPLOAD_TYPES:  # a decompression bomb is refused from its header, a corrupt image by decoding
        from ..loaders.sniff import image_check

        _, problem = image_check(tmp)
        if problem is not None:
            tmp.unlink(missing_ok=True)
            raise InputError(f"{name!r}: {problem}", hint="upload another image")
    os.replace(tmp, target)
    return target


@dataclass
class UploadResult:
    saved: list[Path] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)


def save_uploads(
    files: Iterable[tuple[str, bytes]],
    folder: Path,
    allowed: Sequence[str] = INDEX_UPLOAD_TYPES,
    max_mb: float = MAX_INDEX_UPLOAD_MB,
) -> UploadResult:
    """Save several uploads; each bad file is reported (name, reason) and the rest are kept."""
    out = UploadResult()
    for name, data in files:
        try:
            out.saved.append(save_upload(name, data, folder, allowed, max_mb))
        except InputError as e:
            out.rejected.append((name, e.message))
    return out


def uploads_dir(home: Home, purpose: str) -> Path:
    """``HOME/uploads/<purpose>``: uploaded corpora per KB (``purpose`` = KB name) or ``_queries``."""
    safe = sanitize_filename(purpose) if purpose != "_queries" else purpose
    return home.root / "uploads" / safe


def save_query_image(home: Home, name: str, data: bytes) -> Path:
    """A question's image, saved under a unique sanitised name in ``HOME/uploads/_queries``."""
    return save_upload(
        f"{uuid.uuid4().hex[:8]}-{sanitize_filename(name)}",
        data,
        uploads_dir(home, "_queries"),
        QUERY_IMAGE_TYPES,
        MAX_QUERY_IMAGE_MB,
    )


# ----------------------------------------------------------------------------------------------
# Settings
# ----------------------------------------------------------------------------------------------

GENERATOR_LABELS = {
    "reader": "Reader (trained extractive reader, no LLM)",
    "offline": "Lexical extractor (no model, fastest)",
    "local": "Local LLM (SmolLM2 / Hugging Face)",
    "openai": "OpenAI-compatible endpoint",
}
"""How the app names the built-in generators; a plugin's generator is shown by its registered name."""
_LOCAL_GENERATORS = ("smollm2", "hf-causal")
"""Registered generators the app offers as one kind, ``local`` (packaged SmolLM2, or a model folder)."""


def generator_kinds() -> tuple[str, ...]:
    """The app's generator choices, read from the generator registry: every registered generator (a plugin's
    too, by its name), with ``smollm2`` and ``hf-causal`` offered as one choice, ``local``; labelled ones first."""
    from ..generation.base import GENERATORS

    kinds = dict.fromkeys("local" if n in _LOCAL_GENERATORS else n for n in GENERATORS.names())
    order = list(GENERATOR_LABELS)
    return tuple(sorted(kinds, key=lambda k: (order.index(k) if k in order else len(order), k)))


def generator_label(kind: str) -> str:
    """The label the app shows for a generator choice."""
    return GENERATOR_LABELS.get(kind, f"{kind} (plugin)")


def role_names(role: str) -> list[str]:
    """Registered names of ``role`` (``router`` or ``verifier``) for the app's choices, a plugin's too."""
    from ..registry import load_target

    target = {"router": "mmroute.routing.base:ROUTERS", "verifier": "mmroute.verification.base:VERIFIERS"}[role]
    registry: Any = load_target(target)
    return list(registry.names())


@dataclass(frozen=True)
class GeneratorSettings:
    """Which generator drafts answers. The API key is never held here: only the *name* of the
    environment variable it is read from, when the endpoint is called."""

    kind: str = "reader"
    local_model: str = ""
    """For ``local``: empty for the packaged SmolLM2, else a Hugging Face model folder or name."""
    endpoint_url: str = ""
    model: str = ""
    api_key_env: str = "OPENAI_API_KEY"

    def validate(self) -> None:
        kinds = generator_kinds()
        if self.kind not in kinds:
            raise ConfigError(f"unknown generator kind {self.kind!r}", hint=f"use one of {', '.join(kinds)}")
        if self.kind == "openai":
            if not re.match(r"^https?://[^\s/]+", self.endpoint_url or ""):
                raise ConfigError(
                    "the endpoint URL must start with http:// or https://",
                    hint="e.g. http://localhost:8000/v1 for vLLM, http://localhost:11434/v1 for Ollama",
                )
            if "key" in self.endpoint_url.lower() and "=" in self.endpoint_url:
                raise ConfigError("do not put the API key in the URL", hint=f"export it as ${self.api_key_env}")
            if not self.model.strip():
                raise ConfigError("the endpoint needs a model name", hint="e.g. Qwen/Qwen2.5-VL-7B-Instruct")
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", self.api_key_env or ""):
                raise ConfigError(f"{self.api_key_env!r} is not an environment variable name")

    def generator(self) -> tuple[str, dict[str, Any]]:
        """(registered generator name, options) for the pipeline config."""
        self.validate()
        if self.kind == "local":
            return ("hf-causal", {"model": self.local_model}) if self.local_model.strip() else ("smollm2", {})
        if self.kind == "openai":
            return "openai", {
                "base_url": self.endpoint_url.rstrip("/"),
                "model": self.model.strip(),
                "api_key_env": self.api_key_env,
            }
        return self.kind, {}  # reader, offline, or a plugin's generator by its registered name

    def key_status(self) -> str:
        """``"set"`` or ``"not set"`` — whether the key's environment variable exists; never its value."""
        return "set" if os.environ.get(self.api_key_env) else "not set"


@dataclass(frozen=True)
class AskSettings:
    """How questions are answered: retriever, evidence budget, and optionally fixed KBs."""

    retriever: str = DEFAULT_RETRIEVER
    k: int = 5
    kbs: tuple[str, ...] = ()
    """Empty: the router picks the KBs for each question."""
    router: str | None = None
    """A registered router (a plugin's too); None: the shipped default router."""
    verifier: str = "evidence"
    """A registered verifier (a plugin's too)."""
    threshold: float | None = None
    """The estimated chance an answer needs to be shown (the evidence verifier's ``threshold``); None: each
    generator's calibrated one."""


# ----------------------------------------------------------------------------------------------
# Knowledge bases
# ----------------------------------------------------------------------------------------------


def encoder_label(spec: EncoderSpec) -> str:
    """``hashing (dim=64)``: an encoder and its options as the KB table shows them.

    >>> encoder_label(EncoderSpec("hashing", {"dim": 64}))
    'hashing (dim=64)'
    """
    opts = ", ".join(f"{k}={v}" for k, v in sorted(dict(spec.options).items()))
    return f"{spec.name} ({opts})" if opts else spec.name


def kb_rows(infos: Iterable[KBInfo], writing: Iterable[str] = ()) -> list[dict[str, Any]]:
    """One row per KB for the KB table (``writing``: KBs an index job is writing now)."""
    busy = set(writing)
    rows = []
    for info in infos:
        rows.append(
            {
                "name": info.name,
                "modality": info.modality.value,
                "granularity": info.granularity.value,
                "encoder": encoder_label(info.encoder),
                "dim": info.dim,
                "items": info.count,
                "store": info.store.backend,
                "description": info.description,
                "updated": info.updated_at or "",
                "status": "being written" if info.name in busy else "ready",
            }
        )
    return rows


def problem_rows(problems: Iterable[LoadProblem]) -> list[dict[str, str]]:
    """The skipped-sources table: source, line (empty when the problem is not on a line), problem."""
    return [{"source": p.source, "line": "" if p.line is None else str(p.line), "problem": p.message} for p in problems]


def new_kb_name(typed: str) -> str:
    """The name typed for a new KB, checked: empty asks for a name, a bad one says which characters."""
    from ..kb import validate_kb_name

    name = (typed or "").strip()
    if not name:
        raise InputError("enter a name for the new KB", hint="letters, digits, '-', '_', '.'")
    return validate_kb_name(name)


def parse_encoder(name: str, options_json: str = "") -> EncoderSpec | None:
    """``("default", "")`` -> None (the modality's default); else a spec with JSON options."""
    import json

    if not name or name == "default":
        return None
    opts: dict[str, Any] = {}
    if options_json.strip():
        try:
            opts = json.loads(options_json)
        except ValueError as e:
            raise InputError(f"encoder options are not valid JSON: {e}", hint='e.g. {"dim": 64}') from None
        if not isinstance(opts, dict):
            raise InputError("encoder options must be a JSON object", hint='e.g. {"dim": 64}')
    return EncoderSpec(name, opts)


ProgressFn = Callable[[str, int, int], None]
"""``progress(kb, done, total)`` while an index job encodes items."""


# ----------------------------------------------------------------------------------------------
# Answer views
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvidenceCard:
    """One piece of evidence as the chat shows it."""

    kind: str
    """``text``, ``image`` or ``video``."""
    title: str
    text: str
    kb: str
    score: float
    rank: int
    item_id: str
    media_path: str | None = None
    """Image or video file to show (``None`` when the file is not on this machine)."""
    start_s: float | None = None
    end_s: float | None = None

    @property
    def caption(self) -> str:
        span = ""
        if self.start_s is not None:
            span = f" · {fmt_seconds(self.start_s)}–{fmt_seconds(self.end_s or self.start_s)}"
        return f"#{self.rank} · {self.kb} · score {self.score:.3f}{span}"


def fmt_seconds(s: float) -> str:
    m, sec = divmod(int(round(s)), 60)
    return f"{m}:{sec:02d}"


def evidence_card(hit: Hit) -> EvidenceCard:
    """A hit as a card. A clip shows its own subtitles and time range (its ``text`` also carries the
    whole video's description, which would repeat on every clip of the video)."""
    it = hit.item
    media = None
    if it.modality is not Modality.TEXT and it.source and Path(it.source).is_file():
        media = str(Path(it.source).resolve())
    title, text = it.title or it.doc_id or it.id, it.text
    if it.kind is Granularity.CLIP:
        if it.start_s is not None:
            title = (
                f"{title} · {fmt_seconds(it.start_s)}–{fmt_seconds(it.end_s if it.end_s is not None else it.start_s)}"
            )
        text = clip_text(it)
    return EvidenceCard(
        kind=it.modality.value,
        title=title,
        text=text,
        kb=hit.kb,
        score=float(hit.score),
        rank=hit.rank,
        item_id=it.id,
        media_path=media,
        start_s=it.start_s,
        end_s=it.end_s,
    )


def clip_text(item: Item) -> str:
    """What is said or described in a clip's own time range: its subtitles, else its own captions."""
    subs = str(item.metadata.get("subtitles") or "").strip()
    if subs:
        return subs
    video_description = str(item.metadata.get("description") or "")
    own = [c for c in item.captions if c and c != video_description]
    return "\n".join(own) if own else "(no subtitles or captions in this clip)"


def withheld_draft(answer: Answer) -> str | None:
    """The draft the verifier withheld (shown labelled as such), or None when nothing was withheld."""
    if answer.abstained and answer.draft is not None and answer.draft.text:
        return answer.draft.text
    return None


def evidence_cards(answer: Answer) -> list[EvidenceCard]:
    return [evidence_card(h) for h in answer.evidence]


def route_summary(decision: RouteDecision | None, searched: Sequence[str] | None = None) -> str:
    """``"paragraph (p=0.91) → searched hop"`` style one-liner: ``searched`` (the KBs the retrieval searched,
    widening included) when known, else the route's own KBs."""
    if decision is None:
        return "no routing (KBs chosen by hand)" + (f" → searched {', '.join(searched)}" if searched else "")
    if decision.rejected:
        return f"rejected: {decision.reason}"
    chosen = ", ".join(decision.chosen) or "none"
    p = decision.top.probability if decision.ranked else 0.0
    kbs = ", ".join(searched if searched is not None else decision.kbs) or "no KB"
    return f"{chosen} (p={p:.2f}) → searched {kbs}" + (decision.beyond(searched) if searched is not None else "")


def trace_rows(answer: Answer) -> list[dict[str, Any]]:
    """One row per retrieval step: the (follow-up) query, its route, KBs, every hit id (a list: the table
    shows it in a wide list column) and note."""
    if answer.retrieval is None:
        return []
    rows = []
    for s in answer.retrieval.steps:
        rows.append(
            {
                "step": s.index,
                "query": s.query,
                "route": route_summary(s.route) if s.route else "",
                "kbs": ", ".join(s.kbs),
                "hits": [h.item.id for h in s.hits],
                "new": len(s.new_ids),
                "note": s.note,
                "ms": round(s.elapsed_ms, 1),
            }
        )
    return rows


def latency_rows(answer: Answer) -> list[dict[str, Any]]:
    """Per-stage timings (ms), in the order the pipeline recorded them, total last."""
    rows = [{"stage": k, "ms": round(float(v), 1)} for k, v in answer.timings_ms.items() if k != "total"]
    if "total" in answer.timings_ms:
        rows.append({"stage": "total", "ms": round(float(answer.timings_ms["total"]), 1)})
    return rows


VERDICT_ICONS = {"supported": "✅", "unsupported": "⚠️", "contradicted": "❌", "no_evidence": "∅"}


# ----------------------------------------------------------------------------------------------
# The answering pipeline
# ----------------------------------------------------------------------------------------------


def pipeline_config(gen: GeneratorSettings, ask: AskSettings) -> Any:
    """The :class:`~mmroute.config.PipelineConfig` of the app's generator and retrieval settings
    (sent to the server with each question)."""
    from ..config import EndpointConfig, PipelineConfig

    name, options = gen.generator()
    endpoint = EndpointConfig()
    if name == "openai":
        endpoint = EndpointConfig(
            url=options.pop("base_url"),
            model=options.pop("model"),
            api_key_env=options.pop("api_key_env"),
            multimodal=True,
        )
    return PipelineConfig(
        generator=name,
        generator_options=options,
        retriever=ask.retriever,
        router=ask.router or None,
        verifier=ask.verifier,
        verifier_options={"threshold": ask.threshold} if ask.threshold is not None else {},
        k=ask.k,
        kbs=list(ask.kbs),
        endpoint=endpoint,
    )
