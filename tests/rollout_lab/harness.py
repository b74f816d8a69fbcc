"""What the rollout lab tests share: dev's config as a stack of its own (`rdev`), the
stack file edited in place, the traffic that runs across a change, `rollout --lab`.

The lab itself is the `lab` fixture (conftest.py): one dev lab per module of
tests/rollout_lab (`running_lab`), brought up in a private state directory and taken
down at the module's end, so a module's cases change the same running lab one after
another and no module meets another's changes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from network import cli
from network.lab import control, traffic
from network.lab.faults import Flow
from network.lab.readiness import wait_ready
from network.lab.runtime import open_lab, read_state
from network.lab.system import Proc, alive, missing_requirements, namespaces
from network.rollout.execute import execute_naive

# dev's config under a stack name of its own, so that this package's lab (namespaces
# cxl.rdev.*) never meets the reachability suite's dev lab in the same pytest session.
SOURCE_STACK = "dev"
STACK = "rdev"
NET = "crossnet:network"
ROOT = Path(__file__).resolve().parents[2]
MIB = 1024 * 1024
TRANSFER = 50 * MIB
MBPS = 16.0  # 50 MiB at 16 Mbit/s: about 26 s, longer than a two-step rollout


@dataclass
class Lab:
    stacks: Path
    state: Path


@contextmanager
def running_lab(stack: str, stack_file: str) -> Iterator[Lab]:
    """A lab of `stack` (its stack file's text) in a private state directory, applied and
    up (`--timers fast`); taken down at the end. Shared by the rollout lab modules."""
    import pytest

    problems = missing_requirements()
    if problems:
        pytest.skip("; ".join(problems))
    tmp = Path(tempfile.mkdtemp(prefix=f"crossnet-rollout-lab-{stack}-"))
    saved = {k: os.environ.get(k) for k in ("CROSSNET_STATE_DIR", "CROSSNET_STACKS_DIR")}
    os.environ["CROSSNET_STATE_DIR"] = str(tmp / "state")
    os.environ["CROSSNET_STACKS_DIR"] = str(tmp / "stacks")
    (tmp / "stacks").mkdir()
    (tmp / "stacks" / f"Pulumi.{stack}.yaml").write_text(stack_file)
    try:
        assert cli.main(["up", "--stack", stack]) == 0
        control.up(stack, timers="fast")
        yield Lab(tmp / "stacks", tmp / "state")
    finally:
        control.down(stack)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(tmp, ignore_errors=True)


def edit_stack(lab: Lab, edit: Callable[[dict[str, Any]], None], stack: str = STACK) -> Path:
    """The stack file edited in place (what an engineer does before `rollout`)."""
    path = lab.stacks / f"Pulumi.{stack}.yaml"
    doc = yaml.safe_load(path.read_text())
    edit(doc["config"])
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def start_traffic(mbps: float = MBPS) -> traffic.Traffic:
    return traffic.start(open_lab(STACK), TRANSFER, mbps)


def settle() -> None:
    """The lab converged again (after a naive change) before the next case."""
    wait_ready(open_lab(STACK), 90)


def crossnet(*argv: str) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it (its own process), in the current state directory."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "network.cli", *argv],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def rollout(lab: Lab) -> int:
    return cli.main(["rollout", "--stack", STACK, "--lab"])


def progress(lab: Lab) -> dict[str, Any]:
    return dict(json.loads((lab.state / STACK / "rollout" / "progress.json").read_text()))


def measured(
    kind: str,
    run: Callable[[], Any],
    mbps: float = MBPS,
    stack: str = STACK,
    flow: Flow | None = None,
) -> dict[str, Any]:
    """`run` while the traffic flows (along `flow`, else the lab's first flow): the
    counts, the wall time, what `run` returned, and whether the transfer was still
    running when `run` returned (so it spans the change)."""
    flows = traffic.start(open_lab(stack), TRANSFER, mbps, flow=flow)
    t0 = time.monotonic()
    result = run()
    wall = round(time.monotonic() - t0, 1)
    spans = flows.send.poll() is None
    m = flows.finish()
    m |= {"wall": wall, "result": result, "spans": spans}
    via = (
        f" (via {flow.router.key} {flow.tunnel}, {flow.dc.name} -> {flow.vpc.name})" if flow else ""
    )
    print(
        f"{kind}{via}: {wall} s, pings {m['replies'] + m['lost']} sent, {m['lost']} lost "
        f"({m['lostMs']} ms), bytes lost {m['bytesLost']}, transfer ok {m['transfer']['ok']}, "
        f"spans the change {spans}"
    )
    return m


def naive(lab: Lab, path: Path) -> None:
    execute_naive(STACK, path, print)


def phases(lines: list[tuple[float, str]], lost_at: list[float]) -> str:
    """Each lost ping (traffic's `lostAt`) beside the rollout's progress lines around the
    time it was sent (the line in force, numbered from 1, and the next one): which phase
    lost it."""
    if not lost_at:
        return "no ping lost"
    out = []
    for t in lost_at:
        i = sum(1 for ts, _ in lines if ts <= t)
        ts, line = lines[i - 1] if i else (t, "(before the rollout's first line)")
        out.append(f"ping lost at {t:.3f}: {t - ts:+.3f} s after line {i} {line.strip()!r}")
        if i < len(lines):
            nts, nline = lines[i]
            out.append(f"  next, line {i + 1} at {nts - t:+.3f} s: {nline.strip()!r}")
    return "\n".join(out)


def nothing_to_do(stack: str) -> bool:
    """A second rollout plans no step (`rollout --json`, its own process)."""
    res = crossnet("rollout", "--stack", stack, "--json")
    assert res.returncode == 0, res.stderr[-2000:]
    return bool(json.loads(res.stdout)["steps"] == [])


def router_procs(stack: str, key: str) -> list[Proc]:
    """The processes lab.json records for router `key` (its FRR, its ends' charons)."""
    state = read_state(stack)
    assert state is not None
    return [p for p in state.procs if p.ns.endswith(f".{key}") or f".{key}-" in p.ns]


def router_left(stack: str, key: str) -> list[str]:
    """What of router `key` is still in the lab: namespaces, live processes, files."""
    rt = open_lab(stack)
    state = read_state(stack)
    assert state is not None
    ns = [n for n in namespaces() if n == f"cxl.{stack}.rtr.{key}"]
    ns += [n for n in namespaces() if n.startswith(f"cxl.{stack}.") and f".{key}-" in n]
    procs = [f"{p.name} ({p.pid})" for p in state.procs if key in p.ns and alive(p)]
    return ns + procs + [str(p) for p in [rt.router_dir(key)] if p.exists()]
