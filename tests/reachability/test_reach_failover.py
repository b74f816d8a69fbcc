"""Failover and failback, measured (lab only: they break a tunnel on purpose).

The tunnel broken is the one the test flow actually uses (found with `ip route
get` on the datacenter host and then on its router), so the outage measured is
the flow's. A 50 ms ping runs throughout; the outage is the longest gap in its
replies that overlaps the failure.

Silent failures are detected by BGP's hold timer. The suite switches the AWS
side to short timers (BGP 1/3) for these behaviour tests, unless the lab runs
with AWS's own; the benchmark (bench/lab_bench.py) measures with AWS's.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

import pytest

from network.lab import aws, faults, vici
from network.lab.control import expected_routes_aws, expected_routes_dc, routes_match, wait_ready
from network.lab.runtime import Running
from network.lab.suite import AGENT, Env, record
from network.lab.system import in_ns, run
from network.lab.topology import DcRouter, Gateway, Host, expected_flows

TRANSFER = 64 * 1024 * 1024
IKE_DELETE_BOUND = 1.0


@dataclass
class Case:
    rt: Running
    dc: Host
    vpc: Host
    router: DcRouter
    gateway: Gateway
    tunnel: str  # the tunnel the flow uses: the one to break
    prefix: str  # the VPC CIDR, as the datacenter router routes it
    port: int  # a TCP port the VPC host's security groups admit from the datacenter host

    @property
    def bound(self) -> float:
        """How long a silent failure may interrupt traffic: BGP's hold time, plus 5 s."""
        return aws.TIMERS[self.rt.state.timers].hold + 5.0

    def converged(self, down: frozenset[str] = frozenset()) -> str | None:
        lab = self.rt.lab
        return (routes_match(self.rt.routes(self.router.ns),
                             expected_routes_dc(lab, self.router, down))
                or routes_match(self.rt.routes(self.gateway.ns),
                                expected_routes_aws(lab, self.gateway, down)))

    def wait(self, what: str, down: frozenset[str], seconds: float) -> float:
        t0 = time.time()
        while True:
            diff = self.converged(down)
            if diff is None:
                return time.time()
            if time.time() - t0 > seconds:
                pytest.fail(f"{what}: not converged after {seconds:g} s: {diff}")
            time.sleep(0.05)


def _route_dev(ns: str, dst: str, extra: str = "") -> str:
    r = run(["ip", "-n", ns, "-j", "route", "get", dst, *extra.split()], check=False)
    data = json.loads(r.stdout or "[{}]")[0]
    return data.get("dev", "") + "|" + data.get("gateway", "")


@pytest.fixture(scope="module")
def case(env: Env) -> Any:
    rt: Running = env.need_lab("breaks tunnels on purpose")
    lab = rt.lab
    for dc in lab.dc_hosts():
        for vpc in lab.vpc_hosts():
            flows = expected_flows(dc.address, vpc.ingress, list(vpc.tcp_ports), [])
            ports = [p for p, ok in flows["tcp"].items() if ok]
            if not (flows["icmp"] and ports):
                continue
            # Which router, and which of its tunnels, carries this flow now?
            _dev, gw = _route_dev(dc.ns, vpc.address, f"from {dc.address}").split("|")
            router = next(r for r in lab.routers if r.datacenter == dc.name
                          and any(a.split("/")[0] == gw for a in r.lan))
            tun, _ = _route_dev(router.ns, vpc.address, f"from {dc.address} iif lan").split("|")
            end = next(e for e in lab.ends if e.side == "dc" and e.router_ns == router.ns
                       and e.ifname == tun)
            gateway = next(g for g in lab.gateways if g.ns == lab.end("aws", end.tunnel).router_ns)
            conn = next(c for c in router.router.connections if c.name == end.connection)
            prefix = next(p for p in conn.accept if _contains(p, vpc.address))
            yield Case(rt, dc, vpc, router, gateway, end.tunnel, prefix, ports[-1])
            faults.restore_all(rt)
            return
    pytest.skip("no datacenter host may ping and open a TCP port on any VPC host")


def _contains(prefix: str, address: str) -> bool:
    from netaddr import IPAddress, IPNetwork
    return IPAddress(address) in IPNetwork(prefix)


@pytest.fixture(scope="module")
def behaviour_timers(case: Case) -> Any:
    """Short AWS-side BGP timers for the module, then back to what the lab had."""
    before = case.rt.state.timers
    took = faults.set_timers(case.rt, "fast")
    yield took
    faults.restore_all(case.rt)
    faults.set_timers(case.rt, before)


def _outage(pinger: faults.Pinger, t0: float, t1: float) -> float:
    """The longest reply gap that overlaps [t0, t1]."""
    times = pinger.replies
    gaps = [b - a for a, b in itertools.pairwise(times) if b > t0 and a < t1]
    if not times or times[-1] < t1:
        pytest.fail("no ping reply after the tunnel recovered")
    return max(0.0, max(gaps, default=0.0) - pinger.interval)


