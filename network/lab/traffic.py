"""Traffic that runs across a change: a 20 ms ping and a paced, SHA-256-checked TCP
transfer between a datacenter host and a VPC host (the first flow `find_flow` finds).

`start(rt)` starts both; `Traffic.finish()` waits for the transfer and counts: ping
replies lost (by sequence number, so a late reply is not a loss), the transfer's
verdict and the bytes that did not arrive, and when each lost ping was sent (`lostAt`,
epoch seconds estimated from its neighbours' replies: ping runs with `-D`), so that a
loss can be mapped to the phase of the change it fell in. Used by the rollout lab tests
and `bench/rollout_bench.py`.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from typing import IO, Any

from network.lab.faults import Flow, find_flow
from network.lab.runtime import Running
from network.lab.system import LabError, in_ns

MIB = 1024 * 1024
INTERVAL = 0.02


@dataclass
class Traffic:
    ping: subprocess.Popen[str]
    ping_out: IO[str]
    send: subprocess.Popen[str]
    nbytes: int

    def finish(self) -> dict[str, Any]:
        """Wait for the transfer, stop the ping; the counts."""
        out, _ = self.send.communicate(timeout=300)
        time.sleep(1.5)  # the last pings' replies
        self.ping.send_signal(signal.SIGINT)
        self.ping.wait(timeout=10)
        self.ping_out.seek(0)
        text = self.ping_out.read()
        self.ping_out.close()
        stamps = reply_times(text)
        seqs = set(stamps)
        last = max(seqs, default=0)
        # Only sequence numbers well before the last reply count: the final ones may
        # still be in flight when ping is stopped.
        lost = sorted(set(range(1, last - 25)) - seqs)
        lines = out.strip().splitlines()
        transfer: dict[str, Any] = json.loads(lines[-1]) if lines else {"ok": False}
        received = int(transfer.get("received", 0) or 0)
        return {
            "lost": len(lost),
            "lostMs": round(len(lost) * INTERVAL * 1000),
            "replies": len(seqs),
            "transfer": transfer,
            "bytesLost": self.nbytes - max(0, received),
            "lostAt": lost_times(stamps, lost),
        }


REPLY = re.compile(r"^\[(\d+\.\d+)\].*icmp_seq=(\d+)", re.MULTILINE)
SEQ = re.compile(r"icmp_seq=(\d+)")


def reply_times(text: str) -> dict[int, float]:
    """Sequence number -> the epoch time of its reply (`ping -D`'s stamp); a reply line
    without a stamp counts with time 0.0 (it still arrived)."""
    out = {int(m): 0.0 for m in SEQ.findall(text)}
    out |= {int(seq): float(ts) for ts, seq in REPLY.findall(text)}
    return out


def lost_times(stamps: dict[int, float], lost: list[int]) -> list[float]:
    """When each lost ping was sent, estimated from the nearest stamped reply before it
    (its time plus INTERVAL per sequence number between), else the nearest after."""
    known = sorted((s, t) for s, t in stamps.items() if t > 0)
    out = []
    for seq in lost:
        before = [(s, t) for s, t in known if s < seq]
        after = [(s, t) for s, t in known if s > seq]
        if before:
            s, t = before[-1]
        elif after:
            s, t = after[0]
        else:
            continue
        out.append(round(t + (seq - s) * INTERVAL, 3))
    return out


def start(
    rt: Running, nbytes: int = 50 * MIB, mbps: float = 16.0, flow: Flow | None = None
) -> Traffic:
    """Both flows running (the transfer paced at `mbps`, so that it spans the change),
    along `flow` (default: the first one `find_flow` finds)."""
    flow = flow or find_flow(rt)
    if flow is None:
        raise LabError("the lab has no datacenter -> VPC flow with ICMP and TCP admitted")
    out = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed in finish())
    argv = ["ping", "-D", "-n", "-i", f"{INTERVAL:g}", "-W", "2", "-I", flow.dc.address]
    ping = subprocess.Popen(
        in_ns(flow.dc.ns, [*argv, flow.vpc.address]),
        stdout=out,
        stderr=subprocess.STDOUT,
        text=True,
    )
    send = subprocess.Popen(
        flow.send_argv(nbytes, timeout=120, mbps=mbps), stdout=subprocess.PIPE, text=True
    )
    time.sleep(1.0)  # both flows running before the change starts
    return Traffic(ping, out, send, nbytes)
