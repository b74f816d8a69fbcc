"""The offline apply against the emulator, for every example stack: the
emulator's own state, the outputs contract, secrets and file modes."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path
from typing import Any

import pytest

from network import aws_rules as aws
from network.cli import main
from network.contract import load_outputs, parse_outputs
from network.offline.apply import offline_up, run_program
from network.offline.aws import AwsEmulator
from network.offline.verify import verify_emulator
from network.plan import build_plan
from tests.conftest import EXAMPLE_STACKS, load_stack


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_offline_apply_writes_the_contract(stack: str, state_dir: Path) -> None:
    result = offline_up(stack, seed=11)
    path = state_dir / stack / "outputs.json"
    assert result.outputs_file == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((state_dir / stack).stat().st_mode) == 0o700
    outputs = load_outputs(path)  # the contract parser accepts it
    plan = build_plan(load_stack(stack), stack)
    assert set(outputs.routers) == {c.router.key for c in plan.connections}
    for router in outputs.routers.values():
        for conn in router.connections:
            outside = [t.aws_outside_ip for t in conn.tunnels]
            assert len(set(outside)) == 2
            assert outside[0].startswith("198.51.100.") and outside[1].startswith("203.0.113.")
            for t in conn.tunnels:
                assert aws.psk_ok(t.psk.reveal())
                assert t.customer_inside_ip.endswith(
                    str(int(t.inside_cidr.split("/")[0].rsplit(".", 1)[1]) + 2)
                )
    assert result.secret_outputs == ["presharedKeys"]
    # The checks counted what the plan implies, in the emulator's own state.
    n_tunnels = 2 * len(plan.connections)
    n_groups = sum(len(v.spec.tiers) for v in plan.vpcs.values())
    n_prop = sum(len(plan.vpcs[vpc].spec.tiers) for vpc in plan.vgw_propagating())
    assert f"{n_tunnels} tunnels match AWS (outside and inside addresses, crypto, keys)" in (
        result.checks
    )
    assert f"{n_groups} security groups admit exactly the planned datacenter flows" in (
        result.checks
    )
    prop = f"{n_prop} route tables propagate from their VGW"
    assert any(c.startswith(prop) for c in result.checks)


def test_applied_record_never_holds_a_key(state_dir: Path) -> None:
    result = offline_up("dev", seed=5)
    keys = list(result.outputs["presharedKeys"].values())
    applied = (state_dir / "dev" / "applied.json").read_text()
    assert stat.S_IMODE((state_dir / "dev" / "applied.json").stat().st_mode) == 0o600
    assert keys and not any(k in applied for k in keys)
    vpn = next(
        r
        for r in json.loads(applied)["resources"]
        if r["type"] == "aws:ec2/vpnConnection:VpnConnection"
    )
    assert vpn["inputs"]["tunnel1PresharedKey"] == "[secret]"
    assert "tunnel1PresharedKey" in vpn["secretInputs"]


def _without_ids(value: object) -> object:
    if isinstance(value, dict):
        return {
            k: _without_ids(v)
            for k, v in value.items()
            if not (k == "id" or k.endswith("Id") or k in ("routeTables", "securityGroups"))
        }
    if isinstance(value, list):
        return [_without_ids(v) for v in value]
    return value


def test_seeded_runs_are_reproducible(state_dir: Path) -> None:
    """Same seed, same keys, addresses and contract. (Resource IDs depend on the
    order the engine registers resources in, which is concurrent, so they are
    left out, as they would differ between two real applies too.)"""
    a = offline_up("staging", seed=9, write=False).outputs
    b = offline_up("staging", seed=9, write=False).outputs
    assert a["presharedKeys"] == b["presharedKeys"]
    assert _without_ids(a) == _without_ids(b)


def test_up_prints_a_summary_without_secrets(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["up", "--stack", "prod", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    keys = json.loads((state_dir / "prod" / "outputs.json").read_text())["presharedKeys"]
    assert not any(k in out for k in keys.values())
    for text in (
        "TransitHub",
        "Tunnels per datacenter router",
        "ash-edge1-hub",
        "tgw hub",
        "peering shared-dr",
        "Checked in the emulator's own state",
    ):
        assert text in out


def test_verification_reads_the_emulator_not_the_program() -> None:
    """Break the emulator's state after the run: the checks must notice."""
    cfg = load_stack("dev")
    plan = build_plan(cfg, "dev")
    with AwsEmulator(seed=1) as emu:
        outputs, _, _ = run_program(cfg, "dev", emu, seed=1)
        assert verify_emulator(emu, plan, outputs)[0] == []
        ec2 = emu.client("ec2", "us-east-1")
        rt = outputs["vpcs"]["app"]["routeTables"]["private"]
        ec2.disable_vgw_route_propagation(
            GatewayId=outputs["gateways"]["app-vgw"]["id"], RouteTableId=rt
        )
        sg = outputs["vpcs"]["app"]["securityGroups"]["data"]
        ec2.authorize_security_group_ingress(
            GroupId=sg,
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": 23,
                    "ToPort": 23,
                    "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
                }
            ],
        )
        failures, _ = verify_emulator(emu, plan, outputs)
    text = "\n".join(failures)
    assert "route table app/private" in text and "no propagation from VGW app-vgw" in text
    assert "security group app/data admits 0.0.0.0/0" in text


