"""Breaking a running lab on purpose, and measuring what traffic saw.

- `cut_path`: silent path failure. The tunnel's two outside addresses are
  dropped on the internet bridge, both ways: no ICMP, no link change, exactly
  what a broken path on the internet looks like to both ends.
- `ike_delete`: the AWS end closes the tunnel with an IKE DELETE, as AWS does
  for tunnel maintenance.
- `set_timers`: the AWS side's BGP timers, for behaviour tests (short) or
  measurements (AWS's); sessions are reset so the new hold time is negotiated.
  `configure_timers` changes them without a reset (a session takes them when it
  next comes up: its OPEN), `retime` resets only the sessions that still run
  other ones;
- `Pinger`: a 50 ms ping in the background; the outage is the longest gap
  between replies.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

from network.contract import Connection
from network.lab import aws, vici
from network.lab.daemons import INET_TABLE
from network.lab.events import LabEvents, routes_key
from network.lab.inventory import write_inventory
from network.lab.probe import parse_json
from network.lab.readiness import (
    expected_routes_aws,
    expected_routes_dc,
    fib_mismatch,
    routes_match,
    wait_ready,
)
from network.lab.runtime import Running, write_state
from network.lab.system import AGENT, LabError, in_ns, run
from network.lab.topology import DcRouter, Gateway, Host, TunnelEnd, expected_flows
from network.render import build_context


def _pairs(rt: Running, tunnel: str) -> str:
    e = rt.lab.end("aws", tunnel)
    return f"{{ {e.outside_ip} . {e.peer_outside_ip}, {e.peer_outside_ip} . {e.outside_ip} }}"


def cut_path(rt: Running, tunnel: str) -> None:
    run(
        in_ns(
            rt.lab.inet_ns,
            ["nft", "add", "element", "bridge", INET_TABLE, "cut", _pairs(rt, tunnel)],
        )
    )


def restore_path(rt: Running, tunnel: str) -> None:
    run(
        in_ns(
            rt.lab.inet_ns,
            ["nft", "delete", "element", "bridge", INET_TABLE, "cut", _pairs(rt, tunnel)],
        ),
        check=False,
    )


def restore_all(rt: Running) -> None:
    run(in_ns(rt.lab.inet_ns, ["nft", "flush", "set", "bridge", INET_TABLE, "cut"]), check=False)


def ike_delete(rt: Running, tunnel: str, side: str = "aws") -> None:
    """Close the tunnel's IKE SA from one end (an IKE DELETE reaches the other)."""
    e = rt.lab.end(side, tunnel)
    rt.vici(e, "terminate", {"ike": e.conn_name, "timeout": "5000"})


def set_timers(rt: Running, name: str, wait: float = 60.0) -> float:
    """Switch the AWS side's BGP timers, reset its sessions, wait for convergence.

    Returns the seconds convergence took. A no-op when already in place.
    """
    if rt.state.timers == name and name in aws.TIMERS:
        return 0.0
    t0 = time.monotonic()
    configure_timers(rt, name)
    for g in _bgp_gateways(rt):
        rt.vtysh(rt.gateway_instance(g), "clear bgp *")
    wait_ready(rt, wait)
    return time.monotonic() - t0


def _bgp_gateways(rt: Running) -> list[Gateway]:
    return [g for g in rt.lab.gateways if any(c.routing == "bgp" for c in g.connections)]


def configure_timers(rt: Running, name: str) -> None:
    """The AWS side's BGP timers in its configuration and the lab's state, no reset.

    The hold time is negotiated in OPEN only: an established session keeps the one it
    has until it next comes up (a tunnel closed and back, a path restored), and then
    takes these. `retime` resets the sessions that have not come up since.
    """
    if name not in aws.TIMERS:
        raise LabError(f"timers {name!r}: one of {', '.join(aws.TIMERS)}")
    if rt.state.timers == name:
        return
    for g in _bgp_gateways(rt):
        out = rt.vtysh(rt.gateway_instance(g), *aws.timer_commands(g, aws.TIMERS[name]))
        if "%" in out:
            raise LabError(f"AWS {g.name}: FRR refused the timers: {out.strip()}")
    rt.state.timers = name
    write_state(rt.state)
    write_inventory(rt)


