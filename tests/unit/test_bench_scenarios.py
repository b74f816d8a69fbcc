"""The bench's dc-prefix, vpc-remove, vgw-to-tgw and prod-dc-prefix scenarios
(tests/rollout_lab/scenarios.py) plan as their class: the offline apply of the scenario's
stack, its safe edit, then `crossnet rollout --json` (no lab). Each naive edit is a change
of its own on top of the safe one (or, `naive_fresh`, on the stack as it was)."""

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
    "prod-dc-prefix": [("dc-prefix", "0")],
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


def test_prod_dc_prefix_is_admitted_wherever_the_datacenter_is() -> None:
    """prod-dc-prefix: fra's new prefix joins every ingress rule that admits fra's
    172.20.0.0/16 (shared, app, media), and no other (data admits one ash subnet)."""
    doc = yaml.safe_load(BY_NAME["prod-dc-prefix"].stack_file())
    BY_NAME["prod-dc-prefix"].safe(doc["config"])
    net = doc["config"]["crossnet:network"]
    assert net["datacenters"]["fra"]["prefixes"] == ["172.20.0.0/16", "172.21.0.0/16"]
    admits = {
        v
        for v, spec in net["vpcs"].items()
        for r in spec.get("ingress", [])
        if "172.21.0.0/16" in r["from"]
    }
    assert admits == {"shared", "app", "media"}
    assert "172.21.0.0/16" not in net["datacenters"]["ash"]["prefixes"]
