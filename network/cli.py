"""The `crossnet` command: one sub-command per job, errors on one screen.

Each area registers its sub-commands from its own module (see COMMAND_MODULES);
this file only wires them and turns CrossnetError into a clean exit.
"""

from __future__ import annotations

import argparse
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


def build_parser() -> argparse.ArgumentParser:
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
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
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
