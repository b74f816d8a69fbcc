"""The lab's datacenter fabric: iBGP between the routers of one datacenter (pure, lab-only).

A real datacenter with two edge routers runs its own routing between them (iBGP or an
IGP over the LAN): a router whose AWS paths are drained or gone still forwards what the
LAN hands it, to a peer that has them. crossnet renders only a router's AWS-facing part
(the site's own routing is the site's), so the lab adds the fabric itself:

- per router with peers in its datacenter, one `router bgp <dc asn>` stanza
  (templates/lab/fabric.conf.j2): a neighbour per peer at its first LAN address, the
  same AS, `next-hop-self` (the peer's AWS next hops are inside addresses this router
  cannot reach), iBGP distance 15; a permit-all route map in and out (`POLICY`): while a
  customer-ASN rollout has one router on the new AS, the session is eBGP, and FRR's
  `bgp ebgp-requires-policy` (RFC 8212) carries nothing on an eBGP session without one;
- the site IGP's stand-in: per AWS prefix a peer accepts, a floating static route via
  that peer (distance `FLOATING`, above every BGP path), installed only while this
  router's BGP has no path at all, as when its bgpd instance is rebuilt for a new local
  AS (every session down at once: 1.5 s of the LAN's packets were lost before it);
- it is composed into every `frr.conf` the lab gives FRR (`frr_conf`): at bring-up
  (network.lab.daemons) and before each `frr-reload.py` (network.lab.live), which makes
  the running config the file it is given, so no rollout step ever deletes it. The
  router's rendered files (`routers/<key>/`) stay the renderer's, byte for byte.

Steady state is unchanged: BGP prefers a router's own eBGP paths over its peer's
(iBGP), local preference and AS path being equal, so each router keeps its tunnels;
the rendered `-out` prefix lists (exactly the datacenter's prefixes) keep AWS prefixes
learned over iBGP from ever being announced back to AWS. A drained router's eBGP paths
(local preference 10) lose to the peer's (100): traffic moves across the LAN.
"""

from __future__ import annotations

from dataclasses import dataclass

from netaddr import IPAddress, IPNetwork

from network.lab.topology import DcRouter, Lab
from network.render.environment import environment

LAN = "lan"  # a router's LAN interface (network.lab.daemons)
CONNECT_RETRY = 1  # s: at bring-up both bgpds start together; FRR's default is 120 s
DISTANCE = {"ebgp": 20, "ibgp": 15, "local": 200}  # FRR's defaults but iBGP (200)
FLOATING = 250  # the site IGP's stand-in via a peer: used only when BGP has no path at all
POLICY = "crossnet-lab-fabric"  # the fabric's route map, in and out: permits everything


@dataclass(frozen=True)
class Peer:
    key: str
    address: str  # its first LAN address
    asn: int  # its AS as it stands (mid customer-ASN change, the datacenter has two)
    carries: tuple[str, ...]  # the AWS prefixes it accepts (its connections' `accept`)


def address(r: DcRouter) -> str:
    """A router's fabric address: its first LAN address (the LAN is one segment)."""
    return str(IPNetwork(r.lan[0]).ip)


def peers(lab: Lab, r: DcRouter) -> tuple[Peer, ...]:
    """The other routers of `r`'s datacenter (none: no fabric)."""
    return tuple(
        Peer(p.key, address(p), p.router.asn, accepted(p))
        for p in sorted(lab.routers, key=lambda p: p.key)
        if p.datacenter == r.datacenter and p.key != r.key and p.lan
    )


def accepted(r: DcRouter) -> tuple[str, ...]:
    """The AWS prefixes a router accepts from AWS, over all its connections, sorted."""
    got = {str(IPNetwork(str(p))) for c in r.router.connections for p in c.accept}
    return tuple(sorted(got, key=IPNetwork))


def stanza(lab: Lab, r: DcRouter) -> str:
    """The fabric's FRR lines for `r` ("" for a datacenter's only router)."""
    ps = peers(lab, r)
    if not ps or not r.lan:
        return ""
    return (
        environment()
        .get_template("lab/fabric.conf.j2")
        .render(
            datacenter=r.datacenter,
            asn=r.router.asn,
            router_id=str(IPAddress(r.router.router_id or r.router.public_ip)),
            peers=ps,
            connect=CONNECT_RETRY,
            distance=DISTANCE,
            policy=POLICY,
            floating=FLOATING,
        )
    )


def compose(rendered: str, fabric: str) -> str:
    """The rendered frr.conf with the fabric's lines before its final `end` (FRR reads a
    second `router bgp` block of the same AS as more of the first; so does frr-reload.py,
    which merges contexts of the same key)."""
    if not fabric:
        return rendered
    lines = rendered.splitlines(keepends=True)
    ends = [i for i, line in enumerate(lines) if line.strip() == "end"]
    if not ends:
        return rendered + ("" if rendered.endswith("\n") else "\n") + fabric
    i = ends[-1]
    return "".join(lines[:i]) + fabric + "".join(lines[i:])


def frr_conf(lab: Lab, r: DcRouter, rendered: str) -> str:
    """What the lab gives a router's FRR: its rendered frr.conf plus the fabric."""
    return compose(rendered, stanza(lab, r))


def neighbors(lab: Lab, r: DcRouter) -> dict[str, str]:
    """Fabric neighbour address -> peer router key (the readiness checks' sessions)."""
    return {p.address: p.key for p in peers(lab, r)}
