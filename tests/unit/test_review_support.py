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
    argv: Sequence[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str, str]:
    """Run `crossnet <argv>` through network.cli.main with only the review commands loaded."""
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("network.review.cli",))
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err
