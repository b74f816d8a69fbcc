"""`plan_rollout`: the applied state and the edited config in, ordered safe steps out (pure).

1. The edited config is planned (`build_plan`: every problem at once, exit 2),
   and its snapshot compared with the applied one: the resource diff of
   `network.review.diff` says what AWS replaces, `classify` sorts the rest.
2. Step i's stack config is the edited one with the changes of the later steps
   reverted (`configs.step_config`); every one must plan, and with all changes
   reverted the plan must be the applied one. What no class explains becomes a
   first "other" step. A fact that would change in two steps means the split
   failed: refused.
3. Each class's handler (`steps`) gives the sub-steps; every router config is
   rendered with the project's renderer (keys redacted), the drain as a render
   with the tunnels depreferred (`render_router(drained=...)`), and each phase
   is the unified diff against the previous render.
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from network.contract import CONTRACT_VERSION, parse_outputs
from network.errors import ConfigError
from network.naming import tunnel_id
from network.plan import Plan, build_plan
from network.render import render_router
from network.review.diff import (
    address_changes,
    impacts,
    proposed_outputs,
    resource_changes,
)
from network.review.replacements import CHECKED_UPSTREAM
from network.review.snapshot import plan_snapshot
from network.rollout.checks import carriers, keys
from network.rollout.classify import classify
from network.rollout.configs import stack_file_text, step_config
from network.rollout.model import Change, Impact, Rollout, RouterChange, Step
from network.rollout.steps import HANDLERS
from network.rollout.substep import Ctx, NoSafeOrderError, Sub

Records = dict[str, dict[str, Any]]  # router key -> its `routers` output record
Files = dict[str, dict[str, str]]  # router key -> file name -> rendered text


@dataclass(frozen=True)
class Inputs:
    """What a rollout is computed from."""

    stack: str
    config: Mapping[str, Any]  # the edited stack config (keys fully qualified)
    document: Mapping[str, Any]  # the edited stack file as parsed (top-level keys kept)
    applied: Mapping[str, Any]  # the applied plan snapshot
    outputs: Mapping[str, Any]  # the applied stack outputs (keys inside: never printed)
    baseline: str = "the last apply"
    upstream: str | None = CHECKED_UPSTREAM
    force: bool = False
    step_dir: str = "steps"  # where the step stack files go, as the commands name them


@dataclass
class _Transition:
    change: Change
    config: dict[str, Any]
    plan: Plan
    snap: dict[str, Any]
    prev_config: dict[str, Any] = field(default_factory=dict)
    path: str = ""


def _aws_records(outputs: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    routers = (outputs or {}).get("routers")
    for r in routers.values() if isinstance(routers, Mapping) else []:
        for c in r.get("connections") or [] if isinstance(r, Mapping) else []:
            if isinstance(c, Mapping) and "name" in c:
                out[str(c["name"])] = dict(c)
    return out


def key_marker(source: str) -> str:
    """What a rendered config holds instead of the key from `source`: never a key, but a
    different token per key source, so that a diff shows where a router's key changes."""
    slug = re.sub(r"[^A-Za-z0-9]+", "_", source).strip("_")
    return f"REDACTED_{slug}"[:64]


def _mark_keys(records: Records, snap: Mapping[str, Any]) -> Records:
    """Name each tunnel's key by its source in `snap` (see key_marker)."""
    for r in records.values():
        for c in r["connections"]:
            conn = snap["connections"].get(c["name"], {})
            for t in c["tunnels"]:
                src = (conn.get("tunnels") or {}).get(str(t["number"]), {}).get("psk", "unknown")
                t["presharedKeyRef"] = f"{tunnel_id(c['name'], int(t['number']))}@{src}"
    return records


def _records(
    plan: Plan, outputs: Mapping[str, Any], renewed: Iterable[str], snap: Mapping[str, Any]
) -> Records:
    routers = proposed_outputs(plan, outputs, renewed)["routers"]
    return _mark_keys({k: copy.deepcopy(dict(v)) for k, v in routers.items()}, snap)


def _render(records: Records, drained: frozenset[str], stack: str) -> Files:
    """Every router of `records`, rendered redacted, `drained` tunnels depreferred."""
    data: dict[str, Any] = {
        "crossnet": {"contractVersion": CONTRACT_VERSION, "stack": stack},
        "datacenters": {},
        "vpcs": {},
        "gateways": {},
        "peerings": {},
        "routers": copy.deepcopy(records),
        "presharedKeys": {
            t["presharedKeyRef"]: key_marker(t["presharedKeyRef"].split("@", 1)[-1])
            for r in records.values()
            for c in r["connections"]
            for t in c["tunnels"]
        },
    }
    parsed = parse_outputs(data, f"rollout of stack {stack!r}").routers
    out: Files = {}
    for key, router in parsed.items():
        if not router.connections:
            out[key] = {}  # a router without tunnels has no crossnet config
            continue
        # Not redact=True: the markers stand in for the keys (no key was ever read here).
        out[key] = render_router(router, redact=False, drained=drained)
    return out


