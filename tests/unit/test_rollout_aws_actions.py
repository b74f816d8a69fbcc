"""The tunnel-options class's AWS actions offline (network.rollout.aws_actions): each
tunnel's ModifyVpnTunnelOptions through the emulator's own API path (the tunnel DOWN
meanwhile), `pulumi refresh` into the stack's state, and then the step's `pulumi up`
of the edited file finds nothing left to change on AWS: prediction equals effect."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from network import cli
from network.offline.apply import offline_up
from network.offline.stack_state import load_state, state_path
from network.rollout import aws_actions
from network.rollout.planner import union_crypto
from tests.conftest import load_stack

NET = "crossnet:network"
VPN = "aws:ec2/vpnConnection:VpnConnection"


def _write(stacks: Path, config: dict[str, Any]) -> None:
    (stacks / "Pulumi.dev.yaml").write_text(yaml.safe_dump({"config": config}))


def _new_options(config: dict[str, Any]) -> None:
    o = config[NET]["connections"]["dc1-edge1-app"]["tunnelOptions"]
    o["phase1"] = {**o["phase1"], "encryption": ["AES128"], "integrity": ["SHA2-384"]}
    o["phase2"] = {**o["phase2"], "dhGroups": [21], "lifetimeSeconds": 1800}
    o["dpd"] = {**o["dpd"], "timeoutSeconds": 40}


def _vpn(state: Path) -> Any:
    s = load_state(state_path(state / "dev"), "dev")
    assert s is not None
    return next(r for r in s.resources if r.type == VPN)


def test_modify_each_tunnel_then_refresh_leaves_the_up_nothing_to_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stacks, state = tmp_path / "stacks", tmp_path / "state"
    stacks.mkdir()
    monkeypatch.setenv("CROSSNET_STACKS_DIR", str(stacks))
    monkeypatch.setenv("CROSSNET_STATE_DIR", str(state))
    config = load_stack("dev")
    _write(stacks, config)
    offline_up("dev")
    before = _vpn(state)
    _new_options(config)
    _write(stacks, config)
    assert cli.main(["rollout", "--stack", "dev", "--out", str(tmp_path / "plan")]) == 0
    capsys.readouterr()
    plan = json.loads((tmp_path / "plan" / "rollout.json").read_text())
    api = [s for s in plan["steps"] if s["aws"]["kind"] == "aws-api"]
    assert [r["tunnel"] for s in api for r in s["aws"]["requests"]] == [1, 2]
    said: list[str] = []
    for n, s in enumerate(api, start=1):
        (req,) = s["aws"]["requests"]
        assert req["vpnConnectionId"] == before.id
        assert req["outsideIp"] == before.outputs[f"tunnel{n}Address"]
        seen = aws_actions.modify_and_refresh("dev", req, said.append)
        assert seen.startswith("DOWN (MODIFYING")  # the modified tunnel is down meanwhile
        vpn = _vpn(state)
        assert vpn.inputs[f"tunnel{n}Phase1EncryptionAlgorithms"] == ["AES128"]
        other = 3 - n
        if n == 1:  # one tunnel per request: the other keeps its options until its turn
            assert vpn.inputs[f"tunnel{other}Phase1EncryptionAlgorithms"] == ["AES256"]
        # IDs, addresses and keys stay
        assert vpn.id == before.id
        for k in ("tunnel1Address", "tunnel2Address", "tunnel1PresharedKey"):
            assert vpn.outputs[k] == before.outputs[k]
    assert all("refreshed into" in x for x in said)
    # The last step's `pulumi up` of the edited file: the connection is the same.
    result = offline_up("dev")
    assert {c.action for c in result.changes} == {"same"}, [
        (c.action, c.name, c.props) for c in result.changes if c.action != "same"
    ]


def test_a_request_the_state_does_not_match_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stacks, state = tmp_path / "stacks", tmp_path / "state"
    stacks.mkdir()
    monkeypatch.setenv("CROSSNET_STACKS_DIR", str(stacks))
    monkeypatch.setenv("CROSSNET_STATE_DIR", str(state))
    _write(stacks, load_stack("dev"))
    offline_up("dev")
    text = state_path(state / "dev").read_text()
    req = {
        "operation": "ModifyVpnTunnelOptions",
        "connection": "dc1-edge1-app",
        "tunnel": 1,
        "vpnConnectionId": "vpn-0000000000000000",
        "inputs": {},
    }
    with pytest.raises(aws_actions.AwsActionError, match="plan the rollout again"):
        aws_actions.modify_and_refresh("dev", req, print)
    assert state_path(state / "dev").read_text() == text


def test_union_accepts_both_and_takes_the_new_timers() -> None:
    old = load_stack("dev")[NET]["connections"]["dc1-edge1-app"]["tunnelOptions"]
    old = {**old, "rekeyMarginSeconds": 540, "rekeyFuzzPercentage": 100, "replayWindowSize": 1024}
    new = json.loads(json.dumps(old))
    new["phase1"]["encryption"] = ["AES128"]
    new["phase2"]["lifetimeSeconds"] = 1800
    u = union_crypto(old, new)
    assert u["phase1"]["encryption"] == ["AES128", "AES256"]
    assert u["phase2"]["lifetimeSeconds"] == 1800