def negotiated_holds(rt: Running) -> dict[str, float | None]:
    """tunnel -> the hold time its BGP session negotiated, in seconds (the AWS side's
    `show bgp neighbors json`; None: not established). BGP tunnels only."""
    out: dict[str, float | None] = {}
    for g in _bgp_gateways(rt):
        data = parse_json(rt.vtysh(rt.gateway_instance(g), "show bgp neighbors json")) or {}
        for c in g.connections:
            if c.routing != "bgp":
                continue
            for t in c.tunnels:
                n = data.get(t.customer_inside_ip) or {}
                ms = n.get("bgpTimerHoldTimeMsecs")
                up = n.get("bgpState") == "Established" and ms is not None
                out[f"{c.name}/{t.number}"] = int(ms or 0) / 1000 if up else None
    return out


def retime(rt: Running, tunnels: list[str] | None = None, wait: float = 60.0) -> list[str]:
    """Reset, each on its own, the BGP sessions of `tunnels` (default: every one) whose
    negotiated hold time is not the configured timers' (`configure_timers`), then wait
    for convergence. Returns the tunnels reset (none: nothing to wait for)."""
    want = float(aws.TIMERS[rt.state.timers].hold)
    holds = negotiated_holds(rt)
    stale = [t for t, h in holds.items() if (tunnels is None or t in tunnels) and h != want]
    for tunnel in stale:
        e = rt.lab.end("aws", tunnel)  # its peer: the customer's inside address
        g = next(g for g in rt.lab.gateways if g.ns == e.router_ns)
        rt.vtysh(rt.gateway_instance(g), f"clear bgp {e.peer_inside_ip}")
    if stale:
        wait_ready(rt, wait)
    return stale


@dataclass
class Pinger:
    """`ping -i 0.05` from a namespace; `stop()` returns the replies' timestamps."""

    ns: str
    target: str
    interval: float = 0.05
    source: str | None = None
    proc: subprocess.Popen[str] | None = None
    out: Any = None
    started: float = 0.0
    replies: list[float] = field(default_factory=list)

    def start(self, max_seconds: int = 300) -> Pinger:
        # Bounded by a count, not -w: with a deadline, iputils ping quits at the
        # first ICMP error (a router's "net unreachable" during convergence).
        count = int(max_seconds / self.interval)
        argv = ["ping", "-D", "-n", "-i", str(self.interval), "-W", "1", "-c", str(count)]
        if self.source:
            argv += ["-I", self.source]
        # A file, not a pipe: minutes of replies would fill a pipe and stall ping.
        self.out = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(
            in_ns(self.ns, [*argv, self.target]),
            stdout=self.out,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.started = time.time()
        return self

    def wait_reply(self, after: float, timeout: float = 10.0) -> bool:
        """Until a reply stamped later than `after` (time.time()) has come in, read from
        ping's output as it is written; False after `timeout` seconds."""
        assert self.out is not None
        deadline = time.monotonic() + timeout
        while True:
            # pread: ping shares this file's offset; reading must not move it.
            fd = self.out.fileno()
            text = os.pread(fd, os.fstat(fd).st_size, 0).decode(errors="replace")
            if any(t > after for t in _reply_times(text)):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)

    def stop(self) -> list[float]:
        assert self.proc is not None
        self.proc.send_signal(2)  # SIGINT: ping prints its summary and exits
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.out.seek(0)
        out = self.out.read()
        self.out.close()
        self.replies = _reply_times(out)
        return self.replies

    def outage(self) -> float:
        """The longest time without a reply, in seconds (stop the pinger after recovery)."""
        t = self.replies
        if len(t) < 2:
            return float("inf")
        return max(0.0, max(b - a for a, b in itertools.pairwise(t)) - self.interval)


def _reply_times(text: str) -> list[float]:
    return [float(m.group(1)) for m in re.finditer(r"^\[(\d+\.\d+)\] \d+ bytes from", text, re.M)]


