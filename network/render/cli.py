"""`crossnet render`: every datacenter router's config, from the stack outputs."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from network.cli_options import add_json, add_out, add_stack
from network.console import table as console_table
from network.console import to_text
from network.contract import load_outputs
from network.errors import ConfigError, Problem
from network.render.engine import render_stack, summary_rows
from network.state import configs_dir, outputs_path, project_dir

_STACK_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
COLUMNS = ("router", "platform", "tunnels", "neighbours", "file")


def register(sub: Any) -> None:
    p = sub.add_parser(
        "render",
        help="render the datacenter routers' configs from the stack outputs",
        description="Render one config per datacenter router from the stack outputs "
        "(written by `crossnet up`, or by `pulumi stack output --json --show-secrets > FILE`). "
        "Everything is validated and cross-checked before the first file is written; files "
        "holding a pre-shared key are mode 0600.",
    )
    add_stack(p, default="dev")
    p.add_argument(
        "--outputs",
        type=Path,
        default=None,
        metavar="FILE",
        help="stack outputs file (default: .crossnet/<stack>/outputs.json)",
    )
    add_out(
        p,
        "output directory, one sub-directory per router (default: .crossnet/<stack>/configs)",
        metavar="DIR",
    )
    p.add_argument(
        "--redact",
        action="store_true",
        help="mask every pre-shared key in the files (for review and diffs)",
    )
    add_json(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    stack = args.stack
    if not _STACK_RE.match(stack):
        raise ConfigError(
            "--stack",
            [Problem("--stack", repr(stack), "a stack name is letters, digits, '.', '_', '-'")],
        )
    # Only named here: a render that fails leaves no empty state directory behind.
    source = args.outputs or outputs_path(stack, create=False)
    try:
        outputs = load_outputs(source)
    except OSError as e:
        raise ConfigError(
            str(source),
            [
                Problem(
                    str(source),
                    e.strerror or type(e).__name__,
                    "the stack outputs file cannot be read",
                )
            ],
        ) from None
    if outputs.stack != stack:
        raise ConfigError(
            str(source),
            [
                Problem(
                    "crossnet.stack",
                    repr(outputs.stack),
                    f"these are the outputs of stack {outputs.stack!r}, not {stack!r}: "
                    f"pass --stack {outputs.stack}",
                )
            ],
        )
    out_dir = args.out or configs_dir(stack, create=False)
    rendered = render_stack(outputs, out_dir, redact=args.redact)
    rows = summary_rows(rendered, base=_base(out_dir))
    if args.json:
        doc = {"stack": stack, "dir": str(out_dir), "redacted": args.redact, "routers": rows}
        print(json.dumps(doc, indent=2, default=str))
        return 0
    print(table(rows), end="")
    notes = [n for r in rendered for n in r.notes]
    if notes:
        print("\nnotes (limits of the platform, see docs/templates.md):")
        print("\n".join(f"  - {n}" for n in notes))
    keys = "every key masked (--redact)" if args.redact else "files holding a key are mode 0600"
    print(f"\n{len(rendered)} router(s) rendered for stack {stack!r} into {out_dir}; {keys}.")
    return 0


def _base(out_dir: Path) -> Path | None:
    project = project_dir()
    try:
        out_dir.resolve().relative_to(project)
        return project
    except ValueError:
        return None


def table(rows: list[dict[str, Any]]) -> str:
    """The command's columns as a table that fits the terminal (network.console)."""
    return to_text([console_table("", COLUMNS, [[r[c] for c in COLUMNS] for r in rows])])
