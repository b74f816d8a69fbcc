"""The lab's layout, computed from the stack outputs and the plan (pure).

Every name, address and link of the lab is decided here, before anything is
created, so `up`, `down`, `status`, the inventory and the suite all agree.

Namespaces, all named `cxl.<stack>.<role>.<key>`, one per:

- `inet`: the lab; the shared "internet" bridge carrying every outside address;
- `dce`: datacenter tunnel end; the router's public IP and that tunnel's charon;
- `rtr`: datacenter router; the tunnel interfaces (libipsec TUNs moved in),
  FRR with the rendered frr.conf, the datacenter LAN;
- `dch`: datacenter; a host on an on-prem prefix, behind every router of it;
- `awe`: AWS tunnel end; the AWS outside address and that tunnel's charon
  (responder only);
- `gw`: VGW or TGW; the AWS tunnel interfaces, FRR speaking for AWS, the VPC
  subnets' gateway addresses;
- `vpc`: VPC behind a gateway; a host in one of its subnets, with the VPC's
  security groups as nftables rules.

What differs from a real router, and why (tested in tests/reachability):
- A real router runs one charon for all its tunnels on one public IP. libipsec
  picks an SA by addresses only (`LAB.md`), so the lab runs one charon per
  tunnel end, each in a helper namespace holding *the same* public IP. On the
  bridge, each AWS end reaches its own datacenter end through a static
  neighbour entry (the MAC of that end), so the two helpers never meet.
- The kernel has no XFRM interfaces: each tunnel interface is the TUN of that
  tunnel's charon, moved into the router namespace and named as the renderer
  names it (`network.render.names.interface_name`).
- A router whose platform is not `linux` is rendered as `linux` for the lab.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from netaddr import IPAddress, IPNetwork, IPSet

from network.contract import Connection, Router, StackOutputs, Tunnel
from network.model import IngressRule
from network.plan import Plan
from network.render import interface_name, tunnel_key, tunnel_number

IFNAMSIZ = 15
LAB_PLATFORM = "linux"
# Listeners the lab starts: the datacenter hosts' port (for VPC -> datacenter
# TCP), and the first port tried for a VPC host's "must stay closed" listener.
DC_HOST_PORT = 18080
CLOSED_PORT_FROM = 18081
HOST_OFFSET = 10  # a host takes the 10th address of its subnet; routers take .1, .2 ...


def ns_name(stack: str, role: str, key: str = "") -> str:
    """A lab namespace: `cxl.<stack>.<role>[.<key>]` ('.' cannot occur in keys)."""
    return ".".join(p for p in ("cxl", stack, role, key) if p)


def ns_prefix(stack: str) -> str:
    return f"cxl.{stack}."


def ifname(text: str) -> str:
    """An interface name of at most 15 characters, readable when it fits."""
    if len(text) <= IFNAMSIZ:
        return text
    digest = hashlib.sha1(text.encode()).hexdigest()[:4]
    return f"{text[: IFNAMSIZ - 5]}-{digest}"


@dataclass(frozen=True)
class TunnelEnd:
    """One end of one tunnel: a charon in a helper namespace, a TUN in a router."""

    side: str  # "aws" | "dc"
    connection: str
    number: int
    ns: str  # helper namespace: outside address + charon
    router_ns: str  # where the TUN ends up
    ifname: str  # the TUN's name there
    outside_ip: str
    peer_outside_ip: str
    inside: str  # "169.254.x.y/30": this side's inside address
    peer_inside_ip: str
    port: str  # this helper's port on the internet bridge
    mac: str  # this helper's MAC on the internet segment
    peer_mac: str

    @property
    def tunnel(self) -> str:
        """The tunnel's id across the contract: `<connection>/<n>`."""
        return f"{self.connection}/{self.number}"

    @property
    def conn_name(self) -> str:
        """The strongSwan connection (and child) name, on both sides."""
        return tunnel_key(self.connection, self.number)


@dataclass(frozen=True)
class DcRouter:
    key: str
    datacenter: str
    ns: str
    router: Router  # as the lab renders it (platform linux)
    platform: str  # as the stack declares it
    lan: tuple[str, ...]  # "10.128.0.1/16", one per datacenter prefix
    lan_port: str  # its port on the datacenter host's LAN bridge
    slot: int = 1  # its host index in each of those prefixes (`lan_slots`)


