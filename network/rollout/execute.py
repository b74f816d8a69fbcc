"""Executing a rollout's steps on a running lab (`crossnet rollout --stack S --lab`).

Per step, in the order rollout.json states: drain (each router's drained render,
applied live), the after-drain checks; the AWS side (the stateful offline apply of
the step's stack file, so IDs and keys persist; then the lab's AWS side changed as
AWS changes it, `network.lab.live.apply_aws`); the routers' new render (through
vici and frr-reload.py); the after-change checks; the restore and its checks. Every
check is polled with a bound. A check that still fails stops the rollout, says how
to go back, and leaves the record in `progress.json` (0600, written atomically
after every phase), so a rollout stopped by a failure, Ctrl-C or a kill resumes
from the step it was in: every phase is idempotent (a render applied twice changes
nothing, an apply of an applied config reports 0 changes).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from network.contract import Router, load_outputs, write_private
from network.errors import ConfigError, Problem
from network.lab.runtime import Running, open_lab
from network.lab.step_checks import wait_checks
from network.lab.system import LabError
from network.lab.topology import Lab, build_lab
from network.plan import build_plan
from network.render import render_router
from network.stack_file import read_stack_config
from network.state import outputs_path, state_dir

Say = Callable[[str], None]
# (step, phase) as each phase starts: drain, AWS side, routers, restore, and the checks
# after each (a live status on a terminal; nothing otherwise).
Phase = Callable[[str, str], None]
PROGRESS = "progress.json"
CHECK_TIMEOUT = 90.0


FINISHED = ("done", "rolled-back")  # a rollout in either state is not resumed
ROLLING_BACK = ("rolling-back", "rollback-failed")  # the next run finishes the rollback


class RolloutFailedError(LabError):
    """A step failed (exit 3): the rollout stopped; progress.json says where."""

    exit_code = 3


@dataclass
class Progress:
    """progress.json: which rollout (by its sha256), and how far each step got."""

    stack: str
    rollout_sha256: str
    steps: dict[str, str] = field(default_factory=dict)  # step -> last phase done
    status: str = "running"  # running | failed | done
    failure: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)  # "<step>.<phase>", in the order done
    failed_step: str = ""
    rollback: dict[str, Any] = field(default_factory=dict)  # what a rollback undid, its checks

    def as_json(self) -> dict[str, Any]:
        return {
            "progressVersion": 1,
            "stack": self.stack,
            "rolloutSha256": self.rollout_sha256,
            "status": self.status,
            "steps": self.steps,
            "failure": self.failure,
            "timings": self.timings,
            "events": self.events,
            "failedStep": self.failed_step,
            "rollback": self.rollback,
        }


def progress_path(stack: str) -> Path:
    return state_dir(stack) / "rollout" / PROGRESS


def read_progress(stack: str) -> Progress | None:
    """The recorded progress, or None; ConfigError for a corrupted file."""
    path = progress_path(stack)
    if not path.exists():
        return None
    try:
        d = json.loads(path.read_text())
        return Progress(
            stack=str(d["stack"]),
            rollout_sha256=str(d["rolloutSha256"]),
            steps={str(k): str(v) for k, v in dict(d["steps"]).items()},
            status=str(d["status"]),
            failure=[str(x) for x in d.get("failure", [])],
            timings={str(k): float(v) for k, v in dict(d.get("timings", {})).items()},
            events=[str(x) for x in d.get("events", [])],
            failed_step=str(d.get("failedStep", "")),
            rollback=dict(d.get("rollback", {})),
        )
    except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, ValueError) as e:
        raise ConfigError(
            str(path),
            [Problem("(file)", "unreadable", f"{e}; remove it once the lab is checked")],
        ) from None


def write_progress(p: Progress) -> None:
    write_private(progress_path(p.stack), json.dumps(p.as_json(), indent=1) + "\n")


def rollout_sha(rollout: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(rollout["steps"], sort_keys=True).encode()).hexdigest()


# ---------------------------------------------------------------- phases
def offline_apply(
    stack: str, config: Path, destroy: tuple[str, ...] = (), targets: tuple[str, ...] = ()
) -> None:
    """The stateful offline apply of one stack file (`crossnet up`), in its own process:
    Pulumi's mocks are process-wide. `destroy`: deleted first (`pulumi destroy --target`);
    `targets`: resource names, only they and their dependents change (`pulumi up --target
    URN --target-dependents`)."""
    from network.rollout.targeted import targeted_urns

    env = {**os.environ, "CROSSNET_STACKS_DIR": str(config.parent)}
    args = [x for name in destroy for x in ("--destroy-target", name)]
    if targets:
        args += [x for urn in targeted_urns(stack, targets) for x in ("--target", urn)]
        args.append("--target-dependents")
    res = subprocess.run(
        [sys.executable, "-m", "network.cli", "up", "--stack", stack, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if res.returncode != 0:
        raise RolloutFailedError(
            f"crossnet up of {config} failed (exit {res.returncode}):\n{res.stderr}"
        )


def lab_of(
    stack: str, config: Path | None, held: bool = False, kept: dict[str, int] | None = None
) -> Lab:
    """The lab layout of the current outputs and a stack file (None: the stack's own).
    `held` (after a targeted apply): each router's ASN as its customer gateway holds it.
    `kept`: the running lab's LAN slots (its routers keep their addresses)."""
    plan = build_plan(read_stack_config(stack, config), stack)
    if not held:
        return build_lab(load_outputs(outputs_path(stack)), plan, kept)
    from network.contract import parse_outputs
    from network.rollout.targeted import as_gateways_hold, held_asns

    path = outputs_path(stack)
    outputs = as_gateways_hold(json.loads(path.read_text()), held_asns(stack))
    return build_lab(parse_outputs(outputs, str(path)), plan, kept)


def apply_routers(
    rt: Running,
    drained: frozenset[str],
    say: Say,
    crypto: dict[str, Any] | None = None,
    only: frozenset[str] | None = None,
    routers: Mapping[str, Router] | None = None,
) -> list[str]:
    """Each router rendered with `drained` (and `crypto`: connections rendered with other
    proposals), applied live (`only`: just these files): from the running lab's outputs,
    or from `routers` (a step's routers before its apply, `prerender`)."""
    from network.lab.live import apply_router
    from network.rollout.aws_actions import with_crypto

    changed = []
    for r in with_crypto(rt.lab, crypto or {}).routers:
        router = routers.get(r.key, r.router) if routers is not None else r.router
        secrets = [t.psk.reveal() for c in router.connections for t in c.tunnels]
        files = render_router(router, drained=drained)
        for name in apply_router(rt, r.key, files, secrets, say, only):
            changed.append(f"{r.key}/{name}")
    return changed


def _applied(stack: str, config: Path) -> bool:
    """The last apply was of this stack file (its plan is the applied one)."""
    from network.offline.stack_state import last_applied_plan
    from network.review.snapshot import plan_snapshot

    plan = build_plan(read_stack_config(stack, config), stack, need_secrets=False)
    return plan_snapshot(plan) == last_applied_plan(stack)


def aws_side(
    rt: Running,
    stack: str,
    config: Path,
    say: Say,
    destroy: tuple[str, ...] = (),
    targets: tuple[str, ...] = (),
) -> Running:
    from network.lab.live import apply_aws

    if destroy and _applied(stack, config):
        destroy = ()  # resumed after this step's apply: destroying again would replace twice
    offline_apply(stack, config, destroy, targets)
    only = f" (--target {', '.join(targets)} --target-dependents)" if targets else ""
    say(f"  offline apply of {config}{only}: outputs {outputs_path(stack)}")
    lab = lab_of(stack, config, held=bool(targets), kept=rt.state.lan_slots)
    return apply_aws(rt, lab, outputs_path(stack), say)


def _no_phase(step: str, phase: str) -> None:
    return None


@dataclass
class Run:
    """One `rollout --lab` under way: the running lab (replaced as the AWS side changes
    it), the progress record, and how long a check may take to hold."""

    stack: str
    rollout: dict[str, Any]
    p: Progress
    rt: Running
    say: Say
    check_timeout: float = CHECK_TIMEOUT
    phase: Phase = _no_phase

    def done(self, step: str, phase: str, last: bool = True) -> None:
        """Record a phase done (`last`: also as the step's last phase)."""
        if last:
            self.p.steps[step] = phase
        self.p.events.append(f"{step}.{phase}")
        write_progress(self.p)


def _checks(step: dict[str, Any], when: str) -> list[dict[str, Any]]:
    return [c for c in step["checks"] if c["when"] == when]


def _run_checks(run: Run, step: dict[str, Any], when: str) -> None:
    checks = _checks(step, when)
    if not checks:
        return
    bad, waited = wait_checks(run.rt, checks, run.check_timeout)
    p = run.p
    p.timings[f"{step['step']}.{when}"] = waited
    if bad:
        p.status = "failed"
        p.failed_step = str(step["step"])
        p.failure = [f"step {step['step']} {when}", *bad]
        write_progress(p)
        raise RolloutFailedError(
            f"step {step['step']} ({step['title']}): {when} checks still fail after "
            f"{waited:g} s:\n  " + "\n  ".join(bad)
        )
    run.say(f"  {when}: {len(checks)} checks hold ({waited:g} s)")


def _aws_config(step: dict[str, Any]) -> Path | None:
    """The stack file a step's AWS side applies (None: no apply, or API requests the lab
    executes); RolloutFailedError for an action the lab does not execute."""
    aws = step["aws"]
    if aws["kind"] == "pulumi-up" and aws["config"]:
        return Path(aws["config"])
    if aws["kind"] == "aws-api" and aws.get("requests"):
        return None
    if aws["kind"] != "none":
        raise RolloutFailedError(
            f"step {step['step']}: an AWS action of kind {aws['kind']!r} is not executed on the "
            f"lab yet (run by hand: {'; '.join(aws['commands'])})"
        )
    return None


def _aws_phase(run: Run, step: dict[str, Any], config: Path | None) -> None:
    """The step's AWS side: the stateful apply of its stack file, or its API requests
    (ModifyVpnTunnelOptions through the emulator, `network.rollout.aws_actions`)."""
    n = str(step["step"])
    if config is not None:
        from network.rollout.static_routes import before_move

        run.phase(n, "apply: the AWS side")
        before_move(run.rt, run.stack, step["aws"], run.say)  # a static VGW -> TGW move
        destroy = tuple(step["aws"].get("destroyFirst", ()))
        targets = tuple(step["aws"].get("targets", ()))
        run.rt = aws_side(run.rt, run.stack, config, run.say, destroy, targets)
        run.done(n, "aws")
    elif step["aws"]["kind"] == "aws-api":
        from network.rollout import aws_actions

        run.phase(n, "the AWS side: API requests")
        if run.p.steps.get(n) not in ("aws", "routers"):  # not twice on a resume
            aws_actions.run_api(run.rt, run.stack, step["aws"]["requests"], run.say)
        run.done(n, "aws")


def run_step(run: Run, step: dict[str, Any]) -> None:
    """One step, phase by phase in the planned order, each recorded once done: the drain;
    the routers first when the plan says so (`dc.when = before-aws`); the AWS side; the
    routers' new render (tunnel by tunnel, each drained, for a `rolling` step); the
    restore; the checks after each."""
    from network.rollout import aws_actions

    n = str(step["step"])
    drained = frozenset(step["drained"])
    run.say(f"step {n}: {step['title']}")
    crypto = aws_actions.crypto_for(run.rt, run.stack, step)
    if drained:
        run.phase(n, "drain")
        apply_routers(run.rt, drained, run.say, crypto)
        run.phase(n, "checks after drain")
        _run_checks(run, step, "after-drain")
        run.done(n, "drain")
    config = _aws_config(step)
    if config is not None and step["dc"]["when"] == "before-aws":
        from network.rollout.prerender import proposed_routers

        run.phase(n, "routers first")
        run.say(f"  the routers first (before the AWS side): rendered from {config}")
        routers = proposed_routers(run.stack, config)
        apply_routers(run.rt, drained, run.say, crypto, routers=routers)
        run.done(n, "routers-first", last=False)
    _aws_phase(run, step, config)
    run.phase(n, "routers")
    if step.get("rolling"):  # the router change tunnel by tunnel, each drained
        check = lambda when: _run_checks(run, step, when)  # noqa: E731
        aws_actions.rolling(run.rt, step, run.say, crypto, apply_routers, check)
    apply_routers(run.rt, drained, run.say, crypto)
    run.phase(n, "checks after change")
    _run_checks(run, step, "after-change")
    run.done(n, "routers")
    if drained:
        run.phase(n, "restore")
        apply_routers(run.rt, frozenset(), run.say, crypto)
    run.phase(n, "checks after restore")
    _run_checks(run, step, "after-restore")
    run.done(n, "done")


def how_to_go_back(stack: str, rollout: dict[str, Any], p: Progress) -> str:
    """What an engineer runs to undo the steps done so far."""
    done = [
        s for s in rollout["steps"] if p.steps.get(str(s["step"])) in ("aws", "routers", "done")
    ]
    if not done:
        return "no AWS change was applied: nothing to undo beyond `crossnet lab apply`"
    first = done[0]
    return (
        f"AWS holds the config of step {done[-1]['step']}. To go back: restore the stack file "
        f"as it was before step {first['step']} (its config minus: "
        f"{'; '.join(', '.join(s['changes']) for s in done)}"
        + (f"; it is {rollout['baselineConfig']}" if rollout.get("baselineConfig") else "")
        + f") and run `crossnet rollout --stack {stack} --lab` again: it plans the way back "
        "in the same safe order; or `--rollback-on-failure` next time, which undoes the steps "
        "at once"
    )


def execute(
    stack: str,
    rollout: dict[str, Any],
    say: Say,
    resume: bool = True,
    check_timeout: float = CHECK_TIMEOUT,
    rollback_on_failure: bool = False,
    phase: Phase = _no_phase,
) -> Progress:
    """Run every step not yet done. A failed check raises RolloutFailedError (progress
    recorded); with `rollback_on_failure` the steps are undone first
    (`network.rollout.rollback`), and the error says how that went."""
    sha = rollout_sha(rollout)
    p = read_progress(stack) if resume else None
    if p is None or p.rollout_sha256 != sha or p.status in FINISHED:
        p = Progress(stack, sha)
    elif p.status not in ROLLING_BACK:
        say(f"resuming: steps done {sorted(k for k, v in p.steps.items() if v == 'done')}")
    run = Run(stack, rollout, p, open_lab(stack), say, check_timeout, phase)
    if p.status in ROLLING_BACK:  # a rollback interrupted or failed: finish it (idempotent)
        from network.rollout.rollback import roll_back

        say("finishing the rollback recorded in progress.json")
        roll_back(run)
    p.status = "running"
    p.failure = []
    write_progress(p)
    t0 = time.monotonic()
    try:
        for step in rollout["steps"]:
            if p.steps.get(str(step["step"])) != "done":
                run_step(run, step)
    except RolloutFailedError:
        if not rollback_on_failure:
            raise
        from network.rollout.rollback import roll_back

        roll_back(run)  # raises: RolledBackError, or RollbackFailedError
    p.status = "done"
    p.timings["total"] = round(time.monotonic() - t0, 2)
    write_progress(p)
    return p


def execute_naive(stack: str, config: Path, say: Say, destroy: tuple[str, ...] = ()) -> Running:
    """The negative control: the edited config applied at once, AWS side and routers
    both changed with no drain and no check in between (what the safe order avoids).
    `destroy`: deleted first, then created (a replaced connection: delete + create)."""
    rt = open_lab(stack)
    rt = aws_side(rt, stack, config, say, destroy)
    apply_routers(rt, frozenset(), say)
    return rt
