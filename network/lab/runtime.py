"""Where a running lab keeps its files, and how to reach its daemons.

Per stack:
- `state_dir(stack)/lab/` (`network.state.lab_dir`): `lab.json` (what was
  started: namespaces, PIDs), `logs/`, `config/` (the AWS side's files and
  the daemons' settings), `routers/<key>/` (the rendered files, unchanged),
  `inventory.yaml`;
- `/run/cxlab/<stack>/<instance>/`: sockets and each charon's private /run.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from network.contract import load_outputs, write_private
from network.lab import vici
from network.lab.probe import bgp_peers, kernel_routes, parse_json, sa_summary
from network.lab.system import LabError, Proc, alive, run, tail
from network.lab.topology import Gateway, Lab, TunnelEnd, build_lab
from network.plan import build_plan
from network.stack_file import read_stack_config
from network.state import lab_dir

RUN_ROOT = Path("/run/cxlab")
STATE_FILE = "lab.json"
_RECORD = threading.Lock()


def end_instance(e: TunnelEnd) -> str:
    return f"{e.side}-{e.conn_name}"


def frr_instance(key: str, aws: bool = False) -> str:
    return f"frr-aws-{key}" if aws else f"frr-{key}"


@dataclass(frozen=True)
class LabPaths:
    """Where a lab's files go under its directory (pure: nothing is created)."""

    root: Path  # network.state.lab_dir(stack)

    def config_dir(self, instance: str) -> Path:
        return self.root / "config" / instance

    def log(self, instance: str) -> Path:
        return self.root / "logs" / f"{instance}.log"

    def router_dir(self, key: str) -> Path:
        return self.root / "routers" / key


@dataclass
class LabState:
    """lab.json: written before each namespace or process is created, so that
    `down` finds everything even after a crash half-way through `up`."""

    stack: str
    outputs: str
    outputs_sha256: str
    timers: str
    started: float
    namespaces: list[str] = field(default_factory=list)
    procs: list[Proc] = field(default_factory=list)
    ready: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    # router key -> its LAN slot (topology.lan_slots): a router added or removed in
    # place moves no other router's address. Absent from older files: numbered by key.
    lan_slots: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        # Copies taken at once: bring-up threads add processes and timings meanwhile.
        procs, timings = list(self.procs), dict(self.timings)
        return {**self.__dict__, "procs": [p.to_json() for p in procs], "timings": timings}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LabState:
        data = dict(data)
        data["procs"] = [Proc(**p) for p in data.get("procs", [])]
        return cls(**data)


def state_path(stack: str) -> Path:
    return lab_dir(stack) / STATE_FILE


def read_state(stack: str) -> LabState | None:
    path = state_path(stack)
    if not path.exists():
        return None
    try:
        return LabState.from_json(json.loads(path.read_text()))
    except (json.JSONDecodeError, TypeError, KeyError) as e:
        raise LabError(
            f"{path} is unreadable ({e}); remove it after checking "
            "`ip netns list` for cxl.* namespaces"
        ) from None


def write_state(state: LabState) -> None:
    write_private(state_path(state.stack), json.dumps(state.to_json(), indent=1))


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build(stack: str, outputs: Path, kept: dict[str, int] | None = None) -> Lab:
    """The lab's layout from an outputs file and the stack's plan (`kept`: the running
    lab's LAN slots)."""
    out = load_outputs(outputs)
    if out.stack != stack:
        raise LabError(f"{outputs} holds the outputs of stack {out.stack!r}, not {stack!r}")
    plan = build_plan(read_stack_config(stack), stack)
    return build_lab(out, plan, kept)


