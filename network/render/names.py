"""Names the renderer gives to things on the router (pure).

Every tunnel gets a number from its inside /30: the /30's index inside
169.254.0.0/16 (0-16383). The plan guarantees that no router holds the same
/30 twice, so the number is unique per router, it never depends on list
positions or on other connections, and it only changes when the tunnel
itself is replaced. The same number names the tunnel on every platform:

| platform | tunnel interface | note |
|---|---|---|
| linux   | `vti<N>`     | XFRM interface with `if_id N` (8 chars at most, IFNAMSIZ is 16) |
| iosxe   | `Tunnel<N>`  | |
| junos   | `st0.<N>`    | st0 logical units go up to 16385 |
| vyos    | `vti<N>`     | |
| fortios | `aws<N>`     | the phase1-interface name, 15 characters at most |
"""

from __future__ import annotations

from netaddr import IPNetwork

from network import aws_rules as aws

_INSIDE_BASE = int(aws.INSIDE_V4_SUPERNET.first)

INTERFACE_FORMATS = {
    "linux": "vti{n}",
    "iosxe": "Tunnel{n}",
    "junos": "st0.{n}",
    "vyos": "vti{n}",
    "fortios": "aws{n}",
}

# Linux: one strongSwan file per tunnel, so that a real router's single charon
# includes them all while the lab loads each into the charon owning that tunnel.
LINUX_TUNNEL_FILE = "conf.d/{tunnel}.conf"
# The updown script the Linux connections call (installed by the operator from
# the rendered crossnet-updown.sh; the lab bind-mounts its own at this path).
LINUX_UPDOWN_PATH = "/etc/swanctl/crossnet-updown.sh"


# Router-wide objects with one fixed name.
JUNOS_ECMP_POLICY = "crossnet-ecmp"  # forwarding-table export: load-balance the ECMP routes
IOSXE_IKEV2_POLICY = "crossnet"  # the one IKEv2 policy (matched by local address)


def tunnel_number(inside_cidr: str | IPNetwork) -> int:
    """The tunnel's number: the index of its inside /30 in 169.254.0.0/16."""
    net = IPNetwork(str(inside_cidr))
    why = aws.inside_cidr_shape_violation(net)
    if why:
        raise ValueError(f"{inside_cidr}: {why}")
    return (int(net.first) - _INSIDE_BASE) >> 2


def interface_name(platform: str, inside_cidr: str | IPNetwork) -> str:
    """The tunnel interface of one tunnel on `platform` (see the module table)."""
    return INTERFACE_FORMATS[platform].format(n=tunnel_number(inside_cidr))


def tunnel_key(connection: str, number: int) -> str:
    """The strongSwan connection/child name of one tunnel: `<connection>-<n>`."""
    return f"{connection}-{number}"


def linux_tunnel_file(connection: str, number: int) -> str:
    """The per-tunnel swanctl file of one tunnel, relative to the router's directory."""
    return LINUX_TUNNEL_FILE.format(tunnel=tunnel_key(connection, number))


# Per-tunnel and per-proposal object names. Junos caps IKE object names, so its
# proposals are named after the connection's short name (aws<N>, tunnel 1's number).


def junos_policy(tunnel: str, direction: str) -> str:
    """A tunnel's BGP import ("in") or export ("out") policy: `<connection>-<n>-in`."""
    return f"{tunnel}-{direction}"


def junos_proposal(short: str, kind: str, number: int) -> str:
    """A Junos IKE ("ike") or IPsec ("esp") proposal: `aws<N>-ike-10`."""
    return f"{short}-{kind}-{number}"


def iosxe_ike_proposal(suffix: str) -> str:
    """An IOS-XE IKEv2 proposal, one per cipher family: `crossnet-gcm`, `crossnet-cbc`."""
    return f"{IOSXE_IKEV2_POLICY}-{suffix}"


def iosxe_transform_set(connection: str, suffix: str) -> str:
    """An IOS-XE transform set: `<connection>-aes256gcm`."""
    return f"{connection}-{suffix}"


def iosxe_keyring_peer(number: int) -> str:
    """The peer entry in a tunnel's IKEv2 keyring: `aws-<tunnel number 1|2>`."""
    return f"aws-{number}"


def strongswan_secret(tunnel: str) -> str:
    """A tunnel's swanctl secrets section: `ike-<connection>-<n>`."""
    return f"ike-{tunnel}"


def policy_address(prefix: str) -> str:
    """A firewall address object for one planned prefix: `crossnet-10.40.0.0-16`.

    The same name on Junos (address book) and FortiOS (firewall address); `/` is left
    out because not every release takes it in object names."""
    return "crossnet-" + prefix.replace("/", "-")


def policy_address_set(connection: str, side: str) -> str:
    """The address set (Junos) or group (FortiOS) of one side of a connection:
    `<connection>-dc` (the datacenter prefixes it announces) or `<connection>-aws`."""
    return f"{connection}-{side}"


def firewall_policy(connection: str, short: str, platform: str, direction: str) -> str:
    """A security/firewall policy: Junos `<connection>-in|out`; FortiOS caps policy names
    at 35 characters, so `aws<N>-in|out` after the connection's tunnel 1 there."""
    return f"{short if platform == 'fortios' else connection}-{direction}"