@dataclass
class Flow:
    """A datacenter host -> VPC host flow the security groups admit (ICMP and a TCP
    port), and the tunnel it crosses now: the one a failure test breaks."""

    rt: Running
    dc: Host
    vpc: Host
    router: DcRouter
    gateway: Gateway
    tunnel: str
    port: int

    def tunnel_tx(self) -> int:
        """Packets the datacenter end of the flow's tunnel has sent so far."""
        ns = self.router.ns
        return _tunnel_tx(self.rt)[(ns, self.rt.lab.end("dc", self.tunnel).ifname)]

    def pinger(self) -> Pinger:
        """A 50 ms ping along the flow (from the host's planned address, as find_flow probed)."""
        return Pinger(self.dc.ns, self.vpc.address, source=self.dc.address)

    def send_argv(self, nbytes: int, timeout: float = 60, mbps: float = 0.0) -> list[str]:
        """The agent sending `nbytes` with a SHA-256 check along the flow."""
        return in_ns(
            self.dc.ns,
            [
                sys.executable,
                str(AGENT),
                "send",
                self.vpc.address,
                str(self.port),
                "--bytes",
                str(nbytes),
                "--timeout",
                f"{timeout:g}",
                "--source",
                self.dc.address,
                *(["--mbps", f"{mbps:g}"] if mbps else []),
            ],
        )

    @property
    def connection(self) -> Connection:
        """The VPN connection of the flow's tunnel (contract record)."""
        name = self.rt.lab.end("dc", self.tunnel).connection
        return next(c for _r, c in self.rt.lab.connections() if c.name == name)

    @property
    def silent_bound(self) -> float:
        """How long a silent failure may interrupt traffic, plus 5 s.

        With BGP, the hold time. A static connection has nothing but DPD to
        notice a dead path: traffic moves when both ends have given the tunnel
        up, AWS's after its DPD, the datacenter's after the rendered DPD
        settings (dpd_delay and charon's retransmissions).
        """
        timers = aws.TIMERS[self.rt.state.timers]
        if self.connection.routing == "bgp":
            return timers.hold + 5.0
        dc: float = build_context(self.router.router)["router"].dpd_dead_after
        return max(timers.dpd_dead_after(), dc) + 5.0

    def converged(self, down: frozenset[str] = frozenset()) -> str | None:
        """None when both ends route as planned with the tunnels in `down` gone."""
        lab = self.rt.lab
        return routes_match(
            self.rt.routes(self.router.ns), expected_routes_dc(lab, self.router, down)
        ) or routes_match(
            self.rt.routes(self.gateway.ns), expected_routes_aws(lab, self.gateway, down)
        )

    def wait(self, what: str, down: frozenset[str], seconds: float) -> float:
        """Until both ends route as planned; the time.time() it happened (read when the
        kernel of either end reported a route change). LabError after `seconds`."""
        t0 = time.time()
        keys = {routes_key(self.router.ns), routes_key(self.gateway.ns)}
        with LabEvents(self.rt, only=keys) as events:
            while True:
                diff = self.converged(down)
                if diff is None:
                    return time.time()
                left = seconds - (time.time() - t0)
                if left <= 0:
                    stale = "".join(f"; {m}" for m in fib_mismatch(self.rt, self.router))
                    raise LabError(f"{what}: not converged after {seconds:g} s: {diff}{stale}")
                events.wait(left)

    def wait_stable(self, what: str, hold: float, seconds: float) -> float:
        """Poll until converged for `hold` seconds in a row; when that streak began.

        After a silent failure longer than AWS's DPD, AWS clears the tunnel's SA
        a few seconds after the path is back, and the datacenter end only notices
        through its own DPD: routes converge, break again, and converge minutes
        later. A streak longer than AWS's DPD timeout shows the end of it.
        """
        t0 = time.time()
        since: float | None = None
        while True:
            now = time.time()
            if self.converged() is None:
                since = since or now
                if now - since >= hold:
                    return since
            else:
                since = None
            if now - t0 > seconds:
                stale = "".join(f"; {m}" for m in fib_mismatch(self.rt, self.router))
                raise LabError(
                    f"{what}: not stable for {hold:g} s within {seconds:g} s: "
                    f"{self.converged()}{stale}"
                )
            time.sleep(0.2)

    def child_spi(self) -> str | None:
        """The inbound SPI of the tunnel's installed child SA at the datacenter end."""
        end = self.rt.lab.end("dc", self.tunnel)
        try:
            with vici.Session(self.rt.vici_socket(end)) as s:
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


