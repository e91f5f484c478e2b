"""Shared CLI plumbing: the --home option, JSON output, and turning errors into one clear line."""

from __future__ import annotations

import errno
import functools
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ..errors import ConfigError, MMRouteError

F = TypeVar("F", bound=Callable[..., Any])


def _home_before_the_command(ctx: click.Context, _param: click.Parameter, value: Path | None) -> Path | None:
    """``mmroute --home DIR kb list`` as ``mmroute kb list --home DIR``: a ``--home`` given before the command is used
    unless the command has its own on the command line (either beats ``$MMROUTE_HOME``)."""
    if ctx.get_parameter_source("home") is click.core.ParameterSource.COMMANDLINE:
        return value
    root = ctx.find_root().params.get("home")
    return Path(root) if root is not None else value


def home_option(f: F) -> F:
    """``--home DIR`` (default ``$MMROUTE_HOME`` or ``~/.mmroute``) on every command; also accepted before it."""
    return click.option(
        "--home",
        "home",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        envvar="MMROUTE_HOME",
        show_envvar=True,
        callback=_home_before_the_command,
        help="Home directory holding the KBs (default ~/.mmroute).",
    )(f)


def json_option(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")(f)


def open_home(home: Path | None):  # noqa: ANN201 - avoids importing kb at CLI import time
    from ..kb import Home

    return Home(home)


def check_out_file(out: Path | None) -> None:
    """The folder of an ``--out`` file exists: checked before any work, so a long evaluation never runs only
    to fail at its first write."""
    if out is not None and not out.absolute().parent.is_dir():
        raise ConfigError(
            f"cannot write {out}: the folder {out.absolute().parent} does not exist",
            hint=f"create it first (mkdir -p {out.parent}) or choose another --out",
        )


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=None if not sys.stdout.isatty() else 2))


def fail(message: str, hint: str | None = None, code: int = 2, as_json: bool = False) -> None:
    """Report a user error on stderr and exit: one line plus a hint, or with ``--json`` one JSON object."""
    if as_json:
        click.echo(json.dumps({"error": message, "hint": hint, "exit_code": code}, ensure_ascii=False), err=True)
        sys.exit(code)
    click.secho(f"error: {message}", fg="red", err=True)
    if hint:
        click.echo(f"hint: {hint}", err=True)
    sys.exit(code)


RESUMABLE = frozenset({"index", "reader train"})
"""Commands whose interrupted run a re-run continues (the others start over, or had nothing to write)."""


def handle_errors(f: F) -> F:
    """Run a command; an :class:`MMRouteError` (a user error) becomes one line plus a hint, exit 2.

    Set ``MMROUTE_DEBUG=1`` to see the traceback instead.
    """

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return f(*args, **kwargs)
        except MMRouteError as e:
            if os.environ.get("MMROUTE_DEBUG"):
                raise
            fail(e.message, e.hint, as_json=bool(kwargs.get("as_json")))
        except OSError as e:
            said = _disk_error(e)
            if said is None or os.environ.get("MMROUTE_DEBUG"):
                raise
            fail(*said, as_json=bool(kwargs.get("as_json")))
        except KeyboardInterrupt:
            ctx = click.get_current_context(silent=True)
            path = ctx.command_path.split()[1:] if ctx is not None else []
            fail(
                "interrupted",
                "re-run the same command to resume where it stopped"
                if " ".join(path) in RESUMABLE
                else "run the command again when you want its result",
                code=130,
                as_json=bool(kwargs.get("as_json")),
            )

    return wrapper  # type: ignore[return-value]


def _disk_error(e: OSError) -> tuple[str, str] | None:
    """(message, hint) for the file-system refusals a user can act on: a full disk, a read-only one, no
    permission; None for anything else (a bug, shown with its traceback)."""
    where = f" {e.filename}" if e.filename else ""
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        return (
            f"no space left on the disk writing{where}",
            "free some space and run the same command again (what was written is kept and resumed)",
        )
    if e.errno == errno.EROFS:
        return (
            f"cannot write{where}: the file system is read-only",
            "searching and asking work on a read-only home without a server; to index or serve it, "
            "copy the home to a writable disk (--home DIR)",
        )
    if e.errno in (errno.EACCES, errno.EPERM):
        return (f"permission denied:{where or ' a file'}", "check who owns the home, or use another --home DIR")
    return None


def progress_enabled(as_json: bool) -> bool:
    """Progress bars only on an interactive terminal, never with --json."""
    return (not as_json) and sys.stderr.isatty()


def parse_options(pairs: tuple[str, ...], flag: str) -> dict[str, object]:
    """KEY=VALUE pairs of a repeatable option into a dict; VALUE is JSON when it parses as JSON, else a string."""
    from ..errors import InputError

    out: dict[str, object] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise InputError(f"{flag} {pair!r} is not KEY=VALUE", hint=f"write {flag} KEY=VALUE (VALUE may be JSON)")
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = raw
    return out


class Registered(click.ParamType):
    """The name of a registered implementation of one role (built in, or added by a plugin's entry point).

    The choices are read from the role's registry when a value is checked (or help and completion are
    shown), not when the CLI is imported, so a package installed after mmroute (or put on ``PYTHONPATH``)
    is a valid choice; a wrong name lists them all. ``registry`` is ``"module:ATTRIBUTE"``, imported then.
    """

    def __init__(self, registry: str, name: str, metavar: str) -> None:
        self.registry = registry
        self.name = name
        self._metavar = metavar

    def _registry(self) -> Any:
        from ..registry import load_target

        return load_target(self.registry)

    def get_metavar(self, *args: Any, **kwargs: Any) -> str:
        return self._metavar

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        reg = self._registry()
        if isinstance(value, str) and value in reg:
            return value
        self.fail(f"{value!r} is not one of {', '.join(repr(n) for n in reg.names())}.", param, ctx)

    def shell_complete(self, ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
        from click.shell_completion import CompletionItem

        return [CompletionItem(n) for n in self._registry().names() if n.startswith(incomplete)]


class StoreBackend(Registered):
    """A registered store backend (``--store``)."""

    def __init__(self) -> None:
        super().__init__("mmroute.stores.base:STORES", "store", "[edge|qdrant|faiss|...]")


class EncoderName(Registered):
    """A registered encoder (``--encoder``)."""

    def __init__(self) -> None:
        super().__init__("mmroute.encoders.base:ENCODERS", "encoder", "[minilm|hashing|open-clip|...]")


class GeneratorName(Registered):
    """A registered generator (``--generator``)."""

    def __init__(self) -> None:
        super().__init__("mmroute.generation.base:GENERATORS", "generator", "[reader|offline|smollm2|openai|...]")


class RouterName(Registered):
    """A registered router (``--router``)."""

    def __init__(self) -> None:
        super().__init__("mmroute.routing.base:ROUTERS", "router", "[default|trained|federated|...]")


class VerifierName(Registered):
    """A registered verifier (``--verifier``; checking it loads the verification module)."""

    def __init__(self) -> None:
        super().__init__("mmroute.verification.base:VERIFIERS", "verifier", "[evidence|...]")
