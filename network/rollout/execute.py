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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from network.contract import load_outputs, write_private
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
PROGRESS = "progress.json"
CHECK_TIMEOUT = 90.0


class RolloutFailedError(LabError):
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

    def as_json(self) -> dict[str, Any]:
        return {
            "progressVersion": 1,
            "stack": self.stack,
            "rolloutSha256": self.rollout_sha256,
            "status": self.status,
            "steps": self.steps,
            "failure": self.failure,
            "timings": self.timings,
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
def offline_apply(stack: str, config: Path) -> None:
    """The stateful offline apply of one stack file (`crossnet up`), in its own process:
    Pulumi's mocks are process-wide."""
    env = {**os.environ, "CROSSNET_STACKS_DIR": str(config.parent)}
    res = subprocess.run(
        [sys.executable, "-m", "network.cli", "up", "--stack", stack],
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


def lab_of(stack: str, config: Path | None) -> Lab:
    """The lab layout of the current outputs and a stack file (None: the stack's own)."""
    plan = build_plan(read_stack_config(stack, config), stack)
    return build_lab(load_outputs(outputs_path(stack)), plan)


def apply_routers(
    rt: Running,
    drained: frozenset[str],
    say: Say,
    crypto: dict[str, Any] | None = None,
    only: frozenset[str] | None = None,
) -> list[str]:
    """Each router rendered from the running lab's outputs with `drained` (and `crypto`:
    connections rendered with other proposals), applied live (`only`: just these files)."""
    from network.lab.live import apply_router
    from network.rollout.aws_actions import with_crypto

    changed = []
    for r in with_crypto(rt.lab, crypto or {}).routers:
        secrets = [t.psk.reveal() for c in r.router.connections for t in c.tunnels]
        files = render_router(r.router, drained=drained)
        for name in apply_router(rt, r.key, files, secrets, say, only):
            changed.append(f"{r.key}/{name}")
    return changed


def aws_side(rt: Running, stack: str, config: Path, say: Say) -> Running:
    from network.lab.live import apply_aws

    offline_apply(stack, config)
    say(f"  offline apply of {config}: outputs {outputs_path(stack)}")
    return apply_aws(rt, lab_of(stack, config), outputs_path(stack), say)


def _checks(step: dict[str, Any], when: str) -> list[dict[str, Any]]:
    return [c for c in step["checks"] if c["when"] == when]


def _run_checks(rt: Running, step: dict[str, Any], when: str, say: Say, p: Progress) -> None:
    checks = _checks(step, when)
    if not checks:
        return
    bad, waited = wait_checks(rt, checks, CHECK_TIMEOUT)
    p.timings[f"{step['step']}.{when}"] = waited
    if bad:
        p.status = "failed"
        p.failure = [f"step {step['step']} {when}", *bad]
        write_progress(p)
        raise RolloutFailedError(
            f"step {step['step']} ({step['title']}): {when} checks still fail after "
            f"{waited:g} s:\n  " + "\n  ".join(bad)
        )
    say(f"  {when}: {len(checks)} checks hold ({waited:g} s)")


def _checker(rt: Running, step: dict[str, Any], say: Say, p: Progress) -> Callable[[str], None]:
    return lambda when: _run_checks(rt, step, when, say, p)


def run_step(rt: Running, stack: str, step: dict[str, Any], p: Progress, say: Say) -> Running:
    """One step, phase by phase, each recorded in progress.json once done."""
    n = str(step["step"])
    drained = frozenset(step["drained"])
    say(f"step {n}: {step['title']}")

    def done(phase: str) -> None:
        p.steps[n] = phase
        write_progress(p)

    from network.rollout import aws_actions

    crypto = aws_actions.crypto_for(rt, stack, step)
    if drained:
        apply_routers(rt, drained, say, crypto)
        _run_checks(rt, step, "after-drain", say, p)
        done("drain")
    aws = step["aws"]
    if aws["kind"] == "pulumi-up" and aws["config"]:
        rt = aws_side(rt, stack, Path(aws["config"]), say)
        done("aws")
    elif aws["kind"] == "aws-api" and aws.get("requests"):
        if p.steps.get(n) not in ("aws", "routers"):  # not twice on a resume
            aws_actions.run_api(rt, stack, aws["requests"], say)
        done("aws")
    elif aws["kind"] != "none":
        raise RolloutFailedError(
            f"step {n}: an AWS action of kind {aws['kind']!r} is not executed on the lab yet "
            f"(run by hand: {'; '.join(aws['commands'])})"
        )
    if step.get("rolling"):  # the router change tunnel by tunnel, each drained
        aws_actions.rolling(rt, step, say, crypto, apply_routers, _checker(rt, step, say, p))
    apply_routers(rt, drained, say, crypto)
    _run_checks(rt, step, "after-change", say, p)
    done("routers")
    if drained:
        apply_routers(rt, frozenset(), say, crypto)
    _run_checks(rt, step, "after-restore", say, p)
    done("done")
    return rt


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
        f"{'; '.join(', '.join(s['changes']) for s in done)}) and run "
        f"`crossnet rollout --stack {stack} --lab` again: it plans the way back in the same "
        "safe order"
    )


def execute(stack: str, rollout: dict[str, Any], say: Say, resume: bool = True) -> Progress:
    """Run every step not yet done; RolloutFailedError (progress recorded) on a failed check."""
    sha = rollout_sha(rollout)
    p = read_progress(stack) if resume else None
    if p is None or p.rollout_sha256 != sha or p.status == "done":
        p = Progress(stack, sha)
    else:
        say(f"resuming: steps done {sorted(k for k, v in p.steps.items() if v == 'done')}")
    p.status = "running"
    p.failure = []
    write_progress(p)
    rt = open_lab(stack)
    t0 = time.monotonic()
    for step in rollout["steps"]:
        if p.steps.get(str(step["step"])) == "done":
            continue
        rt = run_step(rt, stack, step, p, say)
    p.status = "done"
    p.timings["total"] = round(time.monotonic() - t0, 2)
    write_progress(p)
    return p


def execute_naive(stack: str, config: Path, say: Say) -> Running:
    """The negative control: the edited config applied at once, AWS side and routers
    both changed with no drain and no check in between (what the safe order avoids)."""
    rt = open_lab(stack)
    rt = aws_side(rt, stack, config, say)
    apply_routers(rt, frozenset(), say)
    return rt
