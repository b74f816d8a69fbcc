"""The allocators (network.allocate): subnets inside a VPC and tunnel inside
CIDRs. Properties under hypothesis: nothing overlaps, everything lies inside its
supernet, the same input always gives the same output, and additions move nothing."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from netaddr import IPNetwork, IPSet

from network import aws_rules as aws
from network.allocate import (
    AllocationError,
    allocate_subnets,
    az_slot,
    block_slots,
    free_inside_block,
    free_space,
    inside_block_for,
    inside_cidr_for,
    inside_slots,
)

# ---------------------------------------------------------------- properties
names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=20)


@settings(max_examples=200, deadline=None)
@given(st.lists(names, min_size=1, max_size=30, unique=True), names)
def test_inside_cidrs_property(conns: list[str], extra: str) -> None:
    """Inside /30s: inside 169.254/16, never reserved, deterministic, and a
    connection's CIDRs depend on its own name only (additions move nothing)."""
    alloc = {(c, n): inside_cidr_for(c, n) for c in conns for n in (1, 2)}
    for cidr in alloc.values():
        assert cidr in aws.INSIDE_V4_SUPERNET and cidr.prefixlen == 30
        assert not aws.is_reserved_inside_cidr(cidr)
        assert cidr not in IPNetwork("169.254.169.0/24")
    for c in conns:
        assert alloc[(c, 1)] != alloc[(c, 2)]
        assert IPNetwork(f"{alloc[(c, 1)].ip}/29").cidr == IPNetwork(f"{alloc[(c, 2)].ip}/29").cidr
    again = {(c, n): inside_cidr_for(c, n) for c in [*conns, extra] for n in (1, 2)}
    assert all(again[k] == v for k, v in alloc.items())


def test_inside_slot_space() -> None:
    slots = inside_slots()
    assert len(slots) > 7000  # ample room: a collision among 20 tunnels is ~1%
    assert all(not aws.is_reserved_inside_cidr(s) for s in slots)


tiers_strategy = st.dictionaries(
    st.text(alphabet="abcdefgh", min_size=1, max_size=6),
    st.integers(min_value=20, max_value=28),
    min_size=1,
    max_size=5,
)


@settings(max_examples=200, deadline=None)
@given(
    tiers_strategy, st.integers(min_value=1, max_value=4), st.integers(min_value=16, max_value=18)
)
def test_subnet_allocator_property(tiers: dict[str, int], n_azs: int, vpc_len: int) -> None:
    """Subnets: no overlaps, all inside the VPC, deterministic, one per tier and AZ."""
    vpc = IPNetwork(f"10.0.0.0/{vpc_len}")
    azs = [f"us-east-1{c}" for c in "abcd"[:n_azs]]
    per_block = 1 << (n_azs - 1).bit_length()
    needed = sum(per_block * 2 ** (32 - plen) for plen in tiers.values())
    if needed > vpc.size:
        # largest-first aligned placement packs perfectly, so it fails only when
        # the tiers really do not fit, and then says so
        with pytest.raises(AllocationError):
            allocate_subnets(vpc, azs, tiers)
        return
    out = allocate_subnets(vpc, azs, tiers)
    assert out == allocate_subnets(vpc, list(reversed(azs)), dict(reversed(list(tiers.items()))))
    assert set(out) == {(t, az) for t in tiers for az in azs}
    cidrs = list(out.values())
    for i, a in enumerate(cidrs):
        assert a in vpc and a.prefixlen == tiers[next(t for (t, _), c in out.items() if c == a)]
        for b in cidrs[i + 1 :]:
            assert a not in b and b not in a


# ---------------------------------------------------------------- stability
def _subnets(
    vpc: IPNetwork, azs: list[str], tiers: dict[str, int], slots: int | None = None
) -> dict[tuple[str, str], IPNetwork] | None:
    try:
        return allocate_subnets(vpc, azs, tiers, az_slots=slots)
    except AllocationError:
        return None


LETTERS = "abcdef"


