"""Traffic from a datacenter prefix being added, and the moment AWS's side learns it.

`SourcedProbe`: a 20 ms ping from an address in the new prefix to a VPC host, with
ping's own timestamps (`-D`) and a line for every request left unanswered (`-O`), so
that each request's send time is known and the loss after a moment can be counted.
`RouteWatch`: the AWS gateway's kernel routes followed as they change
(`ip -ts monitor route`, no polling): the first time the new prefix appears there is
when the datacenter's announcement reached AWS and traffic to the prefix can return.
A request counts from that moment on: before it, no order can answer it.
`measured_with_prefix`: a change made while both flow (harness.measured's traffic and
the new prefix's probe), the new prefix's loss counted from the route's first
appearance. `announce_first`: the naive order (the routers announce before AWS admits).
`space_in_use`: the datacenter's addresses in the new prefix put on its LAN before the
change, as the lab lays them out for the new outputs (the lab does not re-address a
running router: the space is in use before it is announced, which is why it is added).
"""

from __future__ import annotations

import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from netaddr import IPNetwork

from network.lab.faults import Flow
from network.lab.runtime import Running, open_lab
from network.lab.system import in_ns, ip_batch
from network.lab.topology import HOST_OFFSET
from network.rollout.execute import apply_routers, aws_side
from network.rollout.prerender import proposed_routers
from tests.rollout_lab.harness import MBPS, STACK, measured

INTERVAL = 0.02
REPLY = re.compile(r"^\[(\d+\.\d+)\] \d+ bytes from .*icmp_seq=(\d+) .*time=([\d.]+) ms")
NO_ANSWER = re.compile(r"^\[(\d+\.\d+)\] no answer yet for icmp_seq=(\d+)")


@dataclass
class SourcedProbe:
    ns: str
    src: str
    dst: str
    proc: subprocess.Popen[str] | None = None
    out: IO[str] | None = None

    def start(self) -> SourcedProbe:
        import tempfile

        self.out = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed in stop())
        argv = ["ping", "-n", "-D", "-O", "-i", f"{INTERVAL:g}", "-W", "1", "-I", self.src]
        self.proc = subprocess.Popen(
            in_ns(self.ns, [*argv, self.dst]), stdout=self.out, stderr=subprocess.STDOUT, text=True
        )
        return self

    def stop(self) -> dict[int, tuple[float, bool]]:
        """Each request: (its send time, answered)."""
        assert self.proc is not None and self.out is not None
        time.sleep(1.5)  # the last replies
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=10)
        self.out.seek(0)
        seqs: dict[int, tuple[float, bool]] = {}
        for line in self.out.read().splitlines():
            if m := REPLY.match(line):
                seqs[int(m[2])] = (float(m[1]) - float(m[3]) / 1000, True)
            elif (m := NO_ANSWER.match(line)) and int(m[2]) not in seqs:
                # printed as the next request goes out, one interval after this one
                seqs[int(m[2])] = (float(m[1]) - INTERVAL, False)
        self.out.close()
        last = max(seqs, default=0)
        return {s: v for s, v in seqs.items() if s < last - 25}  # the tail may be in flight


# The new prefix's window opens one ping interval after the gateway's route first
# appears, not at that moment. A request sent just before the route exists is answered
# by the VPC host into no route (lost by any order), and which side of the moment a
# lost request falls on is not known to better than about one interval: its send time
# is estimated from ping's next "no answer yet" line (one interval later, as ping's
# timer ran on a loaded machine), and the route's time is when the watcher read the
# event. Seen on the static dc-prefix case: 1 of 1064 lost, "sent" 1 ms after the route
# appeared, the gateway's route never withdrawn afterwards (RouteWatch.events); the
# requests one interval either side of it answered. The naive order's loss (dozens of
# requests over the apply's seconds) loses at most one request to the guard.
GUARD = INTERVAL


def count_after(
    seqs: dict[int, tuple[float, bool]], t: float, guard: float = GUARD
) -> dict[str, int]:
    """Requests sent at or after `t + guard`: how many, how many unanswered."""
    after = [ok for sent, ok in seqs.values() if sent >= t + guard]
    return {"sent": len(after), "lost": sum(1 for ok in after if not ok)}


@dataclass
class RouteWatch:
    """The first time (wall clock) the prefix appears in a namespace's kernel routes."""

    ns: str
    prefix: str
    seen: float | None = None
    proc: subprocess.Popen[str] | None = None
    thread: threading.Thread | None = None
    lines: list[str] = field(default_factory=list)
    events: list[tuple[float, str]] = field(default_factory=list)  # (when, the prefix's line)

    def start(self) -> RouteWatch:
        self.proc = subprocess.Popen(
            ["ip", "-n", self.ns, "monitor", "route"], stdout=subprocess.PIPE, text=True
        )
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()
        return self

    def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            if self.prefix in line.split():
                now = time.time()
                self.events.append((now, line.strip()))
                if self.seen is None and line.startswith(self.prefix):
                    self.seen = now

    def stop(self) -> float | None:
        assert self.proc is not None and self.thread is not None
        self.proc.terminate()
        self.proc.wait(timeout=5)
        self.thread.join(timeout=5)
        return self.seen