@dataclass(frozen=True)
class Host:
    """A host behind a datacenter's routers or in a VPC."""

    name: str  # datacenter or VPC name
    kind: str  # "datacenter" | "vpc"
    ns: str
    address: str
    prefixlen: int
    gateways: tuple[str, ...]
    tcp_ports: tuple[int, ...]  # listeners the lab starts
    udp_ports: tuple[int, ...]
    closed_tcp_port: int | None = None  # VPC host: a listener its security groups block
    tier: str | None = None
    subnet: str | None = None
    ingress: tuple[IngressRule, ...] = ()  # VPC host: the rules that admit traffic to its tier
    unplanned_source: str | None = None  # datacenter host: an address outside every plan
    # datacenter host: an address ("10.129.0.10/16") in each of its other prefixes, so
    # that traffic from every announced prefix can be sent and answered
    prefix_addresses: tuple[str, ...] = ()
    gateway_ns: str | None = None  # VPC host: the VGW/TGW namespace it hangs off
    gateway_if: str | None = None  # VPC host: the veth's name in that namespace


@dataclass(frozen=True)
class Gateway:
    """A VGW or TGW: one FRR speaking for AWS on every tunnel of its connections."""

    name: str
    type: str  # "vgw" | "tgw"
    asn: int
    ns: str
    connections: tuple[Connection, ...]
    vpcs: tuple[str, ...]

    @property
    def ecmp(self) -> bool:
        return any(c.redundancy == "ecmp" for c in self.connections)

    @property
    def router_id(self) -> str:
        # AWS picks its own, and each of its tunnel endpoints is a device of its own: a
        # change to one tunnel never resets another's session. The lab's one FRR per
        # gateway needs an ID that no tunnel change moves (a new router ID resets every
        # session, the carrying tunnel's included): from the gateway's name, in
        # 198.18.0.0/15 (benchmarking), which no lab routes. (FRR never picks a
        # link-local inside address by itself.)
        h = int.from_bytes(hashlib.sha256(self.name.encode()).digest()[:4], "big")
        return str(IPAddress(0xC6120000 + (h & 0x1FFFF)))


@dataclass(frozen=True)
class Lab:
    stack: str
    inet_ns: str
    ends: tuple[TunnelEnd, ...]
    routers: tuple[DcRouter, ...]
    gateways: tuple[Gateway, ...]
    hosts: tuple[Host, ...]
    notes: tuple[str, ...]  # what of the stack the lab leaves out, and why

    def namespaces(self) -> list[str]:
        names = [self.inet_ns]
        names += [e.ns for e in self.ends]
        names += [r.ns for r in self.routers] + [g.ns for g in self.gateways]
        names += [h.ns for h in self.hosts]
        return list(dict.fromkeys(names))

    def end(self, side: str, tunnel: str) -> TunnelEnd:
        for e in self.ends:
            if e.side == side and e.tunnel == tunnel:
                return e
        raise KeyError(f"{side}:{tunnel}")

    def dc_hosts(self) -> list[Host]:
        return [h for h in self.hosts if h.kind == "datacenter"]

    def vpc_hosts(self) -> list[Host]:
        return [h for h in self.hosts if h.kind == "vpc"]

    def connections(self) -> list[tuple[DcRouter, Connection]]:
        return [(r, c) for r in self.routers for c in r.router.connections]

    def lan_slots(self) -> dict[str, int]:
        """router key -> its LAN slot, as lab.json records them."""
        return {r.key: r.slot for r in self.routers}

    def router_of(self, e: TunnelEnd) -> DcRouter:
        """The datacenter router whose namespace holds a datacenter end's tunnel."""
        return next(r for r in self.routers if r.ns == e.router_ns)


def _mac(side: int, index: int) -> str:
    return f"02:{side:02x}:00:00:{index >> 8 & 0xFF:02x}:{index & 0xFF:02x}"


def lan_slots(routers: Mapping[str, str], kept: Mapping[str, int]) -> dict[str, int]:
    """router key -> its host index on its datacenter's LAN (`routers`: key -> datacenter).

    A running lab keeps its routers' addresses (`kept`, recorded in lab.json): a router
    added takes the lowest index free in its datacenter, and removing one moves no other.
    With nothing kept (a lab coming up), a datacenter's routers are numbered by key."""
    out: dict[str, int] = {}
    used: dict[str, set[int]] = {}
    for key in sorted(routers):
        slot, taken = kept.get(key), used.setdefault(routers[key], set())
        if slot is not None and slot >= 1 and slot not in taken:
            out[key] = slot
            taken.add(slot)
    for key in sorted(set(routers) - set(out)):
        taken = used[routers[key]]
        out[key] = min(set(range(1, len(taken) + 2)) - taken)
        taken.add(out[key])
    return out


