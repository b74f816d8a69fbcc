"""The `crossnet` command: one sub-command per job, errors on one screen.

Each area registers its sub-commands from its own module (see COMMAND_MODULES);
this file only wires them and turns CrossnetError into a clean exit.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from network.errors import CrossnetError

# Each module has `register(subparsers)`, adding parsers whose `func(args) -> int` runs them.
COMMAND_MODULES = (
    "network.offline.cli",
    "network.demo",
    "network.review.cli",
    "network.render.cli",
    "network.lab.cli",
    "network.devices.cli",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crossnet",
        description="Declare and check the private network between AWS and the datacenters.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
