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
from typing import Any, TypeVar

from netaddr import AddrFormatError, IPAddress, IPNetwork

from network import aws_rules as aws
from network.errors import Problem, Problems
from network.model import (
    ConnectionSpec,
    DatacenterSpec,
    IngressRule,
    NetworkSpec,
    PeeringSpec,
    Phase,
    PortRange,
    RouterSpec,
    RouteTableSpec,
    Secret,
    Tier,
    TransitGatewaySpec,
    TunnelOptions,
    TunnelSpec,
    VpcSpec,
    VpnGatewaySpec,
)
from network.platforms import PLATFORMS
from network.stack_file import is_secure, secret_env_var

NETWORK_KEY = "crossnet:network"
NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$|^[a-z]$")
NAME_RULE = "a name is 1-32 of lowercase letters, digits and '-', starting with a letter"

# crossnet's own defaults are stronger than AWS's (which offers IKEv1, AES128,
# SHA1 and DH group 2 unless told otherwise).
DEFAULT_IKE_VERSIONS = ("ikev2",)
DEFAULT_ENCRYPTION = ("AES256",)
DEFAULT_INTEGRITY = ("SHA2-256",)
DEFAULT_DH_GROUPS = (20,)

T = TypeVar("T")


class _Reader:
    """Typed access to a nested mapping that records problems instead of raising."""

    def __init__(self, problems: Problems, need_secrets: bool = True):
        self.p = problems
        self.need_secrets = need_secrets
        self.unparsed: set[str] = set()
        self.warnings: list[Problem] = []

    def mark(self) -> int:
        """A point to ask `since(mark)` whether any problem was found after it."""
        return len(self.p)

    def since(self, mark: int) -> bool:
        return len(self.p) > mark

    def mapping(self, value: Any, path: str, required: bool = True) -> dict[str, Any]:
        if value is None:
            if required:
                # the same words as keys() uses, so a missing key is one problem
                self.p.add(path, "missing", "required key")
            return {}
        if not isinstance(value, Mapping):
            self.p.add(path, value, "must be a mapping")
            return {}
        return dict(value)

    def keys(
        self, obj: Mapping[str, Any], path: str, allowed: set[str], required: set[str]
    ) -> None:
        for key in obj:
            if not isinstance(key, str):
                self.p.add(f"{path}.{key}", "unknown key", "keys are names (strings)")
            elif key not in allowed:
                known = ", ".join(sorted(allowed))
                self.p.add(f"{path}.{key}", "unknown key", f"allowed keys: {known}")
        for key in sorted(required - set(obj)):
            self.p.add(f"{path}.{key}", "missing", "required key")

    def name(self, value: Any, path: str) -> bool:
        if not isinstance(value, str) or not NAME_RE.match(value):
            self.p.add(path, value, NAME_RULE)
            return False
        return True

    def int_(self, value: Any, path: str, lo: int, hi: int, rule: str = "") -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.p.add(path, value, "must be an integer")
            return None
        if not lo <= value <= hi:
            self.p.add(path, value, rule or f"must be between {lo} and {hi}")
            return None
        return value

    def bool_(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            self.p.add(path, value, "must be true or false")
            return False
        return value

    def str_(self, value: Any, path: str, choices: tuple[str, ...] | None = None) -> str | None:
        if not isinstance(value, str):
            self.p.add(path, value, "must be a string")
            return None
        if choices is not None and value not in choices:
            self.p.add(path, value, "must be one of " + ", ".join(choices))
            return None
        return value

    def net(self, value: Any, path: str, version: int = 4) -> IPNetwork | None:
        try:
            if not isinstance(value, str) or "/" not in value:
                raise ValueError
            net = IPNetwork(value)
        except (AddrFormatError, ValueError, TypeError):
            self.p.add(path, value, f"must be an IPv{version} CIDR such as 10.0.0.0/16")
            return None
        if net.version != version:
            self.p.add(path, value, f"must be an IPv{version} CIDR")
            return None
        if net.network != net.ip:
            self.p.add(path, value, f"host bits set: the network is {net.cidr}")
            return None
        return net

    def ip(self, value: Any, path: str) -> IPAddress | None:
        try:
            if not isinstance(value, str):
                raise ValueError
            ip = IPAddress(value)
        except (AddrFormatError, ValueError, TypeError):
            self.p.add(path, value, "must be an IPv4 address")
            return None
        if ip.version != 4:
            self.p.add(path, value, "must be an IPv4 address")
            return None
        return ip

    def list_(
        self,
        value: Any,
        path: str,
        item: Callable[[Any, str], T | None],
        required: bool = True,
        allow_empty: bool = False,
    ) -> tuple[T, ...]:
        if value is None:
            if required:
                self.p.add(path, "missing", "required key")
            return ()
        if not isinstance(value, list):
            self.p.add(path, value, "must be a list")
            return ()
        if not value and not allow_empty:
            self.p.add(path, "[]", "must not be empty")
        out = []
        for i, v in enumerate(value):
            got = item(v, f"{path}[{i}]")
            if got is not None:
                out.append(got)
        return tuple(out)

    def ports(self, value: Any, path: str) -> PortRange | None:
        if isinstance(value, int) and not isinstance(value, bool):
            first = last = value
        elif isinstance(value, str) and re.fullmatch(r"\d+-\d+", value):
            a, b = value.split("-")
            first, last = int(a), int(b)
        else:
            self.p.add(path, value, "a port is an integer or a range such as '8000-8100'")
            return None
        if not (1 <= first <= last <= 65535):
            self.p.add(path, value, "ports are 1-65535, and a range runs low to high")
            return None
        return PortRange(first, last)


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
    r = _Reader(problems, need_secrets)
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
                key = _psk_key(ref)
                if key not in keys:
                    keys.append(key)
    return keys


def _psk_key(ref: str) -> str:
    return ref if ":" in ref else f"crossnet:{ref}"


def _entries(r: _Reader, value: Any, path: str, required: bool = True) -> list[tuple[str, Any]]:
    """The (name, body) pairs of a mapping of named entries."""
    return [(str(k), v) for k, v in r.mapping(value, path, required).items()]


def _parse(config: Mapping[str, Any], stack: str, r: _Reader) -> NetworkSpec | None:
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
        for name, body in _entries(r, root.get(key), f"{p}.{key}", required):
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
    conns = each("connection", "connections", lambda n, b, q: _connection(r, n, b, q, config))
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


def _vpc(r: _Reader, name: str, body: Any, path: str, default_region: str) -> VpcSpec | None:
    ok = r.name(name, path)
    b = r.mapping(body, path)
    r.keys(
        b, path, {"region", "cidr", "azs", "azSlots", "tiers", "ingress"}, {"cidr", "azs", "tiers"}
    )
    region = r.str_(b.get("region", default_region), f"{path}.region") or default_region
    cidr = r.net(b.get("cidr"), f"{path}.cidr") if "cidr" in b else None
    if cidr is not None and not 16 <= cidr.prefixlen <= 28:
        r.p.add(f"{path}.cidr", str(cidr), "a VPC CIDR is between /16 and /28")
        cidr = None
    azs = r.list_(b.get("azs"), f"{path}.azs", lambda v, q: r.str_(v, q)) if "azs" in b else ()
    good_azs = []
    for i, az in enumerate(azs):
        if not az.startswith(region) or len(az) != len(region) + 1 or not az[-1].islower():
            r.p.add(f"{path}.azs[{i}]", az, f"an availability zone of {region}, such as {region}a")
        else:
            good_azs.append(az)
    if len(set(azs)) != len(azs):
        r.p.add(f"{path}.azs", list(azs), "availability zones must be distinct")
    slots = None
    if "azSlots" in b:
        slots = r.int_(
            b["azSlots"],
            f"{path}.azSlots",
            1,
            26,
            "azSlots reserves room for 1-26 availability zones per tier",
        )
    tiers = []
    if not isinstance(b.get("tiers"), Mapping):
        r.unparsed.add(f"tier:{name}/*")  # missing or malformed: reported by keys()/mapping()
    for tname, tbody in _entries(r, b.get("tiers"), f"{path}.tiers", required=False):
        tp = f"{path}.tiers.{tname}"
        mark = r.mark()
        r.name(tname, tp)
        tb = r.mapping(tbody, tp)
        r.keys(tb, tp, {"prefixLength", "subnets"}, set())
        if ("prefixLength" in tb) == ("subnets" in tb):
            r.p.add(tp, "prefixLength/subnets", "give exactly one of prefixLength or subnets")
        elif "prefixLength" in tb:
            plen = r.int_(
                tb["prefixLength"], f"{tp}.prefixLength", 16, 28, "a subnet is between /16 and /28"
            )
            if plen is not None:
                tiers.append(Tier(tname, prefix_length=plen))
        else:
            subs = []
            for az, c in _entries(r, tb["subnets"], f"{tp}.subnets"):
                net = r.net(c, f"{tp}.subnets.{az}")
                if az not in azs:
                    r.p.add(f"{tp}.subnets.{az}", az, f"not one of the VPC's azs {list(azs)}")
                elif net is not None:
                    subs.append((az, net))
            tiers.append(Tier(tname, subnets=tuple(sorted(subs))))
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


def _ingress(r: _Reader, body: Any, path: str) -> IngressRule | None:
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


def _datacenter(r: _Reader, name: str, body: Any, path: str) -> DatacenterSpec | None:
    ok = r.name(name, path)
    b = r.mapping(body, path)
    r.keys(b, path, {"asn", "prefixes", "routers"}, {"prefixes", "routers"})
    asn = r.int_(
        b.get("asn", aws.CUSTOMER_DEFAULT_ASN),
        f"{path}.asn",
        *aws.ASN_RANGE,
        rule=f"an ASN is {aws.ASN_RANGE[0]}-{aws.ASN_RANGE[1]}",
    )
    if asn is None:
        # Keep the datacenter (its prefixes and routers are still checked);
        # only the checks that need its ASN are skipped.
        r.unparsed.add(f"asn:{name}")
    prefixes = r.list_(b.get("prefixes"), f"{path}.prefixes", r.net) if "prefixes" in b else ()
    routers = []
    for rname, rbody in _entries(r, b.get("routers"), f"{path}.routers", required=False):
        rp = f"{path}.routers.{rname}"
        rok = r.name(rname, rp)
        rb = r.mapping(rbody, rp)
        r.keys(rb, rp, {"publicIp", "platform", "firewallPolicies"}, {"publicIp", "platform"})
        ip = r.ip(rb.get("publicIp"), f"{rp}.publicIp") if "publicIp" in rb else None
        plat = rb.get("platform")
        if "platform" in rb and (not isinstance(plat, str) or plat not in PLATFORMS):
            r.p.add(f"{rp}.platform", plat, "unknown platform; known: " + ", ".join(PLATFORMS))
        if ok and rok and ip is not None:
            # An unknown platform is reported above; the router stays in the
            # plan so that its connections are still checked.
            policies = r.bool_(rb.get("firewallPolicies", True), f"{rp}.firewallPolicies")
            routers.append(RouterSpec(name, rname, ip, str(plat), policies))
        else:
            r.unparsed.add(f"router:{name}/{rname}")
    if not ok:
        return None
    return DatacenterSpec(
        name, asn if asn is not None else aws.CUSTOMER_DEFAULT_ASN, tuple(prefixes), tuple(routers)
    )


def _vgw(r: _Reader, name: str, body: Any, path: str) -> VpnGatewaySpec | None:
    ok = r.name(name, path)
    b = r.mapping(body, path)
    r.keys(b, path, {"vpc", "asn"}, {"vpc"})
    vpc = r.str_(b.get("vpc"), f"{path}.vpc") if "vpc" in b else None
    asn = _amazon_asn(r, b.get("asn", aws.AWS_DEFAULT_ASN), f"{path}.asn")
    if not ok or vpc is None or asn is None:
        return None
    return VpnGatewaySpec(name, vpc, asn)


def _amazon_asn(r: _Reader, value: Any, path: str) -> int | None:
    asn = r.int_(value, path, 1, 4294967294)
    if asn is not None and not any(lo <= asn <= hi for lo, hi in aws.AMAZON_SIDE_ASN_RANGES):
        r.p.add(path, asn, "an Amazon-side ASN is 64512-65534 or 4200000000-4294967294")
        return None
    return asn


def _tgw(
    r: _Reader, name: str, body: Any, path: str, default_region: str
) -> TransitGatewaySpec | None:
    ok = r.name(name, path)
    b = r.mapping(body, path)
    r.keys(b, path, {"region", "asn", "ecmp", "attachments", "routeTables"}, {"attachments"})
    region = r.str_(b.get("region", default_region), f"{path}.region") or default_region
    asn = _amazon_asn(r, b.get("asn", aws.AWS_DEFAULT_ASN), f"{path}.asn")
    ecmp = r.bool_(b.get("ecmp", False), f"{path}.ecmp")
    attachments = []
    for vpc, abody in _entries(r, b.get("attachments"), f"{path}.attachments", required=False):
        ap = f"{path}.attachments.{vpc}"
        ab = r.mapping(abody, ap)
        r.keys(ab, ap, {"tier"}, {"tier"})
        tier = r.str_(ab.get("tier"), f"{ap}.tier") if "tier" in ab else None
        if tier is not None:
            attachments.append((vpc, tier))
        else:
            r.unparsed.add(f"attachment:{name}/{vpc}")
    tables = []
    for tname, tbody in _entries(r, b.get("routeTables"), f"{path}.routeTables", required=False):
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


def _ref(r: _Reader, value: Any, path: str) -> str | None:
    if not isinstance(value, str) or not re.fullmatch(r"(vpc|vpn):[a-z0-9-]+|vpn:\*", value):
        r.p.add(
            path, value, "an attachment is 'vpc:<vpc name>', 'vpn:<connection name>' or 'vpn:*'"
        )
        return None
    return value


def _phase(r: _Reader, body: Any, path: str, n: int, bad: set[str]) -> Phase:
    b = r.mapping(body, path, required=False)
    r.keys(b, path, {"encryption", "integrity", "dhGroups", "lifetimeSeconds"}, set())
    enc_ok = aws.PHASE1_ENCRYPTION if n == 1 else aws.PHASE2_ENCRYPTION
    int_ok = aws.PHASE1_INTEGRITY if n == 1 else aws.PHASE2_INTEGRITY
    dh_ok = aws.PHASE1_DH_GROUPS if n == 1 else aws.PHASE2_DH_GROUPS
    lo, hi = aws.PHASE1_LIFETIME if n == 1 else aws.PHASE2_LIFETIME
    enc = r.list_(
        b.get("encryption", list(DEFAULT_ENCRYPTION)),
        f"{path}.encryption",
        lambda v, q: r.str_(v, q, enc_ok),
    )
    integ = r.list_(
        b.get("integrity", list(DEFAULT_INTEGRITY)),
        f"{path}.integrity",
        lambda v, q: r.str_(v, q, int_ok),
    )

    def dh(v: Any, q: str) -> int | None:
        if isinstance(v, bool) or v not in dh_ok:
            r.p.add(q, v, f"phase {n} DH groups AWS allows: " + ", ".join(map(str, dh_ok)))
            return None
        return int(v)

    groups = r.list_(b.get("dhGroups", list(DEFAULT_DH_GROUPS)), f"{path}.dhGroups", dh)
    default_life = aws.PHASE1_LIFETIME_DEFAULT if n == 1 else aws.PHASE2_LIFETIME_DEFAULT
    life = r.int_(
        b.get("lifetimeSeconds", default_life),
        f"{path}.lifetimeSeconds",
        lo,
        hi,
        f"phase {n} lifetime is {lo}-{hi} seconds",
    )
    if life is None:
        bad.add(f"phase{n}.lifetimeSeconds")
    return Phase(
        tuple(dict.fromkeys(enc)),
        tuple(dict.fromkeys(integ)),
        tuple(dict.fromkeys(groups)),
        life if life is not None else default_life,
    )


def _options(r: _Reader, body: Any, path: str, bad: set[str]) -> TunnelOptions:
    """The tunnel options; `bad` receives the names of those that did not parse
    (and were replaced by their defaults), so the plan's cross-checks skip them."""
    b = r.mapping(body, path, required=False)
    r.keys(
        b,
        path,
        {
            "ikeVersions",
            "phase1",
            "phase2",
            "rekeyMarginSeconds",
            "rekeyFuzzPercentage",
            "replayWindowSize",
            "dpd",
            "startupAction",
        },
        set(),
    )
    mark = r.mark()
    ike = r.list_(
        b.get("ikeVersions", list(DEFAULT_IKE_VERSIONS)),
        f"{path}.ikeVersions",
        lambda v, q: r.str_(v, q, aws.IKE_VERSIONS),
    )
    if r.since(mark):
        bad.add("ikeVersions")
    p1 = _phase(r, b.get("phase1"), f"{path}.phase1", 1, bad)
    p2 = _phase(r, b.get("phase2"), f"{path}.phase2", 2, bad)
    # The upper bound, half of the phase 2 lifetime, is the plan's check: it
    # depends on another option.
    margin = r.int_(
        b.get("rekeyMarginSeconds", aws.REKEY_MARGIN_DEFAULT),
        f"{path}.rekeyMarginSeconds",
        aws.REKEY_MARGIN_MIN,
        2**31 - 1,
        f"rekey margin is at least {aws.REKEY_MARGIN_MIN} seconds "
        "(and at most half of the phase 2 lifetime)",
    )
    if margin is None:
        bad.add("rekeyMarginSeconds")
    fuzz = r.int_(
        b.get("rekeyFuzzPercentage", aws.REKEY_FUZZ_DEFAULT),
        f"{path}.rekeyFuzzPercentage",
        *aws.REKEY_FUZZ,
        "rekey fuzz is 0-100 percent",
    )
    window = r.int_(
        b.get("replayWindowSize", aws.REPLAY_WINDOW_DEFAULT),
        f"{path}.replayWindowSize",
        *aws.REPLAY_WINDOW,
        f"replay window is {aws.REPLAY_WINDOW[0]}-{aws.REPLAY_WINDOW[1]} packets",
    )
    dpd = r.mapping(b.get("dpd"), f"{path}.dpd", required=False)
    r.keys(dpd, f"{path}.dpd", {"timeoutSeconds", "action"}, set())
    dpd_timeout = r.int_(
        dpd.get("timeoutSeconds", aws.DPD_TIMEOUT_DEFAULT),
        f"{path}.dpd.timeoutSeconds",
        aws.DPD_TIMEOUT_MIN,
        3600,
        f"DPD timeout is at least {aws.DPD_TIMEOUT_MIN} seconds (and at most 3600)",
    )
    dpd_action = r.str_(dpd.get("action", "clear"), f"{path}.dpd.action", aws.DPD_ACTIONS)
    startup = r.str_(b.get("startupAction", "add"), f"{path}.startupAction", aws.STARTUP_ACTIONS)
    if startup is None:
        bad.add("startupAction")
    return TunnelOptions(
        ike_versions=tuple(dict.fromkeys(ike)),
        phase1=p1,
        phase2=p2,
        rekey_margin=margin if margin is not None else aws.REKEY_MARGIN_DEFAULT,
        rekey_fuzz=fuzz if fuzz is not None else aws.REKEY_FUZZ_DEFAULT,
        replay_window=window if window is not None else aws.REPLAY_WINDOW_DEFAULT,
        dpd_timeout=dpd_timeout if dpd_timeout is not None else aws.DPD_TIMEOUT_DEFAULT,
        dpd_action=dpd_action or "clear",
        startup_action=startup or "add",
    )


def _connection(
    r: _Reader, name: str, body: Any, path: str, config: Mapping[str, Any]
) -> ConnectionSpec | None:
    ok = r.name(name, path)
    b = r.mapping(body, path)
    r.keys(
        b,
        path,
        {"router", "gateway", "routing", "tunnelOptions", "tunnel1", "tunnel2"},
        {"router", "gateway", "routing"},
    )
    router = r.str_(b.get("router"), f"{path}.router") if "router" in b else None
    if router is not None and not re.fullmatch(r"[a-z0-9-]+/[a-z0-9-]+", router):
        r.p.add(f"{path}.router", router, "a router is named '<datacenter>/<router>'")
        router = None
    gateway = r.str_(b.get("gateway"), f"{path}.gateway") if "gateway" in b else None
    routing = (
        r.str_(b.get("routing"), f"{path}.routing", ("bgp", "static")) if "routing" in b else None
    )
    bad: set[str] = set()
    options = _options(r, b.get("tunnelOptions"), f"{path}.tunnelOptions", bad)
    r.unparsed.update(f"option:{name}:{x}" for x in bad)
    tunnels = tuple(_tunnel(r, n, b.get(f"tunnel{n}"), f"{path}.tunnel{n}", config) for n in (1, 2))
    if not ok or router is None or gateway is None or routing is None:
        # Keep what it refers to, so that no other check calls those unused.
        if router is not None:
            r.unparsed.add(f"uses-router:{router}")
        if gateway is not None:
            r.unparsed.add(f"uses-gateway:{gateway}")
        return None
    return ConnectionSpec(
        name,
        router.replace("/", "-"),
        gateway,
        routing,
        options,
        (tunnels[0], tunnels[1]),
        router_ref=router,
    )


def _tunnel(r: _Reader, n: int, body: Any, path: str, config: Mapping[str, Any]) -> TunnelSpec:
    b = r.mapping(body, path, required=False)
    r.keys(b, path, {"insideCidr", "insideIpv6Cidr", "presharedKeySecret"}, set())
    inside = r.net(b["insideCidr"], f"{path}.insideCidr") if "insideCidr" in b else None
    inside6 = (
        r.net(b["insideIpv6Cidr"], f"{path}.insideIpv6Cidr", 6) if "insideIpv6Cidr" in b else None
    )
    psk = None
    source = None
    if "presharedKeySecret" in b:
        ref = b["presharedKeySecret"]
        field = f"{path}.presharedKeySecret"
        if not isinstance(ref, str) or not ref:
            r.p.add(field, ref, "names a config key, such as dc1-edge1-t1")
            return TunnelSpec(n, inside, inside6, None, None)
        source = _psk_key(ref)
        value = config.get(source)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # `key: 12345678` in YAML is the string the CLI passes
        if is_secure(value):
            if r.need_secrets:
                r.p.add(
                    field,
                    ref,
                    f"'{source}' is a 'secure:' value, which only the Pulumi CLI can decrypt: "
                    f"for `crossnet up` set {secret_env_var(source)} to the key in the "
                    "environment (read, never printed), or leave presharedKeySecret out to "
                    "have a key generated; `pulumi up` decrypts it itself",
                )
            else:
                r.warnings.append(
                    Problem(
                        field,
                        repr(ref),
                        f"the key is the secret config value '{source}', not read here: "
                        "AWS's key rules are checked when it is applied",
                    )
                )
        elif value is None:
            r.p.add(
                field,
                ref,
                f"names config key '{source}', which is not set "
                f"(pulumi config set --secret {source} ...)",
            )
        elif not isinstance(value, str):
            r.p.add(field, ref, f"config key '{source}' must hold the key as a string")
        elif not aws.psk_ok(value):
            # never echo the key itself: show only its length
            r.p.add(
                field,
                f"<secret {ref}, {len(value)} chars>",
                "a pre-shared key is " + aws.PSK_RULE,
            )
        else:
            psk = Secret(value)
    return TunnelSpec(n, inside, inside6, psk, source)


def _peering(r: _Reader, name: str, body: Any, path: str) -> PeeringSpec | None:
    ok = r.name(name, path)
    b = r.mapping(body, path)
    r.keys(b, path, {"requester", "accepter", "dnsResolution"}, {"requester", "accepter"})
    req = r.str_(b.get("requester"), f"{path}.requester") if "requester" in b else None
    acc = r.str_(b.get("accepter"), f"{path}.accepter") if "accepter" in b else None
    dns = r.bool_(b.get("dnsResolution", True), f"{path}.dnsResolution")
    if not ok or req is None or acc is None:
        return None
    return PeeringSpec(name, req, acc, dns)
