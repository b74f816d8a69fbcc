"""A rollout as text for the engineer: one block per step, in the order to run it (pure)."""

from __future__ import annotations

from network.rollout.model import Check, Rollout, RouterChange, Step


def _phase(title: str, changes: tuple[RouterChange, ...]) -> list[str]:
    out = []
    for c in changes:
        out += [f"  {title} {c.router} ({c.platform}):"]
        out += [f"    {line}" for line in c.diff.rstrip("\n").splitlines()]
    return out


def _checks(checks: tuple[Check, ...], when: str) -> list[str]:
    return [f"    - [{c.kind}] {c.text}" for c in checks if c.when == when]


def render_step(s: Step) -> list[str]:
    out = [
        f"== step {s.number}: {s.title} [{s.change.kind}] ==",
        f"  why: {s.why}",
    ]
    out += [f"  change: {d}" for d in s.change.detail]
    if s.drained:
        out.append(f"  1. drain {', '.join(s.drained)}")
        out += _phase("   router", s.drain) or [
            "     (nothing to render: new tunnels come up drained)"
        ]
        out += ["     then check:", *_checks(s.checks, "after-drain")]
    routers_first = s.dc_when == "before-aws"
    aws = [f"  {'3' if routers_first else '2'}. AWS ({s.aws.kind}):"]
    aws += [f"     $ {cmd}" for cmd in s.aws.commands] or ["     (no AWS change)"]
    aws += [f"     AWS does: {op}" for op in s.aws.operations]
    dc = [f"  {'2' if routers_first else '3'}. routers:"]
    if s.render_after_apply:
        dc.append(
            "     render from the new stack outputs after the apply (crossnet render): "
            "0.0.0.N stands for an outside address AWS assigns then"
        )
    if s.rolling:
        dc.append(
            f"     tunnel by tunnel ({', '.join(s.rolling)}): drain it (the drain diff of its "
            "AWS step), apply its part of this diff, check, restore"
        )
        for k in s.rolling:
            dc += [f"     {k} drained, then check:", *_checks(s.checks, f"rolling-drain:{k}")]
            dc += [f"     {k} changed, then check:", *_checks(s.checks, f"rolling-change:{k}")]
    dc += _phase("   router", s.dc) or ["     (no router change)"]
    out += [*dc, *aws] if routers_first else [*aws, *dc]
    out += ["     then check:", *_checks(s.checks, "after-change")]
    if s.drained:
        out.append("  4. restore")
        out += _phase("   router", s.restore)
    after = _checks(s.checks, "after-restore")
    if after:
        out += ["     then check:", *after]
    loss = {"0": "0 loss", "aws-side": "0 loss from the datacenter, AWS's side not steerable"}
    out.append(f"  impact: {loss.get(s.impact.loss, 'OUTAGE')}: {s.impact.text}")
    if s.impact.bound:
        out.append(f"  bounded by: {s.impact.bound}")
    return [*out, ""]


def render_text(r: Rollout) -> str:
    head = [f"crossnet rollout: stack {r.stack} against {r.baseline}"]
    if not r.changes and not r.steps:
        return "\n".join([*head, *r.notes, ""]) + "\n"
    head.append(
        f"{len(r.changes)} change(s): " + ", ".join(f"{c.kind} {c.subject}" for c in r.changes)
    )
    if r.refusals:
        head.append("REFUSED: no safe order" + (" (planned anyway: --force)" if r.forced else ""))
        head += [f"  - {x}" for x in r.refusals]
    if r.steps:
        head.append(f"{len(r.steps)} step(s); keys are REDACTED in every diff")
    head.append("")
    body = [line for s in r.steps for line in render_step(s)]
    return "\n".join([*head, *body, *r.notes]).rstrip("\n") + "\n"
