"""`crossnet rollout --stack S`: print (and write) the ordered steps of a change.

Reads the applied state (`.crossnet/S/applied.json` for the plan snapshot,
`.crossnet/S/outputs.json` for what AWS assigned) and the edited stack file,
computes the rollout (network.rollout.planner) and prints it. `--json` prints
the plan as JSON; `--out DIR` (default `.crossnet/S/rollout/`) receives
`rollout.json` and one stack file per step, `steps/NN/Pulumi.S.yaml`, which
is exactly what that step's `pulumi up --config-file` reads. Exit 0: a plan (or
nothing to do); 1: refused, no safe order (nothing written; `--force` plans it
anyway, outage stated); 2: invalid input (nothing written). With `--lab`: 3, a
step failed (the steps undone first with `--rollback-on-failure`); 4, that
rollback did not bring the lab back; 130, interrupted.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from network.cli_options import add_progress
from network.contract import write_private
from network.errors import ConfigError, Problem
from network.review.diff import check_snapshot, load_outputs_raw
from network.rollout.model import Rollout
from network.rollout.planner import Inputs, plan_rollout
from network.rollout.render import render_text
from network.stack_file import load_yaml, read_stack_config
from network.state import outputs_path, stack_file, state_dir


def load_applied_state(stack: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    """The applied plan snapshot and stack outputs of `stack`. Raises ConfigError."""
    applied = state_dir(stack, create=False) / "applied.json"
    outputs = outputs_path(stack, create=False)
    missing = [
        Problem(str(p), "missing", f"no applied state: run `crossnet up --stack {stack}` first")
        for p in (applied, outputs)
        if not p.is_file()
    ]
    if missing:
        raise ConfigError(f"applied state of stack {stack!r}", missing)
    try:
        data = json.loads(applied.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(str(applied), [Problem("(file)", "not JSON", str(e))]) from None
    snap = data.get("plan") if isinstance(data, dict) else None
    snap = check_snapshot(snap, str(applied), "plan")
    out = load_outputs_raw(outputs, strict=True)
    if out is None or not isinstance(out.get("routers"), dict):
        raise ConfigError(
            str(outputs),
            [Problem("routers", "missing", "stack outputs hold a `routers` record (contract)")],
        )
    return snap, out, f"the last apply ({applied})"


def compute(args: argparse.Namespace) -> Rollout:
    """Everything read and checked, the rollout computed; nothing written."""
    snap, outputs, baseline = load_applied_state(args.stack)
    path = args.config or stack_file(args.stack)
    config = read_stack_config(args.stack, path)
    document = load_yaml(path.read_text(), str(path))
    out_dir = args.out or state_dir(args.stack, create=False) / "rollout"
    from network.review.replacements import provider_upstream

    return plan_rollout(
        Inputs(
            args.stack,
            config,
            document,
            snap,
            outputs,
            baseline=baseline,
            upstream=provider_upstream(),
            force=args.force,
            step_dir=str(out_dir / "steps"),
        )
    )


def write_rollout(r: Rollout, out_dir: Path) -> None:
    """rollout.json and each step's stack file, private (the configs may hold secure: values)."""
    steps = out_dir / "steps"
    if steps.exists():
        shutil.rmtree(steps)  # a previous rollout's files must not pass for this one's
    out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    steps.mkdir(mode=0o700)
    if r.baseline_text and r.baseline_config:
        base = Path(r.baseline_config)
        base.parent.mkdir(exist_ok=True, mode=0o700)
        write_private(base, r.baseline_text)
    for s in r.steps:
        if s.config_text and s.aws.config:
            p = Path(s.aws.config)
            p.parent.mkdir(exist_ok=True, mode=0o700)
            write_private(p, s.config_text)
    write_private(out_dir / "rollout.json", json.dumps(r.as_json(), indent=2) + "\n")


