"""The options every `crossnet` sub-command spells the same way, defined once.

Each area's `register()` adds the ones it takes with these helpers, so that
`--stack`, `--config`, `--format`, `--out`, `--json` and `--no-progress` read,
default and explain themselves alike everywhere.
"""

from __future__ import annotations

import argparse
from pathlib import Path

FORMATS = ("text", "markdown")


def add_stack(p: argparse.ArgumentParser, default: str | None = None) -> None:
    """`--stack NAME` (required unless a default is given)."""
    p.add_argument(
        "--stack",
        required=default is None,
        default=default,
        help="stack name: stacks/Pulumi.<stack>.yaml in the project"
        + (f" (default {default})" if default else ""),
    )


def add_config(p: argparse.ArgumentParser) -> None:
    """`--config FILE`: another stack file than the project's."""
    p.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="FILE",
        help="read this stack file instead of stacks/Pulumi.<stack>.yaml",
    )


def add_format(p: argparse.ArgumentParser) -> None:
    """`--format text|markdown`."""
    p.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="text for a terminal (wrapped to its width), markdown for a change request",
    )


def add_out(p: argparse.ArgumentParser, help: str = "write to FILE", metavar: str = "FILE") -> None:
    """`--out FILE` (or DIR)."""
    p.add_argument("--out", type=Path, default=None, metavar=metavar, help=help)


def add_json(p: argparse.ArgumentParser) -> None:
    """`--json`: one JSON document on standard output, for scripts."""
    p.add_argument(
        "--json",
        action="store_true",
        help="print one JSON document instead of tables (for scripts)",
    )


def add_progress(p: argparse.ArgumentParser) -> None:
    """`--no-progress`: no live status, one line per step (also when not a terminal, or CI)."""
    p.add_argument(
        "--no-progress",
        action="store_true",
        help="no live progress: one line per step on stderr (the default when stderr "
        "is not a terminal, or $CI is set)",
    )


def add_review(p: argparse.ArgumentParser, out_help: str = "write to FILE") -> None:
    """What every review command takes: --stack, --config, --format, --out, --json."""
    add_stack(p)
    add_config(p)
    add_format(p)
    add_out(p, out_help)
    add_json(p)
