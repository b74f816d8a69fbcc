"""What a running lab costs in memory: every process it started, by PID, by kind.

The processes are the lab's own records: `lab.json` (charons, FRR daemons, the
hosts' agents) and `ssh/sshd.json` (`crossnet lab ssh`). Each is read only while
its start time matches the recorded one (`system.alive`), so a recycled PID is
never counted.

The figure is PSS (proportional set size, `/proc/PID/smaps_rollup`): a page
shared by n processes counts 1/n to each, so the 48 charons of a large lab,
which share libstrongswan, libcharon and libcrypto, are not counted 48 times
(their RSS sum is about five times their PSS sum). RSS and USS (private pages
only: what stopping the process frees) are shown beside it. Where
smaps_rollup cannot be read (an old kernel), PSS falls back to RSS and the
report says so.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from network.lab.system import Proc, alive

PROC = Path("/proc")


@dataclass(frozen=True)
class Usage:
    """One process's memory, KiB."""

    rss: int
    pss: int
    uss: int  # Private_Clean + Private_Dirty
    exact: bool = True  # False: PSS and USS are RSS (no smaps_rollup)


@dataclass
class Kind:
    """Every process of one kind (charon, zebra, bgpd, staticd, agent, sshd), KiB."""

    count: int = 0
    rss: int = 0
    pss: int = 0
    uss: int = 0

    def add(self, u: Usage) -> None:
        self.count += 1
        self.rss += u.rss
        self.pss += u.pss
        self.uss += u.uss


@dataclass
class Report:
    kinds: dict[str, Kind] = field(default_factory=dict)
    exact: bool = True
    missing: int = 0  # recorded processes no longer running (not counted)

    @property
    def total(self) -> Kind:
        t = Kind()
        for k in self.kinds.values():
            t.count += k.count
            t.rss += k.rss
            t.pss += k.pss
            t.uss += k.uss
        return t

    def mib(self) -> dict[str, float]:
        """PSS in MiB by kind, and `total` (what the bench prints)."""
        out = {name: round(k.pss / 1024, 1) for name, k in self.kinds.items()}
        out["total"] = round(self.total.pss / 1024, 1)
        return out

    def to_json(self) -> dict[str, object]:
        return {
            "unit": "KiB",
            "pss_exact": self.exact,
            "not_running": self.missing,
            "kinds": {n: vars(k) for n, k in self.kinds.items()},
            "total": vars(self.total),
        }


def parse_rollup(text: str) -> Usage:
    """`/proc/PID/smaps_rollup`'s text -> Usage."""
    fields: dict[str, int] = {}
    for line in text.splitlines():
        key, sep, rest = line.partition(":")
        value = rest.split()
        if sep and value and value[0].isdigit():
            fields[key.strip()] = int(value[0])
    private = fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)
    return Usage(rss=fields.get("Rss", 0), pss=fields.get("Pss", 0), uss=private)


def parse_status_rss(text: str) -> int:
    """VmRSS (KiB) from `/proc/PID/status`; 0 when absent (a kernel thread, a zombie)."""
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def usage(pid: int, proc: Path = PROC) -> Usage | None:
    """A process's memory; None when it is gone."""
    try:
        return parse_rollup((proc / str(pid) / "smaps_rollup").read_text())
    except PermissionError:
        pass
    except FileNotFoundError:
        if not (proc / str(pid)).exists():
            return None
    except ProcessLookupError:
        return None
    try:
        rss = parse_status_rss((proc / str(pid) / "status").read_text())
    except OSError:
        return None
    return Usage(rss=rss, pss=rss, uss=rss, exact=False)


def kind_of(p: Proc) -> str:
    """`charon dc t/1` -> charon, `zebra frr-x` -> zebra, `agent vpc v` -> agent."""
    return p.name.split()[0] if p.name else "?"


def measure(procs: Iterable[Proc]) -> Report:
    """The memory of exactly these processes (those still running as recorded)."""
    report = Report()
    for p in procs:
        u = usage(p.pid) if alive(p) else None
        if u is None:
            report.missing += 1
            continue
        report.kinds.setdefault(kind_of(p), Kind()).add(u)
        report.exact = report.exact and u.exact
    return report


def lab_procs(stack: str) -> list[Proc]:
    """Every process the lab of `stack` recorded: lab.json's, and sshd's
    (`ssh/sshd.json`, network.lab.ssh) while `crossnet lab ssh` runs."""
    from network.lab.runtime import read_state
    from network.state import lab_dir

    state = read_state(stack)
    if state is None:
        return []
    procs = list(state.procs)
    try:
        sshd = json.loads((lab_dir(stack) / "ssh" / "sshd.json").read_text())
        procs += [Proc(**p) for p in sshd]
    except (OSError, ValueError, TypeError):
        pass
    return procs


def lab_memory(stack: str) -> Report:
    return measure(lab_procs(stack))


def summary(r: Report) -> str:
    """One line: the total, then per kind `count x mean` PSS."""
    t = r.total
    kinds = ", ".join(
        f"{name} {k.count} x {k.pss / 1024 / k.count:.1f}"
        for name, k in sorted(r.kinds.items(), key=lambda kv: -kv[1].pss)
    )
    how = "PSS" if r.exact else "RSS (no smaps_rollup: PSS not available)"
    return (
        f"{t.pss / 1024:.0f} MiB {how} of {t.count} processes "
        f"(RSS {t.rss / 1024:.0f} MiB, private {t.uss / 1024:.0f} MiB); MiB each: {kinds}"
    )
