"""The AWS side of the lab: what a VGW or TGW does, as strongSwan and FRR config.

This is the lab's own code, written from AWS's documented behaviour
(`network.aws_rules`, ../shared/FACTS.md), never from the datacenter
templates, so that the two sides check each other:

- per tunnel, a responder only (`start_action = none`) with AWS's DPD (an
  idle tunnel is probed every 10 s and cleared after about 30 s), PSK
  authentication by outside address, traffic selectors 0.0.0.0/0, the
  connection's own algorithms and lifetimes;
- per VGW or TGW, one BGP speaker with the contract's ASN, keepalive 10 /
  hold 30, at most 100 prefixes accepted from the customer, announcing the
  connection's accepted prefixes (the VPC CIDRs behind it). A VGW uses one
  path at a time (the datacenter's AS-path prepend steers it); a TGW with
  ECMP spreads over every tunnel;
- a static connection gets static routes over its tunnels instead of BGP.

The files themselves are templates/lab/ (swanctl.conf, updown.sh, frr.conf),
rendered under the project's one Jinja environment; every value is computed
here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from network import aws_rules as aws
from network.contract import Connection
from network.lab.topology import Gateway, TunnelEnd
from network.render import crypto
from network.render.environment import environment

# strongSwan's spellings of AWS's algorithm names: the renderer's own tables, so the
# lab's AWS side proposes exactly what the rendered datacenter side does.
ENCRYPTION = crypto.STRONGSWAN_ENC
INTEGRITY = crypto.STRONGSWAN_INTEG
PRF = crypto.STRONGSWAN_PRF
DH = crypto.STRONGSWAN_DH


@dataclass(frozen=True)
class Timers:
    """The AWS side's timers. `aws` is AWS's; `fast` is the lab's, for behaviour tests."""

    name: str
    keepalive: int
    hold: int
    connect_retry: int  # not documented by AWS: the lab's choice
    dpd_delay: int
    # charon's retransmission schedule sets when DPD gives up: timeout * base^k
    # summed over k = 0..tries, after dpd_delay of silence.
    retransmit_timeout: float
    retransmit_base: float
    retransmit_tries: int

    def dpd_dead_after(self) -> float:
        return self.dpd_delay + sum(
            self.retransmit_timeout * self.retransmit_base**k
            for k in range(self.retransmit_tries + 1)
        )


# AWS: BGP 10/30; DPD probes after 10 s of silence, dead at about 30 s more.
AWS_TIMERS = Timers(
    "aws", aws.BGP_KEEPALIVE, aws.BGP_HOLD_TIME, 2, aws.CGW_CONFIG_DPD_INTERVAL, 5.0, 1.5, 2
)
# The lab's, for behaviour tests: BGP detects a dead path in 3 s. DPD stays
# AWS's: a shorter one would clear SAs that AWS keeps, and the datacenter side
# (strongSwan's default retransmissions) then takes minutes to notice.
FAST_TIMERS = replace(AWS_TIMERS, name="fast", keepalive=1, hold=3, connect_retry=1)
TIMERS = {t.name: t for t in (AWS_TIMERS, FAST_TIMERS)}


def ike_proposals(crypto: dict[str, Any]) -> str:
    p1 = crypto["phase1"]
    return _proposals(p1["encryption"], p1["integrity"], p1["dhGroups"], ike=True)


def esp_proposals(crypto: dict[str, Any]) -> str:
    p2 = crypto["phase2"]
    return _proposals(p2["encryption"], p2["integrity"], p2["dhGroups"], ike=False)


def _proposals(encryption: list[str], integrity: list[str], groups: list[int], ike: bool) -> str:
    # AEAD and classic ciphers cannot share a proposal: one of each kind.
    aead = [ENCRYPTION[e] for e in encryption if "GCM" in e]
    classic = [ENCRYPTION[e] for e in encryption if "GCM" not in e]
    dh = [DH[g] for g in groups]
    out = []
    if classic:
        out.append("-".join([*classic, *(INTEGRITY[i] for i in integrity), *dh]))
    if aead:
        out.append("-".join([*aead, *((PRF[i] for i in integrity) if ike else ()), *dh]))
    return ", ".join(out)


