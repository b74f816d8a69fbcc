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
from network.rollout import undo
from network.rollout.aws_actions import step_unions
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


def _anchor(rollout: dict[str, Any], number: int) -> int:
    """The last earlier step that applied a stack file (0: none, the baseline)."""
    ups = [
        int(s["step"])
        for s in rollout["steps"]
        if int(s["step"]) < number and s["aws"]["kind"] == "pulumi-up" and s["aws"]["config"]
    ]
    return max(ups, default=0)


def _api_steps(run: Run, number: int) -> list[dict[str, Any]]:
    """The `aws-api` steps between the anchor of step `number` and it, not yet undone."""
    low = _anchor(run.rollout, number)
    return [
        s
        for s in run.rollout["steps"]
        if low < int(s["step"]) < number
        and s["aws"]["kind"] == "aws-api"
        and f"{s['step']}.aws" in run.p.events
        and run.p.steps.get(str(s["step"])) != "rolled-back"
    ]


def _crypto(run: Run, step: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The crypto records a step's routers render with (None: before the first step)."""
    if step is None or not step_unions(step):
        return {}
    return undo.union_for(run.stack, step, previous_config(run.rollout, int(step["step"])))


def _before(run: Run, step: dict[str, Any]) -> dict[str, Any] | None:
    earlier = [s for s in run.rollout["steps"] if int(s["step"]) < int(step["step"])]
    return max(earlier, key=lambda s: int(s["step"])) if earlier else None


def _hold(run: Run, step: dict[str, Any], checks: list[dict[str, Any]], what: str) -> None:
    if not checks:
        return
    bad, waited = wait_checks(run.rt, checks, run.check_timeout)
    if bad:
        raise LabError(
            f"rollback of step {step['step']}: {what} still fail after {waited:g} s: "
            + "; ".join(bad)
        )


CARRIERS = ("ipsec-sa", "bgp-established", "prefixes-received")


def _carried(step: dict[str, Any], when: str) -> list[dict[str, Any]]:
    """What AWS must hold from the tunnels that carry while `when`'s tunnels are drained: the
    datacenter's prefixes with a path shorter than the drained one (BGP), and AWS's FIB
    (the gateway's kernel routes) leaving by none of the drained tunnels. A rollback may
    find such a tunnel drained itself (the step that failed drained it): its path at AWS
    as long as the drained one would leave AWS's choice to a tie. And a carrier that has
    just come back is AWS's best path in BGP a moment before zebra installs it: the SA
    of the drained tunnel, renegotiated at once, lost the ping AWS still sent by it."""
    drain = [c for c in step["checks"] if c["when"] == when]
    sent = next((c for c in drain if c["kind"] == "advertised-prepend"), None)
    if sent is None:
        return []
    prefixes = list(sent["expect"]["prefixes"])
    drained = sorted({c["tunnel"] for c in drain if c["kind"] == "advertised-prepend"})
    return [
        {
            "when": when,
            "kind": "advertised-prepend",
            "router": c["router"],
            "tunnel": c["tunnel"],
            "expect": {
                "neighbor": c["expect"]["neighbor"],
                "prefixes": prefixes,
                "asPathBelow": sent["expect"]["asPathLength"],
                "fibAvoids": drained,
            },
            "text": f"AWS holds {', '.join(prefixes)} from {c['tunnel']}, its path shorter "
            f"than the drained one's {sent['expect']['asPathLength']}, and forwards them "
            f"by none of {', '.join(drained)}",
        }
        for c in drain
        if c["kind"] == "bgp-established"
    ]


def _carriers(run: Run, step: dict[str, Any], when: str) -> None:
    """Before a drain in a rollback: the tunnels that will carry are up, hold BGP and
    receive the prefixes (the drain's own checks of them, `when`): what failed may have
    left them down, and draining onto a tunnel still converging loses traffic."""
    want = [c for c in step["checks"] if c["when"] == when and c["kind"] in CARRIERS]
    _hold(run, step, want, f"the tunnels that carry during the drain ({when})")


def _drained(run: Run, step: dict[str, Any], when: str) -> None:
    """After a drain in a rollback: the drain's checks, and AWS prefers the carriers."""
    want = [c for c in step["checks"] if c["when"] == when] + _carried(step, when)
    _hold(run, step, want, f"the drain's checks ({when})")


def _undo_aws(run: Run, step: dict[str, Any]) -> None:
    """The AWS side back to the state before the step (see network.rollout.undo)."""
    number = int(step["step"])
    config = previous_config(run.rollout, number)
    if step["aws"]["kind"] == "aws-api":
        before = undo.plan_crypto(run.stack, config)
        undo.reverse_api(run.rt, run.stack, step["aws"]["requests"], before, run.say)
        _hold(run, step, undo.tunnel_checks(step, step["drained"]), "the tunnel's checks")
        deferred = run.p.rollback.get("deferred")
        if deferred and not _api_steps(run, number):
            run.say(f"  AWS: the deferred apply of {deferred} (no AWS change left)")
            run.rt = aws_side(run.rt, run.stack, Path(deferred), run.say)
            run.p.rollback.pop("deferred")
            write_progress(run.p)
        return
    pending = _api_steps(run, number)
    if pending and all(s["class"] == step["class"] for s in pending):
        run.p.rollback["deferred"] = str(config)
        write_progress(run.p)
        run.say(
            f"  AWS: the apply of {config} deferred until the ModifyVpnTunnelOptions of "
            f"step(s) {', '.join(str(s['step']) for s in pending)} are reversed (one apply "
            "now would change their tunnels at once)"
        )
        return
    run.rt = aws_side(run.rt, run.stack, config, run.say)


def undo_step(run: Run, step: dict[str, Any]) -> None:
    """One step undone, the way it went forward (drain, AWS, routers, restore); the
    routers' proposals back to the step before's, tunnel by tunnel where they change."""
    n = str(step["step"])
    drained = frozenset(step["drained"])
    now, before = _crypto(run, step), _crypto(run, _before(run, step))
    run.say(f"rollback of step {n}: {step['title']}")
    if drained:
        # A step done had its drain restored: it is drained anew, onto its carriers (a step
        # with none, such as a new VPC's only connection, moves no traffic by its drain).
        carriers = [
            c for c in step["checks"] if c["when"] == "after-drain" and c["kind"] in CARRIERS
        ]
        anew = run.p.steps.get(n) == "done" and bool(carriers)
        if anew:
            _carriers(run, step, "after-drain")
        apply_routers(run.rt, drained, run.say, now)
        if anew:
            _drained(run, step, "after-drain")
    if f"{n}.aws" in run.p.events:
        _undo_aws(run, step)
    if now != before and step.get("rolling"):
        from network.rollout.aws_actions import rolling

        def check(when: str) -> None:
            if when.startswith("rolling-drain:"):
                _drained(run, step, when)
            else:
                _hold(run, step, [c for c in step["checks"] if c["when"] == when], when)

        def ready(k: str) -> None:
            _carriers(run, step, f"rolling-drain:{k}")

        rolling(run.rt, step, run.say, before, apply_routers, check, ready)
    apply_routers(run.rt, drained, run.say, before)
    if drained:
        apply_routers(run.rt, frozenset(), run.say, before)
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
