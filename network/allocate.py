"""Deterministic, stable address allocation (pure: netaddr only).

Two allocators, each keyed by stable names, never by list positions:

* Subnets inside one VPC. Each tier takes one aligned block holding a subnet
  per availability-zone *slot*; an AZ's slot is its letter (`us-east-1a` is
  slot 0, `...c` slot 2), so adding or removing an AZ never moves another AZ's
  subnet. A block has `azSlots` slots (default: enough for the highest letter
  in use, rounded up to a power of two): adding an AZ that fits in the block
  moves nothing, while one that does not (a third AZ in a block of two) makes
  every block twice as large and moves every subnet. Tiers are placed largest
  first (ties by name), each in the first free aligned block: adding a tier
  moves nothing when it sorts after every existing tier (no larger, or as large
  with a later name); a larger tier is placed first and moves the others.
  Adding a VPC, a router or a connection never moves anything: a VPC's subnets
  depend on nothing outside that VPC.

  No packed allocator can be stable under every addition without state: two
  tiers that each sit at the start of the VPC when alone cannot both stay
  there together. Hence `azSlots` (reserve room up front) and explicit
  `subnets:` (pin what is live before adding a larger tier), documented in
  docs/config.md; `build_plan(previous=...)` names every subnet a change moves.
* Tunnel inside CIDRs: every connection owns the /29 that a hash of its name
  picks in 169.254.0.0/16 (tunnel 1 the first /30, tunnel 2 the second). A
  connection's /29 depends on its own name only, so adding another can never
  move it. If two names ever hash to the same /29 the plan says so, names
  both, and asks for an explicit `insideCidr` on the one being added (with a
  free /29 to use), instead of silently moving either.
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
    # Integer arithmetic over the 8192 /29s: an IPSet per candidate took a second.
    excluded = [(c.first, c.last) for c in _AUTO_EXCLUDED.iter_cidrs()]
    supernet = aws.INSIDE_V4_SUPERNET
    return tuple(
        IPNetwork((first, 29))
        for first in range(supernet.first, supernet.last + 1, 8)
        if not any(lo <= first + 7 and first <= hi for lo, hi in excluded)
    )


def _slot_index(connection: str) -> int:
    digest = hashlib.sha256(f"crossnet/inside/{connection}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % len(inside_slots())


def inside_block_for(connection: str) -> IPNetwork:
    """The /29 the named connection's auto-allocated inside CIDRs come from."""
    return inside_slots()[_slot_index(connection)]


def inside_cidr_for(connection: str, tunnel: int) -> IPNetwork:
    """The auto-allocated /30 of `tunnel` (1 or 2) of the named connection."""
    return list(inside_block_for(connection).subnet(aws.INSIDE_V4_PREFIXLEN))[tunnel - 1]


def free_inside_block(connection: str, used: set[IPNetwork]) -> IPNetwork:
    """A /29 for the named connection that touches none of `used` (its own
    slot's successors, in order): what to suggest when its own slot is taken."""
    slots = inside_slots()
    start = _slot_index(connection)
    taken = IPSet(used)
    for i in range(1, len(slots)):
        block = slots[(start + i) % len(slots)]
        if not (IPSet([block]) & taken):
            return block
    raise AllocationError("no free /29 left in 169.254.0.0/16")


class AllocationError(ValueError):
    """A tier cannot be placed in its VPC."""


def az_slot(az: str) -> int:
    """An availability zone's slot in a tier's block: its letter (`...a` is 0)."""
    letter = az[-1:]
    if not ("a" <= letter <= "z"):
        raise AllocationError(f"availability zone {az!r} does not end in a zone letter")
    return ord(letter) - ord("a")


def block_slots(azs: list[str], az_slots: int | None = None) -> int:
    """Subnets per tier block: room for every AZ's slot (and `az_slots` if
    given), rounded up to a power of two so that blocks stay aligned."""
    need = max([az_slot(a) + 1 for a in azs] + [az_slots or 1])
    return 1 << (need - 1).bit_length()


def allocate_subnets(
    vpc_cidr: IPNetwork,
    azs: list[str],
    tiers: dict[str, int],
    taken: list[IPNetwork] | None = None,
    az_slots: int | None = None,
) -> dict[tuple[str, str], IPNetwork]:
    """Place one subnet of each tier's prefix length per AZ inside the VPC.

    `tiers` maps tier name to prefix length; `taken` are explicit subnets to
    keep clear of; `az_slots` reserves room for that many AZ slots per tier.
    Returns {(tier, az): cidr}. Raises AllocationError naming the tier that
    does not fit.
    """
    free = IPSet([vpc_cidr])
    for t in taken or []:
        free.remove(t)
    per_block = block_slots(azs, az_slots)
    shift = per_block.bit_length() - 1
    out: dict[tuple[str, str], IPNetwork] = {}
    for tier, plen in sorted(tiers.items(), key=lambda kv: (kv[1], kv[0])):
        block_len = plen - shift
        if block_len < vpc_cidr.prefixlen:
            raise AllocationError(
                f"{per_block} AZ slot(s) x /{plen} for tier {tier} do not fit in {vpc_cidr}"
            )
        block = _first_fit(free, block_len)
        if block is None:
            left = ", ".join(str(c) for c in free.iter_cidrs()) or "nothing"
            raise AllocationError(
                f"no free aligned /{block_len} for tier {tier} ({per_block} AZ slot(s) x "
                f"/{plen}) in {vpc_cidr} (free: {left})"
            )
        free.remove(block)
        subnets = list(block.subnet(plen))
        for az in azs:
            out[(tier, az)] = subnets[az_slot(az)]
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