@dataclass
class Running:
    """A lab that is up: its layout, its state, and handles on its daemons."""

    lab: Lab
    state: LabState

    @property
    def stack(self) -> str:
        return self.lab.stack

    @property
    def paths(self) -> LabPaths:
        return LabPaths(lab_dir(self.stack))

    # ------------------------------------------------------------ paths
    def run_dir(self, instance: str) -> Path:
        return RUN_ROOT / self.stack / instance

    def vici_socket(self, e: TunnelEnd) -> str:
        return str(self.run_dir(end_instance(e)) / "run" / "charon.vici")

    def frr_dir(self, instance: str) -> Path:
        return self.run_dir(instance)

    def router_dir(self, key: str) -> Path:
        return self.paths.router_dir(key)

    def swanctl_conf(self, e: TunnelEnd) -> Path:
        return self.config_dir(end_instance(e), create=False) / "strongswan.conf"

    def config_dir(self, instance: str, create: bool = True) -> Path:
        """An instance's own config directory (0700): the AWS side's files, daemon settings."""
        d = self.paths.config_dir(instance)
        if create:
            d.mkdir(parents=True, exist_ok=True, mode=0o700)
        return d

    def log_path(self, instance: str) -> Path:
        """An instance's log file under logs/ (0700)."""
        log = self.paths.log(instance)
        log.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        return log

    # ------------------------------------------------------------ processes
    def record(self, p: Proc) -> None:
        """A started process, in lab.json at once (so `down` finds it after a crash).
        Safe from several threads (bring-up starts IPsec and FRR side by side)."""
        with _RECORD:
            self.state.procs.append(p)
            write_state(self.state)

    def check_alive(self) -> None:
        """LabError naming every recorded process that has exited, with its log's end."""
        dead = [p for p in self.state.procs if not alive(p)]
        if dead:
            raise LabError(
                "\n".join(f"{p.name} exited; the end of {p.log}:\n{tail(p.log, 12)}" for p in dead)
            )

    # ------------------------------------------------------------ daemons
    def sas(self, e: TunnelEnd) -> dict[str, dict[str, Any]]:
        try:
            with vici.Session(self.vici_socket(e), timeout=2) as s:
                return sa_summary(s.streamed("list-sas", "list-sa"))
        except (vici.ViciError, OSError):
            return {}

    def vici(self, e: TunnelEnd, command: str, msg: dict[str, Any]) -> dict[str, Any]:
        with vici.Session(self.vici_socket(e), timeout=10) as s:
            return s.request(command, msg)

    def vtysh(self, instance: str, *commands: str, timeout: float = 10) -> str:
        argv = ["vtysh", "--vty_socket", str(self.frr_dir(instance))]
        for c in commands:
            argv += ["-c", c]
        return run(argv, timeout=timeout, check=False).stdout

    def bgp(self, instance: str) -> dict[str, dict[str, Any]]:
        return bgp_peers(parse_json(self.vtysh(instance, "show bgp summary json")))

    def routes(self, ns: str) -> dict[str, list[str]]:
        r = run(["ip", "-n", ns, "-j", "route", "show"], check=False)
        return kernel_routes(parse_json(r.stdout))

    def gateway_instance(self, g: Gateway) -> str:
        return frr_instance(g.name, aws=True)


def open_lab(stack: str) -> Running:
    """The running lab of a stack; LabError when there is none."""
    state = read_state(stack)
    if state is None:
        raise LabError(
            f"the lab of stack {stack!r} is not up: run `crossnet lab up --stack {stack}`"
        )
    outputs = Path(state.outputs)
    if not outputs.exists() or sha256_file(outputs) != state.outputs_sha256:
        raise LabError(
            f"{outputs} changed since the lab came up: run `crossnet lab down "
            f"--stack {stack}` and `lab up` again"
        )
    return Running(build(stack, outputs, state.lan_slots), state)


def chown_frr(path: Path) -> None:
    import grp
    import pwd

    try:
        uid, gid = pwd.getpwnam("frr").pw_uid, grp.getgrnam("frr").gr_gid
    except KeyError:
        raise LabError("user and group 'frr' are missing (Debian package frr)") from None
    os.chown(path, uid, gid)
