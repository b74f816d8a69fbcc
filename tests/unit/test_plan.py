"""The address plan: example stacks, allocation rules and properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from netaddr import IPNetwork

from network import aws_rules as aws
from network.allocate import AllocationError, allocate_subnets, inside_cidr_for, inside_slots
from network.errors import ConfigError
from network.plan import build_plan
from tests.conftest import EXAMPLE_STACKS, load_stack


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_example_stacks_plan(stack: str) -> None:
    plan = build_plan(load_stack(stack), stack)
    assert plan.connections
    for v in plan.vpcs.values():
        for s in v.subnets:
            assert s.cidr in v.spec.cidr
    for c in plan.connections:
        for t in c.tunnels:
            assert t.inside_cidr.prefixlen == 30 and t.inside_cidr in aws.INSIDE_V4_SUPERNET
            assert not aws.is_reserved_inside_cidr(t.inside_cidr)
            assert t.aws_inside == t.inside_cidr[1] and t.customer_inside == t.inside_cidr[2]
        assert c.tunnels[0].inside_cidr != c.tunnels[1].inside_cidr
        assert c.accept and c.announce


def test_dev_plan_details() -> None:
    plan = build_plan(load_stack("dev"), "dev")
    (c,) = plan.connections
    assert c.gateway_type == "vgw" and c.redundancy == "active-standby"
    assert [t.preference for t in c.tunnels] == ["primary", "secondary"]
    assert [str(p) for p in c.accept] == ["10.16.0.0/16"]
    assert [str(p) for p in c.announce] == ["10.128.0.0/16"]
    subnets = {(s.tier, s.az): str(s.cidr) for s in plan.vpcs["app"].subnets}
    # largest tier first, AZs in name order, each tier one aligned block
    assert subnets[("private", "us-east-1a")] == "10.16.0.0/20"
    assert subnets[("private", "us-east-1b")] == "10.16.16.0/20"
    assert subnets[("data", "us-east-1a")] == "10.16.32.0/22"


def test_prod_tgw_ecmp_and_route_tables() -> None:
    plan = build_plan(load_stack("prod"), "prod")
    assert {c.redundancy for c in plan.connections} == {"ecmp"}
    assert all(t.preference == "equal" for c in plan.connections for t in c.tunnels)
    hub = plan.transit["hub"]
    assert hub.association["vpn:ash-edge1-hub"] == "onprem"
    onprem = next(r for r in hub.route_tables if r.name == "onprem")
    assert "vpn:*" not in onprem.associations  # expanded to the real connections
    assert len(onprem.associations) == 4
    routes = {(r.vpc, str(r.destination), r.target) for r in plan.vpc_routes}
    assert ("app", "10.128.0.0/16", "hub") in routes
    assert ("dr", "10.0.0.0/16", "shared-dr") in routes and (
        "shared",
        "10.8.0.0/16",
        "shared-dr",
    ) in routes
    # the DR VPC is not on the hub: peering is not transitive
    assert not any(r.vpc == "dr" and r.target == "hub" for r in plan.vpc_routes)


def test_staging_static_and_explicit_subnets() -> None:
    plan = build_plan(load_stack("staging"), "staging")
    (c,) = plan.connections
    assert c.spec.routing == "static"
    assert str(c.tunnels[0].inside_cidr) == "169.254.20.0/30"
    assert {str(s.cidr) for s in plan.vpcs["data"].subnets} == {"10.33.0.0/24", "10.33.1.0/24"}


def test_plan_is_deterministic() -> None:
    a = build_plan(load_stack("prod"), "prod")
    b = build_plan(load_stack("prod"), "prod")
    assert [(c.name, [t.inside_cidr for t in c.tunnels]) for c in a.connections] == [
        (c.name, [t.inside_cidr for t in c.tunnels]) for c in b.connections
    ]
    assert {k: v.subnets for k, v in a.vpcs.items()} == {k: v.subnets for k, v in b.vpcs.items()}


def test_adding_a_vpc_router_and_connection_moves_nothing() -> None:
    before = build_plan(load_stack("dev"), "dev")
    cfg = load_stack("dev")
    net = cfg["crossnet:network"]
    net["vpcs"]["aaa"] = {
        "cidr": "10.17.0.0/16",
        "azs": ["us-east-1a"],
        "tiers": {"a": {"prefixLength": 24}},
    }
    net["vpnGateways"]["aaa-vgw"] = {"vpc": "aaa"}
    net["datacenters"]["dc1"]["routers"]["edge0"] = {"publicIp": "192.0.2.9", "platform": "linux"}
    net["connections"]["a-first"] = {"router": "dc1/edge0", "gateway": "aaa-vgw", "routing": "bgp"}
    after = build_plan(cfg, "dev")
    old = {c.name: [t.inside_cidr for t in c.tunnels] for c in before.connections}
    new = {c.name: [t.inside_cidr for t in c.tunnels] for c in after.connections}
    assert all(new[k] == v for k, v in old.items())
    assert after.vpcs["app"].subnets == before.vpcs["app"].subnets


# ---------------------------------------------------------------- properties
names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=20)


@settings(max_examples=200, deadline=None)
@given(st.lists(names, min_size=1, max_size=30, unique=True), names)
def test_inside_cidrs_property(conns: list[str], extra: str) -> None:
    """Inside /30s: inside 169.254/16, never reserved, deterministic, and a
    connection's CIDRs depend on its own name only (additions move nothing)."""
    alloc = {(c, n): inside_cidr_for(c, n) for c in conns for n in (1, 2)}
    for cidr in alloc.values():
        assert cidr in aws.INSIDE_V4_SUPERNET and cidr.prefixlen == 30
        assert not aws.is_reserved_inside_cidr(cidr)
        assert cidr not in IPNetwork("169.254.169.0/24")
    for c in conns:
        assert alloc[(c, 1)] != alloc[(c, 2)]
        assert IPNetwork(f"{alloc[(c, 1)].ip}/29").cidr == IPNetwork(f"{alloc[(c, 2)].ip}/29").cidr
    again = {(c, n): inside_cidr_for(c, n) for c in [*conns, extra] for n in (1, 2)}
    assert all(again[k] == v for k, v in alloc.items())


