"""A static VGW connection moved to a transit gateway, on the emulator: the move's apply
is refused while the connection has static routes (AWS's IncorrectState); the
planner's `delete-vpn-connection-route` commands, carried out offline
(`network.rollout.static_routes`), delete them and refresh the state, and then the
same apply goes through. Marked `slow` (three offline applies, about 20 s)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from network.rollout.execute import RolloutFailedError, offline_apply
from network.rollout.static_routes import ROUTE, delete_and_refresh, deletions

ROOT = Path(__file__).resolve().parents[2]
NET = "crossnet:network"
pytestmark = pytest.mark.slow


def _cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "network.cli", *argv],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _routes(state: Path) -> list[Any]:
    data = json.loads((state / "staging" / "state.json").read_text())
    return [r for r in data["resources"] if r["type"] == ROUTE]


def test_static_routes_deleted_first_let_the_move_apply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stacks, state = tmp_path / "stacks", tmp_path / "state"
    stacks.mkdir()
    monkeypatch.setenv("CROSSNET_STATE_DIR", str(state))
    monkeypatch.setenv("CROSSNET_STACKS_DIR", str(stacks))
    doc = yaml.safe_load((ROOT / "stacks" / "Pulumi.staging.yaml").read_text())
    (stacks / "Pulumi.staging.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    assert _cli("up", "--stack", "staging").returncode == 0
    assert _routes(state)  # the VGW connection's static route to 10.144.0.0/16
    net = doc["config"][NET]
    net["vpcs"]["web"]["tiers"]["transit"] = {"prefixLength": 28}
    net["transitGateways"] = {
        "hub": {"asn": 64600, "ecmp": False, "attachments": {"web": {"tier": "transit"}}}
    }
    net["connections"]["dc1-edge1-web"]["gateway"] = "hub"
    (stacks / "Pulumi.staging.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    res = _cli("rollout", "--stack", "staging")
    assert res.returncode == 0, res.stderr
    plan = json.loads((state / "staging" / "rollout" / "rollout.json").read_text())
    first, move = plan["steps"]
    assert move["class"] == "gateway-move"
    routes = deletions(move["aws"])
    assert [p for _, p in routes] == ["10.144.0.0/16"]
    offline_apply("staging", Path(first["aws"]["config"]))
    # Without the deletion AWS refuses the move.
    with pytest.raises(RolloutFailedError, match="static routes"):
        offline_apply("staging", Path(move["aws"]["config"]))
    assert delete_and_refresh("staging", routes, print) == ["10.144.0.0/16"]
    assert not _routes(state)
    assert delete_and_refresh("staging", routes, print) == []  # a resumed step: done
    offline_apply("staging", Path(move["aws"]["config"]))
    out = json.loads((state / "staging" / "outputs.json").read_text())
    [c] = out["routers"]["dc1-edge1"]["connections"]
    assert c["gateway"]["type"] == "tgw"
