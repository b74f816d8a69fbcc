"""Deterministic, stable address allocation (pure: netaddr only).

Two allocators, each keyed by stable names, never by list positions:

* Subnets inside one VPC: tiers are placed largest first (ties by name), each
  tier taking one aligned block holding a subnet per availability zone, AZs in
  name order. Adding a VPC, a router or a connection cannot move them: a VPC's
  subnets depend on nothing outside that VPC.
* Tunnel inside CIDRs: every connection owns the /29 that a hash of its name
  picks in 169.254.0.0/16 (tunnel 1 the first /30, tunnel 2 the second). A
  connection's /29 depends on its own name only, so adding another can never
  move it. If two names ever hash to the same /29 the plan says so and asks
  for an explicit `insideCidr`, instead of silently moving one of them.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from netaddr import IPNetwork, IPSet

from network import aws_rules as aws

# 169.254.0.0/21 holds AWS's reserved /30s, and 169.254.169.0/24 is the
# instance-metadata neighbourhood (169.254.169.252/30 is reserved, and
# 169.254.169.254 must never look like a tunnel peer). Auto allocation stays
# out of both; explicit CIDRs there are still checked against the exact rules.
_AUTO_EXCLUDED = IPSet(["169.254.0.0/21", "169.254.169.0/24"])


@lru_cache(maxsize=1)
def inside_slots() -> tuple[IPNetwork, ...]:
    """All /29s that auto-allocated tunnel inside CIDRs may use, in address order."""
    return tuple(n for n in aws.INSIDE_V4_SUPERNET.subnet(29) if not (IPSet([n]) & _AUTO_EXCLUDED))


def inside_cidr_for(connection: str, tunnel: int) -> IPNetwork:
    """The auto-allocated /30 of `tunnel` (1 or 2) of the named connection."""
    slots = inside_slots()
    digest = hashlib.sha256(f"crossnet/inside/{connection}".encode()).digest()
    block = slots[int.from_bytes(digest[:8], "big") % len(slots)]
    return list(block.subnet(aws.INSIDE_V4_PREFIXLEN))[tunnel - 1]


class AllocationError(ValueError):
    """A tier cannot be placed in its VPC."""


def allocate_subnets(
    vpc_cidr: IPNetwork,
    azs: list[str],
    tiers: dict[str, int],
    taken: list[IPNetwork] | None = None,
) -> dict[tuple[str, str], IPNetwork]:
    """Place one subnet of each tier's prefix length per AZ inside the VPC.

    `tiers` maps tier name to prefix length; `taken` are explicit subnets to
    keep clear of. Returns {(tier, az): cidr}. Raises AllocationError naming
    the tier that does not fit.
    """
    free = IPSet([vpc_cidr])
    for t in taken or []:
        free.remove(t)
    zones = sorted(azs)
    per_block = 1 << max(0, (len(zones) - 1).bit_length())  # AZ count rounded up to 2^k
    out: dict[tuple[str, str], IPNetwork] = {}
    for tier, plen in sorted(tiers.items(), key=lambda kv: (kv[1], kv[0])):
        block_len = plen - (per_block.bit_length() - 1)
        if block_len < vpc_cidr.prefixlen:
            raise AllocationError(f"{len(zones)} x /{plen} does not fit in {vpc_cidr}")
        block = _first_fit(free, block_len)
        if block is None:
            left = ", ".join(str(c) for c in free.iter_cidrs()) or "nothing"
            raise AllocationError(
                f"no free aligned /{block_len} for {len(zones)} x /{plen} in {vpc_cidr} "
                f"(free: {left})"
            )
        free.remove(block)
        for az, sub in zip(zones, block.subnet(plen)):
            out[(tier, az)] = sub
    return out


def _first_fit(free: IPSet, prefixlen: int) -> IPNetwork | None:
    for cidr in free.iter_cidrs():
        if cidr.prefixlen <= prefixlen:
            return next(iter(cidr.subnet(prefixlen)))
    return None


def free_space(supernet: IPNetwork, used: list[IPNetwork]) -> list[IPNetwork]:
    """The largest CIDRs of `supernet` that nothing in `used` touches."""
    free = IPSet([supernet])
    for u in used:
        free.remove(u)
    return list(free.iter_cidrs())
