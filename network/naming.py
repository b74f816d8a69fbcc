"""Resource names and tags, from stable keys only (pure).

Names are built from the keys that identify a thing in the stack config (a
VPC's name, a tier, an AZ, a connection's name, a tunnel's number), never
from list positions, so adding an entry never renames the others.
"""

from __future__ import annotations

PROJECT = "crossnet"


def resource_name(kind: str, *keys: str | int) -> str:
    """Pulumi logical name: the keys, then the kind. `("subnet", "app", "private", "a")`."""
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


def tunnel_id(connection: str, number: int) -> str:
    """The key of one tunnel across the contract: `<connection>/<n>`."""
    return f"{connection}/{number}"