@settings(max_examples=300, deadline=None)
@given(
    tiers_strategy,
    st.sets(st.sampled_from(LETTERS), min_size=1, max_size=5),
    st.sampled_from(LETTERS),
    st.text(alphabet="abcdefgh", min_size=1, max_size=6),
    st.integers(min_value=20, max_value=28),
    st.sampled_from([None, 4, 8]),
)
def test_subnets_are_stable_under_additions(
    tiers: dict[str, int],
    letters: set[str],
    new_az: str,
    new_tier: str,
    new_len: int,
    slots: int | None,
) -> None:
    """No existing subnet moves when an AZ is added that fits the block (its
    letter is within the AZ slots), when an AZ is removed, or when a tier is
    added that sorts after every existing one; `azSlots` reserves the room."""
    vpc = IPNetwork("10.0.0.0/16")
    azs = sorted(f"us-east-1{x}" for x in letters)
    before = _subnets(vpc, azs, tiers, slots)
    if before is None:
        return
    per_block = block_slots(azs, slots)
    # an AZ within the block's slots
    if new_az not in letters and LETTERS.index(new_az) < per_block:
        after = _subnets(vpc, [*azs, f"us-east-1{new_az}"], tiers, slots)
        assert after is not None and all(after[k] == v for k, v in before.items())
    # an AZ removed (the others keep their letters' slots)
    if len(azs) > 1:
        fewer = azs[1:]
        if block_slots(fewer, slots) == per_block:
            after = _subnets(vpc, fewer, tiers, slots)
            assert after is not None and all(after[k] == before[k] for k in after)
    # a tier that sorts after every existing one (no larger; as large, later name)
    if new_tier not in tiers and all((new_len, new_tier) > (pl, t) for t, pl in tiers.items()):
        after = _subnets(vpc, azs, {**tiers, new_tier: new_len}, slots)
        if after is not None:
            assert all(after[k] == v for k, v in before.items())


# ---------------------------------------------------------------- the pieces
def test_az_slot_is_the_zone_letter() -> None:
    assert [az_slot(f"eu-west-1{x}") for x in "abcz"] == [0, 1, 2, 25]
    with pytest.raises(AllocationError, match="does not end in a zone letter"):
        az_slot("eu-west-1")


@pytest.mark.parametrize(
    ("azs", "slots", "expected"),
    [
        (["us-east-1a"], None, 1),
        (["us-east-1a", "us-east-1b"], None, 2),
        (["us-east-1a", "us-east-1c"], None, 4),  # room up to the highest letter
        (["us-east-1b"], None, 2),
        (["us-east-1a"], 3, 4),  # azSlots, rounded up to a power of two
        (["us-east-1a", "us-east-1b"], 8, 8),
    ],
)
def test_block_slots(azs: list[str], slots: int | None, expected: int) -> None:
    assert block_slots(azs, slots) == expected


def test_explicit_subnets_are_kept_clear_of() -> None:
    vpc = IPNetwork("10.0.0.0/16")
    taken = [IPNetwork("10.0.0.0/20")]
    out = allocate_subnets(vpc, ["us-east-1a", "us-east-1b"], {"app": 20}, taken)
    assert out == {
        ("app", "us-east-1a"): IPNetwork("10.0.32.0/20"),
        ("app", "us-east-1b"): IPNetwork("10.0.48.0/20"),
    }


def test_a_tier_too_large_for_the_vpc_names_it() -> None:
    with pytest.raises(AllocationError, match=re.escape("for tier big do not fit in 10.0.0.0/20")):
        allocate_subnets(IPNetwork("10.0.0.0/20"), ["us-east-1a", "us-east-1b"], {"big": 20})


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=255), min_size=0, max_size=12, unique=True),
    st.integers(min_value=17, max_value=24),
)
def test_free_space_property(used_thirds: list[int], plen: int) -> None:
    """What is free: inside the supernet, touching nothing used, and with the
    used ranges it covers the supernet exactly."""
    supernet = IPNetwork("10.0.0.0/16")
    used = [IPNetwork(f"10.0.{x}.0/{plen}").cidr for x in used_thirds]
    free = free_space(supernet, used)
    assert all(f in supernet for f in free)
    assert not (IPSet(free) & IPSet(used))
    assert IPSet(free) | IPSet(used) == IPSet([supernet])
    assert free == free_space(supernet, list(reversed(used)))


@settings(max_examples=100, deadline=None)
@given(names, st.lists(names, max_size=40, unique=True))
def test_free_inside_block_property(conn: str, others: list[str]) -> None:
    """The /29 suggested after a collision: an allowed slot that touches no
    tunnel in use, the same one for the same input."""
    used = {inside_cidr_for(o, n) for o in others for n in (1, 2)}
    block = free_inside_block(conn, used)
    assert block in inside_slots()
    assert not (IPSet([block]) & IPSet(used))
    assert block == free_inside_block(conn, set(used))
    assert block != inside_block_for(conn)  # never the slot that collided
