"""Index jobs of ``mmroute serve``: background runs with progress, persisted so that nothing is lost.

A job is one ``mmroute index`` call. It is written to ``HOME/serve/jobs/ID.json`` (atomically) when
it is queued, when it starts and when it ends; progress lives in memory and is polled by clients.
Each job runs in its own thread and owns its KBs through :class:`~mmroute.serve.gate.KBGate`, so
writes to one KB are serialised while other KBs keep answering.

Why nothing is lost when the server is killed (even ``kill -9``) during a job: the indexer itself
is resumable (deterministic point ids, a per-source manifest, atomic writes), and a job still marked
``queued`` or ``running`` on disk is started again when the server restarts. Submitting the same
index call while an identical job is queued or running attaches to that job instead of adding one.

>>> jobs = JobRegistry(home, gate)
>>> job = jobs.submit("hop", {"input": "/data/corpus.jsonl", "granularity": "paragraph", ...})
>>> jobs.get(job.id).to_dict()["status"]
'running'
"""

from __future__ import annotations

import builtins
import contextvars
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import ops
from ..errors import MMRouteError
from ..fsutil import atomic_write_json
from ..redact import redact_values
from .gate import KBGate

log = logging.getLogger("mmroute.serve")

KEEP_FINISHED = 200
"""Finished jobs kept on disk (the oldest are pruned beyond this)."""


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


@dataclass
class Job:
    """One index call run by the server."""

    id: str
    kb: str
    spec: dict[str, Any]
    targets: list[str]
    status: str = "queued"
    """``queued`` -> ``running`` -> ``done`` | ``failed``."""
    created_at: str = field(default_factory=_now)
    started_at: str | None = None
    finished_at: str | None = None
    progress: dict[str, dict[str, int]] = field(default_factory=dict)
    """Per KB written: ``{"done", "total"}`` items encoded in this run."""
    result: dict[str, Any] | None = None
    """``{"reports": [...]}`` as ``mmroute index --json`` prints it."""
    error: dict[str, Any] | None = None
    """``{"error", "hint", "exit_code"}`` when the job failed."""
    resumed: int = 0
    """How many times the job was started again after the server stopped during it."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kb": self.kb,
            "spec": redact_values(self.spec),
            "targets": list(self.targets),
            "status": self.status,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "progress": {k: dict(v) for k, v in self.progress.items()},
            "result": self.result,
            "error": self.error,
            "resumed": self.resumed,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Job:
        return cls(
            id=str(d["id"]),
            kb=str(d["kb"]),
            spec=dict(d["spec"]),
            targets=list(d.get("targets") or []),
            status=str(d.get("status") or "queued"),
            created_at=str(d.get("created_at") or _now()),
            started_at=d.get("started_at"),
            finished_at=d.get("finished_at"),
            progress=dict(d.get("progress") or {}),
            result=d.get("result"),
            error=d.get("error"),
            resumed=int(d.get("resumed") or 0),
        )


class JobRegistry:
    """Queues, runs, persists and resumes the server's index jobs."""

    def __init__(self, home: Any, gate: KBGate) -> None:
        self.home = home
        self.gate = gate
        self.directory = Path(home.root) / "serve" / "jobs"
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    # ----- persistence ----------------------------------------------------------------------
    def _save(self, job: Job) -> None:
        atomic_write_json(self.directory / f"{job.id}.json", job.to_dict())

    def resume(self) -> list[Job]:
        """Load the persisted jobs; start again every job a stopped server left queued or running."""
        if not self.directory.is_dir():
            return []
        loaded: list[Job] = []
        for path in sorted(self.directory.glob("*.json")):
            try:
                loaded.append(Job.from_dict(json.loads(path.read_text(encoding="utf-8"))))
            except (OSError, ValueError, KeyError, TypeError) as e:
                log.warning("ignoring unreadable job file %s: %s", path, e)
        loaded.sort(key=lambda j: j.created_at)
        resumed = []
        with self._lock:
            for job in loaded:
                self._jobs[job.id] = job
        for job in loaded:
            if job.status in ("queued", "running"):
                job.resumed += 1 if job.status == "running" else 0
                job.status, job.progress = "queued", {}
                self._save(job)
                self._start(job)
                resumed.append(job)
        self._prune()
        return resumed

    def _prune(self) -> None:
        with self._lock:
            finished = sorted(
                (j for j in self._jobs.values() if j.status in ("done", "failed")), key=lambda j: j.finished_at or ""
            )
            drop = finished[: max(0, len(finished) - KEEP_FINISHED)]
            for j in drop:
                self._jobs.pop(j.id, None)
        for j in drop:
            (self.directory / f"{j.id}.json").unlink(missing_ok=True)

    # ----- API ------------------------------------------------------------------------------
    def submit(self, kb: str, spec: dict[str, Any]) -> tuple[Job, bool]:
        """Queue an index call (checked first, like the CLI does); returns (job, created).

        An identical call already queued or running is returned instead of a new job.
        """
        targets = ops.index_targets(kb, spec)  # its errors name the input as the caller typed it
        with self._lock:
            for job in self._jobs.values():
                if job.status in ("queued", "running") and job.kb == kb and job.spec == spec:
                    return job, False
            job = Job(id=uuid.uuid4().hex[:12], kb=kb, spec=dict(spec), targets=targets)
            self._jobs[job.id] = job
        self._save(job)
        self._start(job)
        return job, True

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def list(self) -> list[Job]:
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: j.created_at)

    def active(self) -> builtins.list[Job]:
        return [j for j in self.list() if j.status in ("queued", "running")]

    # ----- running --------------------------------------------------------------------------
    def _start(self, job: Job) -> None:
        # the job runs in the submitting request's context: a server without a token withholds its keys there too
        context = contextvars.copy_context()
        t = threading.Thread(target=context.run, args=(self._run, job), name=f"index-{job.id}", daemon=True)
        self._threads.append(t)
        t.start()

    def _run(self, job: Job) -> None:
        try:
            with self.gate.write(job.targets, holder=f"index job {job.id}"):
                job.status, job.started_at = "running", _now()
                self._save(job)
                log.info("index job %s: %s <- %s", job.id, job.kb, job.spec.get("input"))

                def progress(stage: str, done: int, total: int) -> None:
                    job.progress[stage] = {"done": done, "total": total}

                job.result = ops.index(self.home, job.kb, job.spec, progress=progress)
                job.status = "done"
        except MMRouteError as e:
            job.error = {"error": e.message, "hint": e.hint, "exit_code": 2}
            job.status = "failed"
        except Exception as e:  # noqa: BLE001 - a job must end recorded, never vanish with its thread
            log.exception("index job %s failed", job.id)
            job.error = {"error": f"{type(e).__name__}: {e}", "hint": "see the server's log", "exit_code": 1}
            job.status = "failed"
        finally:
            job.finished_at = _now()
            self._save(job)
            log.info("index job %s: %s", job.id, job.status)
