"""The facts a rendered config is read back into, shared by every platform's reader (pure).

Each `readback/<platform>.py` turns a platform's config text into `ConfigFacts`:
per tunnel what the platform would do (its defaults included), in AWS's
vocabulary, so that `network.render.check` compares one shape for all platforms.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from netaddr import IPAddress, IPNetwork

from network.render.defaults import dpd_dead_after

Suite = tuple[str, str | None, int | None]  # (encryption, integrity or PRF, DH group), AWS names


class RejectedLineError(ValueError):
    """A config line the platform itself would refuse."""

    def __init__(self, line: str, why: str):
        super().__init__(f"{line}: {why}")
        self.line, self.why = line, why


@dataclass
class TunnelFacts:
    """What a config says about one tunnel, in AWS's vocabulary."""

    remote: str
    local: str | None = None
    psk: str | None = None
    ike_version: int | None = None
    ike: set[Suite] = field(default_factory=set)
    esp: set[Suite] = field(default_factory=set)
    ike_lifetime: int | None = None
    esp_lifetime: int | None = None
    replay_window: int | None = None  # None: the platform has no knob for its size
    mobike: bool | None = None  # None: the platform has no MOBIKE
    dpd_interval: int | None = None
    dpd_timeout: int | None = None  # interval x retries, where the platform has retries
    # strongSwan IKEv2: when DPD gives up, from the interval and charon's retransmissions
    dpd_gives_up: float | None = None
    dpd_untunable: bool = False  # the give-up time is the platform's, no knob changes it
    df_bit: str | None = None  # the outer header's DF bit: clear, copy or set (None: no knob)
    fragmentation: str | None = None  # before or after encryption (None: no knob)
    address: str | None = None  # "a.b.c.d/len" on the tunnel interface
    interface: str | None = None  # the tunnel interface's name, as the config spells it
    mtu: int | None = None  # the tunnel interface's
    mss: int | None = None  # the TCP MSS clamp on it (both directions, where that is separate)
    neighbor: str | None = None
    remote_as: int | None = None
    local_as: int | None = None
    keepalive: int | None = None
    hold: int | None = None
    prefix_in: set[str] | None = None
    prefix_out: set[str] | None = None
    max_prefix: int | None = None
    max_prefix_restart: int | None = None  # minutes until a torn-down session comes back
    local_pref: int | None = None  # set on the routes this neighbour sends
    prepend: tuple[int, ...] = ()  # prepended to what it is sent
    multipath: int | None = None  # BGP paths the router may use at once (None: one)
    static: set[tuple[str, int, int]] = field(default_factory=set)  # (prefix, distance, prio)
    rp_filter: int | None = None  # Linux: the tunnel interface's reverse-path filter


@dataclass(frozen=True)
class Policy:
    """One firewall/security policy between the tunnels and the LAN, read back.

    `sources`/`destinations` are the prefixes its address objects resolve to;
    `tunnels` the tunnel interfaces it names on its tunnel side (FortiOS), or
    None where the policy is by zone (Junos: the zone's interfaces are in
    `ConfigFacts.vpn_zone_interfaces`).
    """

    name: str
    direction: str  # "in" (AWS to the datacenter) or "out"
    sources: frozenset[str]
    destinations: frozenset[str]
    action: str  # "accept"/"permit", or what the config says
    tunnels: frozenset[str] | None = None


@dataclass
class ConfigFacts:
    """A router's config, read back: its tunnels, and what is router-wide."""

    tunnels: list[TunnelFacts]
    discard: dict[str, int] = field(default_factory=dict)  # prefix -> distance/preference
    # Junos: the prefixes the forwarding table load-balances ("(anything)": an unscoped
    # term, "(any protocol) P": a term without `from protocol bgp`); None elsewhere.
    load_balanced: set[str] | None = None
    # Junos and FortiOS: the policies between the tunnels and the LAN (None elsewhere:
    # those platforms are not zone-based, and forward without a policy).
    policies: list[Policy] | None = None
    vpn_zone_interfaces: frozenset[str] | None = None  # Junos: the VPN zone's interfaces


def empty_routing() -> dict[str, Any]:
    """The routing facts every reader fills, in one shape (FRR's)."""
    return {
        "addresses": {},
        "asn": None,
        "neighbors": {},
        "lists": {},
        "static": [],
        "discard": {},
        "route_maps": {},
    }


def neighbor_line(out: dict[str, Any], words: list[str]) -> None:
    """An FRR/IOS `neighbor <peer> ...` line into `out["neighbors"]`."""
    if not words or words[0] != "neighbor":
        return
    n = out["neighbors"].setdefault(words[1], {})
    if words[2] == "remote-as":
        n["remote_as"] = int(words[3])
    elif words[2:4] == ["timers", "connect"]:
        n["connect_retry"] = int(words[4])
    elif words[2] == "timers":
        n["keepalive"], n["hold"] = int(words[3]), int(words[4])
    elif words[2] == "prefix-list":
        n[f"prefix_{words[4]}"] = words[3]
    elif words[2] == "route-map":
        n[f"route_map_{words[4]}"] = words[3]
    elif words[2] == "maximum-prefix":
        n["max_prefix"] = int(words[3])
        if words[4:5] == ["restart"]:
            n["max_prefix_restart"] = int(words[5])


def prefix_list_entry(words: list[str]) -> str:
    """`ip prefix-list NAME seq N permit PREFIX [le|ge N]`: anything but a bare permitted
    prefix is kept verbatim, so it cannot match a planned prefix."""
    return " ".join(words[6:]) if words[5] == "permit" else " ".join(words[5:])


def apply_bgp(f: TunnelFacts, routing: dict[str, Any], iface: str) -> None:
    """The BGP session of a tunnel is the neighbour inside its interface's subnet."""
    f.interface = iface
    f.static = {(p, d, prio) for p, _, dev, d, prio in routing["static"] if dev == iface}
    if f.address is None:
        return
    subnet = IPNetwork(f.address)
    for peer, n in routing["neighbors"].items():
        if IPAddress(peer) in subnet:
            _session(f, routing, peer, n)


def _session(f: TunnelFacts, routing: dict[str, Any], peer: str, n: dict[str, Any]) -> None:
    f.neighbor = peer
    f.local_as, f.remote_as = routing["asn"], n.get("remote_as")
    f.keepalive, f.hold = n.get("keepalive"), n.get("hold")
    f.prefix_in = routing["lists"].get(n.get("prefix_in"), set())
    f.prefix_out = routing["lists"].get(n.get("prefix_out"), set())
    f.max_prefix = n.get("max_prefix")
    f.max_prefix_restart = n.get("max_prefix_restart")
    maps = routing.get("route_maps", {})
    f.local_pref = n.get("local_pref", maps.get(n.get("route_map_in"), {}).get("local_pref"))
    f.prepend = tuple(n.get("prepend", maps.get(n.get("route_map_out"), {}).get("prepend", ())))
    f.multipath = n.get("multipath", routing.get("multipath"))


# strongSwan's defaults, where strongswan.conf leaves them alone
CHARON_RETRANSMIT = {"retransmit_timeout": 4.0, "retransmit_base": 1.8, "retransmit_tries": 5}


def ikev2_dpd_gives_up(
    interval: int | None, version: str | None, retransmit: dict[str, float]
) -> float | None:
    """IKEv2 DPD: after `interval` of silence a probe, retried until the retransmissions end."""
    if interval is None or version == "1":
        return None
    return dpd_dead_after(
        interval,
        retransmit["retransmit_timeout"],
        retransmit["retransmit_base"],
        int(retransmit["retransmit_tries"]),
    )
