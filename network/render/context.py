"""build_context: everything a router's templates need, computed in Python (pure).

Templates only `if`, `for` and `include`: every address, name, timer and
vendor crypto spelling is decided here, from one `contract.Router`. Bad input
is reported as one ConfigError listing every problem of the router.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from netaddr import AddrFormatError, IPAddress, IPNetwork

from network import aws_rules as aws
from network.contract import Connection, Router, Tunnel
from network.errors import Problems
from network.model import TunnelOptions
from network.platforms import PLATFORMS
from network.render import crypto as cr
from network.render import names
from network.render.defaults import (
    BGP_CONNECT_RETRY,
    DISCARD_DISTANCE,
    DPD_INTERVAL,
    FORTIOS_DISCARD_ID_BASE,
    FORTIOS_LAN_INTERFACE,
    FORTIOS_POLICY_ID_BASE,
    FORTIOS_STATIC_PRIORITY,
    HEADER,
    JUNOS_LAN_ZONE,
    JUNOS_VPN_ZONE,
    JUNOS_WAN_ZONE,
    MAX_PREFIX_RESTART_MINUTES,
    PREFERENCES,
    REDACTED,
    REDUNDANCIES,
    RETRANSMIT_BASE,
    RETRANSMIT_TIMEOUT,
    RETRANSMIT_TRIES,
    ROUTINGS,
    SECONDARY_LOCAL_PREF,
    SECONDARY_PREPEND,
    STATIC_DISTANCE,
    WAN_INTERFACE,
    ZONE_BASED,
    dpd_dead_after,
    iosxe_dpd_retry,
)


@dataclass(frozen=True)
class TunnelContext:
    connection: str
    number: int
    key: str  # "<connection>-<n>": strongSwan connection/child name, object names
    tunnel_no: int  # the inside /30's index: interface numbers, if_id
    short: str  # "aws<tunnel_no>": object names where a platform caps their length
    interface: str
    interface_config: str  # the interface as config statements name it ("st0 unit 5" on Junos)
    file: str | None  # linux: this tunnel's swanctl file
    aws_outside_ip: str
    customer_outside_ip: str
    inside_cidr: str
    aws_inside_ip: str
    customer_inside_ip: str
    inside_prefixlen: int
    aws_asn: int
    customer_asn: int
    hold_time: int
    keepalive: int
    preference: str
    psk: str
    local_pref: int | None
    prepend: tuple[int, ...]
    static_distance: int
    static_priority: int  # FortiOS only (the others have no priority)
    static_routes: tuple[tuple[int, str], ...]  # (route id, AWS prefix): FortiOS needs ids
    route_map_in: str | None
    route_map_out: str | None
    import_policy: str  # Junos: the BGP import/export policies of this tunnel's neighbour
    export_policy: str
    keyring_peer: str  # IOS-XE: the peer entry in the tunnel's keyring
    secret_name: str  # strongSwan: the tunnel's secrets section
    static_comment: str  # FortiOS static route comment
    description: str


@dataclass(frozen=True)
class ConnectionContext:
    name: str
    vpn_id: str
    gateway_name: str
    gateway_type: str
    routing: str
    redundancy: str
    bgp: bool
    static: bool
    ecmp: bool
    announce: tuple[str, ...]
    accept: tuple[str, ...]
    max_prefixes_in: int
    max_prefixes_out: int
    mtu: int
    mss: int
    ike_version: int
    ikev1: bool  # the datacenter side speaks IKEv1 (AWS allows only that on this tunnel)
    ikev2: bool
    ike_lifetime: int
    ike_rekey_time: int
    ike_over_time: int
    ike_rand_time: int
    esp_lifetime: int
    esp_rekey_time: int
    esp_rand_time: int
    replay_window: int
    dpd_interval: int
    dpd_retries: int  # Junos threshold, FortiOS retry count: interval x retries <= timeout
    dpd_retry_interval: int  # IOS-XE: seconds between retries once a probe is unanswered
    dpd_timeout: int
    crypto: dict[str, Any]
    short: str  # tunnel 1's short name: per-connection objects on length-capped platforms
    description: str  # Junos BGP group
    aws_asn: int  # tunnel 1's (both tunnels of a connection end on the same gateway)
    hold_time: int
    prefix_list_in: str
    prefix_list_out: str
    accept_rules: tuple[tuple[int, str], ...]  # (sequence number, prefix)
    announce_rules: tuple[tuple[int, str], ...]
    tunnels: tuple[TunnelContext, ...]
    # Firewall/security policies (zone-based platforms): address objects of each side,
    # the set/group holding them, the policies' names and (FortiOS) ids.
    dc_addresses: tuple[str, ...] = ()
    aws_addresses: tuple[str, ...] = ()
    address_set_dc: str = ""
    address_set_aws: str = ""
    policy_out: str = ""  # datacenter to AWS
    policy_in: str = ""  # AWS to datacenter
    policy_out_id: int = 0
    policy_in_id: int = 0
    tunnel_interfaces: tuple[str, ...] = ()


@dataclass(frozen=True)
class RouterContext:
    key: str
    name: str
    datacenter: str
    platform: str
    public_ip: str
    local_addresses: tuple[str, ...]  # its public IP, then any connection's own (publicIp)
    router_id: str
    asn: int
    announce: tuple[str, ...]  # every prefix the router announces over BGP
    announce_rules: tuple[tuple[int, str], ...]  # (sequence, prefix)
    discard_routes: tuple[tuple[int, str, str], ...]  # (FortiOS route id, prefix, comment)
    standby_route_maps: bool  # any tunnel has standby route maps (FortiOS: skip an empty block)
    discard_distance: int
    bgp: bool
    static: bool
    static_block: bool  # static or discard routes to render (FortiOS: one config block)
    ecmp_paths: int  # 0: no ECMP
    ecmp_policy: str  # Junos: the forwarding-table load-balance policy
    ikev2_policy: str  # IOS-XE
    mss: int  # the smallest TCP MSS of its connections (Junos clamps globally)
    redacted: bool
    wan_interface: str
    vpn_zone: str
    wan_zone: str
    updown_path: str
    header: str
    bgp_connect_retry: int
    max_prefix_restart: int  # minutes
    retransmit_timeout: float
    retransmit_base: float
    retransmit_tries: int
    dpd_dead_after: float  # seconds from the last packet to charon's DPD giving up (slowest)
    # Zone-based platforms: render the policies between the tunnels and the LAN.
    policies: bool = False
    policy_addresses: tuple[tuple[str, str], ...] = ()  # (address object, prefix)
    lan_zone: str = JUNOS_LAN_ZONE
    lan_interface: str = FORTIOS_LAN_INTERFACE
    # Router-wide crypto: the first connection's (IOS-XE's one IKEv2 policy; the
    # other connections have the same phase 1, see _iosxe_rules).
    crypto: dict[str, Any] = field(default_factory=dict)
    connections: tuple[ConnectionContext, ...] = field(default=())

    @property
    def tunnels(self) -> tuple[TunnelContext, ...]:
        return tuple(t for c in self.connections for t in c.tunnels)

    @property
    def bgp_tunnels(self) -> tuple[TunnelContext, ...]:
        return tuple(t for c in self.connections if c.bgp for t in c.tunnels)


def build_context(router: Router, redact: bool = False) -> dict[str, Any]:
    """The template context of one router: `{"router": RouterContext}`.

    Raises ConfigError naming every problem (unknown platform, no tunnels,
    addresses that do not parse, crypto the platform cannot express, ...).
    """
    p = Problems()
    ctx = _router(router, redact, p)
    p.raise_if_any(f"router {router.key!r} in the stack outputs")
    assert ctx is not None
    return {"router": ctx}


def _router(r: Router, redact: bool, p: Problems) -> RouterContext | None:
    path = f"routers.{r.key}"
    if r.platform not in PLATFORMS:
        p.add(f"{path}.platform", r.platform, "unknown platform; known: " + ", ".join(PLATFORMS))
    if not r.connections:
        p.add(f"{path}.connections", "[]", "a router with no tunnels has nothing to render")
    for i, prefix in enumerate(r.prefixes):
        _cidr(prefix, f"{path}.prefixes[{i}]", p)
    if _address(r.public_ip, f"{path}.publicIp", p) is None:
        return None
    conns = []
    for i in range(len(r.connections)):
        conn = _connection(r, i, redact, p)
        if conn is not None:
            conns.append(conn)
    if p:
        return None
    _unique_tunnels(path, conns, p)
    if r.platform == "iosxe":
        _iosxe_rules(r, p)
    if p:
        return None
    announce = tuple(dict.fromkeys(x for c in conns if c.bgp for x in c.announce))
    ecmp = sum(len(c.tunnels) for c in conns if c.ecmp)
    conns.sort(key=lambda c: c.name)
    return RouterContext(
        key=r.key,
        name=r.name,
        datacenter=r.datacenter,
        platform=r.platform,
        public_ip=str(IPAddress(r.public_ip)),
        local_addresses=tuple(
            dict.fromkeys(
                [str(IPAddress(r.public_ip))]
                + [str(IPAddress(t.customer_outside_ip)) for c in conns for t in c.tunnels]
            )
        ),
        router_id=str(IPAddress(r.router_id or r.public_ip)),
        asn=r.asn,
        announce=announce,
        bgp=any(c.bgp for c in conns),
        announce_rules=tuple((i + 1, x) for i, x in enumerate(announce)),
        discard_routes=tuple(
            (FORTIOS_DISCARD_ID_BASE + i + 1, x, f"crossnet discard {x}")
            for i, x in enumerate(announce)
        ),
        standby_route_maps=any(t.route_map_in for c in conns for t in c.tunnels),
        discard_distance=DISCARD_DISTANCE,
        static=any(c.static for c in conns),
        ecmp_paths=ecmp,
        redacted=redact,
        ecmp_policy=names.JUNOS_ECMP_POLICY,
        ikev2_policy=names.IOSXE_IKEV2_POLICY,
        static_block=any(c.static for c in conns) or bool(announce),
        mss=min(c.mss for c in conns),
        wan_interface=WAN_INTERFACE.get(r.platform, ""),
        vpn_zone=JUNOS_VPN_ZONE,
        wan_zone=JUNOS_WAN_ZONE,
        updown_path=names.LINUX_UPDOWN_PATH,
        header=HEADER,
        bgp_connect_retry=BGP_CONNECT_RETRY,
        max_prefix_restart=MAX_PREFIX_RESTART_MINUTES,
        retransmit_timeout=RETRANSMIT_TIMEOUT,
        retransmit_base=RETRANSMIT_BASE,
        retransmit_tries=RETRANSMIT_TRIES,
        dpd_dead_after=max(dpd_dead_after(c.dpd_interval) for c in conns),
        crypto=conns[0].crypto,
        connections=tuple(conns),
        policies=r.firewall_policies and r.platform in ZONE_BASED,
        policy_addresses=tuple(
            (names.policy_address(x), x)
            for x in dict.fromkeys(x for c in conns for x in (*c.announce, *c.accept))
        ),
    )


def _unique_tunnels(path: str, conns: list[ConnectionContext], p: Problems) -> None:
    """Tunnel numbers (the inside /30's index) name interfaces: one router, one each."""
    seen: dict[int, str] = {}
    for c in conns:
        for t in c.tunnels:
            if t.tunnel_no in seen:
                p.add(
                    f"{path}.connections[{c.name}].tunnels[{t.number}].insideCidr",
                    t.inside_cidr,
                    f"also the inside CIDR of {seen[t.tunnel_no]} on this router",
                )
            seen[t.tunnel_no] = t.key


def _check_connection(c: Connection, path: str, p: Problems) -> None:
    """What a connection must hold whatever the platform."""
    if c.routing not in ROUTINGS:
        p.add(f"{path}.routing", c.routing, "one of " + ", ".join(ROUTINGS))
    if c.redundancy not in REDUNDANCIES:
        p.add(f"{path}.redundancy", c.redundancy, "one of " + ", ".join(REDUNDANCIES))
    if sorted(t.number for t in c.tunnels) != [1, 2]:
        p.add(
            f"{path}.tunnels",
            [t.number for t in c.tunnels],
            "a VPN connection has exactly two tunnels, numbered 1 and 2",
        )
    for i, prefix in enumerate(c.accept):
        _cidr(prefix, f"{path}.accept[{i}]", p)
    for i, prefix in enumerate(c.announce):
        _cidr(prefix, f"{path}.announce[{i}]", p)
    if not c.accept:
        p.add(f"{path}.accept", "[]", "no AWS prefix to route or accept over this connection")
    if c.routing == "static" and len(c.accept) > 99:
        p.add(
            f"{path}.accept",
            f"{len(c.accept)} prefixes",
            "at most 99 static routes per tunnel (route ids are numbered per tunnel)",
        )
    if c.routing == "bgp" and not c.announce:
        p.add(f"{path}.announce", "[]", "BGP needs at least one datacenter prefix to announce")
    if len(c.announce) > c.max_prefixes_out or c.max_prefixes_out > aws.MAX_PREFIXES_FROM_CUSTOMER:
        p.add(
            f"{path}.announce",
            f"{len(c.announce)} prefixes",
            f"AWS accepts at most {aws.MAX_PREFIXES_FROM_CUSTOMER} prefixes from a customer",
        )
    if c.max_prefixes_in < 1:
        p.add(f"{path}.maxPrefixesIn", c.max_prefixes_in, "a positive maximum-prefix guard")
    if not 576 <= c.tunnel_mtu <= 1500 or not 536 <= c.tcp_mss <= c.tunnel_mtu - 40:
        p.add(
            f"{path}.tunnelMtu",
            f"mtu {c.tunnel_mtu}, mss {c.tcp_mss}",
            "an MTU of 576-1500 and an MSS at most the MTU less 40 bytes of headers",
        )


def _connection(r: Router, index: int, redact: bool, p: Problems) -> ConnectionContext | None:
    c: Connection = r.connections[index]
    path = f"routers.{r.key}.connections[{c.name}]"
    before = len(p.items)
    _check_connection(c, path, p)
    spec, vendor = _crypto(r, c, path, p)
    tunnels = [t for t in (_tunnel(r, c, t, redact, p) for t in c.tunnels) if t is not None]
    if len(p.items) > before or spec is None:
        return None
    margin = spec.rekey_margin
    fuzz = margin * spec.rekey_fuzz // 100
    # AWS starts rekeying `margin` seconds before a lifetime ends, earlier by up
    # to `fuzz` percent of the margin. The datacenter side does the same, so
    # both sides have a fresh SA before either one expires.
    ike_rekey = spec.phase1.lifetime - margin
    esp_rekey = spec.phase2.lifetime - margin
    dpd_interval = min(DPD_INTERVAL, spec.dpd_timeout // 3)
    accept = tuple(str(IPNetwork(x).cidr) for x in c.accept)
    first = min(tunnels, key=lambda t: t.number)
    announce = tuple(str(IPNetwork(x).cidr) for x in c.announce)
    return ConnectionContext(
        name=c.name,
        vpn_id=str(c.raw.get("vpnConnectionId", "")),
        gateway_name=str(c.gateway.get("name", "")),
        gateway_type=str(c.gateway.get("type", "")),
        routing=c.routing,
        redundancy=c.redundancy,
        bgp=c.routing == "bgp",
        static=c.routing == "static",
        ecmp=c.routing == "bgp" and c.redundancy == "ecmp",
        announce=announce,
        accept=accept,
        max_prefixes_in=c.max_prefixes_in,
        max_prefixes_out=c.max_prefixes_out,
        mtu=c.tunnel_mtu,
        mss=c.tcp_mss,
        ike_version=cr.ike_version(spec),
        ikev1=cr.ike_version(spec) == 1,
        ikev2=cr.ike_version(spec) == 2,
        ike_lifetime=spec.phase1.lifetime,
        ike_rekey_time=ike_rekey,
        ike_over_time=margin,
        ike_rand_time=min(fuzz, ike_rekey // 2),
        esp_lifetime=spec.phase2.lifetime,
        esp_rekey_time=esp_rekey,
        esp_rand_time=min(fuzz, esp_rekey // 2),
        replay_window=spec.replay_window,
        dpd_interval=dpd_interval,
        dpd_retries=spec.dpd_timeout // dpd_interval,
        dpd_timeout=spec.dpd_timeout,
        dpd_retry_interval=iosxe_dpd_retry(spec.dpd_timeout, dpd_interval),
        crypto=_named_crypto(r.platform, vendor, c.name, first.short),
        short=first.short,
        description=f"crossnet {c.name} ({c.raw.get('vpnConnectionId', '')})",
        aws_asn=first.aws_asn,
        hold_time=first.hold_time,
        prefix_list_in=f"{c.name}-in",
        prefix_list_out=f"{c.name}-out",
        accept_rules=_rules(accept),
        announce_rules=_rules(announce),
        tunnels=tuple(sorted(tunnels, key=lambda t: t.number)),
        **_policy_names(r.platform, c.name, tunnels, announce, accept),
    )


def _policy_names(
    platform: str,
    connection: str,
    tunnels: list[TunnelContext],
    dc: tuple[str, ...],
    accept: tuple[str, ...],
) -> dict[str, Any]:
    """The names of a connection's policy objects (ConnectionContext's policy fields)."""
    first = min(tunnels, key=lambda t: t.number)
    return {
        "tunnel_interfaces": tuple(t.interface for t in sorted(tunnels, key=lambda t: t.number)),
        "dc_addresses": tuple(names.policy_address(x) for x in dc),
        "aws_addresses": tuple(names.policy_address(x) for x in accept),
        "address_set_dc": names.policy_address_set(connection, "dc"),
        "address_set_aws": names.policy_address_set(connection, "aws"),
        "policy_out": names.firewall_policy(connection, first.short, platform, "out"),
        "policy_in": names.firewall_policy(connection, first.short, platform, "in"),
        "policy_out_id": FORTIOS_POLICY_ID_BASE + 2 * first.tunnel_no + 1,
        "policy_in_id": FORTIOS_POLICY_ID_BASE + 2 * first.tunnel_no + 2,
    }


def _crypto(
    r: Router, c: Connection, path: str, p: Problems
) -> tuple[TunnelOptions | None, dict[str, Any]]:
    """The connection's tunnel options, and the platform's spelling of them."""
    spec = cr.parse_crypto(c.crypto, f"{path}.crypto", p)
    vendor: dict[str, Any] = {}
    if spec is not None and r.platform in cr.PLATFORM_CRYPTO:
        if cr.ike_version(spec) == 1 and r.platform == "iosxe":
            p.add(
                f"{path}.crypto.ikeVersions",
                list(spec.ike_versions),
                "crossnet renders IOS-XE with IKEv2 only: allow ikev2 on this connection",
            )
        try:
            vendor = cr.PLATFORM_CRYPTO[r.platform](spec)
        except cr.UnsupportedCryptoError as e:
            p.add(f"{path}.crypto", r.platform, str(e))
    return spec, vendor


def _tunnel(r: Router, c: Connection, t: Tunnel, redact: bool, p: Problems) -> TunnelContext | None:
    path = f"routers.{r.key}.connections[{c.name}].tunnels[{t.number}]"
    before = len(p.items)
    for name, value in (
        ("awsOutsideIp", t.aws_outside_ip),
        ("customerOutsideIp", t.customer_outside_ip),
        ("awsInsideIp", t.aws_inside_ip),
        ("customerInsideIp", t.customer_inside_ip),
    ):
        _address(value, f"{path}.{name}", p)
    net = _cidr(t.inside_cidr, f"{path}.insideCidr", p)
    why = aws.inside_cidr_violation(net) if net is not None else None
    if why:
        p.add(f"{path}.insideCidr", t.inside_cidr, why)
    if t.preference not in PREFERENCES:
        p.add(f"{path}.preference", t.preference, "one of " + ", ".join(PREFERENCES))
    if len(p.items) > before or net is None:
        return None
    for name, value in (
        ("awsInsideIp", t.aws_inside_ip),
        ("customerInsideIp", t.customer_inside_ip),
    ):
        if IPAddress(value) not in net:
            p.add(f"{path}.{name}", value, f"must lie inside the tunnel's {net}")
    # The router's public address, or (a connection with a customer gateway of its own,
    # on a second address of the router's) one address for all its tunnels.
    own = {str(IPAddress(x.customer_outside_ip)) for x in c.tunnels}
    if str(IPAddress(t.customer_outside_ip)) != str(IPAddress(r.public_ip)) and len(own) != 1:
        p.add(
            f"{path}.customerOutsideIp",
            t.customer_outside_ip,
            f"is not the router's public address {r.public_ip}, nor the connection's own",
        )
    if len(p.items) > before:
        return None
    number = names.tunnel_number(net)
    iface = names.INTERFACE_FORMATS.get(r.platform, "tun{n}").format(n=number)
    key = names.tunnel_key(c.name, t.number)
    secondary = t.preference == "secondary" and c.routing == "bgp"
    map_key = iface if r.platform == "fortios" else key  # FortiOS names stop at 35 chars
    return TunnelContext(
        connection=c.name,
        number=t.number,
        key=key,
        tunnel_no=number,
        short=f"aws{number}",
        interface=iface,
        interface_config=iface.replace(".", " unit ") if r.platform == "junos" else iface,
        file=names.linux_tunnel_file(c.name, t.number) if r.platform == "linux" else None,
        aws_outside_ip=str(IPAddress(t.aws_outside_ip)),
        customer_outside_ip=str(IPAddress(t.customer_outside_ip)),
        inside_cidr=str(net.cidr),
        aws_inside_ip=str(IPAddress(t.aws_inside_ip)),
        customer_inside_ip=str(IPAddress(t.customer_inside_ip)),
        inside_prefixlen=net.prefixlen,
        aws_asn=t.aws_asn,
        customer_asn=t.customer_asn,
        hold_time=t.hold_time,
        keepalive=t.keepalive,
        preference=t.preference,
        psk=REDACTED if redact else t.psk.reveal(),
        local_pref=SECONDARY_LOCAL_PREF if secondary else None,
        prepend=(r.asn,) * SECONDARY_PREPEND if secondary else (),
        static_distance=STATIC_DISTANCE["primary" if r.platform == "fortios" else t.preference],
        static_priority=FORTIOS_STATIC_PRIORITY[t.preference],
        # Unique per router: tunnel numbers are, and a tunnel carries fewer than 100 prefixes.
        static_routes=tuple(
            (number * 100 + i + 1, str(IPNetwork(x).cidr)) for i, x in enumerate(c.accept)
        )
        if c.routing == "static"
        else (),
        route_map_in=f"{map_key}-in" if secondary else None,
        route_map_out=f"{map_key}-out" if secondary else None,
        import_policy=names.junos_policy(key, "in"),
        export_policy=names.junos_policy(key, "out"),
        keyring_peer=names.iosxe_keyring_peer(t.number),
        secret_name=names.strongswan_secret(key),
        static_comment=f"{c.name} tunnel {t.number}",
        description=f"crossnet {c.name} tunnel {t.number} to AWS {t.aws_outside_ip}",
    )


def _named_crypto(
    platform: str, vendor: dict[str, Any], connection: str, short: str
) -> dict[str, Any]:
    """The vendor crypto of one connection, each proposal or transform set given its name."""
    out = dict(vendor)
    if platform == "junos":
        for key, kind in (("ike_proposals", "ike"), ("esp_proposals", "esp")):
            out[key] = [
                {**p, "name": names.junos_proposal(short, kind, p["number"])} for p in vendor[key]
            ]
    elif platform == "iosxe":
        out["ike_proposals"] = [
            {**p, "name": names.iosxe_ike_proposal(p["suffix"])} for p in vendor["ike_proposals"]
        ]
        out["transform_sets"] = [
            {**ts, "name": names.iosxe_transform_set(connection, ts["suffix"])}
            for ts in vendor["transform_sets"]
        ]
        out["transform_set_names"] = [ts["name"] for ts in out["transform_sets"]]
    return out


def _rules(prefixes: tuple[str, ...]) -> tuple[tuple[int, str], ...]:
    """Prefix-list entries, numbered 10, 20, ... so that a hand edit fits between."""
    return tuple((10 * (i + 1), x) for i, x in enumerate(prefixes))


def _iosxe_rules(r: Router, p: Problems) -> None:
    # IOS-XE picks IKEv2 proposals through the IKEv2 policy, matched by local
    # address only; all tunnels of a router share that address, so they must
    # share the phase 1 algorithms too (lifetimes are per profile and may differ).
    phase1 = {
        c.name: {
            k: v for k, v in dict(c.crypto.get("phase1") or {}).items() if k != "lifetimeSeconds"
        }
        for c in r.connections
    }
    if len({repr(v) for v in phase1.values()}) > 1:
        p.add(
            f"routers.{r.key}.connections",
            ", ".join(phase1),
            "on IOS-XE every connection of a router needs the same phase 1 algorithms "
            "(the IKEv2 policy is chosen by local address)",
        )


def _address(value: Any, path: str, p: Problems) -> IPAddress | None:
    try:
        if not isinstance(value, str) or "/" in value:
            raise ValueError
        addr = IPAddress(value)
        if addr.version != 4:
            raise ValueError
        return addr
    except (AddrFormatError, ValueError, TypeError):
        p.add(path, value, "an IPv4 address")
        return None


def _cidr(value: Any, path: str, p: Problems) -> IPNetwork | None:
    try:
        if not isinstance(value, str) or "/" not in value:
            raise ValueError
        net = IPNetwork(value)
        if net.version != 4 or net.ip != net.network:
            raise ValueError
        return net
    except (AddrFormatError, ValueError, TypeError):
        p.add(path, value, "an IPv4 CIDR such as 10.0.0.0/16, host bits clear")
        return None
