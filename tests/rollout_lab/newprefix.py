"""Traffic from a datacenter prefix being added, and the moment AWS's side learns it.

`SourcedProbe`: a 20 ms ping from an address in the new prefix to a VPC host, with
ping's own timestamps (`-D`) and a line for every request left unanswered (`-O`), so
that each request's send time is known and the loss after a moment can be counted.
`RouteWatch`: the AWS gateway's kernel routes followed as they change
(`ip -ts monitor route`, no polling): the first time the new prefix appears there is
when the datacenter's announcement reached AWS and traffic to the prefix can return.
A request counts from that moment on: before it, no order can answer it.
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
from dataclasses import dataclass, field
from typing import IO

from network.lab.runtime import Running
from network.lab.system import in_ns, ip_batch

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


def count_after(seqs: dict[int, tuple[float, bool]], t: float) -> dict[str, int]:
    """Requests sent at or after `t`: how many, how many unanswered."""
    after = [ok for sent, ok in seqs.values() if sent >= t]
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
            if self.seen is None and line.startswith(self.prefix):
                self.seen = time.time()

    def stop(self) -> float | None:
        assert self.proc is not None and self.thread is not None
        self.proc.terminate()
        self.proc.wait(timeout=5)
        self.thread.join(timeout=5)
        return self.seen


def space_in_use(rt: Running, prefix: str) -> str:
    """The datacenter's addresses in `prefix` on its LAN (router .1, host .10): the
    host's address."""
    base = prefix.split("/")[0].rsplit(".", 2)[0]
    plen = prefix.split("/")[1]
    [router] = rt.lab.routers
    [dc] = rt.lab.dc_hosts()
    ip_batch(router.ns, [f"addr add {base}.0.1/{plen} dev lan"])
    ip_batch(dc.ns, [f"addr add {base}.0.10/{plen} dev lan"])
    return f"{base}.0.10"
