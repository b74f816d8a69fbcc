"""`crossnet rollout`: one test per change class (order, drain/restore, checks, impact, and
every intermediate stack file planned again), the mixed split, the refusal, bad input."""

from __future__ import annotations

import copy
import importlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from network import cli
from network.plan import build_plan
from network.review.diff import proposed_outputs
from network.review.snapshot import plan_snapshot
from network.rollout import Inputs, Rollout, plan_rollout
from network.rollout.planner import key_marker
from network.rollout.render import render_text
from tests.unit.test_review_support import plan_of, stack_config

NET = "crossnet:network"
KEYS = ("NewKeyForTunnel1x", "NewKeyForTunnel2x")


def facts_reader(platform: str) -> Any:
    """The renderer's own config reader of a platform (network.render.readback on newer
    trees, network.render.check before the split)."""
    try:
        module = importlib.import_module("network.render.readback")
    except ModuleNotFoundError:
        module = importlib.import_module("network.render.check")
    return getattr(module, f"{platform}_facts")


def applied(stack: str, config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """An applied state of `config`: its plan snapshot and stack outputs with AWS's values."""
    plan = plan_of(stack, config)
    outputs = proposed_outputs(plan, None)
    k = 0
    for router in outputs["routers"].values():
        for c in router["connections"]:
            for t in c["tunnels"]:
                k += 1
                t["awsOutsideIp"] = f"198.51.100.{k}"
            c["vpnConnectionId"] = f"vpn-0{k:04d}"
    outputs["presharedKeys"] = {
        key: f"AppliedSecret{i:04d}" for i, key in enumerate(outputs["presharedKeys"])
    }
    return plan_snapshot(plan), outputs


def rollout(stack: str, edit: Any, force: bool = False) -> tuple[Rollout, dict[str, Any]]:
    old = stack_config(stack)
    new = copy.deepcopy(old)
    edit(new, new[NET])
    snap, outputs = applied(stack, old)
    r = plan_rollout(Inputs(stack, new, {"config": new}, snap, outputs, force=force))
    return r, new


def kinds(r: Rollout) -> list[str]:
    return [s.change.kind for s in r.steps]


def assert_configs_plan(r: Rollout, stack: str, new: dict[str, Any]) -> None:
    """Every step's stack file plans; the last one plans to the edited config's plan."""
    last = None
    for s in r.steps:
        if not s.config_text:
            continue
        doc = yaml.safe_load(s.config_text)
        last = plan_snapshot(build_plan(doc["config"], stack, need_secrets=False))
    assert last == plan_snapshot(build_plan(new, stack, need_secrets=False))


def text_of(r: Rollout) -> str:
    return render_text(r) + json.dumps(r.as_json())


def no_keys(r: Rollout) -> None:
    out = text_of(r)
    assert "AppliedSecret" not in out
    assert not any(k in out for k in KEYS)


def checks(step: Any, kind: str, when: str = "after-change") -> list[Any]:
    return [c for c in step.checks if c.kind == kind and c.when == when]


# ------------------------------------------------------------------ psk
def _psk(cfg: dict[str, Any], net: dict[str, Any]) -> None:
    cfg["crossnet:dc1-t1"], cfg["crossnet:dc1-t2"] = KEYS
    c = net["connections"]["dc1-edge1-app"]
    c["tunnel1"] = {"presharedKeySecret": "dc1-t1"}
    c["tunnel2"] = {"presharedKeySecret": "dc1-t2"}


def test_psk_rotation_goes_tunnel_by_tunnel_the_router_following() -> None:
    r, new = rollout("dev", _psk)
    assert [s.change.subject for s in r.steps] == [
        "dc1-edge1-app tunnel 1",
        "dc1-edge1-app tunnel 2",
    ]
    for n, s in enumerate(r.steps, 1):
        assert s.drained == (f"dc1-edge1-app-{n}",)
        assert s.aws.kind == "pulumi-up" and "--config-file" in s.aws.commands[0]
        assert s.dc_when == "after-aws"
        # the drain depreferences the tunnel both ways; the restore takes it back
        assert "set local-preference 10" in s.drain[0].diff
        assert "prepend 65010 65010 65010 65010" in s.drain[0].diff
        assert "- set local-preference 10" in s.restore[0].diff
        # how each phase renders: from which stack file, with which tunnels drained
        assert s.drain[0].render == {
            "config": "applied" if n == 1 else r.steps[0].aws.config,
            "drained": [f"dc1-edge1-app-{n}"],
            "cryptoUnion": [],
        }
        assert s.dc[0].render["config"] == s.aws.config and s.dc[0].render["drained"]
        assert s.restore[0].render == {"config": s.aws.config, "drained": [], "cryptoUnion": []}
        # the router's key for this tunnel (and only it) changes, shown by source
        diff = s.dc[0].diff
        assert f"dc1-edge1-app-{n}.conf" in diff and f"dc1-edge1-app-{3 - n}.conf" not in diff
        assert key_marker("generated") in diff and key_marker(f"config:crossnet:dc1-t{n}") in diff
        other = f"dc1-edge1-app-{3 - n}"
        assert [c.tunnel for c in checks(s, "bgp-established", "after-drain")] == [other]
        assert [c.tunnel for c in checks(s, "ipsec-sa")] == [f"dc1-edge1-app-{n}"]
        assert checks(s, "route-avoids", "after-drain")[0].expect["prefixes"] == ["10.16.0.0/16"]
        assert checks(s, "advertised-prepend", "after-drain")[0].expect == {
            "neighbor": "169.254.198.113" if n == 1 else "169.254.198.117",
            "prefixes": ["10.128.0.0/16"],
            "asPathLength": 5,
        }
        assert checks(s, "probe", "after-restore")[0].expect == {
            "from": "10.128.0.0/16",
            "to": "10.16.0.0/16",
            "loss": 0,
        }
        assert s.impact.loss == "0" and other in s.impact.text
    # step 1's stack file changes tunnel 1 only
    first = yaml.safe_load(r.steps[0].config_text)["config"][NET]["connections"]["dc1-edge1-app"]
    assert first["tunnel1"] == {"presharedKeySecret": "dc1-t1"}
    assert "presharedKeySecret" not in first.get("tunnel2", {})
    assert_configs_plan(r, "dev", new)
    no_keys(r)


def test_the_drain_is_what_the_router_parser_reads_back() -> None:
    """The drained render, read by the Linux facts reader: the tunnel is depreferred."""
    from network.rollout import planner

    snap, outputs = applied("dev", stack_config("dev"))
    records = planner._mark_keys(copy.deepcopy(outputs["routers"]), snap)
    files = planner._render(records, frozenset({"dc1-edge1-app-1"}), "dev")["dc1-edge1"]
    facts = facts_reader("linux")(files)
    assert len(facts.tunnels) == 2, "the facts reader found the two tunnels"
    t1, t2 = sorted(facts.tunnels, key=lambda t: str(t.neighbor))
    assert t1.local_pref == 10 and len(t1.prepend) == 4
    assert t2.local_pref == 50 and len(t2.prepend) == 2  # the standby stays standby


# ------------------------------------------------------------------ tunnel options
def _crypto(cfg: dict[str, Any], net: dict[str, Any]) -> None:
    o = copy.deepcopy(net["connections"]["dc1-edge1-app"]["tunnelOptions"])
    o["phase1"]["encryption"] = ["AES256-GCM-16"]
    o["phase2"]["lifetimeSeconds"] = 1800
    o["dpd"]["timeoutSeconds"] = 40
    net["connections"]["dc1-edge1-app"]["tunnelOptions"] = o


def test_tunnel_options_accept_both_then_one_tunnel_per_request() -> None:
    r, new = rollout("dev", _crypto)
    assert len(r.steps) == 4 and set(kinds(r)) == {"tunnel-options"}
    union, t1, t2, done = r.steps
    assert union.dc_when == "before-aws" and union.aws.kind == "none"
    assert "aes256gcm16-prfsha256-ecp384, aes256-sha256-ecp384" in union.dc[0].diff
    assert union.dc[0].render == {
        "config": "applied",
        "drained": [],
        "cryptoUnion": ["dc1-edge1-app"],
    }
    assert t1.drain[0].render["cryptoUnion"] == ["dc1-edge1-app"]
    for n, s in ((1, t1), (2, t2)):
        assert s.aws.kind == "aws-api" and s.drained == (f"dc1-edge1-app-{n}",)
        cmd = s.aws.commands[0]
        assert cmd.startswith("aws ec2 modify-vpn-tunnel-options --vpn-connection-id vpn-0")
        assert f"--vpn-tunnel-outside-ip-address 198.51.100.{n} " in cmd
        assert "Phase1EncryptionAlgorithms=[{Value=AES256-GCM-16}]" in cmd
        assert "DPDTimeoutSeconds=40" in cmd
        assert not s.dc  # the routers already accept both
        assert s.impact.loss == "0"
    assert done.aws.commands[0].startswith("pulumi refresh")
    assert "aes256-sha256-ecp384" in done.dc[0].diff  # the old proposal goes
    assert_configs_plan(r, "dev", new)


# ------------------------------------------------------------------ inside CIDR (static)
def _inside(cfg: dict[str, Any], net: dict[str, Any]) -> None:
    c = net["connections"]["dc1-edge1-web"]
    c["tunnel1"] = {"insideCidr": "169.254.21.0/30"}
    c["tunnel2"] = {"insideCidr": "169.254.21.4/30"}


def test_inside_cidr_one_tunnel_per_apply_static_drain_by_distance() -> None:
    r, new = rollout("staging", _inside)
    assert [s.change.subject for s in r.steps] == [
        "dc1-edge1-web tunnel 1",
        "dc1-edge1-web tunnel 2",
    ]
    s1 = r.steps[0]
    assert s1.drained == ("dc1-edge1-web-1",)
    assert "distance '20'" in s1.drain[0].diff  # VyOS static route, worse than the standby's 10
    assert "169.254.21.2" in s1.dc[0].diff  # the router's new inside address
    assert "ModifyVpnTunnelOptions dc1-edge1-web tunnel 1: TunnelInsideCidr 169.254.21.0/30" in (
        s1.aws.operations
    )
    assert not checks(s1, "bgp-established")  # static routing: IPsec and the probe
    assert s1.impact.loss == "aws-side" and "static routing" in s1.impact.text
    assert checks(s1, "ipsec-sa")[0].expect["insideCidr"] == "169.254.21.0/30"
    cfg1 = yaml.safe_load(s1.config_text)["config"][NET]["connections"]["dc1-edge1-web"]
    assert cfg1["tunnel2"] == {"insideCidr": "169.254.20.4/30"}
    assert_configs_plan(r, "staging", new)


def test_the_static_drain_reads_back_with_the_vyos_parser() -> None:
    from network.rollout import planner

    snap, outputs = applied("staging", stack_config("staging"))
    records = planner._mark_keys(copy.deepcopy(outputs["routers"]), snap)
    files = planner._render(records, frozenset({"dc1-edge1-web-1"}), "staging")["dc1-edge1"]
    facts = facts_reader("vyos")(files)
    distances = sorted({d for t in facts.tunnels for (_, d, _) in t.static})
    assert distances == [10, 20]  # the drained tunnel 1 is worse than the standby tunnel 2


# ------------------------------------------------------------------ VPCs
def _add_vpc(cfg: dict[str, Any], net: dict[str, Any]) -> None:
    net["vpcs"]["web"] = {
        "cidr": "10.17.0.0/16",
        "azs": ["us-east-1a", "us-east-1b"],
        "tiers": {"private": {"prefixLength": 20}},
    }
    net["vpnGateways"]["web-vgw"] = {"vpc": "web", "asn": 64513}
    net["connections"]["dc1-edge1-web"] = {
        **copy.deepcopy(net["connections"]["dc1-edge1-app"]),
        "gateway": "web-vgw",
    }


def test_add_vpc_new_tunnels_come_up_drained_then_restored() -> None:
    r, new = rollout("dev", _add_vpc)
    assert kinds(r) == ["vpc-add"]
    s = r.steps[0]
    assert s.drained == ("dc1-edge1-web-1", "dc1-edge1-web-2")
    assert s.render_after_apply and "0.0.0." in s.dc[0].diff
    assert "local-preference 10" in s.dc[0].diff and "local-preference 10" in s.restore[0].diff
    assert {c.tunnel for c in checks(s, "bgp-established")} == set(s.drained)
    assert checks(s, "prefixes-received")[0].expect["prefixes"] == ["10.17.0.0/16"]
    assert s.impact.loss == "0"
    assert_configs_plan(r, "dev", new)


def test_remove_vpc_is_one_apply_and_the_routers_stop_accepting_it() -> None:
    r, new = rollout("prod", lambda cfg, net: _drop_media(net))
    assert kinds(r) == ["vpc-remove"]  # the applied plan rebuilt exactly: no "other" step
    s = r.steps[0]
    assert s.aws.kind == "pulumi-up"
    assert {c.router for c in s.dc} == {"ash-edge1", "ash-edge2", "fra-edge1", "fra-edge2"}
    assert all("10.3.0.0" in c.diff for c in s.dc)
    assert s.impact.loss == "0"
    assert_configs_plan(r, "prod", new)


def _drop_media(net: dict[str, Any], vpc: str = "media") -> None:
    del net["vpcs"][vpc]
    hub = net["transitGateways"]["hub"]
    del hub["attachments"][vpc]
    for rt in hub["routeTables"].values():
        for k in ("associations", "propagations"):
            rt[k] = [x for x in rt[k] if x != f"vpc:{vpc}"]


def test_remove_a_vpc_listed_mid_table_is_still_one_step() -> None:
    """A VPC that is not last in its route tables' lists (found on the prod lab: the
    reverted step config appended it, so the table's order changed and an "other" step
    came first)."""
    old = stack_config("prod")
    tables = old[NET]["transitGateways"]["hub"]["routeTables"]
    mid = [rt[k][:-1] for rt in tables.values() for k in ("associations", "propagations")]
    assert any("vpc:data" in m for m in mid), "data is not mid-list in prod: pick another VPC"
    r, new = rollout("prod", lambda cfg, net: _drop_media(net, "data"))
    assert kinds(r) == ["vpc-remove"]
    assert_configs_plan(r, "prod", new)


# ------------------------------------------------------------------ datacenter prefix
def test_add_dc_prefix_aws_first_then_the_routers_announce() -> None:
    def edit(cfg: dict[str, Any], net: dict[str, Any]) -> None:
        net["datacenters"]["ash"]["prefixes"].append("10.129.0.0/16")

    r, new = rollout("prod", edit)
    assert kinds(r) == ["dc-prefix"]
    s = r.steps[0]
    assert s.dc_when == "after-aws" and s.aws.kind == "pulumi-up"
    assert {c.router for c in s.dc} == {"ash-edge1", "ash-edge2"}
    adv = checks(s, "prefixes-advertised")
    assert adv and all("10.129.0.0/16" in c.expect["prefixes"] for c in adv)
    assert s.impact.loss == "0"
    assert_configs_plan(r, "prod", new)


# ------------------------------------------------------------------ routers
def test_add_router_comes_up_drained() -> None:
    def edit(cfg: dict[str, Any], net: dict[str, Any]) -> None:
        net["datacenters"]["fra"]["routers"]["edge3"] = {
            "publicIp": "192.0.2.203",
            "platform": "vyos",
        }
        net["connections"]["fra-edge3-hub"] = {
            **copy.deepcopy(net["connections"]["fra-edge1-hub"]),
            "router": "fra/edge3",
        }

    r, new = rollout("prod", edit)
    assert kinds(r) == ["router-add"]
    s = r.steps[0]
    assert s.drained == ("fra-edge3-hub-1", "fra-edge3-hub-2")
    assert [c.router for c in s.dc] == ["fra-edge3"] and "+++ step1/fra-edge3/" in s.dc[0].diff
    assert "prepend '65200 65200 65200 65200'" in s.dc[0].diff
    assert s.impact.loss == "0"
    assert_configs_plan(r, "prod", new)


def test_remove_router_drained_first_the_other_router_carries() -> None:
    def edit(cfg: dict[str, Any], net: dict[str, Any]) -> None:
        del net["datacenters"]["fra"]["routers"]["edge2"]
        del net["connections"]["fra-edge2-hub"]

    r, new = rollout("prod", edit)
    assert kinds(r) == ["router-remove"]
    s = r.steps[0]
    assert s.drained == ("fra-edge2-hub-1", "fra-edge2-hub-2")
    assert {c.tunnel for c in checks(s, "bgp-established", "after-drain")} == {
        "fra-edge1-hub-1",
        "fra-edge1-hub-2",
    }
    assert s.drain and s.drain[0].router == "fra-edge2"
    assert s.impact.loss == "0" and "DeleteVpnConnection fra-edge2-hub" in s.aws.operations
    assert_configs_plan(r, "prod", new)


def test_router_public_ip_moves_router_by_router() -> None:
    def edit(cfg: dict[str, Any], net: dict[str, Any]) -> None:
        net["datacenters"]["ash"]["routers"]["edge1"]["publicIp"] = "192.0.2.111"

    r, new = rollout("prod", edit)
    assert kinds(r) == ["router-ip"]
    s = r.steps[0]
    assert s.drained == ("ash-edge1-hub-1", "ash-edge1-hub-2")
    assert "ModifyVpnConnection ash-edge1-hub: the new customer gateway" in s.aws.operations
    assert {c.tunnel for c in checks(s, "bgp-established", "after-drain")} == {
        "ash-edge2-hub-1",
        "ash-edge2-hub-2",
    }
    assert s.render_after_apply and "192.0.2.111" in s.dc[0].diff
    assert s.impact.loss == "0"
    assert_configs_plan(r, "prod", new)


def test_the_only_router_changing_address_is_an_outage_aws_forces() -> None:
    def edit(cfg: dict[str, Any], net: dict[str, Any]) -> None:
        net["datacenters"]["dc1"]["routers"]["edge1"]["publicIp"] = "192.0.2.11"

    r, _ = rollout("dev", edit)
    s = r.steps[0]
    assert s.impact.loss == "outage"
    assert "ModifyVpnConnection" in s.impact.text and "BGP hold 30 s" in s.impact.bound


def test_customer_asn_router_by_router_with_targeted_applies() -> None:
    def edit(cfg: dict[str, Any], net: dict[str, Any]) -> None:
        net["datacenters"]["ash"]["asn"] = 65101

    r, new = rollout("prod", edit)
    assert kinds(r) == ["customer-asn", "customer-asn"]
    a, b = r.steps
    assert a.drained == ("ash-edge1-hub-1", "ash-edge1-hub-2")
    assert b.drained == ("ash-edge2-hub-1", "ash-edge2-hub-2")
    assert "--target '<urn of ash-edge1-cgw>' --target-dependents" in a.aws.commands[0]
    assert "crossnet up --stack prod --target '<urn of ash-edge1-cgw>'" in a.aws.commands[1]
    # the executor's targets, as data (it looks up their URNs in the stack's state)
    assert a.aws.targets == ("ash-edge1-cgw",) and b.aws.targets == ("ash-edge2-cgw",)
    assert a.aws.as_json()["targets"] == ["ash-edge1-cgw"]
    assert [c.router for c in a.dc] == ["ash-edge1"] and [c.router for c in b.dc] == ["ash-edge2"]
    # while edge2 drains, edge1 already speaks the new ASN
    assert {c.expect["localAs"] for c in checks(b, "bgp-established", "after-drain")} == {65101}
    assert {c.expect["localAs"] for c in checks(a, "bgp-established", "after-drain")} == {65100}
    assert all(s.impact.loss == "0" for s in r.steps)
    assert_configs_plan(r, "prod", new)


# ------------------------------------------------------------------ connections
def test_replaced_connection_is_drained_deleted_and_created_while_others_carry() -> None:
    def edit(cfg: dict[str, Any], net: dict[str, Any]) -> None:
        net["connections"]["fra-edge2-hub"]["routing"] = "static"

    r, new = rollout("prod", edit)
    assert kinds(r) == ["connection-replace"]
    s = r.steps[0]
    assert s.drained == ("fra-edge2-hub-1", "fra-edge2-hub-2")
    assert s.aws.commands[0].startswith(
        "pulumi destroy --stack prod --target '<urn of fra-edge2-hub-vpn>'"
    )
    assert s.render_after_apply and "0.0.0." in s.dc[0].diff
    assert s.impact.loss == "0"
    assert_configs_plan(r, "prod", new)


def test_a_replacement_with_no_other_path_is_refused_unless_forced() -> None:
    def edit(cfg: dict[str, Any], net: dict[str, Any]) -> None:
        net["connections"]["dc1-edge1-app"]["routing"] = "static"

    r, _ = rollout("dev", edit)
    assert r.refused and not r.steps
    assert "only path" in r.refusals[0] and "under a new name" in r.refusals[0]
    forced, _ = rollout("dev", edit, force=True)
    assert forced.forced and not forced.refused and len(forced.steps) == 1
    assert forced.steps[0].impact.loss == "outage"


def test_move_vgw_connection_to_a_transit_gateway() -> None:
    def edit(cfg: dict[str, Any], net: dict[str, Any]) -> None:
        net["vpcs"]["app"]["tiers"]["transit"] = {"prefixLength": 28}
        net["transitGateways"] = {
            "hub": {"asn": 64600, "ecmp": True, "attachments": {"app": {"tier": "transit"}}}
        }
        net["connections"]["dc1-edge1-app"]["gateway"] = "hub"

    r, new = rollout("dev", edit)
    assert kinds(r) == ["other", "gateway-move"]  # the new gateway exists first
    first, move = r.steps
    assert not first.drained and first.impact.loss == "0"
    assert "ModifyVpnConnection dc1-edge1-app: app-vgw (vgw) -> hub (tgw)" in move.aws.operations[0]
    assert move.impact.loss == "outage"  # the datacenter's only connection: AWS forces it
    assert "64600" in move.dc[0].diff  # the router peers with the TGW's ASN
    assert_configs_plan(r, "dev", new)


# ------------------------------------------------------------------ mixed, nothing, bad input
def test_mixed_change_is_split_into_safe_steps() -> None:
    def edit(cfg: dict[str, Any], net: dict[str, Any]) -> None:
        _drop_media(net)
        cfg["crossnet:fra1-t1"] = KEYS[0]
        net["connections"]["fra-edge1-hub"]["tunnel1"] = {"presharedKeySecret": "fra1-t1"}
        net["datacenters"]["ash"]["prefixes"].append("10.129.0.0/16")
        del net["datacenters"]["ash"]["routers"]["edge2"]
        del net["connections"]["ash-edge2-hub"]

    r, new = rollout("prod", edit)
    assert kinds(r) == ["vpc-remove", "dc-prefix", "psk", "router-remove"]
    # each step's stack file holds its own change and those before it, none after
    cfgs = [yaml.safe_load(s.config_text)["config"][NET] for s in r.steps]
    assert "media" not in cfgs[0]["vpcs"]
    assert "10.129.0.0/16" not in cfgs[0]["datacenters"]["ash"]["prefixes"]
    assert "10.129.0.0/16" in cfgs[1]["datacenters"]["ash"]["prefixes"]
    assert "presharedKeySecret" not in (
        cfgs[1]["connections"]["fra-edge1-hub"].get("tunnel1") or {}
    )
    assert cfgs[2]["connections"]["fra-edge1-hub"]["tunnel1"]["presharedKeySecret"] == "fra1-t1"
    assert (
        "ash-edge2-hub" in cfgs[2]["connections"] and "ash-edge2-hub" not in cfgs[3]["connections"]
    )
    assert all(s.impact.loss == "0" for s in r.steps)
    assert_configs_plan(r, "prod", new)
    no_keys(r)


def test_nothing_changed_nothing_to_roll_out() -> None:
    r, _ = rollout("dev", lambda cfg, net: None)
    assert not r.steps and not r.refused and r.notes == ("nothing to roll out",)


def _cli(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("network.rollout.cli",))
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _state(tmp: Path, monkeypatch: pytest.MonkeyPatch, stack: str = "dev") -> Path:
    monkeypatch.setenv("CROSSNET_STATE_DIR", str(tmp / "state"))
    d = tmp / "state" / stack
    d.mkdir(parents=True)
    snap, outputs = applied(stack, stack_config(stack))
    (d / "applied.json").write_text(json.dumps({"stack": stack, "plan": snap}))
    (d / "outputs.json").write_text(json.dumps(outputs))
    return d


def _edited(tmp: Path, edit: Any, stack: str = "dev") -> Path:
    cfg = stack_config(stack)
    edit(cfg, cfg[NET])
    path = tmp / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump({"config": cfg}, sort_keys=False))
    return path


