"""`crossnet lab up | down | status`: the lab's life cycle.

`up` refuses a lab already up or left half up, records the lab in lab.json,
has `network.lab.daemons` create every namespace and link and start one
charon per tunnel end and FRR per router (the rendered datacenter configs
unchanged, the AWS side's own), then waits (bounded, `network.lab.readiness`)
until every tunnel is installed, every BGP session is Established and every
planned route is in both kernels. When the bound passes it fails with the
daemons' own log lines and takes down what it started (unless asked to keep
it). `down` stops exactly the recorded processes by PID and removes every
namespace; it is safe to run twice, and after a crash. `status` reads a
running lab's daemons.
"""

from __future__ import annotations

import fcntl
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from network.lab import aws, memory, timeline
from network.lab.daemons import Say, bring_up
from network.lab.inventory import write_inventory
from network.lab.readiness import wait_ready
from network.lab.runtime import (
    RUN_ROOT,
    LabState,
    Running,
    build,
    frr_instance,
    read_state,
    sha256_file,
    state_path,
    write_state,
)
from network.lab.system import (
    LabError,
    Proc,
    alive,
    delete_namespace,
    missing_requirements,
    namespaces,
    pids_in_namespace,
    rss_kib,
    start_time,
    stop,
)
from network.lab.topology import ns_prefix
from network.render import render_router
from network.state import lab_dir, outputs_path

DEFAULT_WAIT = 60.0


class AlreadyUpError(LabError):
    exit_code = 0

    def render(self) -> str:
        return str(self)


def _quiet(_: str) -> None:
    pass


@contextmanager
def _lock(stack: str) -> Iterator[None]:
    d = lab_dir(stack)
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(d / ".lock", "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LabError(
                f"another `crossnet lab` command is working on stack {stack!r}"
            ) from None
        yield


# ================================================================= up
def up(
    stack: str,
    timers: str = "aws",
    outputs: Path | None = None,
    wait: float = DEFAULT_WAIT,
    keep: bool = False,
    say: Say = _quiet,
) -> Running:
    """Bring the lab of `stack` up and wait until it has converged."""
    problems = missing_requirements()
    if problems:
        raise LabError("the lab cannot run here:\n" + "\n".join(f"  - {p}" for p in problems))
    if timers not in aws.TIMERS:
        raise LabError(f"--timers {timers!r}: one of {', '.join(aws.TIMERS)}")
    with _lock(stack):
        old = read_state(stack)
        if old is not None:
            live = [p for p in old.procs if alive(p)]
            present = [n for n in old.namespaces if n in namespaces()]
            if live and len(live) == len(old.procs) and old.ready:
                raise AlreadyUpError(
                    f"the lab of stack {stack!r} is already up ({len(live)} "
                    f"processes, {len(present)} namespaces); `crossnet lab "
                    f"down --stack {stack}` takes it down"
                )
            if live or present:
                raise LabError(
                    f"a lab of stack {stack!r} was left half up ({len(live)} of "
                    f"{len(old.procs)} processes running, {len(present)} "
                    f"namespaces): `crossnet lab down --stack {stack}` first"
                )
            state_path(stack).unlink()
        outputs = outputs or outputs_path(stack)
        if not outputs.exists():
            raise LabError(f"{outputs} does not exist: run `crossnet up --stack {stack}` first")
        lab = build(stack, outputs)
        clash = sorted(set(lab.namespaces()) & namespaces())
        if clash:
            raise LabError(
                f"namespaces {', '.join(clash)} exist but no lab state does: "
                f"`crossnet lab down --stack {stack}` removes them"
            )
        rendered = {r.key: render_router(r.router) for r in lab.routers}
        _rotate_logs(stack)
        state = LabState(
            stack=stack,
            outputs=str(outputs.resolve()),
            outputs_sha256=sha256_file(outputs),
            timers=timers,
            started=time.time(),
            namespaces=lab.namespaces(),
            lan_slots=lab.lan_slots(),
        )
        write_state(state)
        rt = Running(lab, state)
        try:
            t_bring = time.time()
            bring_up(rt, rendered, aws.TIMERS[timers], say)
            say(f"waiting for tunnels, BGP and routes (at most {wait:g} s)")
            # Every item timed, all daemons read at once and often; then the
            # readiness check proper (at once, or with its diagnosis).
            t_wait = time.time()
            items = timeline.watch(rt, wait, t0=t_bring)
            timeline.save(rt, items)
            checked = wait_ready(rt, wait)
            rt.state.timings.update(timeline.phases(items, t_wait - t_bring) or checked)
        except BaseException:
            if not keep:
                _teardown(rt.state, _quiet)
                say("bring-up failed: what was started is down again (logs are kept)")
            raise
        rt.state.ready = True
        rt.state.timings["up"] = round(time.time() - state.started, 2)
        write_state(rt.state)
        write_inventory(rt)
        return rt


