"""A VPC's subnets: explicit ones checked, the others allocated (pure)."""

from __future__ import annotations

from netaddr import IPNetwork

from network.allocate import AllocationError, allocate_subnets
from network.errors import Problems
from network.model import VpcSpec
from network.plan.common import P
from network.plan.types import SubnetPlan, VpcPlan


def plan_vpc(v: VpcSpec, p: Problems) -> VpcPlan:
    """The VPC's subnets, every tier's; problems for those that cannot be."""
    path = f"{P}.vpcs.{v.name}"
    subs, explicit = _explicit_subnets(v, p)
    auto = {t.name: t.prefix_length for t in v.tiers if t.prefix_length is not None}
    for name, plen in auto.items():
        if plen < v.cidr.prefixlen:
            p.add(f"{path}.tiers.{name}.prefixLength", plen, f"larger than the VPC {v.cidr}")
    if auto and all(pl >= v.cidr.prefixlen for pl in auto.values()):
        try:
            placed = allocate_subnets(
                v.cidr, list(v.azs), auto, [c for c in explicit if c in v.cidr], v.az_slots
            )
        except AllocationError as e:
            p.add(f"{path}.tiers", ", ".join(f"{k}=/{x}" for k, x in auto.items()), str(e))
            placed = {}
        subs += [SubnetPlan(v.name, t, az, c) for (t, az), c in placed.items()]
    return VpcPlan(v, tuple(sorted(subs, key=lambda s: (s.tier, s.az))))


def _explicit_subnets(v: VpcSpec, p: Problems) -> tuple[list[SubnetPlan], list[IPNetwork]]:
    path = f"{P}.vpcs.{v.name}"
    subs: list[SubnetPlan] = []
    explicit: list[IPNetwork] = []
    for t in v.tiers:
        for az, cidr in t.subnets:
            if cidr not in v.cidr:
                p.add(
                    f"{path}.tiers.{t.name}.subnets.{az}",
                    str(cidr),
                    f"a subnet must lie inside its VPC {v.cidr}",
                )
            subs.append(SubnetPlan(v.name, t.name, az, cidr))
            explicit.append(cidr)
        if t.subnets and {az for az, _ in t.subnets} != set(v.azs):
            p.add(
                f"{path}.tiers.{t.name}.subnets",
                sorted(az for az, _ in t.subnets),
                f"a tier has one subnet in each of the VPC's azs {list(v.azs)}",
            )
    return subs, explicit
