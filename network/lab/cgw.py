"""A VPN connection moved to a new customer gateway (ModifyVpnConnection), in the lab.

AWS: changing a connection's customer gateway (a router's new public IP, a datacenter's
new ASN: EC2 cannot modify a customer gateway, so both are a new one) makes both
tunnels unavailable "while new tunnel endpoints are provisioned" (Site-to-Site VPN
User Guide, *Tunnel endpoint replacements*). The outside addresses stay (the
emulator's ModifyVpnConnection, `network.offline.aws.modify`).

In the lab:
- a new public IP changes the tunnel ends' outside (datacenter) and peer (AWS)
  addresses, so `network.lab.reshape` re-creates both ends of both tunnels: the
  datacenter ends' helper namespaces now hold the router's new address, the AWS ends
  are new endpoints;
- a new ASN changes no end: the AWS ends that run on (same addresses, same options)
  are the connection's new endpoints all the same, so their SAs are torn down here
  (`moved_ends`), and the gateway's FRR gets the new `remote-as` (frr-reload.py). The
  datacenter side (`close_action = restart`, `keyingtries = 0`) negotiates again; BGP
  comes back once the router speaks the new local AS.
"""

from __future__ import annotations

from network.lab.topology import Lab, TunnelEnd


def _cgw_ids(lab: Lab) -> dict[str, str]:
    """Connection -> the customer gateway its outputs name."""
    return {c.name: str(c.raw.get("customerGatewayId", "")) for _r, c in lab.connections()}


def moved_connections(old: Lab, new: Lab) -> list[str]:
    """Connections of both layouts whose customer gateway changed (ModifyVpnConnection)."""
    a, b = _cgw_ids(old), _cgw_ids(new)
    return sorted(c for c in set(a) & set(b) if a[c] and b[c] and a[c] != b[c])


def moved_ends(old: Lab, new: Lab) -> list[TunnelEnd]:
    """The running AWS ends of moved connections that the new layout keeps as they are
    (the ends `reshape` re-creates are new endpoints already)."""
    moved = set(moved_connections(old, new))
    kept = set(new.ends)
    return [e for e in old.ends if e.side == "aws" and e.connection in moved and e in kept]
