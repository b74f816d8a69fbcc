"""The rollout lab's change scenarios, one registry for the lab tests and the bench.

A scenario is a change class proven on the lab: the stack its lab runs (dev's config,
or a variant of it), the edit that the safe order rolls out (`crossnet rollout --lab`),
and an edit of the same kind that its negative control applies the naive way
(`network.rollout.execute.execute_naive`: everything at once, no drain, no check).
tests/rollout_lab/ builds its edits from the builders here, and `bench/rollout_bench.py`
runs every entry of SCENARIOS, safe and naive side by side. A new class is one entry
(and, if its edit is new, one builder): see the bench's docstring.

Edits take the stack file's `config` mapping and change it in place.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

NET = "crossnet:network"
ROOT = Path(__file__).resolve().parents[2]
APP = "dc1-edge1-app"  # dev's one connection
HUB = "dc1-edge1-hub"  # rtgw's one connection (dev's, on a transit gateway)
Edit = Callable[[dict[str, Any]], None]


# ---------------------------------------------------------------- the stacks
def dev_stack() -> str:
    """dev's stack file as it is: one router, a VGW connection, BGP, active/standby."""
    return (ROOT / "stacks" / "Pulumi.dev.yaml").read_text()


def rtgw_stack() -> str:
    """dev's stack file with its VPC behind a transit gateway (one router, BGP, ECMP)."""
    doc = yaml.safe_load(dev_stack())
    net = doc["config"][NET]
    del net["vpnGateways"]
    net["transitGateways"] = {
        "hub": {"asn": 64512, "ecmp": True, "attachments": {"app": {"tier": "private"}}}
    }
    conn = net["connections"].pop(APP)
    net["connections"] = {HUB: {**conn, "gateway": "hub"}}
    return yaml.safe_dump(doc, sort_keys=False)


# ---------------------------------------------------------------- the edits
def psk(names: tuple[str, str], values: tuple[str, str], conn: str = APP) -> Edit:
    """Both tunnels' keys from new secrets (a test key in the stack file itself)."""

    def edit(cfg: dict[str, Any]) -> None:
        c = cfg[NET]["connections"][conn]
        for n, (name, value) in enumerate(zip(names, values, strict=True), start=1):
            c[f"tunnel{n}"] = {**c.get(f"tunnel{n}", {}), "presharedKeySecret": name}
            cfg[f"crossnet:{name}"] = value

    return edit


def add_vpc(name: str, cidr: str, asn: int) -> Edit:
    """A VPC with its own VGW and a connection from dc1-edge1, like app's."""

    def edit(cfg: dict[str, Any]) -> None:
        net = cfg[NET]
        net["vpcs"][name] = {
            "cidr": cidr,
            "azs": ["us-east-1a", "us-east-1b"],
            "tiers": {"private": {"prefixLength": 20}},
            "ingress": [{"from": ["10.128.0.0/16"], "tiers": ["private"], "icmp": True}],
        }
        net["vpnGateways"][f"{name}-vgw"] = {"vpc": name, "asn": asn}
        net["connections"][f"dc1-edge1-{name}"] = {
            **json.loads(json.dumps(net["connections"][APP])),
            "gateway": f"{name}-vgw",
        }
        for n in (1, 2):
            net["connections"][f"dc1-edge1-{name}"].pop(f"tunnel{n}", None)

    return edit


def tunnel_options(
    enc: str, integ: str, dh: int, life: tuple[int, int], dpd: int, conn: str = APP
) -> Edit:
    """The connection's phase 1 and 2 algorithms, lifetimes and DPD timeout."""

    def edit(cfg: dict[str, Any]) -> None:
        o = cfg[NET]["connections"][conn]["tunnelOptions"]
        o["phase1"] = {"encryption": [enc], "integrity": [integ], "dhGroups": [dh]}
        o["phase1"]["lifetimeSeconds"] = life[0]
        o["phase2"] = {"encryption": [enc], "integrity": [integ], "dhGroups": [dh]}
        o["phase2"]["lifetimeSeconds"] = life[1]
        o["dpd"] = {**o.get("dpd", {}), "timeoutSeconds": dpd}

    return edit