def _rotate_logs(stack: str) -> None:
    """Each bring-up logs afresh; the previous one's logs stay in logs.previous/."""
    logs = lab_dir(stack) / "logs"
    if logs.exists():
        previous = logs.with_name("logs.previous")
        shutil.rmtree(previous, ignore_errors=True)
        logs.rename(previous)


# ================================================================= down
def down(stack: str, say: Say = _quiet) -> list[str]:
    """Stop what the lab started and remove its namespaces. Returns what was done."""
    with _lock(stack):
        state = read_state(stack)
        if state is None:
            # No state: a crash before lab.json, or a removed file. Take down
            # whatever namespaces this stack's lab would have.
            leftover = sorted(n for n in namespaces() if n.startswith(ns_prefix(stack)))
            if not leftover:
                return [f"the lab of stack {stack!r} is not up: nothing to do"]
            state = LabState(
                stack=stack,
                outputs="",
                outputs_sha256="",
                timers="aws",
                started=0.0,
                namespaces=leftover,
            )
        return _teardown(state, say)


def _teardown(state: LabState, say: Say) -> list[str]:
    done = []
    live = [p for p in state.procs if alive(p)]
    notes = stop(live)
    done.append(f"stopped {len(live)} of {len(state.procs)} recorded processes by PID")
    done += notes
    # Anything else still inside a lab namespace was started there by the lab
    # (a daemon's own child, say): stop it by PID too, and say so.
    strays = []
    for name in state.namespaces:
        for pid in pids_in_namespace(name):
            st = start_time(pid)
            if st is not None:
                strays.append(Proc(name=f"pid {pid} in {name}", ns=name, pid=pid, start=st, log=""))
    if strays:
        done.append(
            "also stopped, found inside lab namespaces: " + ", ".join(p.name for p in strays)
        )
        done += stop(strays)
    present = [n for n in state.namespaces if n in namespaces()]
    for name in present:
        delete_namespace(name)
    left = [n for n in present if n in namespaces()]
    done.append(f"removed {len(present) - len(left)} namespaces")
    if left:
        done.append("could not remove: " + ", ".join(left))
    shutil.rmtree(RUN_ROOT / state.stack, ignore_errors=True)
    path = state_path(state.stack)
    if path.exists() and not left:
        path.unlink()
    for line in done:
        say(line)
    return done


# ================================================================= status
def status(stack: str) -> dict[str, Any]:
    """Tunnels, BGP sessions, processes and hosts of a running lab, as data."""
    from network.lab.runtime import open_lab

    rt = open_lab(stack)
    lab = rt.lab
    tunnels = []
    for r, c in lab.connections():
        for t in c.tunnels:
            row: dict[str, Any] = {
                "tunnel": f"{c.name}/{t.number}",
                "router": r.key,
                "gateway": c.gateway["name"],
                "preference": t.preference,
            }
            for side in ("dc", "aws"):
                e = lab.end(side, f"{c.name}/{t.number}")
                sa = rt.sas(e).get(e.conn_name, {})
                row[side] = {
                    "ike": sa.get("state", "-"),
                    "child": (sa.get("children") or {}).get(e.conn_name, "-"),
                    "interface": e.ifname,
                    "bytesIn": sa.get("bytesIn", 0),
                    "bytesOut": sa.get("bytesOut", 0),
                }
            tunnels.append(row)
    bgp = []
    for r in lab.routers:
        for n, p in sorted(rt.bgp(frr_instance(r.key)).items()):
            bgp.append({"speaker": r.key, "neighbor": n, **p})
    for g in lab.gateways:
        for n, p in sorted(rt.bgp(rt.gateway_instance(g)).items()):
            bgp.append({"speaker": f"AWS {g.name}", "neighbor": n, **p})
    procs = [
        {"name": p.name, "pid": p.pid, "running": alive(p), "rssKiB": rss_kib(p.pid)}
        for p in rt.state.procs
    ]
    mem = memory.lab_memory(stack)
    return {
        "stack": stack,
        "timers": rt.state.timers,
        "ready": rt.state.ready,
        "uptime": round(time.time() - rt.state.started, 1),
        "timings": rt.state.timings,
        "namespaces": [n for n in rt.state.namespaces if n in namespaces()],
        "processes": procs,
        "memory": mem.to_json(),
        "memory_summary": memory.summary(mem),
        "tunnels": tunnels,
        "bgp": bgp,
        "hosts": [
            {"name": h.name, "kind": h.kind, "address": h.address, "ns": h.ns, "tier": h.tier}
            for h in lab.hosts
        ],
        "notes": list(lab.notes),
        "logs": str(lab_dir(stack) / "logs"),
    }