def test_cli_writes_the_plan_and_one_private_stack_file_per_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    d = _state(tmp_path, monkeypatch)
    cfg = _edited(tmp_path, _psk)
    out = tmp_path / "plan"
    code, text, err = _cli(
        ["rollout", "--stack", "dev", "--config", str(cfg), "--out", str(out)], monkeypatch, capsys
    )
    assert code == 0, err
    assert "== step 2: psk dc1-edge1-app tunnel 2 [psk] ==" in text
    data = json.loads((out / "rollout.json").read_text())
    assert [s["class"] for s in data["steps"]] == ["psk", "psk"]
    for s in data["steps"]:
        path = Path(s["aws"]["config"])
        assert path.is_file() and oct(path.stat().st_mode & 0o777) == "0o600"
        assert f"--config-file {path}" in s["aws"]["commands"][0]
    assert oct((out / "rollout.json").stat().st_mode & 0o777) == "0o600"
    assert not any(k in text + (out / "rollout.json").read_text() for k in KEYS)
    assert "AppliedSecret" not in text + (out / "rollout.json").read_text()
    assert not (d / "rollout").exists()


def test_cli_refusal_exits_1_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    d = _state(tmp_path, monkeypatch)
    cfg = _edited(
        tmp_path, lambda c, net: net["connections"]["dc1-edge1-app"].update(routing="static")
    )
    code, text, err = _cli(["rollout", "--stack", "dev", "--config", str(cfg)], monkeypatch, capsys)
    assert code == 1 and "REFUSED" in text and "--force" in err
    assert not (d / "rollout").exists()