def inside_cidr(one: str, two: str, conn: str = APP) -> Edit:
    """Both tunnels' inside CIDRs."""

    def edit(cfg: dict[str, Any]) -> None:
        c = cfg[NET]["connections"][conn]
        for n, cidr in ((1, one), (2, two)):
            c[f"tunnel{n}"] = {**c.get(f"tunnel{n}", {}), "insideCidr": cidr}

    return edit


def acceleration(on: bool, conn: str = HUB) -> Edit:
    """pulumi-aws `enable_acceleration` (ForceNew: the connection is replaced)."""

    def edit(cfg: dict[str, Any]) -> None:
        cfg[NET]["connections"][conn]["acceleration"] = on

    return edit


def customer_asn(asn: int) -> Edit:
    """The datacenter's ASN (a new customer gateway per router: ModifyVpnConnection)."""

    def edit(cfg: dict[str, Any]) -> None:
        cfg[NET]["datacenters"]["dc1"]["asn"] = asn

    return edit


def router_ip(ip: str, router_id: str = "") -> Edit:
    """dev's router's public IP (a new customer gateway); `router_id` pins its BGP
    router ID, which otherwise follows the address and resets every session."""

    def edit(cfg: dict[str, Any]) -> None:
        router = cfg[NET]["datacenters"]["dc1"]["routers"]["edge1"]
        router["publicIp"] = ip
        if router_id:
            router["routerId"] = router_id

    return edit


# ---------------------------------------------------------------- the registry
@dataclass(frozen=True)
class Scenario:
    """One change class on the lab: its safe edit and its negative control's."""

    name: str  # the change class, as the bench prints it
    stack: str  # the lab's stack name: scenarios of one stack share a lab, in order
    stack_file: Callable[[], str]  # the stack file the lab starts from
    safe: Edit  # rolled out by `crossnet rollout --lab`
    naive: Edit  # the same kind of change, applied at once (made after `safe`)
    naive_destroy: tuple[str, ...] = ()  # deleted first by the naive order (a replacement)
    mbps: float = 16.0  # the transfer's pace: 50 MiB must outlast the safe order
    note: str = ""  # what the negative control shows, where it is not a loss
    via: tuple[str, str] | None = None  # measured along a flow leaving by (datacenter, router)
    naive_fresh: bool = False  # the naive order starts from the lab as it was (rebuilt)
    safe_before: Callable[[str], None] | None = None  # the lab (by stack) readied first
    naive_before: Callable[[str], None] | None = None  # the same, for the naive order
    # an added DC prefix (safe's, naive's): the bench probes from it too, from the host of
    # the measured flow's datacenter (`via`'s, else the lab's first) to its VPC host
    new_prefixes: tuple[str, str] | None = None
    naive_order: Callable[[str, Path], None] | None = None  # else execute_naive


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "psk",
        "dev",
        dev_stack,
        psk(("dc1-t1", "dc1-t2"), ("RotatedKeyOne1", "RotatedKeyTwo2")),
        psk(("dc1-t1b", "dc1-t2b"), ("NaiveKeyOne1", "NaiveKeyTwo2")),
    ),
    Scenario(
        "vpc-add",
        "dev",
        dev_stack,
        add_vpc("web", "10.17.0.0/16", 64513),
        add_vpc("api", "10.18.0.0/16", 64514),
        note="an addition moves no existing traffic: the naive order loses nothing either",
    ),
    Scenario(
        "tunnel-options",
        "dev",
        dev_stack,
        tunnel_options("AES128", "SHA2-384", 21, (14400, 1800), 40),
        tunnel_options("AES256", "SHA2-512", 20, (28800, 3600), 30),
        mbps=12.0,
    ),
    Scenario(
        "inside-cidr",
        "dev",
        dev_stack,
        inside_cidr("169.254.44.0/30", "169.254.45.0/30"),
        inside_cidr("169.254.46.0/30", "169.254.47.0/30"),
        mbps=10.0,
    ),
    Scenario(
        "connection-replace",
        "rtgw",
        rtgw_stack,
        acceleration(True),
        acceleration(False),
        naive_destroy=(f"{HUB}-vpn",),
        mbps=6.0,
    ),
    Scenario(
        "router-ip-mbb",
        "rtgw",
        rtgw_stack,
        router_ip("192.0.2.11", "192.0.2.10"),
        router_ip("192.0.2.12", "192.0.2.10"),
        mbps=6.0,
    ),
    Scenario(
        "customer-asn",
        "dev",
        dev_stack,
        customer_asn(65011),
        customer_asn(65012),
        note="AWS takes both tunnels down for the new customer gateway and nothing else "
        "carries: the safe order states and checks that outage, it cannot lose less",
    ),
    Scenario(
        "router-ip",
        "dev",
        dev_stack,
        router_ip("192.0.2.21"),
        router_ip("192.0.2.22"),
        note="a VGW takes one connection per customer gateway address: no twin, the "
        "outage is AWS's; the safe order states and checks it",
    ),
)
BY_NAME = {s.name: s for s in SCENARIOS}


