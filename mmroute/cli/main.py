"""Entry point of the ``mmroute`` command. Each command group lives in its own module."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

# Modules that add commands to ``cli`` (each imports ``cli`` from here and decorates its commands).
COMMAND_MODULES = (
    "mmroute.cli.index_cmd",
    "mmroute.cli.kb_cmd",
    "mmroute.cli.search_cmd",
    "mmroute.cli.eval_cmd",
    "mmroute.cli.route_cmd",
    "mmroute.cli.ask_cmd",
    "mmroute.cli.app_cmd",
    "mmroute.cli.reader_cmd",
    "mmroute.cli.serve_cmd",
)

EPILOG = """\b
Examples:
  mmroute index --kb hop --input corpus.jsonl --granularity paragraph
  mmroute search --kb hop "Who directed Laughter in Hell?" --k 5
  mmroute kb list
"""


class MMRouteGroup(click.Group):
    """The ``mmroute`` group: a usage error (an unknown option, a value out of range, a missing file for a path
    option) is one ``error:`` line and a ``hint:`` line naming the command's ``--help``, as every other error of
    the CLI is, instead of click's usage block."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, False, **extra)
        except click.UsageError as e:
            where = e.ctx.command_path if e.ctx is not None else (prog_name or "mmroute")
            if e.ctx is None or e.ctx.command is self:  # an option's missing value is reported from the group
                where = named_command(self, list(args) if args is not None else sys.argv[1:], where)
            click.echo(f"error: {e.format_message()}", err=True)
            click.echo(f"hint: `{where} --help` says what it takes, with examples", err=True)
            sys.exit(e.exit_code)
        except click.ClickException as e:
            e.show()
            sys.exit(e.exit_code)
        except click.exceptions.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


def named_command(group: click.Group, argv: Sequence[str], prefix: str) -> str:
    """The path of the deepest command ``argv`` names under ``group`` ("mmroute kb move"), for a hint; ``prefix``
    when it names none. Click reports an option's missing value ("ask ... --kb") from the group's context."""
    path: list[str] = [prefix]
    here: click.Command = group
    for word in argv:
        if not isinstance(here, click.Group):  # a command: nothing deeper
            break
        found = here.commands.get(word)
        if found is not None:
            path.append(word)
            here = found
        elif here is not group and not word.startswith("-"):  # a subgroup's unknown command: stop at the subgroup
            break
    return " ".join(path)


@click.group(
    "mmroute",
    cls=MMRouteGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EPILOG,
)
@click.version_option(package_name="mmroute")
@click.option(
    "--home",
    "home",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Home directory holding the KBs, for the command that follows (which also takes --home).",
)
def cli(home: Path | None) -> None:
    """mmroute: multimodal retrieval-augmented QA with knowledge-base routing."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _load_commands() -> None:
    for mod in COMMAND_MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as e:  # a command module not present in this install
            if e.name != mod:
                raise


def main() -> None:
    _load_commands()
    cli(prog_name="mmroute")


_load_commands()
