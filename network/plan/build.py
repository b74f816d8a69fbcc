"""build_plan: validate the whole network and allocate every address (pure).

Nothing is declared until this has succeeded: a `Plan` is the only input the
Pulumi components take. Every rule is checked and every problem reported at
once, naming the field, the value and the rule: the parse problems of the
stack config together with the plan's own (an overlap found beside a typo),
and the resource names the plan implies are checked to be unique, since
Pulumi refuses two resources with one name. What is worth saying but not
wrong comes back as `Plan.warnings`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from network.config import NETWORK_KEY, config_source, parse_network
from network.errors import Problem, Problems
from network.model import NetworkSpec
from network.plan import checks
from network.plan.connections import (
    check_tunnels,
    plan_connection,
    previous_connections,
    with_tgw_accept,
)
from network.plan.resources import check_resource_names
from network.plan.routes import vpc_routes
from network.plan.transit import plan_transit
from network.plan.types import Plan, SpecIndex, TransitPlan
from network.plan.vpcs import plan_vpc
from network.plan.warnings import ingress_without_path, moved_subnets, reserved_asns


def build_plan(
    config: Mapping[str, Any],
    stack: str,
    *,
    need_secrets: bool = True,
    previous: Mapping[str, Any] | None = None,
    source: str | None = None,
) -> Plan:
    """Validate the stack config and allocate every address. Raises ConfigError.

    need_secrets: False for the review commands, which read a stack file whose
        `secure:` values cannot be decrypted here: such a key is recorded by
        name only (a warning says its rules were not checked) and the plan can
        be reviewed but never declared. True (the default) for anything that
        applies the plan.
    previous: the plan snapshot of the last apply (`network.review.snapshot`
        shape), when known: subnets that move get a warning, and an inside-CIDR
        collision names the connection that is new.
    source: the file named in messages (default: the config's own `.source`,
        as `read_stack_config` records it, else `stacks/Pulumi.<stack>.yaml`).
    """
    problems = Problems()
    warnings: list[Problem] = []
    spec = parse_network(config, stack, problems, need_secrets=need_secrets, warnings=warnings)
    plan = _plan(spec, problems, warnings, previous) if spec is not None else None
    if plan is None and not problems:  # never expected: still no traceback
        problems.add(NETWORK_KEY, "unusable", "nothing to plan")
    problems.raise_if_any(config_source(config, stack, source))
    assert plan is not None
    return plan


def _plan(
    spec: NetworkSpec, p: Problems, warnings: list[Problem], previous: Mapping[str, Any] | None
) -> Plan | None:
    ix = SpecIndex.of(spec)
    checks.check_unique_names(spec, p)
    vpc_plans = {v.name: plan_vpc(v, p) for v in spec.vpcs}
    checks.check_overlaps(spec, vpc_plans, p)
    checks.check_supernets(spec, p)
    checks.check_routers(spec, p)
    checks.check_vpn_gateways(ix, p)
    checks.check_tgw_attachments(ix, p)
    checks.check_ingress(spec, p)
    checks.check_peerings(ix, p)

    conns = [cp for c in spec.connections if (cp := plan_connection(c, ix, p)) is not None]
    check_tunnels(conns, p, previous_connections(previous))
    checks.check_quotas(conns, p)
    checks.check_unused_routers(ix, conns, p)
    checks.check_customer_asns(ix, conns, p)
    checks.check_customer_ips(conns, p)

    transit, broken_transit = _plan_transits(ix, p)
    # Accepted prefixes of TGW connections depend on the route tables.
    planned = [with_tgw_accept(c, transit, ix) for c in conns]
    checks.check_learns_something(ix, planned, broken_transit, p)
    routes = vpc_routes(spec, planned, transit, ix.vpcs)
    plan = Plan(spec, vpc_plans, ix.vgws, transit, tuple(planned), spec.peerings, routes)
    check_resource_names(plan, p)
    if p:
        return None
    warnings += ingress_without_path(plan)
    warnings += moved_subnets(plan, previous)
    warnings += reserved_asns(plan)
    return replace(plan, warnings=tuple(dict.fromkeys(warnings)))


def _plan_transits(ix: SpecIndex, p: Problems) -> tuple[dict[str, TransitPlan], set[str]]:
    """Every transit gateway's plan, and the names of those with a problem."""
    transit: dict[str, TransitPlan] = {}
    broken: set[str] = set()
    for t in ix.spec.transit_gateways:
        before = len(p)
        transit[t.name] = plan_transit(t, ix.spec, p)
        if len(p) > before or f"route-table:{t.name}" in ix.gone:
            broken.add(t.name)
    return transit, broken
