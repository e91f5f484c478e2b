"""The Streamlit app's view of ``mmroute serve``: KBs, index jobs with progress, delete, ask.

The app never opens a KB itself: the server of its home owns the KBs (an embedded KB has one
owner), so ``mmroute search``/``ask``/``index`` keep working from a terminal while the app is open.
``mmroute app`` starts that server when none runs (:mod:`mmroute.serve.launch`).

One :class:`AppClient` per thread (it holds one HTTP connection); :func:`connect_app` is cheap.

>>> app = connect_app(Path("~/.mmroute").expanduser())
>>> [info.name for info in app.kbs()]
['films']
>>> app.ask("Who directed Inception?", None, GeneratorSettings(), AskSettings()).display_text
'Christopher Nolan'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import KBLockedError, MMRouteError
from ..indexer import IndexReport
from ..serve.client import RemoteError, ServeClient, connect, run_index
from ..types import Answer, EncoderSpec, KBInfo
from .support import AskSettings, GeneratorSettings, ProgressFn, pipeline_config


class NoServerError(MMRouteError):
    """No ``mmroute serve`` runs for the app's home."""


class AppClient:
    """What the app asks of the server (typed results; errors are :class:`~mmroute.errors.MMRouteError`)."""

    def __init__(self, client: ServeClient) -> None:
        self.client = client

    @property
    def url(self) -> str:
        return self.client.url

    def kbs(self) -> list[KBInfo]:
        return [KBInfo.from_dict(d) for d in self.client.kb_list()["kbs"]]

    def kbs_and_writing(self) -> tuple[list[KBInfo], list[str]]:
        """The KBs and the names of those an index job is writing now (one request)."""
        data = self.client.kb_list()
        return [KBInfo.from_dict(d) for d in data["kbs"]], list(data.get("writing") or [])

    def names(self) -> list[str]:
        return [info.name for info in self.kbs()]

    def index(
        self,
        kb: str,
        source: Path,
        *,
        modality: str | None = None,
        granularity: str | None = None,
        encoder: EncoderSpec | None = None,
        description: str = "",
        progress: ProgressFn | None = None,
    ) -> list[IndexReport]:
        """Index ``source`` (a path on the server's machine) into ``kb`` as a server job, following its progress."""
        from ..ops import index_spec

        absolute = Path(source).expanduser().absolute()
        spec = {**index_spec(absolute, modality, granularity, encoder, None, description), "display_input": str(source)}

        def on_job(job: dict[str, Any]) -> None:
            if progress is not None:
                for name, p in (job.get("progress") or {}).items():
                    progress(name, int(p.get("done") or 0), int(p.get("total") or 0))

        try:
            data = run_index(self.client, kb, spec, on_job)
        except RemoteError as e:
            raise as_locked(e) from None
        return [IndexReport.from_dict(r) for r in data["reports"]]

    def delete(self, name: str) -> None:
        try:
            self.client.kb_delete(name)
        except RemoteError as e:
            raise as_locked(e) from None

    def ask(self, question: str, image: Path | None, gen: GeneratorSettings, ask: AskSettings) -> Answer:
        cfg = pipeline_config(gen, ask)
        data = self.client.ask(question, cfg.to_dict(), image=image, step_hits=True)
        return Answer.from_dict(data, data.get("step_hits"))

    def close(self) -> None:
        self.client.close()


LOCKED_MARKS = ("is being written", "is open in another process")
"""What the server's lock errors say (a KB written by an index job, or held by another process)."""


def as_locked(e: RemoteError) -> MMRouteError:
    """A server's lock error as :class:`~mmroute.errors.KBLockedError` (the app shows it with a lock icon)."""
    if e.status == 409 and any(m in e.message for m in LOCKED_MARKS):
        return KBLockedError(e.message, e.hint)
    return e


def connect_app(root: Path | str) -> AppClient:
    """A client of the server that owns ``root``; :class:`NoServerError` with what to do when none runs."""
    client = connect(root)
    if client is None:
        raise NoServerError(
            f"no mmroute serve runs for {root}",
            hint=f"start the app with `mmroute app --home {root}` (it starts one), "
            f"or run `mmroute serve --home {root}`",
        )
    return AppClient(client)
