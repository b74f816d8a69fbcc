"""The address plan: example stacks, allocation rules and properties."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from netaddr import IPNetwork

from network import aws_rules as aws
from network.allocate import (
    inside_cidr_for,
)
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


def test_allocation_that_does_not_fit_is_reported() -> None:
    cfg = load_stack("dev")
    cfg["crossnet:network"]["vpcs"]["app"]["tiers"]["huge"] = {"prefixLength": 17}
    with pytest.raises(ConfigError) as e:
        build_plan(cfg, "dev")
    assert "no free aligned" in e.value.render()


def test_today_examples_keep_their_subnets() -> None:
    """The AZ-letter slots give the example stacks the subnets they always had."""
    dev = {
        (s.tier, s.az): str(s.cidr)
        for s in build_plan(load_stack("dev"), "dev").vpcs["app"].subnets
    }
    assert dev == {
        ("private", "us-east-1a"): "10.16.0.0/20",
        ("private", "us-east-1b"): "10.16.16.0/20",
        ("data", "us-east-1a"): "10.16.32.0/22",
        ("data", "us-east-1b"): "10.16.36.0/22",
    }
    shared = {
        (s.tier, s.az): str(s.cidr)
        for s in build_plan(load_stack("prod"), "prod").vpcs["shared"].subnets
    }
    assert shared[("private", "us-east-1c")] == "10.0.32.0/20"
    assert shared[("transit", "us-east-1c")] == "10.0.64.32/28"


def test_adding_an_az_into_reserved_room_moves_nothing() -> None:
    """dev has two AZs in blocks of two: a third AZ doubles the blocks and moves
    the data tier, unless azSlots reserved the room beforehand."""

    def data_a(azs: list[str], slots: int | None) -> str:
        cfg = load_stack("dev")
        app = cfg["crossnet:network"]["vpcs"]["app"]
        app["azs"] = azs
        if slots:
            app["azSlots"] = slots
        plan = build_plan(cfg, "dev")
        return next(
            str(s.cidr)
            for s in plan.vpcs["app"].subnets
            if (s.tier, s.az) == ("data", "us-east-1a")
        )

    two, three = ["us-east-1a", "us-east-1b"], ["us-east-1a", "us-east-1b", "us-east-1c"]
    assert data_a(two, None) != data_a(three, None)  # why the plan warns (below)
    assert data_a(two, 4) == data_a(three, 4) == data_a([*three, "us-east-1d"], 4)


def test_a_move_against_the_last_apply_is_a_warning_naming_old_and_new() -> None:
    from network.review.snapshot import plan_snapshot

    previous = plan_snapshot(build_plan(load_stack("dev"), "dev"))
    cfg = load_stack("dev")
    cfg["crossnet:network"]["vpcs"]["app"]["azs"].append("us-east-1c")
    plan = build_plan(cfg, "dev", previous=previous)
    moved = [w for w in plan.warnings if "moves a subnet of the last apply" in w.rule]
    assert {w.value for w in moved} >= {"us-east-1a 10.16.32.0/22 -> 10.16.64.0/22"}
    assert all(w.field.startswith("crossnet:network.vpcs.app.tiers.") for w in moved)
    assert build_plan(load_stack("dev"), "dev", previous=previous).warnings == ()


# ---------------------------------------------------------------- inside CIDRs
@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True), min_size=2, max_size=24, unique=True
    )
)
def test_inside_cidrs_never_overlap_across_connections(conns: list[str]) -> None:
    """Any set of connections on one gateway: the plan either gives every tunnel
    its own /30, or refuses, naming both connections and a free /29 to pin."""
    cfg = load_stack("prod")
    net = cfg["crossnet:network"]
    net["connections"] = {
        c: {"router": ("ash/edge1", "fra/edge1")[i % 2], "gateway": "hub", "routing": "bgp"}
        for i, c in enumerate(conns)
    }
    for dc in ("ash", "fra"):
        net["datacenters"][dc]["routers"].pop("edge2")
    try:
        plan = build_plan(cfg, "prod")
    except ConfigError as e:
        text = e.render()
        assert "hash to the same /29" in text and "(free)" in text
        return
    cidrs = [t.inside_cidr for c in plan.connections for t in c.tunnels]
    assert len(cidrs) == 2 * len(conns)
    for i, a in enumerate(cidrs):
        for b in cidrs[i + 1 :]:
            assert a not in b and b not in a


def _colliding_pair() -> tuple[str, str]:
    seen: dict[IPNetwork, str] = {}
    for i in range(100000):
        name = f"c{i}"
        block = inside_cidr_for(name, 1)
        if block in seen:
            return seen[block], name
        seen[block] = name
    raise AssertionError("no collision found")


def _two_connections(first: str, second: str) -> dict[str, object]:
    cfg = load_stack("dev")
    net = cfg["crossnet:network"]
    net["datacenters"]["dc1"]["routers"]["edge2"] = {"publicIp": "192.0.2.12", "platform": "linux"}
    net["connections"] = {
        first: {"router": "dc1/edge1", "gateway": "app-vgw", "routing": "bgp"},
        second: {"router": "dc1/edge2", "gateway": "app-vgw", "routing": "bgp"},
    }
    return cfg


def test_a_hash_collision_names_both_and_says_to_pin_the_new_one() -> None:
    from network.review.snapshot import plan_snapshot

    live, new = _colliding_pair()
    # Without a record of the last apply: both named, advice for either.
    with pytest.raises(ConfigError) as e:
        build_plan(_two_connections(live, new), "dev")
    text = e.value.render()
    assert f"{new} and {live} hash to the same /29" in text
    assert f"If {new} is the one being added, pin it: tunnel1 insideCidr" in text
    assert f"if {live} is, pin that one instead" in text
    # With the last apply (only `live` existed): the new one is blamed, whatever
    # the names' order, and the suggested /30s are free and really fix it.
    alone = _two_connections(live, new)
    del alone["crossnet:network"]["connections"][new]  # type: ignore[index]
    alone["crossnet:network"]["datacenters"]["dc1"]["routers"].pop("edge2")  # type: ignore[index]
    previous = plan_snapshot(build_plan(alone, "dev"))
    for order in ((live, new), (new, live)):
        with pytest.raises(ConfigError) as e:
            build_plan(_two_connections(*order), "dev", previous=previous)
        (problem,) = e.value.problems
        assert problem.field == f"crossnet:network.connections.{new}.tunnel1.insideCidr"
        assert f"{new} is new and {live} live: pin {new}" in problem.rule
    first, second = (
        part.split()[0] for part in problem.rule.split("tunnel1 insideCidr ")[1].split(", tunnel2 ")
    )
    fixed = _two_connections(live, new)
    fixed["crossnet:network"]["connections"][new]["tunnel1"] = {"insideCidr": first}  # type: ignore[index]
    fixed["crossnet:network"]["connections"][new]["tunnel2"] = {"insideCidr": second}  # type: ignore[index]
    plan = build_plan(fixed, "dev", previous=previous)
    got = {c.name: [str(t.inside_cidr) for t in c.tunnels] for c in plan.connections}
    assert got[new] == [first, second]
    tunnels = previous["connections"][live]["tunnels"]
    assert got[live] == [tunnels["1"]["insideCidr"], tunnels["2"]["insideCidr"]]  # untouched


# ---------------------------------------------------------------- secrets mode
def test_review_mode_plans_without_the_secret_and_never_declares() -> None:
    """need_secrets=False: a `secure:` key is recorded by name, its rules left to
    the apply (a warning says so); such a plan cannot reach the components."""
    from network.program import _unread_secrets

    cfg = load_stack("dev")
    cfg["crossnet:t1"] = {"secure": "v1:abcdefgh"}
    cfg["crossnet:network"]["connections"]["dc1-edge1-app"]["tunnel1"] = {
        "presharedKeySecret": "t1"
    }
    with pytest.raises(ConfigError) as e:
        build_plan(cfg, "dev")  # the default needs the value
    assert "set CROSSNET_SECRET_T1 to the key" in e.value.render()
    plan = build_plan(cfg, "dev", need_secrets=False)
    (c,) = plan.connections
    assert c.spec.tunnels[0].psk is None and c.spec.tunnels[0].psk_source == "crossnet:t1"
    (w,) = plan.warnings
    assert w.field.endswith("tunnel1.presharedKeySecret")
    assert "not read here: AWS's key rules are checked when it is applied" in w.rule
    refused = _unread_secrets(plan)
    assert refused is not None and "was not read" in refused.render()
    assert _unread_secrets(build_plan(load_stack("dev"), "dev")) is None


def test_rekey_margin_default_is_awss_in_code_and_docs() -> None:
    """AWS's API reference: RekeyMarginTimeSeconds defaults to 270. The plan,
    the emulator and both documents say the same."""
    import re

    from tests.conftest import ROOT

    assert aws.REKEY_MARGIN_DEFAULT == 270
    (c,) = build_plan(load_stack("dev"), "dev").connections  # dev sets no margin
    assert c.options.rekey_margin == 270
    contract = (ROOT / "docs" / "contract.md").read_text()
    config = (ROOT / "docs" / "config.md").read_text()
    assert re.findall(r'"rekeyMarginSeconds": (\d+)', contract) == ["270"]
    assert re.findall(r"rekeyMarginSeconds: (\d+)", config) == ["270"]


# ---------------------------------------------------------------- customer ASNs
@pytest.mark.parametrize("asn", [4200000000, 4200000001, 4294967294, 2147483648, 4294967295])
def test_four_byte_customer_asns_plan(asn: int) -> None:
    """4-byte ASNs (RFC 6996's private 4200000000-4294967294, and anything AWS
    takes as bgpAsnExtended) plan like any other."""
    cfg = load_stack("dev")
    cfg["crossnet:network"]["datacenters"]["dc1"]["asn"] = asn
    plan = build_plan(cfg, "dev")
    (c,) = plan.connections
    assert c.datacenter.asn == asn
    assert aws.customer_asn_field(asn) == "bgpAsnExtended"
    assert aws.customer_asn_field(2147483647) == "bgpAsn"


@pytest.mark.parametrize(
    ("stack", "asn", "where"),
    [
        ("dev", 7224, "in every region"),  # us-east-1
        ("staging", 7224, "in every region"),  # eu-west-1
        ("staging", 9059, "in eu-west-1"),
    ],
)
def test_reserved_customer_asns_are_refused(stack: str, asn: int, where: str) -> None:
    cfg = load_stack(stack)
    dc = next(iter(cfg["crossnet:network"]["datacenters"]))
    cfg["crossnet:network"]["datacenters"][dc]["asn"] = asn
    with pytest.raises(ConfigError) as e:
        build_plan(cfg, stack)
    text = e.value.render()
    assert f"crossnet:network.datacenters.{dc}.asn: {asn} (AWS reserves ASN {asn} {where}" in text


@pytest.mark.parametrize("asn", [23456, 65535, 4294967295])
def test_asns_the_ietf_reserves_are_a_warning(asn: int) -> None:
    cfg = load_stack("dev")
    cfg["crossnet:network"]["datacenters"]["dc1"]["asn"] = asn
    plan = build_plan(cfg, "dev")
    (w,) = plan.warnings
    assert (w.field, w.value) == ("crossnet:network.datacenters.dc1.asn", str(asn))
    assert "AWS takes it, routers may not" in w.rule
    assert build_plan(load_stack("dev"), "dev").warnings == ()


def test_an_asn_reserved_elsewhere_is_fine_here() -> None:
    cfg = load_stack("dev")  # us-east-1: 9059 is reserved in eu-west-1 only
    cfg["crossnet:network"]["datacenters"]["dc1"]["asn"] = 9059
    assert build_plan(cfg, "dev").connections[0].datacenter.asn == 9059


def test_the_reserved_asn_table() -> None:
    """As AWS's Site-to-Site VPN guide lists them (cgw-options.html)."""
    reserved = {
        (asn, region)
        for asn in (7224, 9059, 10124, 17943, 65000)
        for region in ("us-east-1", "eu-west-1", "ap-northeast-1", "ap-southeast-1", "sa-east-1")
        if aws.reserved_customer_asn(asn, region)
    }
    everywhere = {(7224, r) for r in ("us-east-1", "eu-west-1", "ap-northeast-1")}
    assert reserved == everywhere | {
        (7224, "ap-southeast-1"),
        (7224, "sa-east-1"),
        (9059, "eu-west-1"),
        (10124, "ap-northeast-1"),
        (17943, "ap-southeast-1"),
    }


def test_acceleration_needs_a_transit_gateway() -> None:
    """EnableAcceleration: transit gateway connections only (a VGW's is refused), a bool."""
    prod = load_stack("prod")
    prod["crossnet:network"]["connections"]["fra-edge1-hub"]["acceleration"] = True
    plan = build_plan(prod, "prod")
    assert next(c for c in plan.connections if c.name == "fra-edge1-hub").spec.acceleration
    dev = load_stack("dev")
    dev["crossnet:network"]["connections"]["dc1-edge1-app"]["acceleration"] = True
    with pytest.raises(ConfigError) as e:
        build_plan(dev, "dev")
    [p] = e.value.problems
    assert p.field == "crossnet:network.connections.dc1-edge1-app.acceleration"
    assert "transit gateway" in p.rule and "app-vgw" in p.rule
    dev["crossnet:network"]["connections"]["dc1-edge1-app"]["acceleration"] = "yes"
    with pytest.raises(ConfigError) as e:
        build_plan(dev, "dev")
    assert [p.rule for p in e.value.problems] == ["must be true or false"]