def _tunnel_tx(rt: Running) -> dict[tuple[str, str], int]:
    """Packets sent so far on every datacenter router's tunnel interface."""
    out = {}
    for r in rt.lab.routers:
        for link in json.loads(run(["ip", "-n", r.ns, "-j", "-s", "link", "show"]).stdout):
            if any(
                e.ifname == link["ifname"]
                for e in rt.lab.ends
                if e.side == "dc" and e.router_ns == r.ns
            ):
                out[(r.ns, link["ifname"])] = int(link["stats64"]["tx"]["packets"])
    return out


PROBES = 40
# 2 ms apart (the shortest iputils allows every user): the burst takes 0.08 s, not 0.4.
PROBE_INTERVAL = "0.002"


def find_flow(rt: Running, datacenter: str | None = None, router: str | None = None) -> Flow | None:
    """The first datacenter -> VPC pair with ICMP and TCP admitted, and its tunnel.

    The tunnel is the one the flow's packets really take, found by sending
    them: a burst of pings from the host's planned address, and the tunnel
    interface that sent them is the flow's. With ECMP on the datacenter LAN
    and over the tunnels, the kernel's multipath hash covers the source
    address, and an unbound socket's first lookup hashes without one: so the
    flow's pings and transfers are sent from that address (`Flow.pinger`,
    `Flow.send_argv`), and the path is measured, not predicted.
    `datacenter`: only that datacenter's host; `router`: the first pair whose
    packets leave through that router (None if none does).
    """
    lab = rt.lab
    for dc in lab.dc_hosts():
        if datacenter is not None and dc.name != datacenter:
            continue
        for vpc in lab.vpc_hosts():
            flows = expected_flows(dc.address, vpc.ingress, list(vpc.tcp_ports), [])
            ports = [p for p, ok in flows["tcp"].items() if ok]
            if not (flows["icmp"] and ports):
                continue
            r, end = _flow_tunnel(rt, dc, vpc)
            if router is not None and r.key != router:
                continue
            gateway = next(g for g in lab.gateways if g.ns == lab.end("aws", end.tunnel).router_ns)
            return Flow(rt, dc, vpc, r, gateway, end.tunnel, ports[-1])
    return None


def _flow_tunnel(rt: Running, dc: Host, vpc: Host) -> tuple[DcRouter, TunnelEnd]:
    """The router and tunnel a burst of pings from `dc` to `vpc` really leaves by."""
    lab = rt.lab
    before = _tunnel_tx(rt)
    ping = [
        "ping",
        "-q",
        "-n",
        "-c",
        str(PROBES),
        "-i",
        PROBE_INTERVAL,
        "-W",
        "1",
        "-I",
        dc.address,
    ]
    run(in_ns(dc.ns, [*ping, vpc.address]), check=False)
    after = _tunnel_tx(rt)
    sent = {k: after.get(k, 0) - n for k, n in before.items()}
    (ns, dev), most = max(sent.items(), key=lambda kv: kv[1])
    if most < PROBES:
        raise LabError(
            f"{dc.name} -> {vpc.name}: no tunnel carried the {PROBES} "
            f"probe pings (most: {dev} in {ns}, {most} packets)"
        )
    router = next(r for r in lab.routers if r.ns == ns)
    end = next(e for e in lab.ends if e.side == "dc" and e.router_ns == ns and e.ifname == dev)
    return router, end


def outage(pinger: Pinger, t0: float, t1: float) -> float:
    """The longest gap in the replies that overlaps [t0, t1] (time.time() values)."""
    times = pinger.replies
    if not times or times[-1] < t1:
        raise LabError("no ping reply after the traffic should have recovered")
    gaps = [b - a for a, b in itertools.pairwise(times) if b > t0 and a < t1]
    return max(0.0, max(gaps, default=0.0) - pinger.interval)