def build_lab(outputs: StackOutputs, plan: Plan, kept: Mapping[str, int] | None = None) -> Lab:
    """Lay out the lab of one stack (`kept`: the LAN slots of the running lab, see
    `lan_slots`). Raises ValueError for what the lab cannot build."""
    stack = outputs.stack
    slots = lan_slots({k: r.datacenter for k, r in outputs.routers.items()}, kept or {})
    ends: list[TunnelEnd] = []
    routers: list[DcRouter] = []
    notes: list[str] = []
    gw_conns: dict[str, list[Connection]] = {}
    gw_meta: dict[str, dict[str, Any]] = {}
    for key in sorted(outputs.routers):
        r = outputs.routers[key]
        if r.platform != LAB_PLATFORM:
            notes.append(
                f"router {key}: platform {r.platform} is rendered as {LAB_PLATFORM} for the lab"
            )
        routers.append(_dc_router(stack, outputs, key, r, slots[key]))
        for c in r.connections:
            gw = c.gateway["name"]
            gw_conns.setdefault(gw, []).append(c)
            gw_meta[gw] = c.gateway
            for t in c.tunnels:
                # One port pair on the internet bridge per tunnel, numbered from 1.
                ends += _tunnel_ends(stack, key, c, t, len(ends) // 2 + 1)
    gateways, attached = _gateways(stack, plan, gw_conns, gw_meta, notes)
    hosts: list[Host] = []
    for dc_name in sorted({r.datacenter for r in routers}):
        hosts.append(
            _dc_host(stack, plan, outputs, dc_name, [r for r in routers if r.datacenter == dc_name])
        )
    for g in gateways:
        for i, v in enumerate(g.vpcs, start=1):
            hosts.append(_vpc_host(stack, plan, v, g, i))
    for v in sorted(plan.vpcs):
        if v not in attached:
            notes.append(
                f"VPC {v}: no VPN gateway reaches it (peering only), so it has no host in the lab"
            )
    return Lab(
        stack=stack,
        inet_ns=ns_name(stack, "inet"),
        ends=tuple(ends),
        routers=tuple(routers),
        gateways=tuple(gateways),
        hosts=tuple(hosts),
        notes=tuple(notes),
    )


def _dc_router(stack: str, outputs: StackOutputs, key: str, r: Router, index: int) -> DcRouter:
    """A datacenter router as the lab runs it: rendered as linux, the `index`-th
    address of each datacenter prefix on its LAN."""
    dc = _datacenter_prefixes(outputs, r)
    return DcRouter(
        key=key,
        datacenter=r.datacenter,
        ns=ns_name(stack, "rtr", key),
        router=Router(**{**r.__dict__, "platform": LAB_PLATFORM}),
        platform=r.platform,
        lan=tuple(f"{IPNetwork(p)[index]}/{IPNetwork(p).prefixlen}" for p in dc),
        lan_port=ifname(f"r-{r.name}"),
        slot=index,
    )


def _tunnel_ends(stack: str, key: str, c: Connection, t: Tunnel, port: int) -> list[TunnelEnd]:
    """Both ends of one tunnel: the datacenter's (router `key`) and AWS's."""
    gw = c.gateway["name"]
    dc_mac, aws_mac = _mac(0xDC, port), _mac(0xA5, port)
    plen = IPNetwork(t.inside_cidr).prefixlen
    return [
        TunnelEnd(
            side="dc",
            connection=c.name,
            number=t.number,
            ns=ns_name(stack, "dce", tunnel_key(c.name, t.number)),
            router_ns=ns_name(stack, "rtr", key),
            ifname=interface_name(LAB_PLATFORM, t.inside_cidr),
            outside_ip=t.customer_outside_ip,
            peer_outside_ip=t.aws_outside_ip,
            inside=f"{t.customer_inside_ip}/{plen}",
            peer_inside_ip=t.aws_inside_ip,
            port=f"d{port}",
            mac=dc_mac,
            peer_mac=aws_mac,
        ),
        TunnelEnd(
            side="aws",
            connection=c.name,
            number=t.number,
            ns=ns_name(stack, "awe", tunnel_key(c.name, t.number)),
            router_ns=ns_name(stack, "gw", gw),
            ifname=aws_ifname(t),
            outside_ip=t.aws_outside_ip,
            peer_outside_ip=t.customer_outside_ip,
            inside=f"{t.aws_inside_ip}/{plen}",
            peer_inside_ip=t.customer_inside_ip,
            port=f"a{port}",
            mac=aws_mac,
            peer_mac=dc_mac,
        ),
    ]


def _gateways(
    stack: str,
    plan: Plan,
    gw_conns: dict[str, list[Connection]],
    gw_meta: dict[str, dict[str, Any]],
    notes: list[str],
) -> tuple[list[Gateway], dict[str, str]]:
    """The VGWs and TGWs, each with the VPCs behind it (a VPC behind two: the first
    by name, with a note); and VPC -> the gateway that reaches it."""
    gateways: list[Gateway] = []
    attached: dict[str, str] = {}
    for gw in sorted(gw_conns):
        meta = gw_meta[gw]
        vpcs = gateway_vpcs(plan, gw)
        for v in vpcs:
            if v in attached:
                notes.append(f"VPC {v}: reached through {attached[v]} in the lab, not also {gw}")
        vpcs = tuple(v for v in vpcs if v not in attached)
        attached.update({v: gw for v in vpcs})
        gateways.append(
            Gateway(
                name=gw,
                type=meta["type"],
                asn=int(meta["asn"]),
                ns=ns_name(stack, "gw", gw),
                connections=tuple(gw_conns[gw]),
                vpcs=vpcs,
            )
        )
    return gateways, attached


def aws_ifname(t: Tunnel) -> str:
    """The AWS side's tunnel interface, in the gateway namespace."""
    return f"aws{tunnel_number(t.inside_cidr)}"


def _datacenter_prefixes(outputs: StackOutputs, r: Router) -> tuple[str, ...]:
    dcs = outputs.raw.get("datacenters", {})
    return tuple(dcs.get(r.datacenter, {}).get("prefixes") or r.prefixes)


def gateway_vpcs(plan: Plan, gw: str) -> tuple[str, ...]:
    """The VPCs behind a VGW (its one VPC) or a TGW (its attachments)."""
    if gw in plan.vpn_gateways:
        return (plan.vpn_gateways[gw].vpc,)
    if gw in plan.transit:
        return tuple(v for v, _tier in plan.transit[gw].spec.attachments)
    return ()


def planned_pairs(plan: Plan) -> list[tuple[str, str]]:
    """(datacenter, VPC) pairs a VPN connection joins: the suite's matrix, from the plan alone."""
    pairs = {
        (c.datacenter.name, v) for c in plan.connections for v in gateway_vpcs(plan, c.spec.gateway)
    }
    return sorted(pairs)


def _dc_host(
    stack: str, plan: Plan, outputs: StackOutputs, dc: str, routers: list[DcRouter]
) -> Host:
    prefixes = [IPNetwork(p) for p in _datacenter_prefixes(outputs, routers[0].router)]
    # The host sits in the most specific ingress source inside its datacenter,
    # so that every rule meant for this datacenter admits it.
    sources = [
        s
        for v in plan.vpcs.values()
        for rule in v.spec.ingress
        for s in rule.sources
        if any(s in p for p in prefixes)
    ]
    home = max(sources, key=lambda s: s.prefixlen) if sources else prefixes[0]
    lan = next(p for p in prefixes if home in p)
    address = home[HOST_OFFSET] if home.size > HOST_OFFSET + 1 else home[1]
    gateways = tuple(str(IPNetwork(r.lan[prefixes.index(lan)]).ip) for r in routers)
    others = tuple(
        f"{p[HOST_OFFSET] if p.size > HOST_OFFSET + 1 else p[1]}/{p.prefixlen}"
        for p in prefixes
        if p != lan
    )
    return Host(
        name=dc,
        kind="datacenter",
        ns=ns_name(stack, "dch", dc),
        address=str(address),
        prefixlen=lan.prefixlen,
        gateways=gateways,
        tcp_ports=(DC_HOST_PORT,),
        udp_ports=(),
        unplanned_source=str(_unplanned(plan)),
        prefix_addresses=others,
    )


def _unplanned(plan: Plan) -> IPAddress:
    """An address in no planned datacenter prefix and no VPC: a source AWS must refuse."""
    planned = IPSet([p for d in plan.spec.datacenters for p in d.prefixes])
    planned |= IPSet([v.spec.cidr for v in plan.vpcs.values()])
    pools = list(plan.spec.datacenter_supernets) or [IPNetwork("10.0.0.0/8")]
    for pool in pools:
        free = IPSet([pool]) - planned
        for cidr in free.iter_cidrs():
            if cidr.size > HOST_OFFSET + 1:
                return cidr[HOST_OFFSET]
    return IPAddress("100.64.0.10")


# Where a prefix outside every plan is looked for: RFC 1918, then RFC 6598's
# shared address space.
UNPLANNED_POOLS = (
    IPNetwork("10.0.0.0/8"),
    IPNetwork("172.16.0.0/12"),
    IPNetwork("192.168.0.0/16"),
    IPNetwork("100.64.0.0/10"),
)


def planned_ranges(plan: Plan) -> IPSet:
    """Every range the plan claims: datacenter prefixes, VPC CIDRs, and both address
    spaces (a supernet may be fully allocated, or still have room for tomorrow's)."""
    ranges = [p for d in plan.spec.datacenters for p in d.prefixes]
    ranges += [v.spec.cidr for v in plan.vpcs.values()]
    ranges += [*plan.spec.datacenter_supernets, *plan.spec.aws_supernets]
    return IPSet(ranges)


def rogue_prefix(plan: Plan) -> IPNetwork | None:
    """The first /24 of a private range that overlaps nothing planned (None: there is
    none), for the checks that announce a prefix outside the plan on purpose."""
    return free_prefix(planned_ranges(plan))


def free_prefix(planned: IPSet, prefixlen: int = 24) -> IPNetwork | None:
    """The first block of `prefixlen` in UNPLANNED_POOLS (in their order) outside `planned`."""
    for pool in UNPLANNED_POOLS:
        for cidr in (IPSet([pool]) - planned).iter_cidrs():
            if cidr.prefixlen <= prefixlen:
                return IPNetwork(f"{cidr.network}/{prefixlen}")
    return None


@dataclass(frozen=True)
class VpcProfile:
    """What a host in one tier of a VPC admits, and the listeners that show it."""

    tier: str
    subnet: IPNetwork
    rules: tuple[IngressRule, ...]
    tcp: tuple[int, ...]  # every allowed range's first and last port
    udp: tuple[int, ...]
    closed: int  # a port no rule of the tier admits


def vpc_profile(plan: Plan, vpc: str, tier: str | None = None) -> VpcProfile:
    """A VPC host's tier (the first one an ingress rule targets, unless given) and its rules."""
    vp = plan.vpcs[vpc]
    tiers = [t.name for t in vp.spec.tiers]
    ruled = [t for rule in vp.spec.ingress for t in rule.tiers if t in tiers]
    tier = tier or (ruled[0] if ruled else next((t for t in tiers if t != "transit"), tiers[0]))
    rules = tuple(r for r in vp.spec.ingress if tier in r.tiers)
    tcp = sorted({p for r in rules for pr in r.tcp for p in (pr.first, pr.last)})
    udp = sorted({p for r in rules for pr in r.udp for p in (pr.first, pr.last)})
    closed = CLOSED_PORT_FROM
    while any(pr.first <= closed <= pr.last for r in rules for pr in r.tcp):
        closed += 1
    return VpcProfile(tier, vp.tier_subnets(tier)[0].cidr, rules, tuple(tcp), tuple(udp), closed)


def _vpc_host(stack: str, plan: Plan, vpc: str, g: Gateway, index: int) -> Host:
    p = vpc_profile(plan, vpc)
    return Host(
        name=vpc,
        kind="vpc",
        ns=ns_name(stack, "vpc", vpc),
        address=str(p.subnet[HOST_OFFSET]),
        prefixlen=p.subnet.prefixlen,
        gateways=(str(p.subnet[1]),),
        tcp_ports=p.tcp,
        udp_ports=p.udp,
        closed_tcp_port=p.closed,
        tier=p.tier,
        subnet=str(p.subnet),
        ingress=p.rules,
        gateway_ns=g.ns,
        gateway_if=ifname(f"v-{vpc}"),
    )


def expected_flows(
    src: str, rules: tuple[IngressRule, ...], tcp: list[int], udp: list[int]
) -> dict[str, Any]:
    """What security group rules admit from one source address.

    `{"icmp": bool, "tcp": {port: bool}, "udp": {port: bool}}` over the given ports.
    """
    ip = IPAddress(src)
    admitting = [r for r in rules if any(ip in s for s in r.sources)]
    return {
        "icmp": any(r.icmp for r in admitting),
        "tcp": {p: any(pr.first <= p <= pr.last for r in admitting for pr in r.tcp) for p in tcp},
        "udp": {p: any(pr.first <= p <= pr.last for r in admitting for pr in r.udp) for p in udp},
    }
