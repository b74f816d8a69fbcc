"""What changed in a running lab, as it happens: the lab's waits sleep until an event.

Each source says which part of the lab may have changed; the waiter then reads that
part once and judges it (the same readers and checks as before, so nothing is judged
differently):

- every charon: strongSwan's `ike-updown` and `child-updown` events over its vici
  socket (strongSwan's `vici` package), key `sa <side> <tunnel>`;
- every router and gateway namespace: the kernel's route changes (`ip monitor route`,
  netlink), key `routes <namespace>`;
- every bgpd: its log, where `bgp log-neighbor-changes` writes each session's change
  the moment it happens (FRR has no event socket), key `bgp <instance>`.

A key is also given every `TICK` seconds without an event, so that a missed event costs
at most that much. Every thread and process this starts is stopped on exit (the
processes by PID).
"""

from __future__ import annotations

import contextlib
import queue
import socket
import subprocess
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from network.lab.runtime import Running, frr_instance
from network.lab.system import in_ns
from network.lab.topology import TunnelEnd

# Without any event, every key is re-read this often (a bound, not the cadence).
TICK = 0.25
# How often a bgpd's log is looked at (one stat() call; no process).
LOG_INTERVAL = 0.01
VICI_EVENTS = ("ike-updown", "child-updown")


def sa_key(e: TunnelEnd) -> str:
    return f"sa {e.side} {e.tunnel}"


def bgp_key(instance: str) -> str:
    return f"bgp {instance}"


def routes_key(ns: str) -> str:
    return f"routes {ns}"


@dataclass
class LabEvents:
    """Event sources for `keys` of a running lab (default: every charon, every router's
    and gateway's routes and BGP). Use as a context manager; `wait` returns the keys
    that changed."""

    rt: Running
    only: Iterable[str] | None = None
    changed: queue.Queue[str] = field(default_factory=queue.Queue)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _procs: list[subprocess.Popen[str]] = field(default_factory=list)
    _socks: list[socket.socket] = field(default_factory=list)

    def sources(self) -> dict[str, Any]:
        """key -> what to watch: a TunnelEnd (vici), a namespace (routes), a log (bgpd)."""
        lab = self.rt.lab
        out: dict[str, Any] = {}
        out.update({sa_key(e): e for e in lab.ends})
        for r in lab.routers:
            out[routes_key(r.ns)] = r.ns
            out[bgp_key(frr_instance(r.key))] = self.rt.log_path(f"{frr_instance(r.key)}-bgpd")
        for g in lab.gateways:
            out[routes_key(g.ns)] = g.ns
            inst = self.rt.gateway_instance(g)
            out[bgp_key(inst)] = self.rt.log_path(f"{inst}-bgpd")
        wanted = set(self.only) if self.only is not None else None
        return {k: v for k, v in out.items() if wanted is None or k in wanted}

    def __enter__(self) -> LabEvents:
        ready: list[threading.Event] = []
        logs: dict[str, Path] = {}
        for key, what in self.sources().items():
            if isinstance(what, TunnelEnd):
                ready.append(self._thread(self._vici, key, what))
            elif isinstance(what, Path):
                logs[key] = what
            else:
                ready.append(self._thread(self._routes, key, what))
        if logs:
            ready.append(self._thread(self._logs, "logs", logs))
        # Registered before anyone reads: no change falls between a read and its event.
        deadline = time.monotonic() + 5
        for r in ready:
            r.wait(max(0.0, deadline - time.monotonic()))
        return self

    def __exit__(
        self, t: type[BaseException] | None, v: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        for sock in list(self._socks):  # wakes its listener at once
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for p in self._procs:
            if p.poll() is None:
                p.terminate()
        for p in self._procs:
            try:
                p.wait(timeout=2)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            if p.stdout:
                p.stdout.close()
        for th in self._threads:
            th.join(timeout=TICK + 1)

    def wait(self, timeout: float) -> set[str]:
        """The keys that changed, waiting at most `timeout` s for the first (empty set:
        nothing happened in time)."""
        keys: set[str] = set()
        try:
            keys.add(self.changed.get(timeout=max(0.0, timeout)))
        except queue.Empty:
            return keys
        while True:  # whatever else came meanwhile: one read covers it
            try:
                keys.add(self.changed.get_nowait())
            except queue.Empty:
                return keys

    # ------------------------------------------------------------ sources
    def _thread(self, target: Any, key: str, what: Any) -> threading.Event:
        ready = threading.Event()
        th = threading.Thread(
            target=target, args=(key, what, ready), name=f"events {key}", daemon=True
        )
        self._threads.append(th)
        th.start()
        return ready

    def _vici(self, key: str, e: TunnelEnd, ready: threading.Event) -> None:
        """strongSwan's up/down events of one charon; a tick when it cannot be reached."""
        try:
            import vici  # strongSwan's binding (requirements-dev.txt: the lab is dev-only)

            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(5)
            sock.connect(self.rt.vici_socket(e))
            self._socks.append(sock)
            session = vici.Session(sock)
            events = session.listen(list(VICI_EVENTS), timeout=TICK)
        except (ImportError, OSError):
            ready.set()
            self._ticks(key)
            return
        # listen() registers when first iterated (a round trip of a millisecond: an event
        # in that window is caught by the next tick), then yields each event, or
        # (None, None) every TICK.
        ready.set()
        try:
            for _event in events:
                if self._stop.is_set():
                    break
                self.changed.put(key)
        except Exception:  # the charon went away (a test stops one): ticks instead
            ready.set()
            self._ticks(key)
        finally:
            ready.set()
            with contextlib.suppress(Exception):
                events.close()
            sock.close()

    def _ticks(self, key: str) -> None:
        while not self._stop.wait(TICK):
            self.changed.put(key)

    def _routes(self, key: str, ns: str, ready: threading.Event) -> None:
        """The kernel's route changes in a namespace, one line each (netlink)."""
        try:
            p = subprocess.Popen(
                in_ns(ns, ["ip", "monitor", "route"]),
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
        except OSError:
            ready.set()
            self._ticks(key)
            return
        self._procs.append(p)
        if self._stop.is_set():  # started after __exit__ began (a start slower than 5 s)
            p.terminate()
            p.wait(timeout=5)
            ready.set()
            return
        ticker = threading.Thread(target=self._ticks, args=(key,), daemon=True)
        self._threads.append(ticker)
        ticker.start()
        # `ip monitor` has subscribed once it runs; a short grace for its socket.
        time.sleep(0.01)
        ready.set()
        assert p.stdout is not None
        for _line in p.stdout:
            if self._stop.is_set():
                break
            self.changed.put(key)

    def _logs(self, _key: str, logs: dict[str, Path], ready: threading.Event) -> None:
        """Each bgpd's log growing: a session changed (or anything else bgpd logged)."""

        def size(p: Path) -> int:
            try:
                return p.stat().st_size
            except OSError:
                return -1

        seen = {k: size(p) for k, p in logs.items()}
        last = time.monotonic()
        ready.set()
        while not self._stop.wait(LOG_INTERVAL):
            now = time.monotonic()
            tick = now - last >= TICK
            for k, p in logs.items():
                n = size(p)
                if n != seen[k] or tick:
                    seen[k] = n
                    self.changed.put(k)
            if tick:
                last = now
