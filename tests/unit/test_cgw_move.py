"""A connection moved to a new customer gateway (router-ip, customer-asn): the emulator's
ModifyVpnConnection and the VGW's one-connection-per-device rule, the plan for the only
router (no drain, a stated outage), and which lab ends become new endpoints."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from botocore.exceptions import ClientError

from network.contract import Connection, Router
from network.lab.cgw import moved_connections, moved_ends
from network.lab.topology import DcRouter, Lab, TunnelEnd
from network.offline.aws import AwsEmulator
from network.rollout import Inputs, plan_rollout
from tests.rollout_lab.test_cgw_lab import tgw_stack
from tests.unit.test_modify import _tunnels, _world
from tests.unit.test_rollout import NET, applied, kinds, rollout

REGION = "us-east-1"


@pytest.fixture
def ec2() -> Iterator[Any]:
    with AwsEmulator(seed=1) as emu:
        yield emu.client("ec2", REGION)


def _cgw(ec2: Any, ip: str, asn: int = 65010) -> str:
    got = ec2.create_customer_gateway(Type="ipsec.1", BgpAsn=asn, PublicIp=ip)
    return str(got["CustomerGateway"]["CustomerGatewayId"])


def _error(e: pytest.ExceptionInfo[ClientError]) -> str:
    return str(e.value.response["Error"]["Code"])


# ---------------------------------------------------------------- the emulator
def test_a_new_customer_gateway_takes_both_tunnels_down_and_keeps_the_addresses(
    ec2: Any,
) -> None:
    w = _world(ec2)
    before = _tunnels(ec2, w["vpn"])
    new = _cgw(ec2, "192.0.2.11")
    ec2.modify_vpn_connection(VpnConnectionId=w["vpn"], CustomerGatewayId=new)
    got = ec2.describe_vpn_connections(VpnConnectionIds=[w["vpn"]])["VpnConnections"][0]
    assert got["CustomerGatewayId"] == new
    after = _tunnels(ec2, w["vpn"])
    assert [t["Status"] for t in after] == ["DOWN", "DOWN"]
    assert [t["OutsideIpAddress"] for t in after] == [t["OutsideIpAddress"] for t in before]
    assert [t["PreSharedKey"] for t in after] == [t["PreSharedKey"] for t in before]
    # AWS is provisioning: the connection takes no other change meanwhile.
    with pytest.raises(ClientError) as e:
        ec2.modify_vpn_connection(VpnConnectionId=w["vpn"], CustomerGatewayId=w["cgw"])
    assert _error(e) == "IncorrectState"


def test_a_vgw_takes_one_connection_per_customer_gateway_address(ec2: Any) -> None:
    w = _world(ec2)
    with pytest.raises(ClientError) as e:
        ec2.create_vpn_connection(Type="ipsec.1", CustomerGatewayId=w["cgw"], VpnGatewayId=w["vgw"])
    assert _error(e) == "InvalidCustomerGateway.DuplicateIpAddress"
    # A second device (another address) may connect: make before break's temporary
    # connection on a VGW; but the first cannot then move onto the second's gateway.
    other = _cgw(ec2, "192.0.2.11")
    ec2.create_vpn_connection(Type="ipsec.1", CustomerGatewayId=other, VpnGatewayId=w["vgw"])
    with pytest.raises(ClientError) as e:
        ec2.modify_vpn_connection(VpnConnectionId=w["vpn"], CustomerGatewayId=other)
    assert _error(e) == "InvalidCustomerGateway.DuplicateIpAddress"
    assert "one VPN connection per customer gateway address" in str(e.value)


def test_a_tgw_takes_several_connections_from_one_device(ec2: Any) -> None:
    w = _world(ec2)
    new = _cgw(ec2, "192.0.2.11")
    a = ec2.create_vpn_connection(Type="ipsec.1", CustomerGatewayId=new, TransitGatewayId=w["tgw"])
    b = ec2.create_vpn_connection(
        Type="ipsec.1", CustomerGatewayId=w["cgw"], TransitGatewayId=w["tgw"]
    )
    # ... and one of them may move onto the other's customer gateway.
    vpn = b["VpnConnection"]["VpnConnectionId"]
    ec2.modify_vpn_connection(VpnConnectionId=vpn, CustomerGatewayId=new)
    got = ec2.describe_vpn_connections(VpnConnectionIds=[vpn])["VpnConnections"][0]
    assert got["CustomerGatewayId"] == a["VpnConnection"]["CustomerGatewayId"] == new


# ---------------------------------------------------------------- the plan
def _dev_ip(cfg: dict[str, Any], net: dict[str, Any]) -> None:
    net["datacenters"]["dc1"]["routers"]["edge1"]["publicIp"] = "192.0.2.11"


def _dev_asn(cfg: dict[str, Any], net: dict[str, Any]) -> None:
    net["datacenters"]["dc1"]["asn"] = 65011


@pytest.mark.parametrize(("edit", "kind"), [(_dev_ip, "router-ip"), (_dev_asn, "customer-asn")])
def test_the_only_router_is_not_drained_its_outage_is_stated(edit: Any, kind: str) -> None:
    """Nothing else carries: a drain has nowhere to move the traffic and its after-drain
    checks (no best route over the drained tunnels) could never hold."""
    r, _ = rollout("dev", edit)
    assert kinds(r) == [kind]
    [s] = r.steps
    assert s.drained == () and not s.drain and not s.restore
    assert not [c for c in s.checks if c.when == "after-drain"]
    assert {c.kind for c in s.checks if c.when == "after-change"} >= {"ipsec-sa", "bgp-established"}
    assert s.impact.loss == "outage" and "BGP hold 30 s" in s.impact.bound
    assert "nothing else carries: no drain" in s.why
    assert "ModifyVpnConnection dc1-edge1-app: the new customer gateway" in s.aws.operations
    assert s.render_after_apply


def test_a_router_with_another_router_beside_it_is_still_drained() -> None:
    def edit(cfg: dict[str, Any], net: dict[str, Any]) -> None:
        net["datacenters"]["ash"]["routers"]["edge1"]["publicIp"] = "192.0.2.111"

    r, _ = rollout("prod", edit)
    [s] = r.steps
    assert s.drained == ("ash-edge1-hub-1", "ash-edge1-hub-2") and s.impact.loss == "0"
    assert "this router is drained first" in s.why


# ---------------------------------------------------------------- the lab's new endpoints
def _conn(name: str, cgw: str) -> Connection:
    raw = {"customerGatewayId": cgw}
    return Connection(name, {}, "bgp", "active-standby", (), (), 100, 100, 1399, 1359, {}, (), raw)


def _lab(cgw: str, customer_ip: str = "192.0.2.10") -> Lab:
    conn = _conn("c", cgw)
    router = Router("dc1-r", "dc1", "r", "linux", customer_ip, 65010, (), (conn,))
    ends = tuple(
        TunnelEnd(
            side,
            "c",
            n,
            f"ns-{side}{n}",
            "rtr" if side == "dc" else "gw",
            f"if{n}",
            customer_ip if side == "dc" else f"198.51.100.{n}",
            f"198.51.100.{n}" if side == "dc" else customer_ip,
            "169.254.10.2/30",
            "169.254.10.1",
            f"p{n}",
            "02:00:00:00:00:01",
            "02:00:00:00:00:02",
        )
        for side in ("dc", "aws")
        for n in (1, 2)
    )
    dc = DcRouter("dc1-r", "dc1", "rtr", router, "linux", (), "l")
    return Lab("s", "inet", ends, (dc,), (), (), ())


def test_the_lab_renews_the_aws_ends_of_a_connection_on_a_new_customer_gateway() -> None:
    old = _lab("cgw-1")
    assert moved_connections(old, copy.deepcopy(old)) == [] and moved_ends(old, old) == []
    asn = _lab("cgw-2")  # a new ASN: the same ends, a new customer gateway
    assert moved_connections(old, asn) == ["c"]
    assert [(e.side, e.number) for e in moved_ends(old, asn)] == [("aws", 1), ("aws", 2)]
    ip = _lab("cgw-2", "192.0.2.11")  # a new address: reshape re-creates every end
    assert moved_connections(old, ip) == ["c"] and moved_ends(old, ip) == []


# ---------------------------------------------------------------- make before break (TGW)
def _tgw_rollout(router_id: str = "") -> Any:
    """dev behind a transit gateway (one router), its router's address changed."""
    old = yaml.safe_load(tgw_stack())["config"]
    new = copy.deepcopy(old)
    r = new[NET]["datacenters"]["dc1"]["routers"]["edge1"]
    r["publicIp"] = "192.0.2.11"
    if router_id:
        r["routerId"] = router_id
    snap, outputs = applied("dev", old)
    return plan_rollout(Inputs("dev", new, {"config": new}, snap, outputs))