# ---------------------------------------------------------------- routers (routerlab)
# prod's config: two datacenters of two routers each, one BGP connection per router to
# the transit gateway (ECMP), the lab's fabric between a datacenter's routers. A
# datacenter's *second* router goes and comes back (removing the first would re-address
# the other's LAN: the lab refuses that in place). test_router_lab.py uses the builders.
# ---------------------------------------------------------------- prod (helper prodclasses)
# prod's lab: two routers per datacenter, ECMP over the TGW, the lab's fabric (iBGP over
# a datacenter's LAN) between them. Its own stack name (`rprod`), shared with
# tests/rollout_lab/test_prod_lab.py's module (each module its own lab).
PROD_STACK = "rprod"


def prod_stack() -> str:
    """prod's stack file as it is."""
    return (ROOT / "stacks" / "Pulumi.prod.yaml").read_text()


def router_remove(dc: str, name: str) -> Edit:
    """A datacenter router and its connection to the hub removed."""

    def edit(cfg: dict[str, Any]) -> None:
        net = cfg[NET]
        del net["datacenters"][dc]["routers"][name]
        del net["connections"][f"{dc}-{name}-hub"]

    return edit


def dc_router_ip(dc: str, router: str, ip: str, router_id: str = "") -> Edit:
    """One router's public IP (a new customer gateway for its connections); `router_id`
    pins its BGP router ID (a new one resets every session of the router at once)."""

    def edit(cfg: dict[str, Any]) -> None:
        r = cfg[NET]["datacenters"][dc]["routers"][router]
        r["publicIp"] = ip
        if router_id:
            r["routerId"] = router_id

    return edit


def prod_tunnel_options(
    enc: str, integ: str, dh: int, life: tuple[int, int], dpd: int, conn: str
) -> Edit:
    """`tunnel_options` of one prod connection: prod's connections share one YAML anchor
    (`&prod-crypto`, one mapping once loaded), so the edited one gets its own copy first."""

    def edit(cfg: dict[str, Any]) -> None:
        c = cfg[NET]["connections"][conn]
        c["tunnelOptions"] = json.loads(json.dumps(c["tunnelOptions"]))
        tunnel_options(enc, integ, dh, life, dpd, conn)(cfg)

    return edit


def dc_asn(dc: str, asn: int) -> Edit:
    """A datacenter's ASN (a new customer gateway per router: ModifyVpnConnection)."""

    def edit(cfg: dict[str, Any]) -> None:
        cfg[NET]["datacenters"][dc]["asn"] = asn

    return edit


def router_add(dc: str, name: str) -> Edit:
    """prod's router `dc/name` and its hub connection, added (back) as prod declares them."""
    prod = yaml.safe_load(prod_stack())["config"][NET]

    def edit(cfg: dict[str, Any]) -> None:
        net = cfg[NET]
        net["datacenters"][dc]["routers"][name] = dict(prod["datacenters"][dc]["routers"][name])
        conn = json.loads(json.dumps(prod["connections"][f"{dc}-{name}-hub"]))
        net["connections"][f"{dc}-{name}-hub"] = conn

    return edit


