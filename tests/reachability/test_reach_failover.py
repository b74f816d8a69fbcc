"""Failover and failback, measured (lab only: they break a tunnel on purpose).

The tunnel broken is the one the test flow actually uses (found with `ip route
get` on the datacenter host and then on its router), so the outage measured is
the flow's. A 50 ms ping runs throughout; the outage is the longest gap in its
replies that overlaps the failure.

Silent failures are detected by BGP's hold timer. The suite switches the AWS
side to short timers (BGP 1/3) for these behaviour tests, unless the lab runs
with AWS's own; the benchmark (bench/lab_bench.py) measures with AWS's. A
static connection (staging) has no BGP: DPD at both ends detects the failure,
with AWS's timers, so its bound is when both ends have given the tunnel up.

The hold time is negotiated when a session comes up, and only the flow's tunnel's
session needs the short one: the timers are configured without resetting any
session, the IKE DELETE (first) brings that session back on them, and the silent
failure's restored path brings it back on the lab's own again. A session that did
not come up on the timers it needs is reset alone (`faults.retime`).
"""

from __future__ import annotations

import json
import subprocess
import time
from typing import Any

import pytest

from network.lab import fabric, faults
from network.lab.faults import Flow
from network.lab.readiness import wait_ready
from network.lab.suite import Env, record
from network.lab.system import LabError

TRANSFER = 64 * 1024 * 1024
# Packets the transfer has sent over the flow's tunnel when the silent failure cuts it.
CARRIED = 1000
IKE_DELETE_BOUND = 1.0
# Linux's ceiling on the retransmission timeout, which a transfer may wait out once the
# path is back. A static connection's ends give the tunnel up at different times (the
# datacenter's DPD first): in between, data reaches AWS over the other tunnel but the
# ACKs are still sent down the dead one. The first ACK that gets back then acknowledges
# segments sent before the cut, never retransmitted, so Karn's rule lets TCP take the
# outage as a round-trip sample (`ss -ti` on the lab: mrtt 57079 ms, rto 64220 ms).
TCP_RTO_MAX = 120.0


@pytest.fixture(scope="module")
def flow(env: Env) -> Any:
    rt = env.changes_lab("breaks tunnels on purpose")
    found = faults.find_flow(rt)
    if found is None:
        pytest.skip("no datacenter host may ping and open a TCP port on any VPC host")
    yield found
    faults.restore_all(rt)


@pytest.fixture(scope="module")
def behaviour_timers(flow: Flow) -> Any:
    """Short AWS-side BGP timers for the module, then back to what the lab had: the
    lab's timers when the module began. Configured without a reset (see above); at
    the end every session runs the lab's timers again (those that do not: reset)."""
    before = flow.rt.state.timers
    faults.configure_timers(flow.rt, "fast")
    yield before
    faults.restore_all(flow.rt)
    faults.configure_timers(flow.rt, before)
    faults.retime(flow.rt)


def _wait(flow: Flow, what: str, down: frozenset[str], seconds: float) -> float:
    try:
        return flow.wait(what, down, seconds)
    except LabError as e:
        pytest.fail(str(e))


def test_ike_delete_fails_over_at_once(
    flow: Flow, behaviour_timers: str, request: pytest.FixtureRequest
) -> None:
    """AWS closes the active tunnel (IKE DELETE): link tracking moves traffic at once,
    and the datacenter side (close_action = restart) brings the tunnel back."""
    _wait(flow, "before the failure", frozenset(), 30)
    spi_before = flow.child_spi()
    t_ping = time.time()
    pinger = flow.pinger().start()
    try:
        pinger.wait_reply(after=t_ping)  # replies before the DELETE: the gap is measured
        t_del = time.time()
        faults.ike_delete(flow.rt, flow.tunnel)
        deadline = time.time() + 15
        while flow.child_spi() in (spi_before, None) and time.time() < deadline:
            time.sleep(0.05)
        t_back = _wait(flow, f"{flow.tunnel} back after the DELETE", frozenset(), 15)
        pinger.wait_reply(after=t_back)  # and after it is back
    finally:
        pinger.stop()
    assert flow.child_spi() not in (spi_before, None), "the tunnel was not re-established"
    outage = faults.outage(pinger, t_del, t_back)
    record(request, "IKE DELETE outage", outage, "s")
    record(request, "IKE DELETE: tunnel back after", t_back - t_del, "s")
    assert outage <= IKE_DELETE_BOUND, f"outage {outage:.2f} s, bound {IKE_DELETE_BOUND:g} s"