def _udiff(a: Files, b: Files, routers: Iterable[str], label: tuple[str, str]) -> dict[str, str]:
    diffs: dict[str, str] = {}
    for key in sorted(set(routers)):
        before, after = a.get(key, {}), b.get(key, {})
        text: list[str] = []
        for fname in sorted(set(before) | set(after)):
            text += difflib.unified_diff(
                before.get(fname, "").splitlines(keepends=True),
                after.get(fname, "").splitlines(keepends=True),
                fromfile=f"{label[0]}/{key}/{fname}",
                tofile=f"{label[1]}/{key}/{fname}",
            )
        if text:
            diffs[key] = "".join(t if t.endswith("\n") else t + "\n" for t in text)
    return diffs


def union_crypto(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """A crypto record that accepts both: every algorithm of either, the new timers."""
    out = copy.deepcopy(dict(b))
    out["ikeVersions"] = list(dict.fromkeys([*b["ikeVersions"], *a["ikeVersions"]]))
    for phase in ("phase1", "phase2"):
        for k in ("encryption", "integrity", "dhGroups"):
            out[phase][k] = list(dict.fromkeys([*b[phase][k], *a[phase][k]]))
    return out


# Facts of one tunnel: each changes in exactly one step, or the split went wrong (composite
# facts, such as a TGW route table's associations, legitimately change in several).
_ONCE = ("tunnel", "tunnel key", "crypto", "router")


def _verify_split(applied: Mapping[str, Any], chain: list[_Transition]) -> list[str]:
    """Refusals: a tunnel's fact that would change in two steps."""
    seen: dict[tuple[str, str], int] = {}
    prev: Mapping[str, Any] = applied
    out = []
    for i, t in enumerate(chain, 1):
        for f in address_changes(prev, t.snap):
            if f.area not in _ONCE:
                continue
            key = (f.area, f.key)
            if key in seen:
                out.append(
                    f"the change cannot be split safely: {f.area} {f.key} would change in step "
                    f"{seen[key]} and again in step {i}"
                )
            seen[key] = i
        prev = t.snap
    return out


def _transitions(inp: Inputs, new: Mapping[str, Any], changes: list[Change]) -> list[_Transition]:
    """The config of every step (later changes reverted), planned; an "other" step first
    for what the classes do not explain."""
    chain: list[_Transition] = []
    problems: list[str] = []
    base = step_config(inp.config, inp.applied, new, changes)
    last = base
    for i, ch in enumerate([None, *changes]):
        cfg = base if ch is None else step_config(inp.config, inp.applied, new, changes[i:])
        try:
            plan = build_plan(cfg, inp.stack, need_secrets=False, previous=inp.applied)
        except ConfigError as e:
            what = "the applied plan rebuilt" if ch is None else f"step for {ch.kind} {ch.subject}"
            problems.append(
                f"the intermediate config ({what}) does not validate: "
                + "; ".join(f"{p.field}: {p.value} ({p.rule})" for p in e.problems)
            )
            continue
        snap = plan_snapshot(plan)
        if ch is None:
            residual = [f for f in address_changes(inp.applied, snap) if f.area != "address space"]
            if not residual:
                continue
            ch = Change(
                "other",
                "unclassified",
                tuple(sorted(set(snap["connections"]))),
                tuple(sorted({c["router"] for c in snap["connections"].values()})),
                detail=tuple(
                    f"{f.area} {f.key}: {f.old or '-'} -> {f.new or '-'}" for f in residual
                ),
            )
        chain.append(_Transition(ch, cfg, plan, snap, last))
        last = cfg
    if problems:
        raise _RefusedError(problems)
    return chain


class _RefusedError(Exception):
    def __init__(self, reasons: list[str]):
        super().__init__("; ".join(reasons))
        self.reasons = reasons


def _refusals(prev: Mapping[str, Any], ch: Change) -> list[str]:
    out = []
    if (
        ch.kind == "connection-replace"
        and prev["connections"][ch.subject]["gatewayType"] == "vgw"
        and not carriers(prev, keys(prev, [ch.subject]), [ch.subject])
    ):
        out.append(
            f"{ch.subject} is replaced ({'; '.join(ch.detail) or 'a replacing input'}) and is "
            "its datacenter's only path to its virtual private gateway: the new connection has "
            "the same inside CIDRs (unique per gateway), so the old one must go first, and "
            "AWS's documented way to a second VGW connection is a second customer gateway (a "
            "second device or address). With 0 loss instead: add the new settings as a "
            f"connection under a new name (from a second router) beside {ch.subject}, roll that "
            f"out, then remove {ch.subject} in a second rollout"
        )
    return out


def plan_rollout(inp: Inputs) -> Rollout:
    """The ordered steps from the applied state to the edited config. Raises ConfigError
    when the edited config does not validate."""
    plan = build_plan(inp.config, inp.stack, need_secrets=False, previous=inp.applied)
    new = plan_snapshot(plan)
    resources = resource_changes(inp.applied, new, inp.upstream)
    found = impacts(inp.applied, new, resources, inp.outputs, inp.upstream)
    changes = classify(inp.applied, new, resources)
    refusals = [
        f"{i.title}: {i.consequence}" for i in found if i.kind in ("blocked-tgw-asn", "replace-vgw")
    ]
    if not changes and not address_changes(inp.applied, new):
        return Rollout(inp.stack, inp.baseline, (), (), notes=("nothing to roll out",))
    try:
        chain = _transitions(inp, new, changes)
    except _RefusedError as e:
        return Rollout(
            inp.stack, inp.baseline, tuple(changes), (), tuple(refusals + e.reasons), inp.force
        )
    refusals += _verify_split(inp.applied, chain)
    prev: Mapping[str, Any] = inp.applied
    for t in chain:
        refusals += _refusals(prev, t.change)
        prev = t.snap
    if refusals and inp.force:
        return _forced(inp, plan, new, tuple(c.change for c in chain), tuple(refusals))
    if refusals:
        return Rollout(inp.stack, inp.baseline, tuple(c.change for c in chain), (), tuple(refusals))
    try:
        steps = _steps(inp, chain)
    except (NoSafeOrderError, ConfigError) as e:
        why = e.reasons if isinstance(e, NoSafeOrderError) else [f"a step does not render: {e}"]
        if inp.force:
            return _forced(inp, plan, new, tuple(c.change for c in chain), tuple(why))
        return Rollout(inp.stack, inp.baseline, tuple(c.change for c in chain), (), tuple(why))
    path = f"{inp.step_dir}/00/Pulumi.{inp.stack}.yaml"
    header = (
        f"crossnet rollout of stack {inp.stack}: the stack as before step 1 (every change "
        f"reverted), what a rollback applies last\npulumi up --stack {inp.stack} "
        f"--config-file {path}"
    )
    return Rollout(
        inp.stack,
        inp.baseline,
        tuple(c.change for c in chain),
        steps,
        baseline_config=path if chain else "",
        baseline_text=stack_file_text(inp.document, chain[0].prev_config, header) if chain else "",
    )


def _forced(
    inp: Inputs, plan: Plan, new: dict[str, Any], changes: tuple[Change, ...], why: tuple[str, ...]
) -> Rollout:
    """--force: everything in one apply, the outage said plainly."""
    everything = Change(
        "other",
        "everything at once (--force)",
        tuple(sorted(set(inp.applied["connections"]) | set(new["connections"]))),
        tuple(
            sorted(
                {
                    c["router"]
                    for c in [*inp.applied["connections"].values(), *new["connections"].values()]
                }
            )
        ),
        detail=tuple(f"{c.kind} {c.subject}" for c in changes),
    )
    t = _Transition(everything, copy.deepcopy(dict(inp.config)), plan, new)
    steps = _steps(inp, [t])
    forced = tuple(
        replace(
            s,
            title="everything at once, forced: no safe order",
            impact=Impact(
                "outage",
                "forced without a safe order: " + "; ".join(why),
                "not bounded by crossnet: until AWS and the routers have converged",
            ),
        )
        for s in steps
    )
    return Rollout(inp.stack, inp.baseline, changes, forced, why, forced=True)


def _steps(inp: Inputs, chain: list[_Transition]) -> tuple[Step, ...]:
    ids = _aws_records(inp.outputs)
    cur = _mark_keys(copy.deepcopy(dict(inp.outputs.get("routers") or {})), inp.applied)
    renewed: set[str] = set()
    prev: Mapping[str, Any] = inp.applied
    out: list[Step] = []
    # How the routers' current configs are rendered: from which stack file, with what.
    state: dict[str, Any] = {"config": "applied", "drained": [], "cryptoUnion": []}
    for i, t in enumerate(chain, 1):
        t.path = f"{inp.step_dir}/{i:02d}/Pulumi.{inp.stack}.yaml"
        renewed |= set(t.snap["connections"]) - set(ids)
        ctx = Ctx(
            inp.stack,
            prev,
            t.snap,
            t.path,
            ids,
            upstream_in_place=inp.upstream is not None,
            prev_config=t.prev_config,
            next_config=t.config,
        )
        header = (
            f"crossnet rollout of stack {inp.stack}, step config {i} of {len(chain)}: "
            f"{t.change.kind} {t.change.subject}\n"
            f"pulumi up --stack {inp.stack} --config-file {t.path}"
        )
        text = stack_file_text(inp.document, t.config, header)
        for sub in HANDLERS[t.change.kind](ctx, t.change):
            renewed |= set(sub.renews)
            sub_target, sub_text = _records(t.plan, inp.outputs, renewed, t.snap), text
            if sub.override is not None:
                o = sub.override
                renewed |= set(o.renewed)
                sub_target = _records(o.plan, inp.outputs, renewed, o.snap)
                sub_text = stack_file_text(
                    inp.document,
                    o.config,
                    f"crossnet rollout of stack {inp.stack}: {sub.title}\n"
                    f"pulumi up --stack {inp.stack} --config-file {o.path}",
                )
            cur, step, state = _render_sub(
                inp, sub, t, (cur, state), sub_target, prev, len(out) + 1, sub_text
            )
            out.append(step)
        prev = t.snap
    return tuple(out)


def _render_sub(
    inp: Inputs,
    sub: Sub,
    t: _Transition,
    current: tuple[Records, dict[str, Any]],
    target: Records,
    prev: Mapping[str, Any],
    number: int,
    config_text: str,
) -> tuple[Records, Step, dict[str, Any]]:
    """Render one sub-step's phases; returns the routers' new state and how it renders."""
    cur, state = current
    nxt = {k: copy.deepcopy(v) for k, v in cur.items()}
    if sub.target == "next":
        for key in sub.routers:
            if key in target:
                nxt[key] = copy.deepcopy(target[key])
            else:
                nxt.pop(key, None)
        for key in set(target) - set(nxt):  # a router new in this step
            if key in sub.routers:
                nxt[key] = copy.deepcopy(target[key])
    for conn in sub.crypto_union:
        old = prev["connections"][conn]["crypto"]
        new = t.snap["connections"][conn]["crypto"]
        for r in nxt.values():
            for c in r["connections"]:
                if c["name"] == conn:
                    c["crypto"] = union_crypto(old, new)
    drained = sub.drained
    label = (f"step{number - 1}", f"step{number}")
    before = _render(cur, frozenset(), inp.stack)
    drained_before = _render(cur, drained, inp.stack)
    drained_after = _render(nxt, drained, inp.stack)
    after = _render(nxt, frozenset(), inp.stack)
    touched = set(cur) | set(nxt)
    after_state = {
        "config": (sub.aws.config or t.path) if sub.target == "next" else state["config"],
        "drained": [],
        "cryptoUnion": list(sub.crypto_union),
    }

    def changes(
        diffs: dict[str, str], records: Records, render_in: dict[str, Any]
    ) -> tuple[RouterChange, ...]:
        return tuple(
            RouterChange(
                k, str((records.get(k) or cur.get(k) or {}).get("platform", "")), d, render_in
            )
            for k, d in diffs.items()
        )

    with_drain = {"drained": sorted(drained)}

    step = Step(
        number,
        replace(t.change, routers=tuple(sub.routers) or t.change.routers),
        sub.title,
        sub.why,
        sub.aws,
        drain=changes(
            _udiff(before, drained_before, touched, (label[0], "drained")),
            cur,
            {**state, **with_drain},
        ),
        dc=changes(
            _udiff(
                drained_before,
                drained_after,
                touched,
                ("drained" if drained else label[0], label[1]),
            ),
            nxt,
            {**after_state, **with_drain},
        ),
        dc_when=sub.dc_when,
        restore=changes(
            _udiff(drained_after, after, touched, (label[1], "restored")), nxt, after_state
        ),
        drained=tuple(sorted(drained)),
        checks=sub.checks,
        impact=sub.impact,
        config_text=config_text if sub.aws.config else "",
        render_after_apply=sub.render_after_apply,
        rolling=sub.rolling,
    )
    return nxt, step, after_state
