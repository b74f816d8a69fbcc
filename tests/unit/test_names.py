"""`planned_resources` (pure) names exactly what the components declare.

The plan refuses two resources with one URN before anything is declared; that
is only as good as its list of what the program declares, so the list is
checked here against the components themselves, under plain mocks, for every
example stack and for the shapes the examples lack (a router in two regions,
static routing on a VGW and on a TGW).
"""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from network.plan import build_plan, planned_resources
from tests.conftest import EXAMPLE_STACKS, load_stack


class EchoMocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        state: dict[str, Any] = {}
        if args.typ == "aws:ec2/vpnConnection:VpnConnection":
            for n in (1, 2):
                state |= {
                    f"tunnel{n}Address": f"198.51.100.{n}",
                    f"tunnel{n}BgpAsn": "64512",
                    f"tunnel{n}BgpHoldtime": 30,
                    f"tunnel{n}InsideCidr": "169.254.9.0/30",
                    f"tunnel{n}CgwInsideAddress": "169.254.9.2",
                    f"tunnel{n}VgwInsideAddress": "169.254.9.1",
                }
        if args.typ == "random:index/randomPassword:RandomPassword":
            state["result"] = "GeneratedTestKeyabcdefghijklmnop"
        return f"{args.name}-id", {**args.inputs, **state}

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
        return {}, None


def declared(cfg: dict[str, Any], stack: str) -> list[tuple[str, str]]:
    """(URN type, name) of every resource the program declares, stack excluded."""
    from pulumi.runtime import settings
    from pulumi.runtime.mocks import MockMonitor
    from pulumi.runtime.stack import wait_for_rpcs
    from pulumi.runtime.sync_await import _sync_await

    mocks = EchoMocks()
    monitor = MockMonitor(mocks)
    settings.set_root_resource(None)  # type: ignore[arg-type]
    pulumi.runtime.set_mocks(mocks, project="crossnet", stack=stack, preview=False, monitor=monitor)
    settings.SETTINGS.rpc_manager.clear()  # nothing of an earlier test is awaited here
    settings.SETTINGS.outputs.clear()
    from network.program import declare

    declare(build_plan(cfg, stack))
    _sync_await(wait_for_rpcs())
    out = []
    for urn in monitor.resources:
        typ, name = urn.split("::")[2], urn.split("::")[3]
        if typ != "pulumi:pulumi:Stack":
            out.append((typ.removeprefix("pulumi:pulumi:Stack$"), name))
    return out


def _two_regions() -> dict[str, Any]:
    """dev's router also connects to a VGW on a VPC in another region."""
    cfg = load_stack("dev")
    net = cfg["crossnet:network"]
    net["vpcs"]["west"] = {
        "region": "us-west-2",
        "cidr": "10.17.0.0/16",
        "azs": ["us-west-2a"],
        "tiers": {"app": {"prefixLength": 24}},
    }
    net["vpnGateways"]["west-vgw"] = {"vpc": "west"}
    net["connections"]["dc1-edge1-west"] = {
        "router": "dc1/edge1",
        "gateway": "west-vgw",
        "routing": "static",
    }
    return cfg


def _static_tgw() -> dict[str, Any]:
    cfg = load_stack("prod")
    cfg["crossnet:network"]["connections"]["fra-edge2-hub"]["routing"] = "static"
    return cfg


CASES = [(s, lambda s=s: load_stack(s)) for s in EXAMPLE_STACKS] + [
    ("dev", _two_regions),
    ("prod", _static_tgw),
]


@pytest.mark.parametrize(
    ("stack", "make"), CASES, ids=[*EXAMPLE_STACKS, "router-in-two-regions", "static-tgw"]
)
def test_planned_resources_are_what_the_program_declares(stack: str, make: Any) -> None:
    cfg = make()
    planned = [(r.type, r.name) for r in planned_resources(build_plan(cfg, stack))]
    got = declared(cfg, stack)
    assert len(planned) == len(set(planned))  # the plan's own list has no duplicate
    assert sorted(planned) == sorted(got)


def test_a_router_in_two_regions_gets_two_customer_gateways() -> None:
    """The customer gateway is named after its component (router key and region):
    one name for both would be a duplicate URN the engine refuses."""
    names = sorted(
        n
        for t, n in declared(_two_regions(), "dev")
        if t.endswith("aws:ec2/customerGateway:CustomerGateway")
    )
    assert names == ["dc1-edge1-cgw", "dc1-edge1-us-west-2-cgw"]
