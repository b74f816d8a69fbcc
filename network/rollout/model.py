"""The shape of a rollout: ordered steps, each with its AWS action, router changes and checks.

Everything here is plain data (frozen dataclasses) with `as_json()`, so that an
executor can run a step without re-deriving it: the AWS action names the exact
commands (and the stack file each `pulumi up` reads), every router change carries
the redacted diff and the inputs to render it again with the real keys, and
every check names its router, tunnel, neighbour and prefixes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Change classes, in the order a mixed change applies them (see docs/rollout.md).
CLASSES = (
    "vpc-remove",
    "vpc-add",
    "router-add",
    "connection-add",
    "dc-prefix",
    "psk",
    "tunnel-options",
    "inside-cidr",
    "gateway-move",
    "customer-asn",
    "router-ip",
    "connection-replace",
    "connection-remove",
    "router-remove",
    "other",
)


@dataclass(frozen=True)
class Change:
    """One classified change: what moves, on which connections and routers."""

    kind: str  # one of CLASSES
    subject: str  # a VPC, router key, datacenter, connection, or "<connection> tunnel <n>"
    connections: tuple[str, ...] = ()
    routers: tuple[str, ...] = ()
    tunnel: int = 0  # psk / inside-cidr: the tunnel number
    detail: tuple[str, ...] = ()  # what changed, human-readable (never a key)

    @property
    def rank(self) -> int:
        return CLASSES.index(self.kind)


@dataclass(frozen=True)
class Check:
    """A condition that must hold before the next step: data for an executor, text for people."""

    kind: str  # ipsec-sa | bgp-established | prefixes-received | prefixes-advertised
    #           | route-avoids | advertised-prepend | probe
    router: str
    text: str
    tunnel: str = ""  # tunnel key <connection>-<n>
    expect: dict[str, Any] = field(default_factory=dict)
    when: str = "after-change"  # "after-drain" | "after-change" | "after-restore"
    #     | "rolling-drain:<tunnel>" | "rolling-change:<tunnel>" (a rolling step's tunnel)

    def as_json(self) -> dict[str, Any]:
        return {
            "when": self.when,
            "kind": self.kind,
            "router": self.router,
            "tunnel": self.tunnel,
            "expect": self.expect,
            "text": self.text,
        }


@dataclass(frozen=True)
class RouterChange:
    """One router's config change in one phase: the redacted diff and how to render it."""

    router: str
    platform: str
    diff: str  # unified diff of the rendered files, keys REDACTED
    render: dict[str, Any]  # inputs: {"config": step file, "drained": [...], "crypto": ...}

    def as_json(self) -> dict[str, Any]:
        return {
            "router": self.router,
            "platform": self.platform,
            "render": self.render,
            "diff": self.diff,
        }


@dataclass(frozen=True)
class AwsAction:
    """The AWS side of a step: a `pulumi up` of a stack file, AWS CLI calls, or nothing."""

    kind: str  # "pulumi-up" | "aws-api" | "none"
    commands: tuple[str, ...] = ()
    operations: tuple[str, ...] = ()  # the AWS API operations the commands cause
    config: str = ""  # the step's stack file (relative to the rollout directory)
    # Resources deleted (with their dependents) before the apply: `pulumi destroy --target`.
    destroy: tuple[str, ...] = ()
    # "aws-api": each API request as data, for an executor (the commands print them):
    # {"operation", "connection", "tunnel", "vpnConnectionId", "outsideIp", "inputs",
    #  "crypto"}; `inputs` are the pulumi-aws inputs the request sets (what
    # `pulumi refresh` reads back), `crypto` the tunnel's options as a contract record.
    requests: tuple[dict[str, Any], ...] = ()
    # `pulumi up --target <urn of NAME> --target-dependents`: the targeted resources' names.
    targets: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "config": self.config,
            "commands": list(self.commands),
            "operations": list(self.operations),
            **({"destroyFirst": list(self.destroy)} if self.destroy else {}),
            **({"targets": list(self.targets)} if self.targets else {}),
            "requests": [dict(r) for r in self.requests],
        }


@dataclass(frozen=True)
class Impact:
    """What the step costs the traffic: "0" loss, or an outage AWS forces, with its bound."""

    loss: str  # "0" | "aws-side" (static routing: AWS's side not steerable) | "outage"
    text: str
    bound: str = ""  # what bounds an outage, and why

    def as_json(self) -> dict[str, Any]:
        return {"loss": self.loss, "text": self.text, "bound": self.bound}


@dataclass(frozen=True)
class Step:
    number: int
    change: Change
    title: str
    why: str
    aws: AwsAction
    drain: tuple[RouterChange, ...] = ()
    dc: tuple[RouterChange, ...] = ()
    dc_when: str = "after-aws"  # "before-aws": the routers first (accept before AWS sends)
    restore: tuple[RouterChange, ...] = ()
    drained: tuple[str, ...] = ()  # tunnel keys moved off during the step
    checks: tuple[Check, ...] = ()
    impact: Impact = field(default_factory=lambda: Impact("0", "no traffic moves"))
    config_text: str = ""  # the full stack file of `aws.config` (written beside the plan)
    render_after_apply: bool = False  # AWS assigns values (outside addresses) at this apply
    rolling: tuple[str, ...] = ()  # the router change applied tunnel by tunnel, each drained

    def as_json(self) -> dict[str, Any]:
        return {
            "step": self.number,
            "class": self.change.kind,
            "subject": self.change.subject,
            "title": self.title,
            "why": self.why,
            "changes": list(self.change.detail),
            "drained": list(self.drained),
            "drain": [r.as_json() for r in self.drain],
            "aws": self.aws.as_json(),
            "dc": {"when": self.dc_when, "routers": [r.as_json() for r in self.dc]},
            "renderAfterApply": self.render_after_apply,
            "rolling": list(self.rolling),
            "restore": [r.as_json() for r in self.restore],
            "checks": [c.as_json() for c in self.checks],
            "impact": self.impact.as_json(),
        }


@dataclass(frozen=True)
class Rollout:
    stack: str
    baseline: str
    changes: tuple[Change, ...]
    steps: tuple[Step, ...]
    refusals: tuple[str, ...] = ()  # why there is no safe order (empty: there is one)
    forced: bool = False
    notes: tuple[str, ...] = ()
    # The stack file as before the first step (every change reverted: it plans to the
    # applied state), which a rollback applies last: `steps/00/Pulumi.<stack>.yaml`.
    baseline_config: str = ""
    baseline_text: str = ""

    @property
    def refused(self) -> bool:
        return bool(self.refusals) and not self.forced

    def as_json(self) -> dict[str, Any]:
        return {
            "rolloutVersion": 1,
            "stack": self.stack,
            "baseline": self.baseline,
            "baselineConfig": self.baseline_config,
            "refused": self.refused,
            "forced": self.forced,
            "refusals": list(self.refusals),
            "notes": list(self.notes),
            "changes": [
                {"class": c.kind, "subject": c.subject, "changes": list(c.detail)}
                for c in self.changes
            ],
            "steps": [s.as_json() for s in self.steps],
        }
