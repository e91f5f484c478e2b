"""Entry point of the ``mmroute`` command. Each command group lives in its own module."""

from __future__ import annotations

import importlib
import os

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
  mmroute search --kb hop "Who directed Inception?" --k 5
  mmroute kb list
"""


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}, epilog=EPILOG)
@click.version_option(package_name="mmroute")
def cli() -> None:
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
