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
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from network import aws_rules as aws
from network.contract import Connection
from network.lab.topology import Gateway, TunnelEnd

ENCRYPTION = {
    "AES128": "aes128",
    "AES256": "aes256",
    "AES128-GCM-16": "aes128gcm16",
    "AES256-GCM-16": "aes256gcm16",
}
INTEGRITY = {"SHA1": "sha1", "SHA2-256": "sha256", "SHA2-384": "sha384", "SHA2-512": "sha512"}
PRF = {"SHA1": "prfsha1", "SHA2-256": "prfsha256", "SHA2-384": "prfsha384", "SHA2-512": "prfsha512"}
DH = {
    2: "modp1024",
    5: "modp1536",
    14: "modp2048",
    15: "modp3072",
    16: "modp4096",
    17: "modp6144",
    18: "modp8192",
    19: "ecp256",
    20: "ecp384",
    21: "ecp521",
    22: "modp1024s160",
    23: "modp2048s224",
    24: "modp2048s256",
}


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


def ike_proposals(crypto: dict) -> str:
    p1 = crypto["phase1"]
    return _proposals(p1["encryption"], p1["integrity"], p1["dhGroups"], ike=True)


def esp_proposals(crypto: dict) -> str:
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
    version = 0 if len(versions) > 1 else (2 if versions == ["ikev2"] else 1)
    name = end.conn_name
    return f"""# AWS side of tunnel {end.tunnel} (crossnet lab: written from the stack outputs)
connections {{
  {name} {{
    version = {version}
    local_addrs = {end.outside_ip}
    remote_addrs = {end.peer_outside_ip}
    proposals = {ike_proposals(c)}
    mobike = no
    dpd_delay = {timers.dpd_delay}s
    rekey_time = {c["phase1"]["lifetimeSeconds"]}s
    local {{
      auth = psk
      id = {end.outside_ip}
    }}
    remote {{
      auth = psk
      id = {end.peer_outside_ip}
    }}
    children {{
      {name} {{
        local_ts = 0.0.0.0/0
        remote_ts = 0.0.0.0/0
        esp_proposals = {esp_proposals(c)}
        rekey_time = {c["phase2"]["lifetimeSeconds"]}s
        replay_window = {c["replayWindowSize"]}
        start_action = none
        dpd_action = clear
        close_action = none
        updown = {updown}
      }}
    }}
  }}
}}
secrets {{
  ike-{name} {{
    id-1 = {end.peer_outside_ip}
    secret = "{psk}"
  }}
}}
"""


def frr_conf(g: Gateway, timers: Timers) -> str:
    """The gateway's FRR config: one eBGP session per BGP tunnel, static routes otherwise."""
    lines = [
        "frr defaults traditional",
        f"hostname aws-{g.name}",
        "log stdout informational",
        # FRR 8.4 loses an ECMP member from a kernel nexthop group when its
        # interface flaps within milliseconds (link tracking does that): plain
        # multipath routes instead.
        "no zebra nexthop kernel enable",
        "!",
    ]
    bgp = [c for c in g.connections if c.routing == "bgp"]
    for c in g.connections:
        if c.routing == "static":
            # AWS routes a static connection's prefixes over whichever tunnel is up.
            for t in c.tunnels:
                for p in c.announce:
                    lines.append(f"ip route {p} {t.customer_inside_ip} {10 * t.number}")
    for c in bgp:
        for i, p in enumerate(c.accept, start=1):
            lines.append(f"ip prefix-list to-{c.name} seq {5 * i} permit {p}")
    if bgp:
        lines += [
            "!",
            f"router bgp {g.asn}",
            f" bgp router-id {g.router_id}",
            # AWS takes routes without an explicit policy, and announces the
            # VPC CIDRs whether or not a matching route exists in this namespace.
            " no bgp ebgp-requires-policy",
            " no bgp network import-check",
            " bgp log-neighbor-changes",
        ]
        for c in bgp:
            for t in c.tunnels:
                n = t.customer_inside_ip
                lines += [
                    f" neighbor {n} remote-as {t.customer_asn}",
                    f" neighbor {n} description {c.name}/{t.number}",
                    f" neighbor {n} timers {timers.keepalive} {timers.hold}",
                    f" neighbor {n} timers connect {timers.connect_retry}",
                ]
        lines += [" !", " address-family ipv4 unicast"]
        for p in sorted({p for c in bgp for p in c.accept}):
            lines.append(f"  network {p}")
        lines.append(f"  maximum-paths {8 if g.ecmp else 1}")
        for c in bgp:
            for t in c.tunnels:
                n = t.customer_inside_ip
                lines += [
                    f"  neighbor {n} prefix-list to-{c.name} out",
                    f"  neighbor {n} maximum-prefix {c.max_prefixes_out}",
                ]
        lines += [" exit-address-family", "exit"]
    lines += ["!", "end", ""]
    return "\n".join(lines)


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
    return f"""#!/bin/sh
# crossnet lab, AWS side of tunnel {end.tunnel}: {end.ifname} in {end.router_ns} follows the SA.
case "$PLUTO_VERB" in up-client|down-client) ;; *) exit 0 ;; esac
(
  exec 9>>/run/crossnet-updown.lock
  flock 9
  if STRONGSWAN_CONF={strongswan_conf} swanctl --list-sas --ike {end.conn_name} --raw \\
       --uri unix:///run/charon.vici 2>/dev/null | grep -q 'state=INSTALLED'; then
    ip -n {end.router_ns} link set dev {end.ifname} up
  else
    ip -n {end.router_ns} link set dev {end.ifname} down
  fi
) </dev/null >/dev/null 2>&1 &
exit 0
"""