def _resumable(args: argparse.Namespace) -> dict[str, Any] | None:
    """The stored rollout.json of an interrupted or failed `--lab` run, to resume."""
    from network.rollout.execute import FINISHED, read_progress, rollout_sha

    p = read_progress(args.stack)  # ConfigError (exit 2) for a corrupted file
    stored = (args.out or state_dir(args.stack, create=False) / "rollout") / "rollout.json"
    if p is None or p.status in FINISHED or not stored.is_file():
        return None
    try:
        data: dict[str, Any] = json.loads(stored.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(str(stored), [Problem("(file)", "not JSON", str(e))]) from None
    return data if rollout_sha(data) == p.rollout_sha256 else None


def run_lab(args: argparse.Namespace, plan: dict[str, Any], console: Any = None) -> int:
    """Execute `plan` on the lab. On a terminal (or on `console`) a live status names the
    step and its phase under way, the output lines above it; otherwise (CI, a pipe,
    `--no-progress`) the same lines on stderr, and nothing else."""
    from network.console import progress, progress_wanted
    from network.lab.system import LabError
    from network.rollout.execute import RolloutFailedError, execute, how_to_go_back, read_progress

    live = console is not None or progress_wanted(getattr(args, "no_progress", False))
    titles = {str(s["step"]): s["title"] for s in plan["steps"]}
    label = f"crossnet rollout --stack {args.stack} --lab"
    try:
        with progress(label, live, quiet=True, console=console) as status:

            def phase(step: str, name: str) -> None:
                status.step(f"step {step}/{len(titles)} ({titles.get(step, '')}): {name}")

            p = execute(
                args.stack,
                plan,
                status.note,
                check_timeout=args.check_timeout,
                rollback_on_failure=args.rollback_on_failure,
                phase=phase,
            )
    except RolloutFailedError as e:
        print(f"rollout stopped: {e}", file=sys.stderr)
        prog = read_progress(args.stack)
        if prog is not None and prog.status in ("failed", "running"):
            print(how_to_go_back(args.stack, plan, prog), file=sys.stderr)
        elif prog is not None and prog.status == "rollback-failed":
            print(
                f"the next `crossnet rollout --stack {args.stack} --lab` tries the rollback "
                "again; progress.json records what was undone",
                file=sys.stderr,
            )
        return e.exit_code
    except KeyboardInterrupt:
        prog = read_progress(args.stack)
        print(
            "rollout interrupted; progress.json records where: run the same "
            f"`crossnet rollout --stack {args.stack} --lab` to resume",
            file=sys.stderr,
        )
        if prog is not None:
            print(how_to_go_back(args.stack, plan, prog), file=sys.stderr)
        return 130
    except LabError as e:
        print(f"rollout stopped: {e}", file=sys.stderr)
        return 3
    print(
        f"rollout of stack {args.stack}: {len(plan['steps'])} step(s) done on the lab "
        f"in {p.timings.get('total', 0):g} s",
        file=sys.stderr,
    )
    return 0


def lab_only_flags(args: argparse.Namespace) -> None:
    """ConfigError (exit 2, nothing read or written) for a flag that means something only
    with `--lab`: without it nothing is executed, so nothing could be rolled back."""
    if getattr(args, "rollback_on_failure", False) and not getattr(args, "lab", False):
        raise ConfigError(
            "crossnet rollout",
            [
                Problem(
                    "--rollback-on-failure",
                    "given without --lab",
                    "it undoes the steps `rollout --lab` executed; without --lab nothing is "
                    "executed: add --lab, or on the real path undo by hand in reverse (each "
                    "step's previous `pulumi up --config-file`, the baseline "
                    "steps/00/Pulumi.<stack>.yaml last, then each router's previous render)",
                )
            ],
        )


def run_rollout(args: argparse.Namespace) -> int:
    lab_only_flags(args)  # before anything is read or written
    if any(getattr(args, a, None) not in (None, False) for a in ("push_step", "phase", "yes")):
        from network.rollout.push_exec import main as push_step

        return push_step(args)  # the real routers: one phase of a written step (0/1/2)
    if any(
        getattr(args, a, None) is not None for a in ("verify_step", "inventory", "when", "outputs")
    ):
        from network.rollout.verify import main as verify_step

        return verify_step(args)  # the real routers: a written step's checks (exit 0/1/2)
    if getattr(args, "lab", False):
        stored = _resumable(args)
        if stored is not None:
            print("resuming the interrupted rollout recorded in progress.json", file=sys.stderr)
            return run_lab(args, stored)
    r = compute(args)  # bad input: exit 2, nothing written
    if getattr(args, "lab", False) and not r.refused:
        from network.lab.runtime import open_lab

        open_lab(args.stack)  # no running lab: LabError before anything is written
    if args.json:
        sys.stdout.write(json.dumps(r.as_json(), indent=2) + "\n")
    else:
        sys.stdout.write(render_text(r))
    if r.refused:
        print("refused: no safe order (nothing written); --force plans it anyway", file=sys.stderr)
        return 1
    if r.steps:
        out_dir = args.out or state_dir(args.stack) / "rollout"
        write_rollout(r, out_dir)
        print(f"wrote {out_dir}/rollout.json and {len(r.steps)} step(s)", file=sys.stderr)
        if getattr(args, "lab", False):
            return run_lab(args, r.as_json())
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "rollout",
        help="the safe order of a change to the live network, step by step",
        description="From the applied state (.crossnet/<stack>/applied.json and outputs.json) "
        "and the edited stack file, compute the ordered steps of the change: per step the "
        "stack file its `pulumi up --config-file` applies (or the AWS CLI call), the drain "
        "before and the restore after it, each router's config diff (keys redacted), the "
        "checks that must pass and the traffic impact. Exit 0: planned; 1: refused (no safe "
        "order); 2: invalid input.",
    )
    p.add_argument("--stack", required=True, help="stack name: stacks/Pulumi.<stack>.yaml")
    p.add_argument(
        "--config",
        type=Path,
        default=None,
        metavar="FILE",
        help="the edited stack file (default: stacks/Pulumi.<stack>.yaml)",
    )
    p.add_argument("--json", action="store_true", help="print the plan as JSON")
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="write rollout.json and the step stack files here (default .crossnet/<stack>/rollout)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="plan a change with no safe order anyway, as one step with its outage stated",
    )
    p.add_argument(
        "--lab",
        action="store_true",
        help="execute the steps on the running lab (drain, offline apply and the lab's AWS "
        "side, the routers through vici and frr-reload.py, restore, checks); progress in "
        ".crossnet/<stack>/rollout/progress.json, resumed after an interruption",
    )
    add_progress(p)
    p.add_argument(
        "--rollback-on-failure",
        action="store_true",
        help="with --lab (without it: exit 2): when a step's checks fail, undo the steps "
        "done so far in reverse (AWS back to the state before each, the routers to their "
        "previous config, drains restored), check the state rolled back to, and exit 3 "
        "(4 if the rollback fails)",
    )
    p.add_argument(
        "--check-timeout",
        type=float,
        default=90.0,
        metavar="SECONDS",
        help="with --lab: how long a step's checks may take to hold (default %(default)g)",
    )
    p.add_argument(
        "--verify-step",
        type=int,
        default=None,
        metavar="N",
        help="with --inventory: run written step N's checks against the real routers over "
        "SSH (one read per router) and print pass/fail per check; exit 0 all pass, 1 one fails",
    )
    p.add_argument(
        "--inventory",
        type=Path,
        default=None,
        metavar="FILE",
        help="with --verify-step: the routers' inventory (docs/devices.md), as `crossnet state`",
    )
    p.add_argument(
        "--outputs",
        type=Path,
        default=None,
        metavar="FILE",
        help="with --verify-step: the stack outputs naming each tunnel's AWS address (default "
        ".crossnet/<stack>/outputs.json; after a step that moves tunnels: `pulumi stack output "
        "--json`)",
    )
    p.add_argument(
        "--when",
        default=None,
        metavar="PHASE",
        help="with --verify-step: only checks of this phase (after-drain, after-change, "
        "after-restore, rolling-drain:...); default: all but the drain's",
    )
    p.add_argument(
        "--push-step",
        type=int,
        default=None,
        metavar="N",
        help="with --inventory and --phase: push written step N's phase to the real routers "
        "(shown, keys redacted, confirmed unless --yes), then run its checks; exit 0 they "
        "hold, 1 a push or check failed (how to go back printed), 2 bad input, nothing pushed",
    )
    p.add_argument(
        "--phase",
        default=None,
        choices=("drain", "routers", "restore"),
        help="with --push-step: drain (before the step's pulumi up), routers (after it: "
        "--outputs FILE with the new outputs), restore",
    )
    p.add_argument("--yes", action="store_true", help="with --push-step: do not ask")
    p.set_defaults(func=run_rollout)
