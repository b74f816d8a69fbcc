"""The components under plain Pulumi mocks (no emulator): what is declared,
with which inputs, and that secrets stay secret. The mocks are installed and
the program is built inside fixtures; every output assertion runs under
@pulumi.runtime.test so that a failing assertion fails the test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pulumi
import pytest

from network.plan import Plan, build_plan
from tests.conftest import load_stack


class RecordingMocks(pulumi.runtime.Mocks):
    """Echo inputs back (so they resolve), give fake ids, remember every resource."""

    def __init__(self) -> None:
        self.resources: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources.append(args)
        state: dict[str, Any] = {}
        if args.typ == "aws:ec2/vpnConnection:VpnConnection":
            for n in (1, 2):
                state |= {
                    f"tunnel{n}Address": f"198.51.100.{n}",
                    f"tunnel{n}CgwInsideAddress": "169.254.10.2",
                    f"tunnel{n}VgwInsideAddress": "169.254.10.1",
                    f"tunnel{n}BgpAsn": "64512",
                    f"tunnel{n}BgpHoldtime": 30,
                }
            state["transitGatewayAttachmentId"] = "tgw-attach-1"
        if args.typ == "random:index/randomPassword:RandomPassword":
            state["result"] = "GeneratedTestKeyabcdefghijklmnop"
        return f"{args.name}-id", {**args.inputs, **state}

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
        return {}, None

    def of_type(self, typ: str) -> list[pulumi.runtime.MockResourceArgs]:
        return [r for r in self.resources if r.typ == typ]


def _declare(stack: str) -> tuple[RecordingMocks, Plan, dict[str, Any]]:
    mocks = RecordingMocks()
    from pulumi.runtime import settings

    settings.set_root_resource(None)  # type: ignore[arg-type]
    pulumi.runtime.set_mocks(mocks, project="crossnet", stack=stack, preview=False)
    from network.program import declare  # imported after set_mocks, as in the real runtime

    plan = build_plan(load_stack(stack), stack)
    outputs = declare(plan)
    settle()
    return mocks, plan, outputs


def settle() -> None:
    """Wait until every registration the program started has completed."""
    from pulumi.runtime.stack import wait_for_rpcs
    from pulumi.runtime.sync_await import _sync_await

    _sync_await(wait_for_rpcs())


def resolve(value: Any) -> tuple[Any, bool]:
    """An output's value and whether it is secret (the program has settled)."""
    from pulumi.runtime.sync_await import _sync_await

    out = pulumi.Output.from_input(value)
    return _sync_await(out.future()), bool(_sync_await(out.is_secret()))


@pytest.fixture
def dev() -> Iterator[tuple[RecordingMocks, Plan, dict[str, Any]]]:
    yield _declare("dev")


@pytest.fixture
def prod() -> Iterator[tuple[RecordingMocks, Plan, dict[str, Any]]]:
    yield _declare("prod")


@pulumi.runtime.test
def test_dev_declares_each_concept(dev: tuple[RecordingMocks, Plan, dict[str, Any]]) -> Any:
    mocks, plan, outputs = dev

    def check(_: Any) -> None:
        types = {r.typ for r in mocks.resources}
        for token in (
            "crossnet:network:Vpc",
            "crossnet:network:VpnGateway",
            "crossnet:network:CustomerGateway",
            "crossnet:network:SiteToSiteVpn",
            "crossnet:network:Routing",
        ):
            assert token in types
        assert len(mocks.of_type("aws:ec2/subnet:Subnet")) == 4
        # one propagation per route table, declared once (no flip-flop)
        assert (
            len(mocks.of_type("aws:ec2/vpnGatewayRoutePropagation:VpnGatewayRoutePropagation")) == 2
        )
        (vpn,) = mocks.of_type("aws:ec2/vpnConnection:VpnConnection")
        i = vpn.inputs
        assert i["tunnel1InsideCidr"] == str(plan.connections[0].tunnels[0].inside_cidr)
        assert i["tunnel1IkeVersions"] == ["ikev2"] and i["tunnel2Phase1DhGroupNumbers"] == [20]
        assert i["tunnel1StartupAction"] == "start" and i["tunnel1DpdTimeoutAction"] == "restart"
        assert i["staticRoutesOnly"] is False
        # names come from the naming function, keyed by stable names
        assert vpn.name == "dc1-edge1-app-vpn"
        assert {r.name for r in mocks.of_type("aws:ec2/subnet:Subnet")} == {
            "app-private-us-east-1a-subnet",
            "app-private-us-east-1b-subnet",
            "app-data-us-east-1a-subnet",
            "app-data-us-east-1b-subnet",
        }

    return outputs["routers"].apply(check)