def test_inside_slot_space() -> None:
    slots = inside_slots()
    assert len(slots) > 7000  # ample room: a collision among 20 tunnels is ~1%
    assert all(not aws.is_reserved_inside_cidr(s) for s in slots)


tiers_strategy = st.dictionaries(
    st.text(alphabet="abcdefgh", min_size=1, max_size=6),
    st.integers(min_value=20, max_value=28),
    min_size=1,
    max_size=5,
)


@settings(max_examples=200, deadline=None)
@given(
    tiers_strategy, st.integers(min_value=1, max_value=4), st.integers(min_value=16, max_value=18)
)
def test_subnet_allocator_property(tiers: dict[str, int], n_azs: int, vpc_len: int) -> None:
    """Subnets: no overlaps, all inside the VPC, deterministic, one per tier and AZ."""
    vpc = IPNetwork(f"10.0.0.0/{vpc_len}")
    azs = [f"us-east-1{c}" for c in "abcd"[:n_azs]]
    per_block = 1 << (n_azs - 1).bit_length()
    needed = sum(per_block * 2 ** (32 - plen) for plen in tiers.values())
    if needed > vpc.size:
        # largest-first aligned placement packs perfectly, so it fails only when
        # the tiers really do not fit, and then says so
        with pytest.raises(AllocationError):
            allocate_subnets(vpc, azs, tiers)
        return
    out = allocate_subnets(vpc, azs, tiers)
    assert out == allocate_subnets(vpc, list(reversed(azs)), dict(reversed(list(tiers.items()))))
    assert set(out) == {(t, az) for t in tiers for az in azs}
    cidrs = list(out.values())
    for i, a in enumerate(cidrs):
        assert a in vpc and a.prefixlen == tiers[next(t for (t, _), c in out.items() if c == a)]
        for b in cidrs[i + 1 :]:
            assert a not in b and b not in a


def test_allocation_that_does_not_fit_is_reported() -> None:
    cfg = load_stack("dev")
    cfg["crossnet:network"]["vpcs"]["app"]["tiers"]["huge"] = {"prefixLength": 17}
    with pytest.raises(ConfigError) as e:
        build_plan(cfg, "dev")
    assert "no free aligned" in e.value.render()
