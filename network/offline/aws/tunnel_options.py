"""CreateVpnConnection's ``Options``, validated by AWS's rules (request parsing).

Each function raises moto's ``InvalidParameterValue`` with an AWS-style message, and
nothing is created until the whole request has passed. The rules themselves come from
:mod:`network.aws_rules`; they are not repeated here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from moto.ec2.exceptions import InvalidParameterValue
from netaddr import AddrFormatError, IPNetwork

from network.aws_rules import (
    DPD_ACTIONS,
    DPD_TIMEOUT_MIN,
    IKE_VERSIONS,
    PHASE1_DH_GROUPS,
    PHASE1_ENCRYPTION,
    PHASE1_INTEGRITY,
    PHASE1_LIFETIME,
    PHASE1_LIFETIME_DEFAULT,
    PHASE2_DH_GROUPS,
    PHASE2_ENCRYPTION,
    PHASE2_INTEGRITY,
    PHASE2_LIFETIME,
    PHASE2_LIFETIME_DEFAULT,
    PSK_RULE,
    REKEY_FUZZ,
    REKEY_MARGIN_DEFAULT,
    REKEY_MARGIN_MIN,
    REPLAY_WINDOW,
    STARTUP_ACTIONS,
    TUNNELS_PER_CONNECTION,
    inside_cidr_violation,
    inside_ipv6_cidr_violation,
    phase2_lifetime_violation,
    psk_ok,
    rekey_margin_violation,
    startup_action_violation,
)


def bad(message: str) -> InvalidParameterValue:
    """AWS's InvalidParameterValue error."""
    return InvalidParameterValue(message)


def as_bool(value: Any, name: str) -> bool:
    """A request boolean (``true``/``false`` on the wire)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise bad(f"Invalid value {value!r} for {name}: expected true or false")


def as_int(value: Any, name: str) -> int:
    """A request integer."""
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad(f"Invalid value {value!r} for {name}: expected an integer") from None


def check_cidr(value: Any, name: str, version: int) -> str:
    """A CIDR block of the given IP version, written as its network address."""
    try:
        net = IPNetwork(str(value))
    except (AddrFormatError, ValueError, TypeError):
        net = None
    if net is None or net.version != version or "/" not in str(value) or net.ip != net.network:
        raise bad(
            f"Value ({value}) for parameter {name} is invalid. This is not a valid CIDR block."
        )
    return str(net.cidr)


def _value_list(raw: Any) -> list[Any]:
    """The values of a request list such as ``[{"Value": "AES256"}]``."""
    if raw is None:
        return []
    items = raw if isinstance(raw, list) else [raw]
    return [item.get("Value") if isinstance(item, dict) else item for item in items]


def _pick(
    tunnel_no: int, spec: dict[str, Any], name: str, allowed: Iterable[Any], *, ints: bool = False
) -> list[Any] | None:
    """Validate an algorithm/group/version list against AWS's allowed values."""
    values = _value_list(spec.get(name))
    if not values:
        return None
    allowed = tuple(allowed)
    result: list[Any] = []
    for raw in values:
        value = as_int(raw, name) if ints else raw
        if value not in allowed:
            allowed_text = ", ".join(str(a) for a in allowed)
            raise bad(
                f"Tunnel {tunnel_no}: {name} value {value!r} is not allowed; "
                f"allowed values: {allowed_text}"
            )
        if value not in result:
            result.append(value)
    return result


def _in_range(
    tunnel_no: int, spec: dict[str, Any], name: str, bounds: tuple[int, int]
) -> int | None:
    if spec.get(name) is None:
        return None
    value = as_int(spec[name], name)
    if not bounds[0] <= value <= bounds[1]:
        raise bad(f"Tunnel {tunnel_no}: {name} {value} is out of range {bounds[0]}-{bounds[1]}")
    return value


def _check_inside(tunnel_no: int, value: Any, version: int) -> str:
    name, family = (
        ("TunnelInsideCidr", "IPv4") if version == 4 else ("TunnelInsideIpv6Cidr", "IPv6")
    )
    try:
        net = IPNetwork(str(value))
    except (AddrFormatError, ValueError, TypeError):
        net = None
    if net is None or net.version != version or "/" not in str(value):
        raise bad(f"Tunnel {tunnel_no}: {name} {value!r} is not a valid {family} CIDR block")
    why = inside_cidr_violation(net) if version == 4 else inside_ipv6_cidr_violation(net)
    if why:
        raise bad(f"Tunnel {tunnel_no}: {name} {value}: {why}")
    return str(net.cidr)


@dataclass
class TunnelRequest:
    """One tunnel's requested options, validated; None means "AWS's default"."""

    inside_cidr: str | None = None
    inside_ipv6_cidr: str | None = None
    psk: str | None = None
    values: dict[str, Any] = field(default_factory=dict)


