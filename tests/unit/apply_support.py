"""Helpers for the stateful-apply tests: apply a config twice, compare with `crossnet diff`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from network.offline.apply import ApplyResult, offline_up
from network.offline.stack_state import Change
from network.plan import build_plan
from network.review.diff import resource_changes
from network.review.resources import KIND_TYPE
from network.review.snapshot import plan_snapshot

MODELLED = set(KIND_TYPE.values())
SG = "aws:ec2/securityGroup:SecurityGroup"
SG_RULES = (
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
)


def apply_config(stacks: Path, stack: str, config: dict[str, Any], **kw: Any) -> ApplyResult:
    """Write `config` as the stack file under `stacks` and apply it offline."""
    (stacks / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": config}))
    return offline_up(stack, **kw)


def predicted(state: Path, stack: str, config: dict[str, Any]) -> set[tuple[str, str, str]]:
    """What `crossnet diff` predicts against the last apply: (action, type, name)."""
    old = json.loads((state / stack / "applied.json").read_text())["plan"]
    new = plan_snapshot(build_plan(config, stack, previous=old))
    return {(c.action, c.type, c.name) for c in resource_changes(old, new)}


def effected(result: ApplyResult) -> set[tuple[str, str, str]]:
    """What the apply did, in `crossnet diff`'s model of the resources.

    diff summarises a tier's datacenter flows as its security group's `ingress`
    (crossnet declares one rule resource per flow): a rule created, deleted or
    changed is an update of its group, unless the group itself is created,
    replaced or deleted. Route table associations are not in diff's model.
    """
    out = {(c.action, c.type, c.name) for c in result.changes if c.action != "same" and c.type in MODELLED}
    touched_groups = {n for a, t, n in out if t == SG}
    for c in result.changes:
        if c.type in SG_RULES and c.action != "same":
            group = _group_of(result, c)
            if group and group not in touched_groups:
                out.add(("update", SG, group))
    return out


def _group_of(result: ApplyResult, c: Change) -> str:
    """The security group (by name) a rule belongs to, from its parent URN."""
    for r in result.resources:
        if r.type == c.type and r.name == c.name:
            break
    else:
        return _old_group(c)
    sg_id = r.inputs.get("securityGroupId")
    for g in result.resources:
        if g.type == SG and g.id == sg_id:
            return g.name
    return ""


def _old_group(c: Change) -> str:
    # a deleted rule: its name starts with its group's name minus "-sg"
    return ""