@pytest.mark.parametrize("case", ["no-state", "corrupt", "old-snapshot", "invalid-edit"])
def test_cli_bad_input_exit_2_nothing_written(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CROSSNET_STATE_DIR", str(tmp_path / "state"))
    cfg = _edited(tmp_path, _psk)
    if case != "no-state":
        d = _state(tmp_path, monkeypatch)
        if case == "corrupt":
            (d / "applied.json").write_text('{"plan": {"snapshotVer')
        elif case == "old-snapshot":
            (d / "applied.json").write_text(json.dumps({"plan": {"snapshotVersion": 0}}))
        else:
            cfg = _edited(tmp_path, lambda c, net: net["vpcs"]["app"].update(cidr="10.16.0.0/33"))
    before = sorted(p for p in tmp_path.rglob("*"))
    code, _, err = _cli(["rollout", "--stack", "dev", "--config", str(cfg)], monkeypatch, capsys)
    assert code == 2 and "Traceback" not in err
    assert {
        "no-state": "no applied state",
        "corrupt": "not JSON",
        "old-snapshot": "snapshotVersion",
        "invalid-edit": "10.16.0.0/33",
    }[case] in err
    assert sorted(p for p in tmp_path.rglob("*")) == before


def _single_tgw(cfg: dict[str, Any], net: dict[str, Any]) -> None:
    """prod with fra alone on the hub: fra-edge1-hub is its datacenter's only path."""
    del net["datacenters"]["fra"]["routers"]["edge2"]
    del net["connections"]["fra-edge2-hub"]


def test_tgw_replacement_without_another_path_goes_make_before_break() -> None:
    old = stack_config("prod")
    _single_tgw(old, old[NET])
    new = copy.deepcopy(old)
    new[NET]["connections"]["fra-edge1-hub"]["routing"] = "static"  # ForceNew: replaced
    snap, outputs = applied("prod", old)
    # a static temporary copy cannot sit beside it (one static route per CIDR per TGW table)
    refused = plan_rollout(Inputs("prod", new, {"config": new}, snap, outputs))
    assert refused.refused and "one static route per CIDR" in refused.refusals[0]
    # static -> BGP: the temporary copy (BGP) sits beside the static connection
    old[NET]["connections"]["fra-edge1-hub"]["routing"] = "static"
    new = copy.deepcopy(old)
    new[NET]["connections"]["fra-edge1-hub"]["routing"] = "bgp"
    snap, outputs = applied("prod", old)
    r = plan_rollout(Inputs("prod", new, {"config": new}, snap, outputs))
    assert not r.refused, r.refusals
    assert kinds(r) == ["connection-replace"] * 3
    add, swap, drop = r.steps
    temp = ("fra-edge1-hub-mbb-1", "fra-edge1-hub-mbb-2")
    assert add.drained == temp and add.aws.config.endswith("a/Pulumi.prod.yaml")
    assert "fra-edge1-hub-mbb" in yaml.safe_load(add.config_text)["config"][NET]["connections"]
    assert {c.tunnel for c in checks(add, "bgp-established")} == set(temp)
    assert swap.drained == ("fra-edge1-hub-1", "fra-edge1-hub-2")
    assert swap.aws.commands[0].startswith("pulumi destroy --stack prod --target")
    assert {c.tunnel for c in checks(swap, "bgp-established", "after-drain")} == set(temp)
    assert drop.drained == temp and "DeleteVpnConnection fra-edge1-hub-mbb (temporary)" in (
        drop.aws.operations
    )
    assert "fra-edge1-hub-mbb" not in yaml.safe_load(drop.config_text)["config"][NET]["connections"]
    assert all(s.impact.loss == "0" for s in r.steps)
    for s in r.steps:  # every stack file plans
        build_plan(yaml.safe_load(s.config_text)["config"], "prod", need_secrets=False)
    assert_configs_plan(r, "prod", new)


def test_rollout_against_a_real_offline_apply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The applied state is what `crossnet up` really wrote: its IDs and outside addresses
    are in the AWS CLI calls, and none of its keys in anything printed or written."""
    from network.offline.apply import offline_up

    monkeypatch.setenv("CROSSNET_STATE_DIR", str(tmp_path / "state"))
    offline_up("dev", seed=7)
    outputs = json.loads((tmp_path / "state" / "dev" / "outputs.json").read_text())
    secrets = [k for k in outputs["presharedKeys"].values() if isinstance(k, str)]
    rec = outputs["routers"]["dc1-edge1"]["connections"][0]
    cfg = _edited(tmp_path, _crypto)
    out = tmp_path / "plan"
    code, text, err = _cli(
        ["rollout", "--stack", "dev", "--config", str(cfg), "--out", str(out), "--json"],
        monkeypatch,
        capsys,
    )
    assert code == 0, err
    data = json.loads(text)
    api = [s for s in data["steps"] if s["aws"]["kind"] == "aws-api"]
    assert len(api) == 2
    for s, t in zip(api, rec["tunnels"], strict=True):
        assert f"--vpn-connection-id {rec['vpnConnectionId']} " in s["aws"]["commands"][0]
        assert f"--vpn-tunnel-outside-ip-address {t['awsOutsideIp']} " in s["aws"]["commands"][0]
    written = "".join(p.read_text() for p in out.rglob("*") if p.is_file())
    assert secrets and not any(k in text + written for k in secrets)


def test_the_planner_never_imports_pulumi() -> None:
    import subprocess
    import sys

    code = (
        "import sys, network.rollout, network.rollout.cli; "
        "sys.exit(any(m.split('.')[0] in ('pulumi', 'pulumi_aws') for m in sys.modules))"
    )
    root = Path(__file__).resolve().parents[2]
    assert subprocess.run([sys.executable, "-c", code], cwd=root, check=False).returncode == 0


@pytest.mark.parametrize(
    ("stack", "where", "value", "why"),
    [
        ("staging", ("vpnGateways", "web-vgw", "asn"), 64514, "REPLACES VIRTUAL PRIVATE GATEWAY"),
        ("prod", ("transitGateways", "hub", "asn"), 64601, "AWS REFUSES THE NEW ASN"),
    ],
)
def test_gateway_asn_changes_have_no_safe_order(
    stack: str, where: tuple[str, str, str], value: int, why: str
) -> None:
    def edit(cfg: dict[str, Any], net: dict[str, Any]) -> None:
        net[where[0]][where[1]][where[2]] = value

    r, _ = rollout(stack, edit)
    assert r.refused and not r.steps and why in r.refusals[0]
    forced, _ = rollout(stack, edit, force=True)
    assert [s.impact.loss for s in forced.steps] == ["outage"]


def test_inside_cidr_with_an_older_provider_goes_through_the_aws_cli() -> None:
    """A provider that replaces the connection on a new inside CIDR: the CLI call per tunnel
    and `pulumi refresh` keep the connection (and its outside addresses)."""
    old = stack_config("staging")
    new = copy.deepcopy(old)
    _inside(new, new[NET])
    snap, outputs = applied("staging", old)
    r = plan_rollout(Inputs("staging", new, {"config": new}, snap, outputs, upstream=None))
    assert kinds(r) == ["inside-cidr", "inside-cidr"]
    for n, s in enumerate(r.steps, 1):
        assert s.aws.kind == "aws-api"
        assert s.aws.commands[0].startswith("aws ec2 modify-vpn-tunnel-options --vpn-connection-id")
        assert f"--vpn-tunnel-outside-ip-address 198.51.100.{n} " in s.aws.commands[0]
        assert s.aws.commands[1] == "pulumi refresh --stack staging --yes"
        assert "0.0.0." not in s.dc[0].diff  # the outside addresses stay


def test_add_vpc_on_the_transit_gateway_routers_accept_first() -> None:
    def edit(cfg: dict[str, Any], net: dict[str, Any]) -> None:
        net["vpcs"]["web"] = {
            "cidr": "10.4.0.0/16",
            "azs": ["us-east-1a", "us-east-1b"],
            "tiers": {"private": {"prefixLength": 20}, "transit": {"prefixLength": 28}},
        }
        hub = net["transitGateways"]["hub"]
        hub["attachments"]["web"] = {"tier": "transit"}
        hub["routeTables"]["spokes"]["associations"].append("vpc:web")
        for table in ("shared", "onprem"):
            hub["routeTables"][table]["propagations"].append("vpc:web")

    r, new = rollout("prod", edit)
    assert kinds(r) == ["vpc-add"]
    s = r.steps[0]
    assert s.dc_when == "before-aws" and not s.drained
    assert {c.router for c in s.dc} == {"ash-edge1", "ash-edge2", "fra-edge1", "fra-edge2"}
    got = checks(s, "prefixes-received")
    assert len(got) == 8 and all("10.4.0.0/16" in c.expect["prefixes"] for c in got)
    assert {c.expect["to"] for c in checks(s, "probe", "after-restore")} >= {"10.4.0.0/16"}
    assert_configs_plan(r, "prod", new)


def test_shrunk_dc_prefix_security_groups_first_then_the_routers() -> None:
    def edit(cfg: dict[str, Any], net: dict[str, Any]) -> None:
        net["datacenters"]["ash"]["prefixes"] = ["10.128.0.0/17"]
        for rule in net["vpcs"].values():
            for r in rule.get("ingress", []):
                r["from"] = [x if x != "10.128.0.0/16" else "10.128.0.0/17" for x in r["from"]]

    r, new = rollout("prod", edit)
    # the security groups' new sources are no class of their own: applied first, listed
    assert kinds(r) == ["other", "dc-prefix"]
    assert any(d.startswith("ingress ") for d in r.steps[0].change.detail)
    s = r.steps[1]
    assert s.change.detail == ("announce 10.128.0.0/17", "withdraw 10.128.0.0/16")
    assert s.dc_when == "after-aws"  # a new prefix too: AWS admits it first
    assert_configs_plan(r, "prod", new)


def test_static_vgw_connection_to_tgw_deletes_its_static_routes_first() -> None:
    def edit(cfg: dict[str, Any], net: dict[str, Any]) -> None:
        net["vpcs"]["web"]["tiers"]["transit"] = {"prefixLength": 28}
        net["transitGateways"] = {
            "hub": {"asn": 64600, "ecmp": False, "attachments": {"web": {"tier": "transit"}}}
        }
        net["connections"]["dc1-edge1-web"]["gateway"] = "hub"

    r, new = rollout("staging", edit)
    assert kinds(r) == ["other", "gateway-move"]
    move = r.steps[1]
    assert move.aws.commands[0] == (
        "aws ec2 delete-vpn-connection-route --vpn-connection-id vpn-00002 "
        "--destination-cidr-block 10.144.0.0/16"
    )
    assert move.aws.commands[1] == "pulumi refresh --stack staging --yes"
    assert move.aws.commands[2].startswith("pulumi up --stack staging --config-file")
    assert move.impact.loss == "outage" and "ModifyVpnConnection" in move.impact.text
    assert_configs_plan(r, "staging", new)


@pytest.mark.parametrize("router", ["ash-edge1", "ash-edge2", "fra-edge1", "fra-edge2"])
def test_the_bgp_drain_reads_back_in_each_platforms_syntax(router: str) -> None:
    """IOS-XE, Junos, Linux and FortiOS: each drained render, read by that platform's config
    reader, depreferences exactly the drained tunnel, both ways."""
    from network.rollout import planner

    snap, outputs = applied("prod", stack_config("prod"))
    records = planner._mark_keys(copy.deepcopy(outputs["routers"]), snap)
    platform = records[router]["platform"]
    conn = records[router]["connections"][0]
    drained_ip = conn["tunnels"][0]["awsInsideIp"]
    files = planner._render(records, frozenset({f"{conn['name']}-1"}), "prod")[router]
    facts = facts_reader(platform)(files)
    by = {str(t.neighbor): t for t in facts.tunnels}
    assert set(by) == {t["awsInsideIp"] for t in conn["tunnels"]}
    for ip, t in by.items():
        if ip == drained_ip:
            assert t.local_pref == 10 and t.prepend == (snap["datacenters"][router[:3]]["asn"],) * 4
        else:  # ECMP: the other tunnel stays as it was
            assert t.local_pref in (None, 100) and not t.prepend


def test_enabling_acceleration_goes_make_before_break_destroying_the_old_one_first() -> None:
    """acceleration is ForceNew (BGP on both sides): the temporary copy plans beside it,
    and step 2 deletes the connection first (`destroyFirst`, offline `--destroy-target`)."""
    old = stack_config("prod")
    _single_tgw(old, old[NET])
    new = copy.deepcopy(old)
    new[NET]["connections"]["fra-edge1-hub"]["acceleration"] = True
    snap, outputs = applied("prod", old)
    r = plan_rollout(Inputs("prod", new, {"config": new}, snap, outputs))
    assert not r.refused, r.refusals
    assert kinds(r) == ["connection-replace"] * 3
    add, swap, _ = r.steps
    temp = yaml.safe_load(add.config_text)["config"][NET]["connections"]["fra-edge1-hub-mbb"]
    assert temp["acceleration"] is True  # the temporary one has the new settings
    assert swap.aws.destroy == ("fra-edge1-hub-vpn",) and not add.aws.destroy
    assert swap.aws.as_json()["destroyFirst"] == ["fra-edge1-hub-vpn"]
    assert swap.aws.commands[-1].endswith(
        "crossnet up --stack prod --destroy-target fra-edge1-hub-vpn"
    )
    assert "acceleration: False -> True" in " ".join(r.changes[0].detail)
    assert all(s.impact.loss == "0" for s in r.steps)
    assert_configs_plan(r, "prod", new)


def test_a_new_prefix_with_its_ingress_rule_is_one_step_aws_admits_it_first() -> None:
    """The rule admitting a new prefix names a source only the new prefix makes valid:
    it goes with the dc-prefix step (AWS admits, then the routers announce), and the
    intermediate files validate (they were refused before: 'not inside a planned
    datacenter prefix')."""

    def edit(cfg: dict[str, Any], net: dict[str, Any]) -> None:
        net["datacenters"]["dc1"]["prefixes"].append("10.129.0.0/16")
        net["vpcs"]["app"]["ingress"][0]["from"].append("10.129.0.0/16")
        net["vpcs"]["app"]["ingress"].append(
            {"from": ["10.129.4.0/24"], "tiers": ["data"], "tcp": [5432]}
        )

    r, new = rollout("dev", edit)
    assert not r.refused, r.refusals
    assert kinds(r) == ["dc-prefix"]
    s = r.steps[0]
    assert s.dc_when == "after-aws" and s.aws.kind == "pulumi-up"
    assert s.change.detail == ("announce 10.129.0.0/16",)
    assert_configs_plan(r, "dev", new)


def test_a_withdrawn_prefix_keeps_its_ingress_rule_until_the_routers_withdraw_it() -> None:
    """Withdrawing a prefix and its rule: one step, the routers first, then AWS drops
    the prefix and its rule together (never the rule first while it is announced)."""

    def add(cfg: dict[str, Any], net: dict[str, Any]) -> None:
        net["datacenters"]["dc1"]["prefixes"].append("10.129.0.0/16")
        net["vpcs"]["app"]["ingress"].append(
            {"from": ["10.129.0.0/16"], "tiers": ["private"], "icmp": True, "tcp": [443]}
        )

    old = stack_config("dev")
    add(old, old[NET])
    new = copy.deepcopy(old)
    new[NET]["datacenters"]["dc1"]["prefixes"] = ["10.128.0.0/16"]
    new[NET]["vpcs"]["app"]["ingress"].pop()
    snap, outputs = applied("dev", old)
    r = plan_rollout(Inputs("dev", new, {"config": new}, snap, outputs))
    assert not r.refused, r.refusals
    assert kinds(r) == ["dc-prefix"]
    assert r.steps[0].dc_when == "before-aws"
    assert r.steps[0].change.detail == ("withdraw 10.129.0.0/16",)
    assert_configs_plan(r, "dev", new)
