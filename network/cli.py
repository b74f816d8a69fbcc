"""The `crossnet` command: one sub-command per job, errors on one screen.

Each area registers its sub-commands from its own module (see COMMAND_MODULES);
this file only wires them and turns CrossnetError into a clean exit.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from network.errors import CrossnetError
from network.state import PROJECT_ENV

# Each module has `register(subparsers)`, adding parsers whose `func(args) -> int` runs them.
COMMAND_MODULES = (
    "network.offline.cli",
    "network.demo",
    "network.review.cli",
    "network.render.cli",
    "network.lab.cli",
    "network.rollout.cli",
    "network.devices.cli",
)
# Which module registers each command, so that a run imports only its own module
# (the others cost a few hundred milliseconds: Jinja2, the lab, the reviews).
# A command not listed here still works: every module is imported then, as for
# `crossnet --help`. tests/unit/test_cli_startup.py checks the table.
COMMANDS = {
    "up": "network.offline.cli",
    "demo": "network.demo",
    "plan": "network.review.cli",
    "diagram": "network.review.cli",
    "estimate": "network.review.cli",
    "guardrails": "network.review.cli",
    "diff": "network.review.cli",
    "render": "network.render.cli",
    "lab": "network.lab.cli",
    "check": "network.lab.cli",
    "rollout": "network.rollout.cli",
    "drift": "network.devices.cli",
    "state": "network.devices.cli",
}


def command_of(argv: Sequence[str]) -> str | None:
    """The command named on a command line (None: none, or help asked first)."""
    rest = list(argv)
    while rest:
        word = rest.pop(0)
        if word == "--project-dir":
            rest = rest[1:]
        elif word.startswith("--project-dir="):
            continue
        elif word.startswith("-"):
            return None
        else:
            return word
    return None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser of every command; given the command line, only of its command."""
    parser = argparse.ArgumentParser(
        prog="crossnet",
        description="Declare and check the private network between AWS and the datacenters.",
    )
    parser.add_argument(
        "--project-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="the project holding stacks/ and .crossnet/ (default: the current directory, "
        "or the nearest parent with Pulumi.yaml or stacks/)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    own = COMMANDS.get(command_of(argv) or "") if argv is not None else None
    for name in (own,) if own in COMMAND_MODULES else COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; `argv` None means this process's own command line."""
    code = _run(argv)
    if argv is None:
        # The process exits next. Its heap holds botocore's and moto's data (a
        # million objects after an apply), and the interpreter's last full
        # garbage collection would walk it all: 0.8 s of a 2 s `crossnet up`.
        # Frozen objects are skipped; memory goes back to the OS at exit anyway.
        gc.freeze()
    return code


def _run(argv: Sequence[str] | None) -> int:
    parser = build_parser(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    if args.project_dir is not None:
        if not args.project_dir.is_dir():
            print(f"error: --project-dir {args.project_dir}: no such directory", file=sys.stderr)
            return 2
        os.environ[PROJECT_ENV] = str(args.project_dir.resolve())
    try:
        return int(args.func(args))
    except CrossnetError as e:
        print(e.render(), file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