def test_the_only_router_on_a_tgw_moves_make_before_break() -> None:
    r = _tgw_rollout(router_id="192.0.2.10")
    assert [s.change.kind for s in r.steps] == ["router-ip"] * 3
    a, b, c = r.steps
    assert a.drained == ("dc1-edge1-hub-mbb-1", "dc1-edge1-hub-mbb-2")
    assert b.drained == ("dc1-edge1-hub-1", "dc1-edge1-hub-2")
    assert c.drained == a.drained
    assert {s.impact.loss for s in r.steps} == {"0"}
    # The temporary twin has the new address and a customer gateway of its own ...
    cfg = yaml.safe_load(a.config_text)["config"]["crossnet:network"]
    temp = cfg["connections"]["dc1-edge1-hub-mbb"]
    assert temp["publicIp"] == "192.0.2.11" and temp["gateway"] == "hub"
    assert cfg["datacenters"]["dc1"]["routers"]["edge1"]["publicIp"] == "192.0.2.10"
    assert (
        "CreateCustomerGateway dc1-edge1-hub-mbb (192.0.2.11, device name dc1-edge1-hub-mbb)"
        in (a.aws.operations)
    )
    # ... carries while the connection moves (ModifyVpnConnection), then goes.
    assert "ModifyVpnConnection dc1-edge1-hub: the new customer gateway" in b.aws.operations
    kinds_b = {(x.kind, x.tunnel) for x in b.checks if x.when == "after-drain"}
    assert ("bgp-established", "dc1-edge1-hub-mbb-1") in kinds_b
    assert ("route-avoids", "dc1-edge1-hub-1") in kinds_b
    assert "DeleteVpnConnection dc1-edge1-hub-mbb (temporary)" in c.aws.operations
    assert (
        "dc1-edge1-hub-mbb"
        not in yaml.safe_load(c.config_text)["config"]["crossnet:network"]["connections"]
    )


