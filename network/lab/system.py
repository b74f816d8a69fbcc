"""Namespaces, links and processes: the few system calls the lab makes.

Every command has a timeout, every process the lab starts is recorded with its
PID and start time (so a recycled PID is never signalled), and every wait is
bounded.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

from network.errors import CrossnetError

T = TypeVar("T")
NETNS_DIR = Path("/run/netns")
CHARON = "/usr/lib/ipsec/charon"
FRR_DIR = Path("/usr/lib/frr")
# The lab's probe and listener program (also sent inline to real hosts).
AGENT = Path(__file__).with_name("agent.py")
# How the lab runs its listeners: isolated (-I: no environment, no script directory on
# sys.path) and without site (-S): the agent needs the standard library only, and each
# of the lab's listeners is about 0.8 MiB smaller for it.
AGENT_PYTHON = (sys.executable, "-I", "-S")
REQUIRED = {
    "ip": "iproute2",
    "nft": "nftables",
    "swanctl": "strongswan-swanctl",
    "vtysh": "frr",
    "ping": "iputils-ping",
    CHARON: "strongswan-charon",
    str(FRR_DIR / "zebra"): "frr",
    str(FRR_DIR / "bgpd"): "frr",
    str(FRR_DIR / "staticd"): "frr",
}
LIBIPSEC = "/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so"


class LabError(CrossnetError):
    """The lab could not be built, checked or taken down; says why."""

    exit_code = 3

    def render(self) -> str:
        return f"error: {self}"


def missing_requirements() -> list[str]:
    """What keeps the lab from running here, one line each (empty: all good)."""
    out = []
    if os.geteuid() != 0:
        out.append("the lab needs root (network namespaces, nftables, TUN devices)")
    for tool, package in REQUIRED.items():
        found = os.access(tool, os.X_OK) if "/" in tool else shutil.which(tool) is not None
        if not found:
            out.append(f"{tool} is missing (Debian package {package})")
    if not os.path.exists(LIBIPSEC):
        out.append("strongSwan's kernel-libipsec plugin is missing (libcharon-extra-plugins)")
    if not os.path.exists("/dev/net/tun"):
        out.append("/dev/net/tun is missing: libipsec needs TUN devices")
    return out


def run(
    argv: Sequence[str],
    *,
    timeout: float = 15,
    check: bool = True,
    input: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command to completion; LabError with its output when it fails."""
    try:
        r = subprocess.run(
            list(argv), capture_output=True, text=True, timeout=timeout, input=input, env=env
        )
    except subprocess.TimeoutExpired:
        raise LabError(f"`{' '.join(argv)}` did not finish within {timeout:g} s") from None
    if check and r.returncode != 0:
        raise LabError(
            f"`{' '.join(argv)}` failed (exit {r.returncode}): "
            f"{(r.stderr or r.stdout).strip()[-800:]}"
        )
    return r


def in_ns(ns: str, argv: Sequence[str]) -> list[str]:
    return ["ip", "netns", "exec", ns, *argv]


def ip_batch(ns: str, commands: Sequence[str]) -> None:
    """Several `ip` commands in one namespace, in one process."""
    if commands:
        run(["ip", "-n", ns, "-batch", "-"], input="\n".join(commands) + "\n")


def namespaces() -> set[str]:
    try:
        return {p.name for p in NETNS_DIR.iterdir()}
    except FileNotFoundError:
        return set()


def add_namespace(name: str) -> None:
    run(["ip", "netns", "add", name])


def delete_namespace(name: str) -> None:
    if name in namespaces():
        run(["ip", "netns", "delete", name], check=False)


def ns_inode(name: str) -> int | None:
    try:
        return os.stat(NETNS_DIR / name).st_ino
    except OSError:
        return None


def sysctls(ns: str, values: dict[str, str]) -> None:
    script = "; ".join(f"echo {v} > /proc/sys/{k.replace('.', '/')}" for k, v in values.items())
    run(in_ns(ns, ["sh", "-c", script]))


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, interval: float = 0.05) -> T:
    """Poll `probe` until it returns something truthy, at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise LabError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


# ---------------------------------------------------------------- processes
@dataclass(frozen=True)
class Proc:
    """A process the lab started: enough to find it again, and only it."""

    name: str
    ns: str
    pid: int
    start: int  # /proc/<pid>/stat starttime: guards against PID reuse
    log: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def start_time(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: split after the last ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] == "Z":
        return None
    return int(fields[19])


def alive(p: Proc) -> bool:
    return start_time(p.pid) == p.start


def spawn(
    name: str,
    ns: str,
    argv: Sequence[str],
    log: Path,
    env: dict[str, str] | None = None,
    cwd: str | None = None,
) -> Proc:
    """Start a long-running process in a namespace, detached, output to `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        popen = subprocess.Popen(
            in_ns(ns, argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
            cwd=cwd,
        )
    st = start_time(popen.pid)
    if st is None:
        popen.wait(timeout=5)
        raise LabError(
            f"{name} exited at once (exit {popen.returncode}); see {log}:\n" + tail(log, 15)
        )
    _children[popen.pid] = popen
    return Proc(name=name, ns=ns, pid=popen.pid, start=st, log=str(log))


# Popen objects of processes this Python process started, so that stopping
# them in the same process (the suite, the benchmark) also reaps them.
_children: dict[int, subprocess.Popen[bytes]] = {}


def stop(procs: Sequence[Proc], grace: float = 3.0) -> list[str]:
    """SIGTERM, then SIGKILL after `grace` seconds, exactly these processes."""
    notes = []
    live = [p for p in procs if alive(p)]
    for p in live:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_still(p) for p in live):
        time.sleep(0.05)
    for p in live:
        if _still(p):
            notes.append(f"{p.name} (pid {p.pid}) ignored SIGTERM for {grace:g} s: SIGKILL")
            with contextlib.suppress(ProcessLookupError):
                os.kill(p.pid, signal.SIGKILL)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_still(p) for p in live):
        time.sleep(0.05)
    for p in live:
        if _still(p):
            notes.append(f"{p.name} (pid {p.pid}) is still running after SIGKILL")
    return notes


def _still(p: Proc) -> bool:
    child = _children.get(p.pid)
    if child is not None and child.poll() is not None:
        _children.pop(p.pid, None)
        return False
    return alive(p)


def pids_in_namespace(name: str) -> list[int]:
    """Every process whose network namespace is this one (by inode)."""
    inode = ns_inode(name)
    if inode is None:
        return []
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.stat(entry / "ns" / "net").st_ino == inode:
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tail(path: Path | str, lines: int = 20, match: Callable[[str], bool] | None = None) -> str:
    try:
        text = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return f"    ({path}: no log)"
    if match is not None:
        text = [t for t in text if match(t)]
    return "\n".join(f"    {t}" for t in text[-lines:])
