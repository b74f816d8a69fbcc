"""What a change class's handler returns: sub-steps, and the context it gets (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from network.plan import Plan
from network.rollout.model import AwsAction, Check, Impact

Snapshot = Mapping[str, Any]


NO_MOVE = Impact("0", "no traffic moves")


@dataclass(frozen=True)
class Override:
    """A sub-step that applies a stack config of its own (make-before-break's temporary
    connection), already planned."""

    config: dict[str, Any]
    plan: Plan
    snap: dict[str, Any]
    path: str
    renewed: tuple[str, ...] = ()  # connections whose AWS values are new from this apply


@dataclass(frozen=True)
class Sub:
    """One sub-step of a change: rendered and numbered by the planner."""

    title: str
    why: str
    aws: AwsAction
    routers: tuple[str, ...] = ()  # routers that take the new config in this sub-step
    drained: frozenset[str] = frozenset()
    dc_when: str = "after-aws"
    checks: tuple[Check, ...] = ()
    impact: Impact = NO_MOVE
    render_after_apply: bool = False
    crypto_union: tuple[str, ...] = ()  # connections rendered with old + new proposals
    target: str = "next"  # "next": the step's target state; "prev": stay (drain-only)
    override: Override | None = None
    renews: tuple[str, ...] = ()  # connections that get new AWS values (outside addresses) here
    # Tunnel keys whose router change is applied one tunnel at a time, each drained: a
    # router that re-establishes a tunnel whose proposals change (strongSwan's load-conn,
    # Junos, FortiOS) would otherwise restart every tunnel of the connection at once.
    rolling: tuple[str, ...] = ()


@dataclass(frozen=True)
class Ctx:
    stack: str
    prev: Snapshot  # the plan before this change
    next: Snapshot  # the plan after it
    config: str  # the step's stack file, relative to the rollout directory
    ids: Mapping[str, Mapping[str, Any]]  # connection -> its applied outputs record
    upstream_in_place: bool = True  # the provider changes inside CIDRs in place
    prev_config: Mapping[str, Any] = field(default_factory=dict)  # the stack config before
    next_config: Mapping[str, Any] = field(default_factory=dict)  # and after this change

    def up(self, *operations: str, target: str = "", path: str = "") -> AwsAction:
        """A `pulumi up` of the step's stack file; `target`: a resource's name, that
        resource and its dependents only (`--target URN --target-dependents`)."""
        path = path or self.config
        cmd = f"pulumi up --stack {self.stack} --config-file {path}"
        if target:
            cmd += f" --target '<urn of {target}>' --target-dependents"
        offline = f"CROSSNET_STACKS_DIR={path.rsplit('/', 1)[0]} crossnet up --stack {self.stack}"
        if target:
            offline += f" --target '<urn of {target}>' --target-dependents"
        targets = (target,) if target else ()
        return AwsAction(
            "pulumi-up", (cmd, f"offline: {offline}"), operations, path, targets=targets
        )

    def alt(self, suffix: str) -> str:
        """Another stack file of the same step: steps/03a/Pulumi.<stack>.yaml."""
        d, f = self.config.rsplit("/", 1)
        return f"{d}{suffix}/{f}"


class NoSafeOrderError(Exception):
    """A change whose safe order cannot be built: the planner refuses it with `reasons`."""

    def __init__(self, reasons: list[str]):
        super().__init__("; ".join(reasons))
        self.reasons = reasons


def zero(what: str) -> Impact:
    return Impact("0", what)