def prod_add_vpc(name: str, cidr: str) -> Edit:
    """A VPC attached to prod's transit gateway `hub`, in the `spokes` route table (like
    app's), admitting both datacenters."""

    def edit(cfg: dict[str, Any]) -> None:
        net = cfg[NET]
        net["vpcs"][name] = {
            "cidr": cidr,
            "azs": ["us-east-1a", "us-east-1b"],
            "tiers": {"private": {"prefixLength": 20}, "transit": {"prefixLength": 28}},
            "ingress": [
                {"from": ["10.128.0.0/16", "172.20.0.0/16"], "tiers": ["private"], "icmp": True}
            ],
        }
        hub = net["transitGateways"]["hub"]
        hub["attachments"][name] = {"tier": "transit"}
        tables = hub["routeTables"]
        tables["spokes"]["associations"] = [*tables["spokes"]["associations"], f"vpc:{name}"]
        for t in ("shared", "onprem"):
            tables[t]["propagations"] = [*tables[t]["propagations"], f"vpc:{name}"]

    return edit


SCENARIOS += (
    Scenario(
        "router-remove",
        "rrtr",
        prod_stack,
        router_remove("fra", "edge2"),
        router_remove("ash", "edge2"),
        mbps=6.0,
        note="the bench's flow is the lab's first: it may not cross the removed router",
    ),
    Scenario(
        "router-add",
        "rrtr",
        prod_stack,
        router_add("fra", "edge2"),
        router_add("ash", "edge2"),
        mbps=6.0,
        note="a new router joins the host's ECMP set once it routes: the naive order loses "
        "little or nothing",
    ),
    Scenario(
        "prod-vpc-add",
        PROD_STACK,
        prod_stack,
        prod_add_vpc("web", "10.4.0.0/16"),
        prod_add_vpc("api", "10.5.0.0/16"),
        via=("fra", "fra-edge2"),
        note="an addition moves no existing traffic: the naive order loses nothing either",
    ),
    Scenario(
        "prod-router-ip",
        PROD_STACK,
        prod_stack,
        dc_router_ip("fra", "edge2", "192.0.2.212", "192.0.2.202"),
        dc_router_ip("fra", "edge2", "192.0.2.213"),
        mbps=6.0,
        via=("fra", "fra-edge2"),
    ),
    Scenario(
        "prod-tunnel-options",
        PROD_STACK,
        prod_stack,
        prod_tunnel_options("AES256", "SHA2-256", 21, (14400, 1800), 40, "fra-edge2-hub"),
        prod_tunnel_options("AES128", "SHA2-512", 19, (28800, 3600), 30, "fra-edge2-hub"),
        mbps=6.0,
        via=("fra", "fra-edge2"),
    ),
    Scenario(
        "prod-inside-cidr",
        PROD_STACK,
        prod_stack,
        inside_cidr("169.254.44.0/30", "169.254.45.0/30", "fra-edge2-hub"),
        inside_cidr("169.254.46.0/30", "169.254.47.0/30", "fra-edge2-hub"),
        mbps=6.0,
        via=("fra", "fra-edge2"),
    ),
    Scenario(
        "prod-customer-asn",
        PROD_STACK,
        prod_stack,
        dc_asn("fra", 65201),
        dc_asn("fra", 65202),
        mbps=6.0,
        via=("fra", "fra-edge2"),
        note="not yet 0 in the safe order: the offline apply has no --target (docs/rollout.md)",
    ),
)
BY_NAME = {s.name: s for s in SCENARIOS}


# ---------------------------------------------------------------- benchfill2
# A DC prefix added (BGP, dev), a VPC removed (dev with two more VPCs), the VGW
# connection moved to a transit gateway (BGP, dev). The lab tests use these builders
# (test_dcprefix_lab.py, test_dcprefix_static_lab.py, test_vpcremove_lab.py,
# test_gwmove_lab.py). Each has a stack of its own, so that no other class's change
# (dev's vpc-add adds web and api too) is in its lab.
EXTRA_VPCS = {"web": ("10.17.0.0/16", 64513), "api": ("10.18.0.0/16", 64514)}


def three_vpcs_stack() -> str:
    """dev's stack file with two more VPCs (web, api), each with its own VGW and a BGP
    connection from the one router; their ingress admits ICMP only."""
    doc = yaml.safe_load(dev_stack())
    for name, (cidr, asn) in EXTRA_VPCS.items():
        add_vpc(name, cidr, asn)(doc["config"])
    return yaml.safe_dump(doc, sort_keys=False)


def add_dc_prefix(prefix: str, vpc: str = "app") -> Edit:
    """`prefix` added to dc1's prefixes and to the VPC's first ingress rule."""

    def edit(cfg: dict[str, Any]) -> None:
        net = cfg[NET]
        net["datacenters"]["dc1"]["prefixes"].append(prefix)
        net["vpcs"][vpc]["ingress"][0]["from"].append(prefix)

    return edit