def test_psk_from_secret_config_stays_secret(
    state_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A key given through a (secret) config value reaches AWS and the outputs
    file, and nothing printed."""
    import yaml

    cfg = load_stack("dev")
    cfg["crossnet:t1"] = "ValidButShared_key1"
    cfg["crossnet:network"]["connections"]["dc1-edge1-app"]["tunnel1"] = {
        "presharedKeySecret": "t1"
    }
    (tmp_path / "Pulumi.psk.yaml").write_text(yaml.safe_dump({"config": cfg}))
    monkeypatch.setenv("CROSSNET_STACKS_DIR", str(tmp_path))
    assert main(["up", "--stack", "psk", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "ValidButShared_key1" not in out
    data = json.loads((state_dir / "psk" / "outputs.json").read_text())
    assert data["presharedKeys"]["dc1-edge1-app/1"] == "ValidButShared_key1"


def test_aws_rejection_is_reported_cleanly(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """When AWS refuses a resource: one clean screen, exit 1, nothing written."""
    from botocore.exceptions import ClientError

    from network.offline import mocks

    def refuse(self: object, i: dict, region: str, name: str) -> tuple[str, dict]:
        raise ClientError(
            {
                "Error": {
                    "Code": "CustomerGatewayLimitExceeded",
                    "Message": "too many customer gateways",
                }
            },
            "CreateCustomerGateway",
        )

    monkeypatch.setattr(mocks.MotoMocks, "_cgw", refuse)
    assert main(["up", "--stack", "dev"]) == 1
    err = capsys.readouterr().err
    assert "CustomerGatewayLimitExceeded: too many customer gateways" in err
    assert "dc1-edge1-cgw" in err and "Traceback" not in err
    assert not (state_dir / "dev" / "outputs.json").exists()


def test_mandatory_guardrail_stops_the_apply(
    state_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """IKEv1 is valid for AWS and for the plan, but not in prod: the same rule as
    the CrossGuard pack stops the offline apply, and nothing is written."""
    import yaml

    cfg = load_stack("prod")
    for conn in cfg["crossnet:network"]["connections"].values():
        conn["tunnelOptions"] = {**conn["tunnelOptions"], "ikeVersions": ["ikev1", "ikev2"]}
    (tmp_path / "Pulumi.prod.yaml").write_text(yaml.safe_dump({"config": cfg}))
    monkeypatch.setenv("CROSSNET_STACKS_DIR", str(tmp_path))
    assert main(["up", "--stack", "prod"]) == 1
    err = capsys.readouterr().err
    assert "mandatory guardrails failed for 'prod'" in err and "ikev1" in err.lower()
    assert not (state_dir / "prod" / "outputs.json").exists()


def _static_prod() -> dict[str, Any]:
    """prod with one of fra's two connections static: TGW static routes for 172.20.0.0/16."""
    cfg = load_stack("prod")
    cfg["crossnet:network"]["connections"]["fra-edge2-hub"]["routing"] = "static"
    return cfg


def test_tgw_static_routes_are_checked_in_the_emulator() -> None:
    cfg = _static_prod()
    plan = build_plan(cfg, "prod")
    tables = {t for t, _, _ in plan.transit["hub"].static_routes}
    assert tables == {"spokes", "shared"}  # the tables fra-edge2-hub propagates into
    with AwsEmulator(seed=3) as emu:
        outputs, _, _ = run_program(cfg, "prod", emu, seed=3)
        failures, checks = verify_emulator(emu, plan, outputs)
        assert failures == []
        assert any("and 2 static routes, as planned" in c for c in checks)
        ec2 = emu.client("ec2", "us-east-1")
        spokes = outputs["gateways"]["hub"]["routeTables"]["spokes"]["id"]
        ec2.delete_transit_gateway_route(
            TransitGatewayRouteTableId=spokes, DestinationCidrBlock="172.20.0.0/16"
        )
        failures, _ = verify_emulator(emu, plan, outputs)
    assert failures == [
        "TGW hub route table spokes: static route 172.20.0.0/16 via vpn:fra-edge2-hub missing"
    ]


def test_secure_psk_offline_comes_from_the_environment(
    state_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A `secure:` value cannot be decrypted offline: without CROSSNET_SECRET_<NAME>
    the apply refuses and says how to proceed; with it, the key is used, secret,
    and never printed."""
    import yaml

    cfg = load_stack("dev")
    cfg["crossnet:dc1-edge1-t1"] = {"secure": "v1:AAAABBBBccccDDDD"}
    cfg["crossnet:network"]["connections"]["dc1-edge1-app"]["tunnel1"] = {
        "presharedKeySecret": "dc1-edge1-t1"
    }
    (tmp_path / "Pulumi.sec.yaml").write_text(yaml.safe_dump({"config": cfg}))
    monkeypatch.setenv("CROSSNET_STACKS_DIR", str(tmp_path))
    monkeypatch.delenv("CROSSNET_SECRET_DC1_EDGE1_T1", raising=False)
    assert main(["up", "--stack", "sec"]) == 2
    err = capsys.readouterr().err
    assert "set CROSSNET_SECRET_DC1_EDGE1_T1 to the key" in err
    assert "leave presharedKeySecret out to have a key generated" in err
    assert not (state_dir / "sec").exists()  # nothing written, not even the directory

    monkeypatch.setenv("CROSSNET_SECRET_DC1_EDGE1_T1", "From_the_env.key1")
    assert main(["up", "--stack", "sec", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "From_the_env.key1" not in out
    data = json.loads((state_dir / "sec" / "outputs.json").read_text())
    assert data["presharedKeys"]["dc1-edge1-app/1"] == "From_the_env.key1"
    applied = (state_dir / "sec" / "applied.json").read_text()
    assert "From_the_env.key1" not in applied
    tunnel = json.loads(applied)["plan"]["connections"]["dc1-edge1-app"]["tunnels"]["1"]
    assert tunnel["psk"] == "config:crossnet:dc1-edge1-t1"

    monkeypatch.setenv("CROSSNET_SECRET_DC1_EDGE1_T1", "0bad")  # AWS's rules still hold
    assert main(["up", "--stack", "sec"]) == 2
    err = capsys.readouterr().err
    assert "<secret dc1-edge1-t1, 4 chars>" in err and "0bad" not in err


def test_plan_output_is_the_snapshot_and_holds_no_secret(state_dir: Path) -> None:
    """`crossnetPlan` is what `crossnet diff` needs from a real stack: the same
    snapshot the offline apply records, readable without --show-secrets."""
    from network.review.snapshot import plan_snapshot

    cfg = load_stack("dev")
    cfg["crossnet:t1"] = "ValidButShared_key1"
    cfg["crossnet:network"]["connections"]["dc1-edge1-app"]["tunnel1"] = {
        "presharedKeySecret": "t1"
    }
    with AwsEmulator(seed=4) as emu:
        outputs, secret, _ = run_program(cfg, "dev", emu, seed=4)
    assert "crossnetPlan" not in secret
    snap = outputs["crossnetPlan"]
    assert snap == json.loads(json.dumps(plan_snapshot(build_plan(cfg, "dev"))))
    text = json.dumps(snap)
    keys = list(outputs["presharedKeys"].values())
    assert len(keys) == 2 and not any(k in text for k in keys)
    assert parse_outputs(outputs, "test").plan == snap
    older = {k: v for k, v in outputs.items() if k != "crossnetPlan"}
    assert parse_outputs(older, "test").plan is None  # an older stack's outputs still parse


def test_warnings_are_printed_with_the_summary(
    state_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A rule into a VPC the datacenter cannot reach is legal but useless: said."""
    import yaml

    cfg = load_stack("staging")
    cfg["crossnet:network"]["vpcs"]["data"]["ingress"] = [
        {"from": ["10.144.8.0/22"], "tiers": ["db"], "tcp": [5432]}
    ]
    (tmp_path / "Pulumi.staging.yaml").write_text(yaml.safe_dump({"config": cfg}))
    monkeypatch.setenv("CROSSNET_STACKS_DIR", str(tmp_path))
    assert main(["up", "--stack", "staging", "--seed", "1"]) == 0
    out = " ".join(capsys.readouterr().out.split())  # lines wrap at the terminal's width
    assert "Warnings (1)" in out
    assert "vpcs.data.ingress[0].from[0]: 10.144.8.0/22 (admits traffic that cannot arrive" in out


def test_backend_refusals_reach_the_user_as_aws_errors() -> None:
    """Resources made through moto's backend methods (subnets, rules, routes) are
    refused as the EC2 API would refuse them, with AWS's error code."""
    from pulumi.runtime import MockResourceArgs

    from network.offline.mocks import MotoMocks, OfflineApplyError

    with AwsEmulator(seed=3) as emu:
        m = MotoMocks(emu, "us-east-1")

        def make(typ: str, name: str, inputs: dict[str, Any]) -> str:
            rid, _state = m.new_resource(MockResourceArgs(f"aws:{typ}", name, inputs, custom=True))
            return rid

        vpc = make("ec2/vpc:Vpc", "v", {"cidrBlock": "10.9.0.0/16"})
        make(
            "ec2/subnet:Subnet",
            "ok",
            {"vpcId": vpc, "cidrBlock": "10.9.0.0/24", "availabilityZone": "us-east-1a"},
        )
        sg = make("ec2/securityGroup:SecurityGroup", "sg", {"vpcId": vpc, "name": "sg"})
        cases: list[tuple[str, dict[str, Any], str]] = [
            (
                "ec2/subnet:Subnet",
                {"vpcId": vpc, "cidrBlock": "10.10.0.0/24", "availabilityZone": "us-east-1a"},
                "InvalidSubnet.Range",
            ),
            (
                "ec2/subnet:Subnet",
                {"vpcId": vpc, "cidrBlock": "10.9.0.0/25", "availabilityZone": "us-east-1a"},
                "InvalidSubnet.Conflict",
            ),
            (
                "ec2/route:Route",
                {
                    "routeTableId": "rtb-00000000",
                    "destinationCidrBlock": "10.128.0.0/16",
                    "gatewayId": "vgw-1",
                },
                "InvalidRouteTableID.NotFound",
            ),
            (
                "vpc/securityGroupIngressRule:SecurityGroupIngressRule",
                {
                    "securityGroupId": sg,
                    "ipProtocol": "tcp",
                    "fromPort": 443,
                    "toPort": 443,
                    "cidrIpv4": "10.128.0.0/33",
                },
                "InvalidParameterValue",
            ),
        ]
        for n, (typ, inputs, code) in enumerate(cases):
            with pytest.raises(OfflineApplyError, match=rf"AWS said {re.escape(code)}: "):
                make(typ, f"bad{n}", inputs)
        ec2 = emu.client("ec2", "us-east-1")
        subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]
        assert [s["CidrBlock"] for s in subnets] == ["10.9.0.0/24"]  # nothing half-made
        egress = ec2.describe_security_groups(GroupIds=[sg])["SecurityGroups"][0]
        assert egress["IpPermissionsEgress"] == []  # the default allow-all is dropped