@pytest.fixture(scope="module")
def silent_failure(flow: Flow, behaviour_timers: str) -> dict[str, Any]:
    """One silent path failure of the flow's tunnel, measured by both tests that need one.

    A 50 ms ping and a 64 MiB transfer run across it: the cut comes once the
    transfer is under way on the tunnel; the path is restored once traffic has
    moved and the transfer has ended, then traffic must come back.

    The flow's tunnel is found again (the IKE DELETE before may have changed which
    tunnel an ECMP route hashes it to), its session must run the short timers (reset
    alone if it does not), and the bound is taken then. Once traffic has moved (the
    session is down), the lab's own timers are configured again: the restored path
    brings the session back on them.
    """
    out: dict[str, Any] = {}
    try:
        flow.wait("before the failure", frozenset(), 30)
        flow = faults.find_flow(flow.rt) or flow
        faults.retime(flow.rt, [flow.tunnel])
    except LabError as e:
        return {"error": str(e)}
    out["flow"], out["bound"], out["timers"] = flow, flow.silent_bound, flow.rt.state.timers
    t_ping = time.time()
    pinger = flow.pinger().start()
    # One socket operation may wait out the outage and then TCP's longest retransmission
    # timer (see TCP_RTO_MAX).
    argv = flow.send_argv(TRANSFER, timeout=out["bound"] + TCP_RTO_MAX + 30)
    proc: subprocess.Popen[str] | None = None
    try:
        pinger.wait_reply(after=t_ping)  # the flow answers before anything breaks
        out["t0"] = time.time()
        out["tx_before"] = flow.tunnel_tx()
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        # The cut comes once the transfer is under way on the tunnel (thousands of
        # packets), at most 5 s later (then the test says how little it carried).
        deadline = time.monotonic() + 5
        while flow.tunnel_tx() - out["tx_before"] < CARRIED and time.monotonic() < deadline:
            time.sleep(0.02)
        out["t_cut"] = time.time()
        faults.cut_path(flow.rt, flow.tunnel)
        out["carried"] = flow.tunnel_tx() - out["tx_before"]
        try:
            out["t_moved"] = flow.wait(
                f"failover off {flow.tunnel}", frozenset({flow.tunnel}), out["bound"] + 10
            )
        except LabError as e:
            out["moved error"] = str(e)
        faults.configure_timers(flow.rt, behaviour_timers)
        transfer, _ = proc.communicate(timeout=out["bound"] + TCP_RTO_MAX + 90)
        out["transfer"] = transfer
        # Still cut: are both ends routing around the tunnel? (Names the culprit of
        # a transfer that never resumed: a tunnel interface left up without its SA.)
        out["cut_state"] = flow.converged(frozenset({flow.tunnel}))
        out["t_restore"] = time.time()
        faults.restore_path(flow.rt, flow.tunnel)
        try:
            out["t_back"] = flow.wait(f"failback to {flow.tunnel}", frozenset(), 60)
            pinger.wait_reply(after=out["t_back"])
        except LabError as e:
            out["back error"] = str(e)
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.communicate()
        faults.restore_path(flow.rt, flow.tunnel)
        pinger.stop()
    out["pinger"] = pinger
    return out


def test_silent_path_failure_fails_over_and_back(
    silent_failure: dict[str, Any], request: pytest.FixtureRequest
) -> None:
    """The internet path of the active tunnel drops everything; BGP's hold timer moves
    traffic to the other tunnel within the bound; restoring the path brings it back."""
    f = silent_failure
    for key in ("error", "moved error", "back error"):
        if key in f:
            pytest.fail(f[key])
    flow, bound = f["flow"], f["bound"]
    outage = faults.outage(f["pinger"], f["t_cut"], f["t_moved"] + 0.5)
    how = f"{f['timers']} timers" if flow.connection.routing == "bgp" else "static: DPD"
    record(request, f"silent failover ({how})", outage, "s")
    record(request, "silent: routes moved after", f["t_moved"] - f["t_cut"], "s")
    record(request, "failback after restore", f["t_back"] - f["t_restore"], "s")
    assert outage <= bound, f"outage {outage:.2f} s, bound {bound:g} s"


