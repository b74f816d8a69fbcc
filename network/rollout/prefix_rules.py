"""The ingress rules that go with a datacenter prefix (pure).

An ingress rule may only name sources inside a planned datacenter prefix, so the
rules admitting a new prefix belong to the change that adds it (AWS admits the
prefix in the same apply, before the routers announce it), and the rules of a
withdrawn prefix to the change that withdraws it. Reverting a `dc-prefix` change
in an earlier step's stack file therefore reverts those rules too: the sources
inside an added prefix are dropped (a rule left with none goes), and the applied
rules from a withdrawn prefix come back. Without this, the intermediate file does
not validate ("not inside a planned datacenter prefix") and the change is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from netaddr import IPNetwork


def _inside(source: str, prefixes: Iterable[str]) -> bool:
    try:
        net = IPNetwork(source)
    except (ValueError, TypeError):
        return False
    return any(net in IPNetwork(p) for p in prefixes)


def drop_sources(net: dict[str, Any], prefixes: list[str]) -> None:
    """Every VPC's ingress rules without their sources inside `prefixes`, in place."""
    if not prefixes:
        return
    for vpc in net.get("vpcs", {}).values():
        rules = vpc.get("ingress")
        if not isinstance(rules, list):
            continue
        kept = []
        for rule in rules:
            sources = [s for s in rule.get("from", []) if not _inside(str(s), prefixes)]
            if sources:
                kept.append({**rule, "from": sources})
        if kept:
            vpc["ingress"] = kept
        else:
            vpc.pop("ingress", None)


def restore_sources(net: dict[str, Any], old_vpcs: Mapping[str, Any], prefixes: list[str]) -> None:
    """The applied snapshot's flows from sources inside `prefixes` added back to each
    VPC still in the config, as rules of their own (one per source and tier)."""
    from network.rollout.configs import ingress_rules

    if not prefixes:
        return
    for name, vpc in net.get("vpcs", {}).items():
        old = old_vpcs.get(name)
        if not old:
            continue
        flows = {
            tier: [f for f in items if _inside(f.rsplit(" ", 1)[-1], prefixes)]
            for tier, items in old.get("ingress", {}).items()
        }
        have = {str(x) for rule in vpc.get("ingress", []) for x in rule.get("from", [])}
        flows = {t: [f for f in fs if f.rsplit(" ", 1)[-1] not in have] for t, fs in flows.items()}
        rules = ingress_rules({t: f for t, f in flows.items() if f})
        if rules:
            vpc.setdefault("ingress", []).extend(rules)


def _outside(prefixes: list[str], others: list[str]) -> list[str]:
    """The prefixes of `prefixes` not inside any of `others`."""
    return [p for p in prefixes if not _inside(p, others)]


def revert_prefix_rules(
    net: dict[str, Any], old: Mapping[str, Any], added: list[str], withdrawn: list[str]
) -> None:
    """The ingress rules as they go with a reverted dc-prefix change (see the module).
    An added prefix inside an applied one (a shrink) was admissible before: its rules
    stay (a change of their own, applied first); a withdrawn prefix's rules come back
    unless its space is still planned."""
    before = [p for d in old.get("datacenters", {}).values() for p in d["prefixes"]]
    drop_sources(net, _outside(added, before))
    restore_sources(net, old.get("vpcs", {}), _outside(withdrawn, added))
