"""What is wrong with a KB folder that cannot be opened, and what an interrupted operation left behind.

A home stays usable when one KB is damaged: :class:`~mmroute.kb.Home` lists the KBs it can read and
reports the rest here as :class:`KBProblem` entries (``kb list`` marks them broken, ``kb info`` and
``kb doctor`` say what is wrong, ``kb delete`` removes them). Leftovers are the hidden folders an
interrupted ``kb copy`` (``.NAME.copy``) or ``kb delete`` (``.deleting-NAME-PID``) leaves beside the KBs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .fsutil import WRITE_LOCK_NAME, lock_is_held
from .manifest import MANIFEST_NAME


@dataclass(frozen=True)
class KBProblem:
    """One KB (or leftover) that cannot be used, in one line, with the command that fixes it."""

    name: str
    problem: str
    hint: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "problem": self.problem, "hint": self.hint}


def delete_hint(name: str) -> str:
    return f"remove it with `mmroute kb delete {name} --yes` and index it again"


class ManifestCheck:
    """Whether a KB folder holds a readable manifest, cached per manifest (mtime, size)."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[tuple[int, int], str | None]] = {}

    def problem(self, directory: Path) -> str | None:
        """None when the manifest parses as a KB descriptor, else what is wrong with it."""
        path = directory / MANIFEST_NAME
        try:
            st = path.stat()
        except FileNotFoundError:
            return "has no manifest.json (a store left by an interrupted copy or index run)"
        except OSError as e:
            return f"manifest.json cannot be read ({e.strerror})"
        key = (st.st_mtime_ns, st.st_size)
        seen = self._seen.get(str(directory))
        if seen is not None and seen[0] == key:
            return seen[1]
        found = _parse_problem(path)
        self._seen[str(directory)] = (key, found)
        return found


def _parse_problem(path: Path) -> str | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        return f"manifest.json cannot be read ({e.strerror})"
    except ValueError as e:
        return f"manifest.json is not valid JSON ({e}); it was truncated or overwritten"
    kb = data.get("kb") if isinstance(data, dict) else None
    missing = [
        k
        for k in ("name", "modality", "granularity", "encoder", "dim", "store")
        if not isinstance(kb, dict) or k not in kb
    ]
    if missing:
        return f"manifest.json lacks the KB descriptor field(s) {', '.join(missing)}"
    return None


def scan(kbs_dir: Path, checks: ManifestCheck) -> tuple[list[str], list[KBProblem]]:
    """(names of the readable KBs, problems of the unreadable ones and of unfinished leftovers).

    A folder that an indexing run is creating right now (its writer lock is held, no manifest yet) is
    neither: it appears once the run has saved its manifest.
    """
    if not kbs_dir.is_dir():
        return [], []
    good: list[str] = []
    bad: list[KBProblem] = []
    hidden: list[Path] = []
    for p in sorted(kbs_dir.iterdir()):
        if not p.is_dir():
            continue
        if p.name.startswith("."):
            hidden.append(p)
            continue
        problem = checks.problem(p)
        if problem is None:
            good.append(p.name)
        elif not (problem.startswith("has no manifest") and lock_is_held(p / WRITE_LOCK_NAME)):
            bad.append(
                KBProblem(
                    p.name,
                    f"KB {p.name!r} {problem}" if problem.startswith("has ") else f"KB {p.name!r}: {problem}",
                    delete_hint(p.name),
                )
            )
    for p in hidden:
        owner = leftover_owner(p.name)
        if owner and not lock_is_held(p / WRITE_LOCK_NAME):
            hint = (
                f"KB {owner!r} itself is fine; remove the folder {p}"
                if owner in good
                else f"re-run the copy, or remove it with `mmroute kb delete {owner} --yes`"
            )
            bad.append(KBProblem(owner, f"unfinished leftover {p.name} of an interrupted copy or delete", hint))
    return good, bad


def leftover_owner(folder: str) -> str | None:
    """The KB name an interrupted operation's hidden folder belongs to (None for other hidden folders)."""
    if folder.startswith(".deleting-"):
        return folder[len(".deleting-") :].rpartition("-")[0] or None
    if folder.endswith(".copy") and folder.startswith("."):
        return folder[1 : -len(".copy")] or None
    return None


def leftovers(kbs_dir: Path, name: str) -> list[Path]:
    """Hidden leftover folders of KB ``name`` that no running process holds."""
    if not kbs_dir.is_dir():
        return []
    return sorted(
        p
        for p in kbs_dir.iterdir()
        if p.is_dir()
        and p.name.startswith(".")
        and leftover_owner(p.name) == name
        and not lock_is_held(p / WRITE_LOCK_NAME)
    )