def test_transfer_survives_failover(
    silent_failure: dict[str, Any], request: pytest.FixtureRequest
) -> None:
    """64 MiB with a SHA-256 check, running while the active tunnel fails silently."""
    f = silent_failure
    if "error" in f:
        pytest.fail(f["error"])
    flow = f["flow"]
    result = json.loads(f["transfer"].strip().splitlines()[-1])
    if "back error" in f:
        pytest.fail(f["back error"])
    record(request, "transfer during failover", result.get("seconds", 0.0), "s")
    cut_state = f["cut_state"]
    assert result["ok"], (
        f"transfer broken: {result}; at its end, with {flow.tunnel} cut, the lab was "
        + ("routed as planned" if cut_state is None else f"not routed as planned: {cut_state}")
    )
    assert result["sent"] == TRANSFER
    assert f["t0"] + result["seconds"] > f["t_cut"], "the transfer ended before the tunnel failed"
    # A bulk TCP flow sends thousands of packets within a second: it was on the tunnel
    # that failed (the cut waited at most 5 s for CARRIED of them).
    carried = f["carried"]
    assert carried > 500, f"{flow.tunnel} carried only {carried} packets before the cut"


@pytest.mark.slow
def test_whole_router_failure_fails_over_to_its_fabric_peer(
    flow: Flow, behaviour_timers: float, request: pytest.FixtureRequest
) -> None:
    """Every tunnel of the flow's router fails silently. The host's static ECMP still
    hands the router its share of the flows; the lab's datacenter fabric (iBGP over the
    LAN, network.lab.fabric) carries them to a peer once BGP's hold timer has withdrawn
    the router's own paths: the same bound as one tunnel's failure. (Without a fabric
    that share is lost until the tunnels are back.)"""
    rt, r = flow.rt, flow.router
    if not fabric.neighbors(rt.lab, r):
        pytest.skip(f"{r.key} is its datacenter's only router: no fabric peer to carry")
    if flow.connection.routing != "bgp":
        pytest.skip("the flow's router routes statically: its drain is route distance")
    tunnels = frozenset(e.tunnel for e in rt.lab.ends if e.side == "dc" and e.router_ns == r.ns)
    _wait(flow, "before the failure", frozenset(), 30)
    # Every session of the router runs the short timers (the failure measured before may
    # have put the lab's own back; configured without a reset, each session keeps the hold
    # time it negotiated until it comes up again), not only the flow's.
    faults.configure_timers(rt, "fast")
    faults.retime(rt, sorted(tunnels))
    _wait(flow, "before the failure, the router's sessions on the short timers", frozenset(), 30)
    t_ping = time.time()
    pinger = flow.pinger().start()
    try:
        pinger.wait_reply(after=t_ping)
        t_cut = time.time()
        for t in sorted(tunnels):
            faults.cut_path(rt, t)
        t_moved = _wait(flow, f"{r.key} over its fabric peer", tunnels, flow.silent_bound + 10)
        pinger.wait_reply(after=t_moved)
        via = rt.routes(r.ns)
        for prefix in flow.connection.accept:
            assert via.get(prefix) == [fabric.LAN], f"{r.key}: {prefix} via {via.get(prefix)}"
        t_restore = time.time()
        for t in sorted(tunnels):
            faults.restore_path(rt, t)
        t_back = _wait(flow, f"{r.key} back on its own tunnels", frozenset(), 60)
        pinger.wait_reply(after=t_back)
    finally:
        for t in sorted(tunnels):
            faults.restore_path(rt, t)
        pinger.stop()
    outage = faults.outage(pinger, t_cut, t_moved + 0.5)
    record(request, "whole router down: outage (fabric)", outage, "s")
    record(request, "whole router down: failback", t_back - t_restore, "s")
    assert outage <= flow.silent_bound, f"outage {outage:.2f} s, bound {flow.silent_bound:g} s"


def test_lab_back_to_normal(flow: Flow) -> None:
    """After the failures, every tunnel, session and route is as planned again."""
    faults.restore_all(flow.rt)
    wait_ready(flow.rt, 60)