def test_a_router_id_that_follows_the_address_is_an_outage_said_with_the_fix() -> None:
    r = _tgw_rollout()
    b = r.steps[1]
    assert b.impact.loss == "outage"
    assert "BGP router ID follows its public IP (192.0.2.10 -> 192.0.2.11)" in b.impact.text
    assert "datacenters.dc1.routers.edge1.routerId: 192.0.2.10" in b.impact.bound


def test_a_pinned_router_id_is_rendered() -> None:
    from network.contract import parse_outputs
    from network.render import render_router
    from tests.unit.test_review_support import stack_config

    cfg = stack_config("dev")
    cfg["crossnet:network"]["datacenters"]["dc1"]["routers"]["edge1"]["routerId"] = "192.0.2.99"
    _, outputs = applied("dev", cfg)
    assert outputs["routers"]["dc1-edge1"]["routerId"] == "192.0.2.99"
    router = parse_outputs(outputs, "t").routers["dc1-edge1"]
    assert " bgp router-id 192.0.2.99\n" in render_router(router)["frr.conf"]


# ---------------------------------------------------------------- diff predicts the apply
@pytest.fixture
def stacks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "stacks"
    d.mkdir()
    monkeypatch.setenv("CROSSNET_STACKS_DIR", str(d))
    return d


def test_a_twin_on_a_second_address_is_applied_as_diff_predicts(
    tmp_path_factory: pytest.TempPathFactory, state_dir: Path, stacks: Path
) -> None:
    """Make before break's step files, applied by the stateful offline apply: the twin on
    the new address gets a customer gateway of its own (its device name), then the
    router's customer gateway is replaced and its connection updated in place
    (ModifyVpnConnection), the twin untouched; prediction equals effect each time."""
    from tests.unit.test_apply_state import _start, apply, effected, predicted

    config = _start("prod", tmp_path_factory, state_dir, stacks)
    net = config["crossnet:network"]
    twin = {k: v for k, v in net["connections"]["ash-edge1-hub"].items() if "tunnel" not in k}
    net["connections"]["ash-edge1-hub-mbb"] = {**twin, "publicIp": "192.0.2.150"}
    prediction = predicted(state_dir, "prod", config)
    effect = effected(apply(stacks, "prod", config))
    assert prediction == effect
    cgw = ("create", CGW_TYPE, "ash-edge1-hub-mbb-cgw")
    assert cgw in effect and ("create", VPN_TYPE, "ash-edge1-hub-mbb-vpn") in effect
    router = net["datacenters"]["ash"]["routers"]["edge1"]
    router |= {"publicIp": "192.0.2.150", "routerId": str(router["publicIp"])}
    prediction = predicted(state_dir, "prod", config)
    effect = effected(apply(stacks, "prod", config))
    assert prediction == effect
    assert ("replace", CGW_TYPE, "ash-edge1-cgw") in effect
    assert ("update", VPN_TYPE, "ash-edge1-hub-vpn") in effect
    assert not [e for e in effect if "mbb" in e[2] and e[0] != "same"]


CGW_TYPE = "aws:ec2/customerGateway:CustomerGateway"
VPN_TYPE = "aws:ec2/vpnConnection:VpnConnection"


def test_the_plan_refuses_two_connections_to_one_vgw_from_one_address() -> None:
    from network.errors import ConfigError
    from network.plan import build_plan
    from tests.unit.test_review_support import stack_config

    cfg = stack_config("dev")
    conns = cfg[NET]["connections"]
    conns["dc1-edge1-app2"] = {k: v for k, v in conns["dc1-edge1-app"].items()}
    with pytest.raises(ConfigError) as e:
        build_plan(cfg, "dev", need_secrets=False)
    [p] = [p for p in e.value.problems if "one VPN connection per" in p.rule]
    assert p.field.endswith("connections.dc1-edge1-app2.router") and "192.0.2.10" in p.value
    # A second address of the router's (a customer gateway of its own) is allowed ...
    conns["dc1-edge1-app2"]["publicIp"] = "192.0.2.20"
    build_plan(cfg, "dev", need_secrets=False)
    # ... if it is public.
    conns["dc1-edge1-app2"]["publicIp"] = "10.0.0.1"
    with pytest.raises(ConfigError) as e:
        build_plan(cfg, "dev", need_secrets=False)
    assert any(p.field.endswith("dc1-edge1-app2.publicIp") for p in e.value.problems)
