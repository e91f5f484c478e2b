"""Generator behind any OpenAI-compatible chat endpoint (vLLM, Ollama, llama.cpp server, hosted APIs).

Text evidence goes in as quoted passages; a query image and image evidence go in as ``data:`` URLs;
video evidence goes in as a few frames sampled across the clip (for multimodal models, ``multimodal=True``).
Timeouts, retries with backoff and the API key (read from the environment variable named by
``api_key_env``) are handled by :class:`mmroute.llm.openai_compat.ChatClient`.

>>> gen = EndpointGenerator("http://localhost:11434/v1", "qwen2.5vl:3b", multimodal=True)
>>> gen.generate("What animal is this?", hits, image=Path("cat.jpg")).text
>>> for delta in gen.stream("Who led the Normans?", hits): print(delta, end="")
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..errors import ItemError
from ..types import Draft, Hit
from .answer_sentence import best_support
from .prompts import answer_messages, clean_answer, closed_book_messages

_IMAGE_EXT = {".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp"}
_VIDEO_EXT = {".mp4", ".mkv", ".webm", ".mov", ".avi", ".m4v"}


def sample_video_frames(
    path: Path, n: int = 4, start_s: float | None = None, end_s: float | None = None, max_side: int = 512
) -> list[str]:
    """``n`` JPEG frames evenly spaced over [start_s, end_s] of a video, as data URLs (PyAV).

    PyAV seeks to the keyframe before a timestamp, so frames are decoded forward to each target time.
    """
    import base64
    import io

    import av

    urls: list[str] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        tb = stream.time_base
        if tb is None:
            raise ItemError(f"{path}: the video stream has no time base")
        dur = float(stream.duration * tb) if stream.duration else float(container.duration or 0) / 1e6
        a = max(0.0, start_s or 0.0)
        b = end_s if end_s is not None else (dur or a + 1.0)
        targets = [a + (b - a) * (i + 0.5) / n for i in range(n)]
        for t in targets:
            container.seek(int(t / tb), stream=stream, backward=True, any_frame=False)
            for frame in container.decode(stream):
                if frame.time is None or frame.time + 1e-3 >= t:
                    img = frame.to_image()
                    img.thumbnail((max_side, max_side))
                    buf = io.BytesIO()
                    img.convert("RGB").save(buf, format="JPEG", quality=80)
                    urls.append("data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii"))
                    break
    return urls


class EndpointGenerator:
    """Answers through an OpenAI-compatible ``/v1/chat/completions`` endpoint (see module doc)."""

    name = "openai"

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key_env: str | None = "OPENAI_API_KEY",
        timeout_s: float = 60.0,
        max_retries: int = 2,
        max_tokens: int = 64,
        temperature: float = 0.0,
        multimodal: bool = False,
        frames_per_video: int = 4,
        max_hits: int = 5,
        max_chars_per_hit: int = 2000,
    ) -> None:
        self.base_url = base_url
        self.model = model
        self.api_key_env = api_key_env
        self.timeout_s = float(timeout_s)
        self.max_retries = int(max_retries)
        self.max_tokens = int(max_tokens)
        self.temperature = float(temperature)
        self.multimodal = bool(multimodal)
        self.frames_per_video = int(frames_per_video)
        self.max_hits = int(max_hits)
        self.max_chars_per_hit = int(max_chars_per_hit)
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            from ..llm.openai_compat import ChatClient

            self._client = ChatClient(
                self.base_url,
                self.model,
                api_key_env=self.api_key_env,
                timeout_s=self.timeout_s,
                max_retries=self.max_retries,
            )
        return self._client

    def warm_up(self) -> None:
        _ = self.client

    def messages(self, question: str, hits: Sequence[Hit], image: Path | None = None) -> list[dict[str, Any]]:
        """The chat messages sent: quoted passages, plus image parts when ``multimodal``."""
        msgs: list[dict[str, Any]] = answer_messages(question, hits[: self.max_hits], self.max_chars_per_hit)
        if not self.multimodal:
            return msgs
        from ..llm.openai_compat import image_data_url

        parts: list[dict[str, Any]] = [{"type": "text", "text": msgs[1]["content"]}]
        if image is not None:
            parts.append({"type": "text", "text": "Query image:"})
            parts.append({"type": "image_url", "image_url": {"url": image_data_url(image)}})
        for i, h in enumerate(hits[: self.max_hits], start=1):
            src = Path(h.item.source) if h.item.source else None
            if src is None or not src.is_file():
                continue
            ext = src.suffix.lower()
            if ext in _IMAGE_EXT:
                parts.append({"type": "text", "text": f"Image of passage {i}:"})
                parts.append({"type": "image_url", "image_url": {"url": image_data_url(src)}})
            elif ext in _VIDEO_EXT:
                frames = sample_video_frames(src, self.frames_per_video, h.item.start_s, h.item.end_s)
                parts.append({"type": "text", "text": f"Frames of passage {i} (video, in time order):"})
                parts.extend({"type": "image_url", "image_url": {"url": u}} for u in frames)
        return [msgs[0], {"role": "user", "content": parts}]

    def generate(self, question: str, hits: Sequence[Hit], image: Path | None = None) -> Draft:
        t0 = time.perf_counter()
        res = self.client.chat(
            self.messages(question, hits, image), max_tokens=self.max_tokens, temperature=self.temperature
        )
        text = clean_answer(res.text)
        use = list(hits[: self.max_hits])
        return Draft(
            text=text,
            evidence_ids=tuple(h.item.id for h in use),
            support=best_support(text, use) if text else "",
            generator=self.name,
            elapsed_ms=(time.perf_counter() - t0) * 1000,
        )

    def stream(self, question: str, hits: Sequence[Hit], image: Path | None = None) -> Iterator[str]:
        """Yield the answer's text as the endpoint streams it (for the UI)."""
        yield from self.client.stream(
            self.messages(question, hits, image), max_tokens=self.max_tokens, temperature=self.temperature
        )

    def closed_book(self, question: str, hits: Sequence[Hit], image: Path | None = None) -> Draft | None:
        """The answer without retrieval (the model's own knowledge) for the dual-path check."""
        t0 = time.perf_counter()
        res = self.client.chat(closed_book_messages(question), max_tokens=self.max_tokens, temperature=0.0)
        return Draft(
            text=clean_answer(res.text),
            generator=f"{self.name}:closed-book",
            elapsed_ms=(time.perf_counter() - t0) * 1000,
        )
