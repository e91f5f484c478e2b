"""Per-KB manifest: what the KB is, and which sources were indexed with which content hash.

The manifest is the source of truth for resuming: a source whose hash and status ``done`` match
is skipped; anything else is (re)indexed, and only items whose point ids are missing from the
store are encoded again. It is rewritten atomically after every source, so a run killed at any
point leaves either the previous or the next manifest on disk.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .errors import StoreError
from .fsutil import atomic_write_json
from .types import SCHEMA_VERSION, KBInfo

MANIFEST_NAME = "manifest.json"
STORE_DIR = "store"


def _store_dir(value: Any) -> str:
    if not isinstance(value, str) or not value.startswith(STORE_DIR) or "/" in value or value in ("", ".", ".."):
        raise ValueError(f"bad store_dir {value!r}")
    return value


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class SourceRecord:
    """Indexing state of one source file."""

    path: str
    sha256: str
    """The file's SHA-256, combined with its sidecars' when it has any (``mmroute.indexer.source_fingerprint``)."""
    status: str  # "done" | "partial" | "failed"
    items: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)
    updated_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "sha256": self.sha256,
            "status": self.status,
            "items": self.items,
            "skipped": self.skipped,
            "errors": list(self.errors[:20]),
            "updated_at": self.updated_at,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SourceRecord:
        return cls(
            path=d["path"],
            sha256=d["sha256"],
            status=d["status"],
            items=int(d.get("items", 0)),
            skipped=int(d.get("skipped", 0)),
            errors=list(d.get("errors") or []),
            updated_at=d.get("updated_at", ""),
        )


@dataclass
class Manifest:
    info: KBInfo
    sources: dict[str, SourceRecord] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION
    extra: dict[str, Any] = field(default_factory=dict)
    store_dir: str = STORE_DIR
    """The folder under the KB directory holding the store's files: ``kb move`` builds the new store
    beside the old one and switches this field in one atomic manifest write."""

    def to_dict(self) -> dict[str, Any]:
        data = {
            "schema_version": self.schema_version,
            "kb": self.info.to_dict(),
            "sources": {k: v.to_dict() for k, v in sorted(self.sources.items())},
            "extra": self.extra,
        }
        if self.store_dir != STORE_DIR:
            data["store_dir"] = self.store_dir
        return data

    def store_path(self, directory: Path) -> Path:
        return directory / self.store_dir

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Manifest:
        version = int(d.get("schema_version", 0))
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"manifest schema {version} is newer than this mmroute understands ({SCHEMA_VERSION})",
                hint="upgrade mmroute, or re-index into a new KB",
            )
        return cls(
            info=KBInfo.from_dict(d["kb"]),
            sources={k: SourceRecord.from_dict(v) for k, v in (d.get("sources") or {}).items()},
            schema_version=version,
            extra=dict(d.get("extra") or {}),
            store_dir=_store_dir(d.get("store_dir", STORE_DIR)),
        )

    def save(self, directory: Path) -> None:
        atomic_write_json(directory / MANIFEST_NAME, self.to_dict())

    @classmethod
    def load(cls, directory: Path) -> Manifest:
        path = directory / MANIFEST_NAME
        try:
            return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise StoreError(
                f"manifest {path} is unreadable: {e}",
                hint=f"delete the KB with `mmroute kb delete {directory.name} --yes` and index it again",
            ) from None