def lost_timeline(
    seqs: dict[int, tuple[float, bool]], events: list[tuple[float, str]], t: float
) -> str:
    """Each request lost from 0.1 s before `t` on, beside the route change in force
    when it was sent (RouteWatch.events) and the next one, with its neighbours' send
    times (exact when answered: reply stamp less the round trip): which moment of the
    step lost it. Times relative to `t`."""
    lost = sorted((sent, s) for s, (sent, ok) in seqs.items() if sent >= t - 0.1 and not ok)
    out = [f"route {when - t:+.3f} s: {line}" for when, line in events]
    for sent, s in lost:
        before = [e for e in events if e[0] <= sent]
        after = [e for e in events if e[0] > sent]
        where = f"{sent - before[-1][0]:+.3f} s after {before[-1][1]!r}" if before else "-"
        nxt = f", {after[0][0] - sent:+.3f} s before {after[0][1]!r}" if after else ""
        near = ", ".join(
            f"{n} {'answered' if seqs[n][1] else 'lost'} sent {seqs[n][0] - t:+.3f} s"
            for n in (s - 1, s + 1)
            if n in seqs
        )
        out.append(f"lost icmp_seq={s} sent {sent - t:+.3f} s: {where}{nxt} ({near})")
    return "\n".join(out)


@contextmanager
def probing(
    rt: Running, src: str, prefix: str, flow: Flow | None = None
) -> Iterator[dict[str, Any]]:
    """The new prefix's ping from `src` to the flow's VPC host (else the lab's first)
    around the block, and the gateway in front of that host (`flow.gateway`, else the
    lab's first) watched for the prefix's route. The dict yielded holds, once the block
    is done: `newPrefix` (sent, lost from one interval after the route first appeared:
    GUARD), `newPrefixBefore` (sent before) and `timeline` (lost_timeline)."""
    gw = flow.gateway.ns if flow else rt.lab.gateways[0].ns
    dst = flow.vpc.address if flow else rt.lab.vpc_hosts()[0].address
    dc = flow.dc.ns if flow else rt.lab.dc_hosts()[0].ns
    watch = RouteWatch(gw, prefix).start()
    probe = SourcedProbe(dc, src, dst).start()
    time.sleep(0.5)
    out: dict[str, Any] = {}
    try:
        yield out
    finally:
        seqs = probe.stop()
        announced = watch.stop()
    if announced is None:
        raise AssertionError(f"AWS's gateway ({gw}) never routed {prefix}")
    out["newPrefix"] = count_after(seqs, announced)
    out["newPrefixBefore"] = len([s for s in seqs.values() if s[0] < announced + GUARD])
    out["timeline"] = lost_timeline(seqs, watch.events, announced)


def measured_with_prefix(
    kind: str,
    rt: Running,
    src: str,
    prefix: str,
    run: Callable[[], Any],
    *,
    stack: str = STACK,
    flow: Flow | None = None,
    mbps: float = MBPS,
) -> dict[str, Any]:
    """`run` with both probes going: harness.measured's traffic along `flow` (else the
    lab's first) and the new prefix's (`probing`)."""
    with probing(rt, src, prefix, flow) as new:
        m = measured(kind, run, mbps, stack, flow)
    m |= new
    print(f"{kind}: the new prefix's pings after the announcement: {m['newPrefix']}")
    print(m["timeline"])
    return m


def announce_first(stack: str, path: Path) -> None:
    """The naive order of an added prefix: the routers announce it (rendered from the
    edited file over the current outputs), then the AWS apply admits it, then the
    routers follow the new outputs (no change left)."""
    rt = open_lab(stack)
    apply_routers(rt, frozenset(), print, routers=proposed_routers(stack, path))
    rt = aws_side(rt, stack, path, print)
    apply_routers(rt, frozenset(), print)


def space_in_use(rt: Running, prefix: str, datacenter: str | None = None) -> str:
    """The datacenter's addresses in `prefix` on its LAN, as the lab lays them out for
    the new outputs (each router at its own offset, as in its first prefix: .1, .2, ...;
    the host at .10): the host's address. `datacenter`: the lab's only one by default."""
    net = IPNetwork(prefix)
    routers = [r for r in rt.lab.routers if datacenter in (None, r.datacenter)]
    [dc] = [h for h in rt.lab.dc_hosts() if datacenter in (None, h.name)]
    for r in routers:
        first = IPNetwork(r.lan[0])
        ip_batch(
            r.ns, [f"addr add {net[int(first.ip) - int(first.network)]}/{net.prefixlen} dev lan"]
        )
    host = net[HOST_OFFSET]
    ip_batch(dc.ns, [f"addr add {host}/{net.prefixlen} dev lan"])
    return str(host)