def _parse_inside(
    req: TunnelRequest, tunnel_no: int, spec: dict[str, Any], on_tgw: bool, ip_version: str
) -> None:
    if spec.get("TunnelInsideIpv6Cidr") is not None:
        # IPv6 inside a tunnel exists only on transit gateway attachments.
        if not on_tgw:
            raise bad(
                f"Tunnel {tunnel_no}: TunnelInsideIpv6Cidr is only supported for a VPN "
                "connection on a transit gateway; a virtual private gateway has no IPv6 tunnels"
            )
        if ip_version != "ipv6":
            raise bad(f"Tunnel {tunnel_no}: TunnelInsideIpv6Cidr needs TunnelInsideIpVersion ipv6")
        req.inside_ipv6_cidr = _check_inside(tunnel_no, spec["TunnelInsideIpv6Cidr"], 6)
    if spec.get("TunnelInsideCidr") is not None:
        if ip_version != "ipv4":
            raise bad(
                f"Tunnel {tunnel_no}: TunnelInsideCidr applies to IPv4 tunnels, "
                "but TunnelInsideIpVersion is ipv6"
            )
        req.inside_cidr = _check_inside(tunnel_no, spec["TunnelInsideCidr"], 4)


def _parse_psk(req: TunnelRequest, tunnel_no: int, spec: dict[str, Any]) -> None:
    if spec.get("PreSharedKey") is not None:
        # Never echo the key itself: error messages end up in logs.
        if not psk_ok(str(spec["PreSharedKey"])):
            raise bad(f"Tunnel {tunnel_no}: invalid PreSharedKey: it must be {PSK_RULE}")
        req.psk = str(spec["PreSharedKey"])


# (request member, TunnelRequest.values key, allowed values, integers?)
_LISTS: tuple[tuple[str, str, tuple[Any, ...], bool], ...] = (
    ("Phase1EncryptionAlgorithms", "phase1_encryption", PHASE1_ENCRYPTION, False),
    ("Phase2EncryptionAlgorithms", "phase2_encryption", PHASE2_ENCRYPTION, False),
    ("Phase1IntegrityAlgorithms", "phase1_integrity", PHASE1_INTEGRITY, False),
    ("Phase2IntegrityAlgorithms", "phase2_integrity", PHASE2_INTEGRITY, False),
    ("Phase1DHGroupNumbers", "phase1_dh", PHASE1_DH_GROUPS, True),
    ("Phase2DHGroupNumbers", "phase2_dh", PHASE2_DH_GROUPS, True),
    ("IKEVersions", "ike_versions", IKE_VERSIONS, False),
)