def test_silent_path_failure_fails_over_and_back(case: Case, behaviour_timers: float,
                                                 request: pytest.FixtureRequest) -> None:
    """The internet path of the active tunnel drops everything; BGP's hold timer moves
    traffic to the other tunnel within the bound; restoring the path brings it back."""
    case.wait("before the failure", frozenset(), 30)
    pinger = faults.Pinger(case.dc.ns, case.vpc.address).start()
    try:
        time.sleep(0.5)
        t_cut = time.time()
        faults.cut_path(case.rt, case.tunnel)
        t_moved = case.wait(f"failover off {case.tunnel}", frozenset({case.tunnel}),
                            case.bound + 10)
        time.sleep(0.5)
        t_restore = time.time()
        faults.restore_path(case.rt, case.tunnel)
        t_back = case.wait(f"failback to {case.tunnel}", frozenset(), 60)
        time.sleep(0.5)
    finally:
        faults.restore_path(case.rt, case.tunnel)
        pinger.stop()
    outage = _outage(pinger, t_cut, t_moved + 0.5)
    record(request, f"silent failover ({case.rt.state.timers} timers)", outage, "s")
    record(request, "silent: routes moved after", t_moved - t_cut, "s")
    record(request, "failback after restore", t_back - t_restore, "s")
    assert outage <= case.bound, f"outage {outage:.2f} s, bound {case.bound:g} s"


def test_ike_delete_fails_over_at_once(case: Case, behaviour_timers: float,
                                       request: pytest.FixtureRequest) -> None:
    """AWS closes the active tunnel (IKE DELETE): link tracking moves traffic at once,
    and the datacenter side (close_action = restart) brings the tunnel back."""
    case.wait("before the failure", frozenset(), 30)
    end = case.rt.lab.end("dc", case.tunnel)
    spi_before = _child_spis(case, end)
    pinger = faults.Pinger(case.dc.ns, case.vpc.address).start()
    try:
        time.sleep(0.5)
        t_del = time.time()
        faults.ike_delete(case.rt, case.tunnel)
        deadline = time.time() + 15
        while _child_spis(case, end) in (spi_before, None) and time.time() < deadline:
            time.sleep(0.05)
        t_back = case.wait(f"{case.tunnel} back after the DELETE", frozenset(), 15)
        time.sleep(0.5)
    finally:
        pinger.stop()
    assert _child_spis(case, end) not in (spi_before, None), "the tunnel was not re-established"
    outage = _outage(pinger, t_del, t_back)
    record(request, "IKE DELETE outage", outage, "s")
    record(request, "IKE DELETE: tunnel back after", t_back - t_del, "s")
    assert outage <= IKE_DELETE_BOUND, f"outage {outage:.2f} s, bound {IKE_DELETE_BOUND:g} s"


def _child_spis(case: Case, end: Any) -> str | None:
    """The inbound SPI of the tunnel's installed child SA: a new one after a re-key or
    re-establishment."""
    try:
        with vici.Session(case.rt.vici_socket(end)) as s:
            for item in s.streamed("list-sas", "list-sa"):
                sa = item.get(end.conn_name) or {}
                if sa.get("state") != "ESTABLISHED":
                    continue
                for child in (sa.get("child-sas") or {}).values():
                    if child.get("state") == "INSTALLED":
                        return str(child.get("spi-in"))
    except (vici.ViciError, OSError):
        pass
    return None


def test_transfer_survives_failover(case: Case, behaviour_timers: float,
                                    request: pytest.FixtureRequest) -> None:
    """64 MiB with a SHA-256 check, running while the active tunnel fails silently."""
    case.wait("before the failure", frozenset(), 30)
    argv = in_ns(case.dc.ns, [sys.executable, str(AGENT), "send", case.vpc.address,
                              str(case.port), "--bytes", str(TRANSFER), "--timeout", "60"])
    t0 = time.time()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(0.3)
        t_cut = time.time()
        faults.cut_path(case.rt, case.tunnel)
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        faults.restore_path(case.rt, case.tunnel)
    result = json.loads(out.strip().splitlines()[-1])
    case.wait(f"failback to {case.tunnel}", frozenset(), 60)
    record(request, "transfer during failover", result.get("seconds", 0.0), "s")
    assert result["ok"], f"transfer broken: {result}"
    assert result["sent"] == TRANSFER
    assert t0 + result["seconds"] > t_cut, "the transfer ended before the tunnel failed"


def test_lab_back_to_normal(case: Case) -> None:
    """After the failures, every tunnel, session and route is as planned again."""
    faults.restore_all(case.rt)
    wait_ready(case.rt, 60)
