"""One dev lab (stack `rdev`) for every module of tests/rollout_lab."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from network import cli
from network.lab import control
from network.lab.system import missing_requirements
from tests.rollout_lab.harness import ROOT, SOURCE_STACK, STACK, Lab


@pytest.fixture(scope="package")
def lab() -> Iterator[Lab]:
    problems = missing_requirements()
    if problems:
        pytest.skip("; ".join(problems))
    tmp = Path(tempfile.mkdtemp(prefix="crossnet-rollout-lab-"))
    saved = {k: os.environ.get(k) for k in ("CROSSNET_STATE_DIR", "CROSSNET_STACKS_DIR")}
    os.environ["CROSSNET_STATE_DIR"] = str(tmp / "state")
    os.environ["CROSSNET_STACKS_DIR"] = str(tmp / "stacks")
    (tmp / "stacks").mkdir()
    shutil.copy(
        ROOT / "stacks" / f"Pulumi.{SOURCE_STACK}.yaml", tmp / "stacks" / f"Pulumi.{STACK}.yaml"
    )
    try:
        assert cli.main(["up", "--stack", STACK]) == 0
        control.up(STACK, timers="fast")
        yield Lab(tmp / "stacks", tmp / "state")
    finally:
        control.down(STACK)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(tmp, ignore_errors=True)