def _parse_lifetimes(v: dict[str, Any], tunnel_no: int, spec: dict[str, Any]) -> None:
    p1 = _in_range(tunnel_no, spec, "Phase1LifetimeSeconds", PHASE1_LIFETIME)
    p2 = _in_range(tunnel_no, spec, "Phase2LifetimeSeconds", PHASE2_LIFETIME)
    phase1 = PHASE1_LIFETIME_DEFAULT if p1 is None else p1
    phase2 = PHASE2_LIFETIME_DEFAULT if p2 is None else p2
    # AWS's error text, on the rule as aws_rules states it.
    if phase2_lifetime_violation(phase1, phase2):
        raise bad(
            f"Tunnel {tunnel_no}: Phase2LifetimeSeconds ({phase2}) must be less than "
            f"Phase1LifetimeSeconds ({phase1})"
        )
    v["phase1_lifetime"], v["phase2_lifetime"] = phase1, phase2
    if spec.get("RekeyMarginTimeSeconds") is not None:
        margin = as_int(spec["RekeyMarginTimeSeconds"], "RekeyMarginTimeSeconds")
        # AWS: between 60 s and half of the phase 2 lifetime.
        if rekey_margin_violation(margin, phase2):
            raise bad(
                f"Tunnel {tunnel_no}: RekeyMarginTimeSeconds {margin} must be between "
                f"{REKEY_MARGIN_MIN} and half of Phase2LifetimeSeconds ({phase2 // 2})"
            )
        v["rekey_margin"] = margin
    else:
        # The default margin, capped so that a short phase 2 lifetime stays valid.
        v["rekey_margin"] = min(REKEY_MARGIN_DEFAULT, phase2 // 2)
    v["rekey_fuzz"] = _in_range(tunnel_no, spec, "RekeyFuzzPercentage", REKEY_FUZZ)
    v["replay_window"] = _in_range(tunnel_no, spec, "ReplayWindowSize", REPLAY_WINDOW)


def _parse_dpd_and_startup(v: dict[str, Any], tunnel_no: int, spec: dict[str, Any]) -> None:
    if spec.get("DPDTimeoutSeconds") is not None:
        dpd = as_int(spec["DPDTimeoutSeconds"], "DPDTimeoutSeconds")
        if dpd < DPD_TIMEOUT_MIN:
            raise bad(
                f"Tunnel {tunnel_no}: DPDTimeoutSeconds {dpd} is below the minimum of "
                f"{DPD_TIMEOUT_MIN}"
            )
        v["dpd_timeout"] = dpd
    for name, key, allowed in (
        ("DPDTimeoutAction", "dpd_action", DPD_ACTIONS),
        ("StartupAction", "startup_action", STARTUP_ACTIONS),
    ):
        if spec.get(name) is not None:
            if spec[name] not in allowed:
                raise bad(
                    f"Tunnel {tunnel_no}: {name} {spec[name]!r} is not allowed; "
                    f"allowed values: {', '.join(allowed)}"
                )
            v[key] = spec[name]
    # AWS can only initiate the negotiation itself (startup action "start") with IKEv2.
    ike = v["ike_versions"] or list(IKE_VERSIONS)
    if startup_action_violation(str(v.get("startup_action")), tuple(ike)):
        raise bad(f"Tunnel {tunnel_no}: StartupAction start requires ikev2 in IKEVersions")
    if spec.get("EnableTunnelLifecycleControl") is not None:
        v["lifecycle_control"] = as_bool(
            spec["EnableTunnelLifecycleControl"], "EnableTunnelLifecycleControl"
        )


def parse_tunnel(
    tunnel_no: int, spec: dict[str, Any], *, on_tgw: bool, ip_version: str
) -> TunnelRequest:
    """One ``VpnTunnelOptionsSpecification``, validated (defaults are drawn later)."""
    req = TunnelRequest()
    _parse_inside(req, tunnel_no, spec, on_tgw, ip_version)
    _parse_psk(req, tunnel_no, spec)
    for member, key, allowed, ints in _LISTS:
        req.values[key] = _pick(tunnel_no, spec, member, allowed, ints=ints)
    _parse_lifetimes(req.values, tunnel_no, spec)
    _parse_dpd_and_startup(req.values, tunnel_no, spec)
    return req


@dataclass(frozen=True)
class ConnectionRequest:
    """The connection-wide options of CreateVpnConnection and its two tunnels."""

    static_routes_only: bool
    inside_ip_version: str
    enable_acceleration: bool
    tunnel_bandwidth: str
    local_cidr: str
    remote_cidr: str
    tunnels: list[TunnelRequest]


def _choice(options: dict[str, Any], name: str, allowed: tuple[str, str]) -> str:
    value = options.get(name) or allowed[0]
    if value not in allowed:
        raise bad(f"{name} {value!r} is not allowed; allowed: {', '.join(allowed)}")
    return str(value)


def _tgw_only(on_tgw: bool, used: bool, message: str) -> None:
    if used and not on_tgw:
        raise bad(message)


def _network_cidrs(options: dict[str, Any], ip_version: str) -> tuple[str, str]:
    family, version, default = ("Ipv4", 4, "0.0.0.0/0")
    if ip_version == "ipv6":
        family, version, default = ("Ipv6", 6, "::/0")
    local, remote = f"Local{family}NetworkCidr", f"Remote{family}NetworkCidr"
    return (
        check_cidr(options.get(local, default), local, version),
        check_cidr(options.get(remote, default), remote, version),
    )


def _tunnel_specs(options: dict[str, Any]) -> list[dict[str, Any]]:
    specs = options.get("TunnelOptions") or []
    if not isinstance(specs, list):
        specs = [specs]
    if len(specs) > TUNNELS_PER_CONNECTION:
        raise bad(
            f"TunnelOptions lists {len(specs)} tunnels; a VPN connection has exactly "
            f"{TUNNELS_PER_CONNECTION}"
        )
    return [spec or {} for spec in specs] + [{}] * (TUNNELS_PER_CONNECTION - len(specs))


def parse_connection_options(options: dict[str, Any], *, on_tgw: bool) -> ConnectionRequest:
    """CreateVpnConnection's ``Options``, validated; tunnels padded to two."""
    static = as_bool(options.get("StaticRoutesOnly", False), "StaticRoutesOnly")
    ip_version = _choice(options, "TunnelInsideIpVersion", ("ipv4", "ipv6"))
    _tgw_only(
        on_tgw,
        ip_version == "ipv6",
        "TunnelInsideIpVersion ipv6 is only supported on a transit gateway",
    )
    acceleration = as_bool(options.get("EnableAcceleration", False), "EnableAcceleration")
    _tgw_only(
        on_tgw,
        acceleration,
        "EnableAcceleration is only supported for a VPN connection on a transit gateway",
    )
    bandwidth = _choice(options, "TunnelBandwidth", ("standard", "large"))
    _tgw_only(
        on_tgw,
        bandwidth == "large",
        "TunnelBandwidth large (5 Gbps) is only supported on a transit gateway",
    )
    local_cidr, remote_cidr = _network_cidrs(options, ip_version)
    tunnels = [
        parse_tunnel(n, spec, on_tgw=on_tgw, ip_version=ip_version)
        for n, spec in enumerate(_tunnel_specs(options), start=1)
    ]
    return ConnectionRequest(
        static_routes_only=static,
        inside_ip_version=ip_version,
        enable_acceleration=acceleration,
        tunnel_bandwidth=bandwidth,
        local_cidr=local_cidr,
        remote_cidr=remote_cidr,
        tunnels=tunnels,
    )
