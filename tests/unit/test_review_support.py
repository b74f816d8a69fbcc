"""Shared helpers for the review tests (no tests here): stack configs and the CLI, in-process."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from network import cli
from network.plan import Plan, build_plan
from network.stack_file import read_stack_config

ROOT = Path(__file__).resolve().parents[2]
STACKS = ("dev", "staging", "prod")


def stack_config(stack: str) -> dict[str, Any]:
    """A deep copy of an example stack's config mapping (keys fully qualified)."""
    # a plain dict (the reader may hand back a dict subclass that YAML cannot dump)
    return copy.deepcopy(dict(read_stack_config(stack, ROOT / "stacks" / f"Pulumi.{stack}.yaml")))


def plan_of(stack: str, config: dict[str, Any] | None = None) -> Plan:
    return build_plan(config if config is not None else stack_config(stack), stack)


def write_stack_file(tmp: Path, stack: str, config: dict[str, Any]) -> Path:
    """Write a config mapping back as a stack file; returns its path."""
    path = tmp / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump({"config": config}, sort_keys=False))
    return path


def run_cli(
    argv: Sequence[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    columns: int = 400,
) -> tuple[int, str, str]:
    """Run `crossnet <argv>` through network.cli.main with only the review commands loaded.

    Output is piped (plain text) at `columns` wide: wide enough by default that
    tables stay tables and only long prose wraps (see `flat`).
    """
    monkeypatch.setenv("COLUMNS", str(columns))
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("network.review.cli",))
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def flat(text: str) -> str:
    """Text with every run of whitespace (a wrapped line included) as one space."""
    return " ".join(text.split())


def table_rows(text: str, title: str) -> list[tuple[str, ...]]:
    """The rows of the table `title` in plain terminal output, cells unwrapped.

    Reads both layouts `network.console.FitTable` prints: columns (header line,
    a rule of '─', then rows whose wrapped cells continue on lines with an empty
    first column) and, when too wide for the terminal, one block per row
    (`<first column> <value>`, then `  <column>: <value>` lines).
    """
    lines = text.splitlines()
    start = lines.index(title) + 1
    if start + 1 < len(lines) and set(lines[start + 1]) == {"─"}:
        return _columns(lines[start], lines[start + 2 :])
    return _records(lines[start:])


def _columns(header: str, body: list[str]) -> list[tuple[str, ...]]:
    # column starts: where a header word follows two spaces (or the line's start)
    starts = [0] + [
        i for i in range(2, len(header)) if header[i - 2 : i] == "  " and header[i] != " "
    ]
    rows: list[list[str]] = []
    for line in body:
        if not line.strip():
            break
        cells = [line[a:b].strip() for a, b in zip(starts, [*starts[1:], None])]
        if cells[0] or not rows:
            rows.append(cells)
        else:  # a wrapped row goes on
            rows[-1] = [f"{x} {y}".strip() for x, y in zip(rows[-1], cells)]
    return [tuple(r) for r in rows]


def _records(body: list[str]) -> list[tuple[str, ...]]:
    rows: list[list[str]] = []
    for line in body:
        if not line.strip():
            break
        if line.startswith("    ") and rows:  # a wrapped value goes on
            rows[-1][-1] = f"{rows[-1][-1]} {line.strip()}"
        elif line.startswith("  ") and rows:
            rows[-1].append(line.split(":", 1)[1].strip())
        else:
            rows.append([line.split(" ", 1)[1] if " " in line else line])
    return [tuple(r) for r in rows]