def swanctl_conf(end: TunnelEnd, conn: Connection, psk: str, updown: str, timers: Timers) -> str:
    """One AWS tunnel endpoint's swanctl.conf (holds the PSK: write it 0600)."""
    c = conn.crypto
    versions = c["ikeVersions"]
    return _render(
        "swanctl.conf.j2",
        tunnel=end.tunnel,
        name=end.conn_name,
        version=0 if len(versions) > 1 else (2 if versions == ["ikev2"] else 1),
        local=end.outside_ip,
        remote=end.peer_outside_ip,
        proposals=ike_proposals(c),
        dpd_delay=timers.dpd_delay,
        ike_rekey_time=c["phase1"]["lifetimeSeconds"],
        esp_proposals=esp_proposals(c),
        esp_rekey_time=c["phase2"]["lifetimeSeconds"],
        replay_window=c["replayWindowSize"],
        updown=updown,
        psk=psk,
    )


def frr_conf(g: Gateway, timers: Timers) -> str:
    """The gateway's FRR config: one eBGP session per BGP tunnel, static routes otherwise."""
    bgp = [c for c in g.connections if c.routing == "bgp"]
    return _render(
        "frr.conf.j2",
        name=g.name,
        # AWS routes a static connection's prefixes over whichever tunnel is up.
        static_routes=[
            {"prefix": p, "via": t.customer_inside_ip, "distance": 10 * t.number}
            for c in g.connections
            if c.routing == "static"
            for t in c.tunnels
            for p in c.announce
        ],
        prefix_lists=[
            {"name": f"to-{c.name}", "seq": 5 * i, "prefix": p}
            for c in bgp
            for i, p in enumerate(c.accept, start=1)
        ],
        bgp=_bgp_context(g, bgp, timers) if bgp else None,
    )


def _bgp_context(g: Gateway, bgp: list[Connection], timers: Timers) -> dict[str, Any]:
    return {
        "asn": g.asn,
        "router_id": g.router_id,
        "keepalive": timers.keepalive,
        "hold": timers.hold,
        "connect_retry": timers.connect_retry,
        "neighbors": [
            {
                "address": t.customer_inside_ip,
                "asn": t.customer_asn,
                "description": f"{c.name}/{t.number}",
                "prefix_list": f"to-{c.name}",
                "max_prefixes": c.max_prefixes_out,
            }
            for c in bgp
            for t in c.tunnels
        ],
        "networks": sorted({p for c in bgp for p in c.accept}),
        "maximum_paths": 8 if g.ecmp else 1,
    }


def timer_commands(g: Gateway, timers: Timers) -> list[str]:
    """vtysh commands that switch a running gateway to other BGP timers."""
    cmds = ["configure terminal", f"router bgp {g.asn}"]
    for c in g.connections:
        if c.routing != "bgp":
            continue
        for t in c.tunnels:
            n = t.customer_inside_ip
            cmds += [
                f"neighbor {n} timers {timers.keepalive} {timers.hold}",
                f"neighbor {n} timers connect {timers.connect_retry}",
            ]
    return [*cmds, "end"]


def updown_script(end: TunnelEnd, strongswan_conf: str) -> str:
    """Link tracking: the tunnel interface is up exactly while the tunnel has an
    installed child SA, so BGP sees a closed tunnel at once, as AWS withdraws a
    tunnel whose SA is gone.

    charon runs updown scripts from several threads: the DOWN of an old SA
    and the UP of its replacement can arrive in either order. So the script
    does not follow the verb; in the background, once charon has finished with
    the event, it asks charon whether an installed child SA exists.
    """
    return _render(
        "updown.sh.j2",
        tunnel=end.tunnel,
        ifname=end.ifname,
        router_ns=end.router_ns,
        strongswan_conf=strongswan_conf,
        conn_name=end.conn_name,
    )


def _render(template: str, **values: Any) -> str:
    return environment().get_template(f"lab/{template}").render(**values)
