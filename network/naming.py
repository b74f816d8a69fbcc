"""Resource names and tags, from stable keys only (pure).

Names are built from the keys that identify a thing in the stack config (a
VPC's name, a tier, an AZ, a connection's name, a tunnel's number), never
from list positions, so adding an entry never renames the others.
"""

from __future__ import annotations

PROJECT = "crossnet"
TOKEN_PREFIX = "crossnet:network"


def component_token(kind: str) -> str:
    """The type token of a crossnet component, e.g. `crossnet:network:Vpc`."""
    return f"{TOKEN_PREFIX}:{kind}"


def resource_name(kind: str, *keys: str | int) -> str:
    """Pulumi logical name: the keys, then the kind. `("subnet", "app", "private", "a")`.

    Keys are joined with '-', which names may contain too: VPC `a` tier `b-c`
    and VPC `a-b` tier `c` both give `a-b-c-rt`. The plan checks that every
    name it implies is unique (`network.plan.planned_resources`), since Pulumi
    refuses two resources with one URN.
    """
    parts = [str(k) for k in keys if str(k)]
    if not parts:
        raise ValueError("a resource name needs at least one key")
    return "-".join([*parts, kind])


def tags(stack: str, kind: str, *keys: str | int) -> dict[str, str]:
    """AWS tags for one resource: a readable Name plus keys to find it by."""
    key = "/".join(str(k) for k in keys)
    return {
        "Name": f"{stack}-{resource_name(kind, *keys)}",
        "crossnet:stack": stack,
        "crossnet:kind": kind,
        "crossnet:key": key,
        "managed-by": PROJECT,
    }


def flow_key(cidr: str, proto: str, first: int, last: int) -> str:
    """The key of one security-group flow: `10.128.0.0_16-tcp-443`, `...-icmp-all`."""
    ports = "all" if proto == "icmp" else (str(first) if first == last else f"{first}-{last}")
    return f"{cidr.replace('/', '_')}-{proto}-{ports}"


def slug(cidr: object) -> str:
    """A CIDR as a name part: `10.128.0.0_16`."""
    return str(cidr).replace("/", "_")


def tunnel_id(connection: str, number: int) -> str:
    """The key of one tunnel across the contract: `<connection>/<n>`."""
    return f"{connection}/{number}"