def withdraw_dc_prefix(prefix: str, vpc: str = "app") -> Edit:
    """`prefix` withdrawn: gone from dc1's prefixes and from the VPC's first ingress rule."""

    def edit(cfg: dict[str, Any]) -> None:
        net = cfg[NET]
        net["datacenters"]["dc1"]["prefixes"].remove(prefix)
        net["vpcs"][vpc]["ingress"][0]["from"].remove(prefix)

    return edit


def prefix_in_use(prefix: str, datacenter: str | None = None) -> Callable[[str], None]:
    """Before a DC prefix is added: its addresses on the datacenter's LAN, as the lab
    lays them out for the new outputs (newprefix.space_in_use)."""

    def prepare(stack: str) -> None:
        from network.lab.runtime import open_lab
        from tests.rollout_lab.newprefix import space_in_use

        space_in_use(open_lab(stack), prefix, datacenter)

    return prepare


def announce_first(stack: str, path: Path) -> None:
    """The naive order of an added DC prefix (newprefix.announce_first): the routers
    announce it, then the apply admits it."""
    from tests.rollout_lab.newprefix import announce_first as naive

    naive(stack, path)


def remove_vpc(name: str) -> Edit:
    """A VPC, its VGW and its connection from dc1-edge1 removed."""

    def edit(cfg: dict[str, Any]) -> None:
        net = cfg[NET]
        del net["vpcs"][name]
        del net["vpnGateways"][f"{name}-vgw"]
        del net["connections"][f"dc1-edge1-{name}"]

    return edit


def vgw_to_tgw(vpc: str = "app", conn: str = APP) -> Edit:
    """A transit gateway `hub` (AS 64600, no ECMP) attached to the VPC (a `transit`
    tier of /28s) and the VGW connection moved onto it (ModifyVpnConnection)."""

    def edit(cfg: dict[str, Any]) -> None:
        net = cfg[NET]
        net["vpcs"][vpc]["tiers"]["transit"] = {"prefixLength": 28}
        net["transitGateways"] = {
            "hub": {"asn": 64600, "ecmp": False, "attachments": {vpc: {"tier": "transit"}}}
        }
        net["connections"][conn]["gateway"] = "hub"

    return edit


SCENARIOS += (
    Scenario(
        "dc-prefix",
        "rpfx",
        dev_stack,
        add_dc_prefix("10.129.0.0/16"),
        add_dc_prefix("10.130.0.0/16"),
        safe_before=prefix_in_use("10.129.0.0/16"),
        naive_before=prefix_in_use("10.130.0.0/16"),
        new_prefixes=("10.129.0.0/16", "10.130.0.0/16"),
        naive_order=announce_first,
        note="an addition moves no existing flow: the naive order (the routers announce "
        "before the apply, as test_dcprefix_lab.py's) loses on the new prefix only",
    ),
    Scenario(
        "vpc-remove",
        "rvpc",
        three_vpcs_stack,
        remove_vpc("web"),
        remove_vpc("api"),
        note="a removal moves no remaining flow: the naive order loses nothing either",
    ),
    Scenario(
        "vgw-to-tgw",
        "rgwm",
        dev_stack,
        vgw_to_tgw(),
        vgw_to_tgw(),
        mbps=8.0,
        naive_fresh=True,
        note="dev's only path: AWS forces an outage either way (the safe order states "
        "and bounds it); the naive order starts from a rebuilt VGW lab",
    ),
)
BY_NAME = {s.name: s for s in SCENARIOS}


# ---------------------------------------------------------------- prod dc-prefix (dcprefixprod)
# A datacenter prefix added on prod (BGP, ECMP over the TGW, two routers in the
# datacenter): fra's 172.21.0.0/16, admitted by every ingress rule that admits fra's
# prefix. test_prod_dcprefix_lab.py uses the builder.
def prod_add_dc_prefix(dc: str, prefix: str) -> Edit:
    """`prefix` added to datacenter `dc`'s prefixes and to every ingress rule that
    admits one of `dc`'s prefixes (what the datacenter's new space needs to reach)."""

    def edit(cfg: dict[str, Any]) -> None:
        net = cfg[NET]
        mine = set(net["datacenters"][dc]["prefixes"])
        net["datacenters"][dc]["prefixes"] = [*net["datacenters"][dc]["prefixes"], prefix]
        for v in net["vpcs"].values():
            for rule in v.get("ingress", []):
                if mine & set(rule["from"]):
                    rule["from"] = [*rule["from"], prefix]

    return edit


