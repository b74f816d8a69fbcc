"""The bench's dc-prefix, vpc-remove and vgw-to-tgw scenarios (tests/rollout_lab/scenarios.py)
plan as their class: the offline apply of the scenario's stack, its safe edit, then
`crossnet rollout --json` (no lab). Each naive edit is a change of its own on top of the
safe one (or, `naive_fresh`, on the stack as it was)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from network import cli
from tests.rollout_lab.scenarios import BY_NAME, Edit, Scenario

EXPECTED = {
    "dc-prefix": [("dc-prefix", "0")],
    "vpc-remove": [("vpc-remove", "0")],
    "vgw-to-tgw": [("other", "0"), ("gateway-move", "outage")],
}


def _edit(path: Path, edit: Edit) -> None:
    doc = yaml.safe_load(path.read_text())
    edit(doc["config"])
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def _plan(s: Scenario, capsys: pytest.CaptureFixture[str]) -> list[tuple[str, str]]:
    capsys.readouterr()
    assert cli.main(["rollout", "--stack", s.stack, "--json"]) == 0
    steps: list[dict[str, Any]] = json.loads(capsys.readouterr().out)["steps"]
    return [(step["class"], step["impact"]["loss"]) for step in steps]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_scenario_plans_as_its_class(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    s = BY_NAME[name]
    monkeypatch.setenv("CROSSNET_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("CROSSNET_STACKS_DIR", str(tmp_path / "stacks"))
    (tmp_path / "stacks").mkdir()
    path = tmp_path / "stacks" / f"Pulumi.{s.stack}.yaml"
    path.write_text(s.stack_file())
    assert cli.main(["up", "--stack", s.stack]) == 0
    _edit(path, s.safe)
    assert _plan(s, capsys) == EXPECTED[name]
    if s.naive_fresh:
        path.write_text(s.stack_file())  # the bench rebuilds the lab: the edit starts afresh
    else:
        assert cli.main(["up", "--stack", s.stack]) == 0  # the safe order applied
    _edit(path, s.naive)
    assert _plan(s, capsys) == EXPECTED[name]
