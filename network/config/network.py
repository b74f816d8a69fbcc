"""Reading the stack config into a typed `NetworkSpec` (pure: no pulumi import).

The input is the stack's config mapping, as Pulumi hands it to the program:
`{"aws:region": "...", "crossnet:network": {...}, "crossnet:<secret key>": "..."}`.
Every problem is collected, so a user with three mistakes sees all three, and
parsing goes on past a bad entry: what did parse is returned (with the names
of what did not in `NetworkSpec.unparsed`), so that the plan's own checks run
on it too and one run reports the typo and the overlap together.
The schema is documented in docs/config.md.

Secrets: a tunnel's `presharedKeySecret` names a config key. Under `pulumi up`
the CLI hands the program that key decrypted. A stack file read directly (the
offline apply, the review commands) may hold it as a `secure:` value that
cannot be decrypted here: with `need_secrets=False` the key is recorded as
coming from that secret, unread, and the rules that need its value are left
to the apply (a warning says so); with `need_secrets=True` (the default) it
is a problem that says how to provide the value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from network import aws_rules as aws
from network.config.reader import NETWORK_KEY, Reader, T, entries
from network.config.tunnels import parse_connection, psk_key
from network.errors import Problem, Problems
from network.model import (
    DatacenterSpec,
    IngressRule,
    NetworkSpec,
    PeeringSpec,
    RouterSpec,
    RouteTableSpec,
    Tier,
    TransitGatewaySpec,
    VpcSpec,
    VpnGatewaySpec,
)
from network.platforms import PLATFORMS


def load_network(
    config: Mapping[str, Any],
    stack: str,
    *,
    need_secrets: bool = True,
    source: str | None = None,
) -> NetworkSpec:
    """Parse and type-check the stack config. Raises ConfigError listing every problem.

    `build_plan` goes further: it also runs the plan's checks on what parsed,
    and reports both kinds of problem at once.
    """
    problems = Problems()
    spec = parse_network(config, stack, problems, need_secrets=need_secrets)
    problems.raise_if_any(config_source(config, stack, source))
    assert spec is not None
    return spec


def config_source(config: Mapping[str, Any], stack: str, source: str | None = None) -> str:
    """How messages name the stack config: the file really read when known."""
    where = source or getattr(config, "source", "") or f"stacks/Pulumi.{stack}.yaml"
    return f"stack config '{where}'"


def parse_network(
    config: Mapping[str, Any],
    stack: str,
    problems: Problems,
    *,
    need_secrets: bool = True,
    warnings: list[Problem] | None = None,
) -> NetworkSpec | None:
    """Parse as much of the config as possible, adding every problem to `problems`.

    Returns None only when there is nothing to plan (no `crossnet:network`
    mapping). Entries that did not parse are left out and named in
    `NetworkSpec.unparsed`; `warnings` receives what is worth saying but not
    wrong (a secret that was not read).
    """
    r = Reader(problems, need_secrets)
    spec = _parse(config, stack, r)
    if warnings is not None:
        warnings.extend(r.warnings)
    return spec


def psk_config_keys(network: Any) -> list[str]:
    """The config keys that `presharedKeySecret` entries name, fully qualified.

    Total on any input (it only looks, never assumes a shape): the Pulumi
    program calls it on the raw config before anything is validated.
    """
    keys: list[str] = []
    conns = network.get("connections") if isinstance(network, Mapping) else None
    if not isinstance(conns, Mapping):
        return keys
    for body in conns.values():
        if not isinstance(body, Mapping):
            continue
        for n in (1, 2):
            tunnel = body.get(f"tunnel{n}")
            ref = tunnel.get("presharedKeySecret") if isinstance(tunnel, Mapping) else None
            if isinstance(ref, str) and ref:
                key = psk_key(ref)
                if key not in keys:
                    keys.append(key)
    return keys


def _parse(config: Mapping[str, Any], stack: str, r: Reader) -> NetworkSpec | None:
    problems = r.p
    region = config.get("aws:region")
    if not isinstance(region, str) or not region:
        problems.add(
            "aws:region",
            region if region is not None else "missing",
            "the stack's default AWS region is required",
        )
        region = "us-east-1"
    raw = config.get(NETWORK_KEY)
    root = r.mapping(raw, NETWORK_KEY)
    if not isinstance(raw, Mapping):
        return None  # reported: missing, or not a mapping
    top = {
        "addressSpace",
        "vpcs",
        "datacenters",
        "vpnGateways",
        "transitGateways",
        "connections",
        "peerings",
    }
    r.keys(root, NETWORK_KEY, top, {"vpcs", "datacenters", "connections"})
    p = NETWORK_KEY

    aws_super: tuple[Any, ...] = ()
    dc_super: tuple[Any, ...] = ()
    space = r.mapping(root.get("addressSpace"), f"{p}.addressSpace", required=False)
    if space:
        r.keys(space, f"{p}.addressSpace", {"aws", "datacenters"}, set())
        aws_super = r.list_(space.get("aws"), f"{p}.addressSpace.aws", r.net, required=False)
        dc_super = r.list_(
            space.get("datacenters"), f"{p}.addressSpace.datacenters", r.net, required=False
        )

    def each(
        kind: str, key: str, parse: Callable[[str, Any, str], T | None], required: bool = True
    ) -> tuple[T, ...]:
        out = []
        if root.get(key) is not None and not isinstance(root.get(key), Mapping):
            r.unparsed.add(f"section:{key}")  # reported as "must be a mapping"
        for name, body in entries(r, root.get(key), f"{p}.{key}", required):
            got = parse(name, body, f"{p}.{key}.{name}")
            if got is None:
                r.unparsed.add(f"{kind}:{name}")
            else:
                out.append(got)
        return tuple(out)

    vpcs = each("vpc", "vpcs", lambda n, b, q: _vpc(r, n, b, q, region))
    dcs = each("datacenter", "datacenters", lambda n, b, q: _datacenter(r, n, b, q))
    vgws = each("gateway", "vpnGateways", lambda n, b, q: _vgw(r, n, b, q), required=False)
    tgws = each(
        "gateway", "transitGateways", lambda n, b, q: _tgw(r, n, b, q, region), required=False
    )
    conns = each("connection", "connections", lambda n, b, q: parse_connection(r, n, b, q, config))
    peers = each("peering", "peerings", lambda n, b, q: _peering(r, n, b, q), required=False)
    return NetworkSpec(
        stack=stack,
        default_region=region,
        vpcs=vpcs,
        datacenters=dcs,
        vpn_gateways=vgws,
        transit_gateways=tgws,
        connections=conns,
        peerings=peers,
        aws_supernets=aws_super,
        datacenter_supernets=dc_super,
        unparsed=frozenset(r.unparsed),
    )


def _vpc(r: Reader, name: str, body: Any, path: str, default_region: str) -> VpcSpec | None:
    ok = r.name(name, path)
    b = r.mapping(body, path)
    r.keys(
        b, path, {"region", "cidr", "azs", "azSlots", "tiers", "ingress"}, {"cidr", "azs", "tiers"}
    )
    region = r.str_(b.get("region", default_region), f"{path}.region") or default_region
    cidr = r.net(b.get("cidr"), f"{path}.cidr") if "cidr" in b else None
    lo, hi = aws.VPC_PREFIXLEN
    if cidr is not None and not lo <= cidr.prefixlen <= hi:
        r.p.add(f"{path}.cidr", str(cidr), f"a VPC CIDR is between /{lo} and /{hi}")
        cidr = None
    azs = r.list_(b.get("azs"), f"{path}.azs", lambda v, q: r.str_(v, q)) if "azs" in b else ()
    good_azs = _azs(r, azs, region, path)
    slots = None
    if "azSlots" in b:
        slots = r.int_(
            b["azSlots"],
            f"{path}.azSlots",
            1,
            26,
            "azSlots reserves room for 1-26 availability zones per tier",
        )
    if not isinstance(b.get("tiers"), Mapping):
        r.unparsed.add(f"tier:{name}/*")  # missing or malformed: reported by keys()/mapping()
    tiers = []
    for tname, tbody in entries(r, b.get("tiers"), f"{path}.tiers", required=False):
        mark = r.mark()
        tier = _tier(r, tname, tbody, f"{path}.tiers.{tname}", azs)
        if tier is not None:
            tiers.append(tier)
        if r.since(mark):
            r.unparsed.add(f"tier:{name}/{tname}")
    ingress = r.list_(
        b.get("ingress"),
        f"{path}.ingress",
        lambda v, q: _ingress(r, v, q),
        required=False,
        allow_empty=True,
    )
    if not ok or cidr is None or not good_azs:
        return None
    return VpcSpec(name, region, cidr, tuple(good_azs), tuple(tiers), ingress, slots)


def _azs(r: Reader, azs: tuple[str, ...], region: str, path: str) -> list[str]:
    """The availability zones that belong to `region`; problems for the others."""
    good = []
    for i, az in enumerate(azs):
        if not az.startswith(region) or len(az) != len(region) + 1 or not az[-1].islower():
            r.p.add(f"{path}.azs[{i}]", az, f"an availability zone of {region}, such as {region}a")
        else:
            good.append(az)
    if len(set(azs)) != len(azs):
        r.p.add(f"{path}.azs", list(azs), "availability zones must be distinct")
    return good


def _tier(r: Reader, name: str, body: Any, tp: str, azs: tuple[str, ...]) -> Tier | None:
    r.name(name, tp)
    tb = r.mapping(body, tp)
    r.keys(tb, tp, {"prefixLength", "subnets"}, set())
    if ("prefixLength" in tb) == ("subnets" in tb):
        r.p.add(tp, "prefixLength/subnets", "give exactly one of prefixLength or subnets")
        return None
    if "prefixLength" in tb:
        lo, hi = aws.SUBNET_PREFIXLEN
        plen = r.int_(
            tb["prefixLength"], f"{tp}.prefixLength", lo, hi, f"a subnet is between /{lo} and /{hi}"
        )
        return Tier(name, prefix_length=plen) if plen is not None else None
    subs = []
    for az, c in entries(r, tb["subnets"], f"{tp}.subnets"):
        net = r.net(c, f"{tp}.subnets.{az}")
        if az not in azs:
            r.p.add(f"{tp}.subnets.{az}", az, f"not one of the VPC's azs {list(azs)}")
        elif net is not None:
            subs.append((az, net))
    return Tier(name, subnets=tuple(sorted(subs)))


def _ingress(r: Reader, body: Any, path: str) -> IngressRule | None:
    b = r.mapping(body, path)
    r.keys(b, path, {"from", "tiers", "icmp", "tcp", "udp"}, {"from", "tiers"})
    sources = r.list_(b.get("from"), f"{path}.from", r.net) if "from" in b else ()
    tiers = (
        r.list_(b.get("tiers"), f"{path}.tiers", lambda v, q: r.str_(v, q)) if "tiers" in b else ()
    )
    mark = r.mark()
    icmp = r.bool_(b.get("icmp", False), f"{path}.icmp")
    tcp = r.list_(b.get("tcp", []), f"{path}.tcp", r.ports, allow_empty=True)
    udp = r.list_(b.get("udp", []), f"{path}.udp", r.ports, allow_empty=True)
    if b and not (icmp or tcp or udp) and not r.since(mark):
        # (a rule whose ports did not parse has said so already)
        r.p.add(path, "no icmp, tcp or udp", "a rule must admit at least one flow")
    return IngressRule(tuple(sources), tuple(tiers), icmp, tuple(tcp), tuple(udp))


def _datacenter(r: Reader, name: str, body: Any, path: str) -> DatacenterSpec | None:
    ok = r.name(name, path)
    b = r.mapping(body, path)
    r.keys(b, path, {"asn", "prefixes", "routers", *_AWS_ASN_FIELDS}, {"prefixes", "routers"})
    for field in sorted(_AWS_ASN_FIELDS & set(b)):
        # AWS's two fields are one number here: the component picks the field.
        r.p.add(
            f"{path}.{field}",
            b[field],
            f"give the ASN once, as asn ({aws.CUSTOMER_ASN_RANGE[0]}-"
            f"{aws.CUSTOMER_ASN_RANGE[1]}): crossnet sets AWS's bgpAsn or bgpAsnExtended "
            "by its range",
        )
    asn = _customer_asn(r, b.get("asn", aws.CUSTOMER_DEFAULT_ASN), f"{path}.asn")
    if asn is None:
        # Keep the datacenter (its prefixes and routers are still checked);
        # only the checks that need its ASN are skipped.
        r.unparsed.add(f"asn:{name}")
    prefixes = r.list_(b.get("prefixes"), f"{path}.prefixes", r.net) if "prefixes" in b else ()
    routers = []
    for rname, rbody in entries(r, b.get("routers"), f"{path}.routers", required=False):
        rp = f"{path}.routers.{rname}"
        rok = r.name(rname, rp)
        rb = r.mapping(rbody, rp)
        r.keys(
            rb,
            rp,
            {"publicIp", "platform", "firewallPolicies", "routerId"},
            {"publicIp", "platform"},
        )
        ip = r.ip(rb.get("publicIp"), f"{rp}.publicIp") if "publicIp" in rb else None
        rid = r.ip(rb["routerId"], f"{rp}.routerId") if "routerId" in rb else None
        plat = rb.get("platform")
        if "platform" in rb and (not isinstance(plat, str) or plat not in PLATFORMS):
            r.p.add(f"{rp}.platform", plat, "unknown platform; known: " + ", ".join(PLATFORMS))
        if ok and rok and ip is not None:
            # An unknown platform is reported above; the router stays in the
            # plan so that its connections are still checked.
            policies = r.bool_(rb.get("firewallPolicies", True), f"{rp}.firewallPolicies")
            routers.append(RouterSpec(name, rname, ip, str(plat), policies, rid))
        else:
            r.unparsed.add(f"router:{name}/{rname}")
    if not ok:
        return None
    return DatacenterSpec(
        name, asn if asn is not None else aws.CUSTOMER_DEFAULT_ASN, tuple(prefixes), tuple(routers)
    )


def _vgw(r: Reader, name: str, body: Any, path: str) -> VpnGatewaySpec | None:
    ok = r.name(name, path)
    b = r.mapping(body, path)
    r.keys(b, path, {"vpc", "asn"}, {"vpc"})
    vpc = r.str_(b.get("vpc"), f"{path}.vpc") if "vpc" in b else None
    asn = _amazon_asn(r, b.get("asn", aws.AWS_DEFAULT_ASN), f"{path}.asn")
    if not ok or vpc is None or asn is None:
        return None
    return VpnGatewaySpec(name, vpc, asn)


def _amazon_asn(r: Reader, value: Any, path: str) -> int | None:
    asn = r.int_(value, path, 1, 4294967294)
    why = aws.amazon_side_asn_violation(asn) if asn is not None else None
    if why:
        r.p.add(path, asn, why)
        return None
    return asn


# AWS's CreateCustomerGateway fields, which a stack gives as one `asn`.
_AWS_ASN_FIELDS = frozenset({"bgpAsn", "bgpAsnExtended"})


def _customer_asn(r: Reader, value: Any, path: str) -> int | None:
    """A datacenter's ASN in AWS's customer range (reserved ones are the plan's,
    which knows the regions)."""
    if isinstance(value, bool) or not isinstance(value, int):
        r.p.add(path, value, "must be an integer")
        return None
    why = aws.customer_asn_violation(value)
    if why:
        r.p.add(path, value, why)
        return None
    return value


def _tgw(
    r: Reader, name: str, body: Any, path: str, default_region: str
) -> TransitGatewaySpec | None:
    ok = r.name(name, path)
    b = r.mapping(body, path)
    r.keys(b, path, {"region", "asn", "ecmp", "attachments", "routeTables"}, {"attachments"})
    region = r.str_(b.get("region", default_region), f"{path}.region") or default_region
    asn = _amazon_asn(r, b.get("asn", aws.AWS_DEFAULT_ASN), f"{path}.asn")
    ecmp = r.bool_(b.get("ecmp", False), f"{path}.ecmp")
    attachments = []
    for vpc, abody in entries(r, b.get("attachments"), f"{path}.attachments", required=False):
        ap = f"{path}.attachments.{vpc}"
        ab = r.mapping(abody, ap)
        r.keys(ab, ap, {"tier"}, {"tier"})
        tier = r.str_(ab.get("tier"), f"{ap}.tier") if "tier" in ab else None
        if tier is not None:
            attachments.append((vpc, tier))
        else:
            r.unparsed.add(f"attachment:{name}/{vpc}")
    tables = []
    for tname, tbody in entries(r, b.get("routeTables"), f"{path}.routeTables", required=False):
        tp = f"{path}.routeTables.{tname}"
        mark = r.mark()
        r.name(tname, tp)
        tb = r.mapping(tbody, tp)
        r.keys(tb, tp, {"associations", "propagations"}, {"associations"})
        assoc = r.list_(tb.get("associations"), f"{tp}.associations", lambda v, q: _ref(r, v, q))
        prop = r.list_(
            tb.get("propagations", []),
            f"{tp}.propagations",
            lambda v, q: _ref(r, v, q),
            allow_empty=True,
        )
        tables.append(RouteTableSpec(tname, assoc, prop))
        if r.since(mark):
            r.unparsed.add(f"route-table:{name}")
    if not ok or asn is None:
        return None
    return TransitGatewaySpec(name, region, asn, ecmp, tuple(attachments), tuple(tables))


def _ref(r: Reader, value: Any, path: str) -> str | None:
    if not isinstance(value, str) or not re.fullmatch(r"(vpc|vpn):[a-z0-9-]+|vpn:\*", value):
        r.p.add(
            path, value, "an attachment is 'vpc:<vpc name>', 'vpn:<connection name>' or 'vpn:*'"
        )
        return None
    return value


def _peering(r: Reader, name: str, body: Any, path: str) -> PeeringSpec | None:
    ok = r.name(name, path)
    b = r.mapping(body, path)
    r.keys(b, path, {"requester", "accepter", "dnsResolution"}, {"requester", "accepter"})
    req = r.str_(b.get("requester"), f"{path}.requester") if "requester" in b else None
    acc = r.str_(b.get("accepter"), f"{path}.accepter") if "accepter" in b else None
    dns = r.bool_(b.get("dnsResolution", True), f"{path}.dnsResolution")
    if not ok or req is None or acc is None:
        return None
    return PeeringSpec(name, req, acc, dns)