SCENARIOS += (
    Scenario(
        "prod-dc-prefix",
        PROD_STACK,
        prod_stack,
        prod_add_dc_prefix("fra", "172.21.0.0/16"),
        prod_add_dc_prefix("fra", "172.22.0.0/16"),
        via=("fra", "fra-edge2"),
        safe_before=prefix_in_use("172.21.0.0/16", "fra"),
        naive_before=prefix_in_use("172.22.0.0/16", "fra"),
        new_prefixes=("172.21.0.0/16", "172.22.0.0/16"),
        naive_order=announce_first,
        note="an addition moves no existing flow: the naive order (the routers announce "
        "before the apply, as test_prod_dcprefix_lab.py's) loses on the new prefix only",
    ),
)
BY_NAME = {s.name: s for s in SCENARIOS}


# ---------------------------------------------------------------- router replacement (dev)
# dev's only router replaced (a hardware refresh) as a user does it, in two changes: a
# second router and its connection added, then the original removed. The survivor keeps
# its LAN slot (topology.lan_slots): test_devreplace_lab.py uses the builders.
DEV_NEW_ROUTER = {"publicIp": "192.0.2.20", "platform": "linux"}
DEV_OLD_ROUTER = {"publicIp": "192.0.2.10", "platform": "linux"}


def dev_router_add(name: str, router: dict[str, Any], like: str = APP) -> Edit:
    """Router `dc1/name` added with a connection to dev's VGW shaped like `like`'s."""

    def edit(cfg: dict[str, Any]) -> None:
        net = cfg[NET]
        net["datacenters"]["dc1"]["routers"][name] = dict(router)
        conn = {k: v for k, v in net["connections"][like].items() if not k.startswith("tunnel")}
        net["connections"][f"dc1-{name}-app"] = {**conn, "router": f"dc1/{name}"}

    return edit


def dev_router_remove(name: str) -> Edit:
    """Router `dc1/name` and its connection removed."""

    def edit(cfg: dict[str, Any]) -> None:
        net = cfg[NET]
        del net["datacenters"]["dc1"]["routers"][name]
        del net["connections"][f"dc1-{name}-app"]

    return edit


# ---------------------------------------------------------------- remove a VPC (prod)
# prod with two more VPCs on the transit gateway (prod_add_vpc's web and api), then one
# removed: its attachment, its association and propagations go; the TGW's ECMP over both
# datacenters' routers carries the VPCs that stay (test_prod_classes_lab.py).
PROD_EXTRA_VPCS = {"web": "10.4.0.0/16", "api": "10.5.0.0/16"}


def prod_remove_vpc(name: str) -> Edit:
    """prod_add_vpc's VPC `name` removed, with its attachment and route-table entries."""

    def edit(cfg: dict[str, Any]) -> None:
        net = cfg[NET]
        del net["vpcs"][name]
        hub = net["transitGateways"]["hub"]
        del hub["attachments"][name]
        for table in hub["routeTables"].values():
            for key in ("associations", "propagations"):
                if key in table:
                    table[key] = [x for x in table[key] if x != f"vpc:{name}"]

    return edit


def prod_more_vpcs_stack() -> str:
    """prod's stack file with web and api added (prod_add_vpc)."""
    doc = yaml.safe_load(prod_stack())
    for name, cidr in PROD_EXTRA_VPCS.items():
        prod_add_vpc(name, cidr)(doc["config"])
    return yaml.safe_dump(doc, sort_keys=False)


SCENARIOS += (
    Scenario(
        "prod-vpc-remove",
        PROD_STACK,
        prod_more_vpcs_stack,
        prod_remove_vpc("web"),
        prod_remove_vpc("api"),
        via=("fra", "fra-edge2"),
        note="a removal moves no remaining flow: the naive order loses nothing either",
    ),
)
BY_NAME = {s.name: s for s in SCENARIOS}