def test_generated_psks_follow_aws_rules(dev: tuple[RecordingMocks, Plan, dict[str, Any]]) -> None:
    mocks, _, _ = dev
    pws = mocks.of_type("random:index/randomPassword:RandomPassword")
    assert len(pws) == 2
    for pw in pws:
        assert pw.inputs["length"] == 32 and pw.inputs["special"] is False
        assert pw.inputs["numeric"] is False  # letters only: never a leading '0'


def test_psks_are_secret_outputs(dev: tuple[RecordingMocks, Plan, dict[str, Any]]) -> None:
    _, _, outputs = dev
    value, is_secret = resolve(outputs["presharedKeys"])
    assert is_secret
    assert sorted(value) == ["dc1-edge1-app/1", "dc1-edge1-app/2"]


def test_routers_output_is_not_secret(dev: tuple[RecordingMocks, Plan, dict[str, Any]]) -> None:
    _, _, outputs = dev
    value, is_secret = resolve(outputs["routers"])
    assert not is_secret  # reviewable with a plain `pulumi stack output`
    t1 = value["dc1-edge1"]["connections"][0]["tunnels"][0]
    assert t1["presharedKeyRef"] == "dc1-edge1-app/1" and "presharedKey" not in t1
    assert t1["awsOutsideIp"] == "198.51.100.1" and t1["customerOutsideIp"] == "192.0.2.10"


@pulumi.runtime.test
def test_security_groups_admit_only_planned_flows(
    dev: tuple[RecordingMocks, Plan, dict[str, Any]],
) -> Any:
    mocks, _, outputs = dev

    def check(_: Any) -> None:
        rules = mocks.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        cidrs = {r.inputs.get("cidrIpv4") for r in rules if r.inputs.get("cidrIpv4")}
        assert cidrs == {"10.128.0.0/16", "10.128.10.0/24"}
        assert "0.0.0.0/0" not in cidrs
        ports = sorted(
            (r.inputs["ipProtocol"], r.inputs.get("fromPort"))
            for r in rules
            if r.inputs.get("cidrIpv4")
        )
        assert ports == [("icmp", -1), ("tcp", 22), ("tcp", 443), ("tcp", 5432), ("tcp", 8080)]

    return outputs["routers"].apply(check)


@pulumi.runtime.test
def test_prod_transit_hub(prod: tuple[RecordingMocks, Plan, dict[str, Any]]) -> Any:
    mocks, _plan, outputs = prod

    def check(_: Any) -> None:
        (tgw,) = mocks.of_type("aws:ec2transitgateway/transitGateway:TransitGateway")
        assert tgw.inputs["vpnEcmpSupport"] == "enable"
        assert tgw.inputs["defaultRouteTableAssociation"] == "disable"
        assoc = mocks.of_type("aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation")
        assert len(assoc) == 4 + 4  # four VPC and four VPN attachments, one association each
        regions = {
            r.inputs.get("region") for r in mocks.resources if r.typ == "pulumi:providers:aws"
        }
        assert regions == {"us-east-1", "us-west-2"}
        (accepter,) = mocks.of_type(
            "aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter"
        )
        assert accepter.inputs["autoAccept"] is True

    return outputs["routers"].apply(check)


def test_a_failing_assertion_inside_apply_fails() -> None:
    """Guard against the mock pitfall: the decorator must surface failures in apply."""

    @pulumi.runtime.test
    def wrong() -> Any:
        return pulumi.Output.from_input(1).apply(lambda v: _fail(v))

    with pytest.raises(AssertionError):
        wrong()


def _fail(value: int) -> None:
    assert value == 2
