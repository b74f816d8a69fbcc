"""`crossnet rollout --lab --rollback-on-failure`: a failed step undoes the steps so far.

Steps are undone in reverse, each the way the step went forward: its tunnels
drained first (the other tunnel carries while the AWS side goes back), the AWS
side back to the state before the step (the stateful apply of the stack file of
the last earlier step that applied one, else the rollout's baseline
`steps/00/Pulumi.<stack>.yaml`: every change reverted), so IDs, outside
addresses and keys come back as they were; then the routers rendered from the
outputs rolled back to, through the same vici / frr-reload.py path, still
drained; then the drain restored. A step whose AWS side never ran (it failed in
its drain, or its routers went first) only has its routers put back.

Then the checks of the state rolled back to: every planned tunnel, BGP session
and route of the lab (`network.lab.readiness`), and the step probes that still
apply. progress.json records the rollback (`status` `rolling-back`, then
`rolled-back`; `rollback`: from which step, what was undone, the checks), so a
rollback interrupted is finished by the next `rollout --lab`. The rollout still
failed: RolledBackError (exit 3) when the lab is back and green,
RollbackFailedError (exit 4) when it is not, naming what still fails.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, NoReturn

from netaddr import IPAddress, IPNetwork

from network.errors import CrossnetError
from network.lab.readiness import wait_ready
from network.lab.step_checks import wait_checks
from network.lab.system import LabError
from network.rollout.execute import (
    RolloutFailedError,
    Run,
    apply_routers,
    aws_side,
    write_progress,
)


class RolledBackError(RolloutFailedError):
    """The rollout failed and was rolled back: the lab is back and its checks hold."""

    exit_code = 3


class RollbackFailedError(RolloutFailedError):
    """The rollback itself failed: the lab is not known to be back (exit 4)."""

    exit_code = 4


def touched(rollout: dict[str, Any], steps: dict[str, str], failed: str) -> list[dict[str, Any]]:
    """The steps a rollback undoes, last first: every step with a phase recorded, and the
    failed one (its drain may be in place before any phase is recorded)."""
    out = [s for s in rollout["steps"] if str(s["step"]) in steps or str(s["step"]) == failed]
    return sorted(out, key=lambda s: -int(s["step"]))


def previous_config(rollout: dict[str, Any], number: int) -> Path:
    """The stack file AWS held before step `number`: the last earlier `pulumi up` step's,
    else the baseline (every change reverted)."""
    for s in sorted(rollout["steps"], key=lambda s: -int(s["step"])):
        aws = s["aws"]
        if int(s["step"]) < number and aws["kind"] == "pulumi-up" and aws["config"]:
            return Path(aws["config"])
    base = rollout.get("baselineConfig")
    if not base or not Path(base).is_file():
        raise RollbackFailedError(
            f"the rollout records no baseline stack file ({base or 'baselineConfig missing'}): "
            "AWS cannot be put back automatically; restore the stack file by hand and run "
            "`crossnet rollout --lab`"
        )
    return Path(base)


def undo_step(run: Run, step: dict[str, Any]) -> None:
    """One step undone, the way it went forward (drain, AWS, routers, restore)."""
    n = str(step["step"])
    drained = frozenset(step["drained"])
    run.say(f"rollback of step {n}: {step['title']}")
    if drained:
        apply_routers(run.rt, drained, run.say)
    if f"{n}.aws" in run.p.events:
        config = previous_config(run.rollout, int(step["step"]))
        run.rt = aws_side(run.rt, run.stack, config, run.say)
    apply_routers(run.rt, drained, run.say)
    if drained:
        apply_routers(run.rt, frozenset(), run.say)
    run.p.rollback["undone"].append(int(step["step"]))
    run.done(n, "rolled-back")


def still_applies(run: Run, check: dict[str, Any]) -> bool:
    """A probe of an undone step whose source and destination the lab still has."""
    if check["kind"] != "probe":
        return False
    to, src = IPNetwork(check["expect"]["to"]), IPNetwork(check["expect"]["from"])
    return any(IPAddress(h.address) in to for h in run.rt.lab.vpc_hosts()) and any(
        IPAddress(h.address) in src for h in run.rt.lab.dc_hosts()
    )


def _verify(run: Run, undone: list[dict[str, Any]]) -> list[str]:
    """The checks of the state rolled back to; what still fails (empty: all hold)."""
    try:
        wait_ready(run.rt, run.check_timeout)
    except LabError as e:
        return [str(e)]
    probes = [c for s in undone for c in s["checks"] if still_applies(run, c)]
    unique = list({(c["expect"]["from"], c["expect"]["to"]): c for c in probes}.values())
    if not unique:
        return []
    bad, _ = wait_checks(run.rt, unique, run.check_timeout)
    return bad


def roll_back(run: Run) -> NoReturn:
    """Undo the steps of a failed (or interrupted) rollout; always raises."""
    p = run.p
    failed = p.failed_step or str(max((int(k) for k in p.steps), default=0))
    why = list(p.failure)
    if p.status not in ("rolling-back", "rollback-failed"):
        p.rollback = {"from": failed, "failure": why, "undone": [], "checks": []}
    p.status = "rolling-back"
    write_progress(p)
    t0 = time.monotonic()
    steps = touched(run.rollout, p.steps, failed)
    todo = [s for s in steps if p.steps.get(str(s["step"])) != "rolled-back"]
    try:
        for s in todo:
            undo_step(run, s)
        bad = _verify(run, steps)
    except (CrossnetError, OSError) as e:  # LabError, RolloutFailedError, ConfigError
        bad = [f"the rollback stopped: {e}"]
    p.rollback["checks"] = bad
    p.timings["rollback"] = round(time.monotonic() - t0, 2)
    undone = ", ".join(str(s["step"]) for s in steps)
    cause = "; ".join(why[:2]) or "interrupted"
    if bad:
        p.status = "rollback-failed"
        write_progress(p)
        raise RollbackFailedError(
            f"step {failed} failed ({cause}); the rollback of step(s) {undone} did not bring "
            "the lab back: still failing:\n  " + "\n  ".join(bad)
        )
    p.status = "rolled-back"
    write_progress(p)
    raise RolledBackError(
        f"step {failed} failed ({cause}); rolled back step(s) {undone} in "
        f"{p.timings['rollback']:g} s: AWS holds the state before the rollout again (its IDs "
        "and keys), the routers their previous config, and every tunnel, BGP session, route "
        "and probe of that state holds"
    )
