"""Helpers of the reachability suite (tests/reachability), importable by its tests.

testinfra is imported only when a host is first used, so that this module
loads wherever crossnet does.
"""

from __future__ import annotations

import logging
import shlex
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import pytest

from network.contract import StackOutputs
from network.lab.probe import parse_json, parse_swanctl_raw, run_and_expect, sa_summary
from network.lab.system import AGENT
from network.lab.topology import VpcProfile, vpc_profile
from network.plan import Plan

# (test, measurement, value, unit) rows, for the terminal summary.
MEASURES = pytest.StashKey[list[tuple[str, str, Any, str]]]()

# The suite's read-only work that can start as soon as the lab is there: name -> job
# (env, pytest session) -> result. Test modules register theirs when imported.
Prefetch = Callable[["Env", Any], Any]
PREFETCH: dict[str, Prefetch] = {}

# What of the lab a background job reads, and a test changes: BGP (sessions, tables),
# IPsec (SAs) and traffic (the hosts' probes and transfers across the tunnels).
BGP, IPSEC, TRAFFIC = "bgp", "ipsec", "traffic"
LAB = frozenset({BGP, IPSEC, TRAFFIC})
READS: dict[str, frozenset[str]] = {}


def prefetch(name: str, reads: frozenset[str] = LAB) -> Callable[[Prefetch], Prefetch]:
    """Register a module's read-only work to start with the session (`Background`);
    `reads`: what of the lab it reads (a test changing none of it need not wait)."""

    def register(job: Prefetch) -> Prefetch:
        PREFETCH[name] = job
        READS[name] = reads
        return job

    return register


class _SnapshotLoggers(dict[str, Any]):
    """logging's registry of loggers, whose `values()` is a copy taken at once.

    pytest's `catching_logs.__enter__`, run around every test's setup, call and
    teardown, iterates `logging.root.manager.loggerDict.values()` without logging's
    lock. A background job that imports a module for the first time (boto3, moto,
    paramiko...) registers that module's logger meanwhile, and the test errors with
    "dictionary changed size during iteration" (seen once in 6 prod checks). A copy
    made by `list()` in C takes no Python step, so no other thread runs during it."""

    def values(self) -> list[Any]:  # type: ignore[override]
        return list(dict.values(self))


def share_loggers_safely() -> None:
    """Make iterating logging's registry safe against loggers added by other threads
    (idempotent; the registry keeps every logger it had)."""
    manager = logging.Logger.manager
    lock = getattr(logging, "_lock", None)
    if lock is not None:
        lock.acquire()
    try:
        if not isinstance(manager.loggerDict, _SnapshotLoggers):
            manager.loggerDict = _SnapshotLoggers(manager.loggerDict)
    finally:
        if lock is not None:
            lock.release()


class Background:
    """The registered read-only work, run in threads from the session's start, so it
    overlaps the tests before the ones that need it; those wait for its result. A test
    that changes the lab first waits for every job reading what it changes
    (`Env.changes_lab`)."""

    def __init__(
        self, jobs: dict[str, Prefetch], reads: dict[str, frozenset[str]] | None = None
    ) -> None:
        self.jobs = dict(jobs)
        self.reads = {n: (reads or {}).get(n, LAB) for n in self.jobs}
        self.futures: dict[str, Future[Any]] = {}
        self.pool: ThreadPoolExecutor | None = None

    def start(self, env: Env, session: Any) -> None:
        if not self.jobs:
            return
        share_loggers_safely()
        self.pool = ThreadPoolExecutor(max_workers=len(self.jobs), thread_name_prefix="prefetch")
        self.futures = {n: self.pool.submit(job, env, session) for n, job in self.jobs.items()}

    def result(self, name: str) -> Any:
        """A job's result (raising what it raised); None when it was never started."""
        fut = self.futures.get(name)
        return None if fut is None else fut.result()

    def quiet(self, changes: frozenset[str] = LAB) -> None:
        """Until every job reading what `changes` names has finished (each test still
        sees its own job's error)."""
        wait([f for n, f in self.futures.items() if self.reads[n] & changes])

    def stop(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)
            self.pool = None


def _netns_backend() -> type:
    from testinfra.backend.local import LocalBackend

    class NetnsBackend(LocalBackend):  # type: ignore[misc]  # testinfra has no types
        """testinfra's local backend, each command run in a network namespace."""

        NAME = "netns"

        def __init__(self, ns: str, **kwargs: Any):
            super().__init__(**kwargs)
            self.ns = ns

        def get_pytest_id(self) -> str:
            return f"netns://{self.ns}"

        def run(self, command: str, *args: str, **kwargs: Any) -> Any:
            cmd = self.get_command(command, *args)
            return self.run_local("ip netns exec %s /bin/sh -c %s", self.ns, cmd)

    return NetnsBackend


@dataclass
class Env:
    """Everything a test needs: the plan, the outputs, the inventory, the hosts."""

    stack: str
    plan: Plan
    outputs: StackOutputs
    inventory: dict[str, Any]
    lab: Any = None  # network.lab.runtime.Running, when the targets are the local lab
    background: Background | None = None
    _hosts: dict[str, Any] = field(default_factory=dict)
    # a device router's facts, read once per run: RouterFacts, or why it could not be read
    _devices: dict[str, Any] = field(default_factory=dict)

    @property
    def is_lab(self) -> bool:
        return self.lab is not None

    def host(self, target: str) -> Any:
        if target not in self._hosts:
            if target.startswith("netns://"):
                from testinfra.host import Host

                self._hosts[target] = Host(_netns_backend()(target[len("netns://") :]))
            else:
                import testinfra

                ssh = self.inventory.get("ssh", {})
                self._hosts[target] = testinfra.get_host(target, **ssh)
        return self._hosts[target]

    def run(self, target: str, command: str, timeout: float = 20) -> Any:
        """A shell command on a target, bounded by `timeout` seconds.

        An ssh:// target that cannot be reached (no route, timeout, wrong key, host key
        mismatch: ssh's exit 255, which testinfra raises as RuntimeError) fails the
        test with ssh's own one-line reason, not a traceback.
        """
        cmd = f"timeout -k 2 {timeout:g} sh -c {shlex.quote(command)}"
        try:
            return self.host(target).run(cmd)
        except RuntimeError as e:
            if not target.startswith("ssh://"):
                raise
            pytest.fail(f"{target}: ssh failed: {ssh_reason(e)}", pytrace=False)

    def agent(self, target: str, *args: str, timeout: float = 20) -> dict[str, Any]:
        """network/lab/agent.py on a target (sent inline: real hosts need only python3)."""
        cmd = (
            "python3 -c "
            + shlex.quote(AGENT.read_text())
            + " "
            + " ".join(shlex.quote(a) for a in args)
        )
        r = self.run(target, cmd, timeout=timeout)
        return parse_json(r.stdout.strip().splitlines()[-1] if r.stdout.strip() else "") or {
            "ok": False,
            "error": (r.stderr or r.stdout).strip()[-300:],
        }

    def start_listeners(self, vpc: str) -> str | None:
        """On a real VPC host marked `listeners: suite`: the agent's listeners on the
        tier's ports and its closed port, for at most 15 minutes. Returns the PID."""
        host = self.vpc(vpc)
        if self.is_lab or host.get("listeners") != "suite":
            return None
        p = self.profile(vpc)
        cmd = (
            "nohup timeout 900 python3 -c "
            + shlex.quote(AGENT.read_text())
            + f" serve --name {shlex.quote(vpc)} --tcp "
            + ",".join(map(str, [*p.tcp, p.closed]))
            + " --udp "
            + ",".join(map(str, p.udp))
            + " >/dev/null 2>&1 & echo $!"
        )
        r = self.run(host["target"], cmd, timeout=10)
        return r.stdout.strip() or None

    def stop_listeners(self, vpc: str, pid: str) -> None:
        self.run(self.vpc(vpc)["target"], f"kill {int(pid)}", timeout=10)

    def dc(self, name: str) -> dict[str, Any]:
        host: dict[str, Any] = self.inventory["datacenter_hosts"][name]
        return host

    def vpc(self, name: str) -> dict[str, Any]:
        host: dict[str, Any] = self.inventory["vpc_hosts"][name]
        return host

    def profile(self, vpc: str) -> VpcProfile:
        return vpc_profile(self.plan, vpc, self.vpc(vpc).get("tier"))

    def router(self, key: str) -> dict[str, Any]:
        routers = self.inventory.get("routers", {})
        if key not in routers:
            pytest.skip(f"router {key} is not in the inventory")
        router: dict[str, Any] = routers[key]
        return router

    def reads_device(self, key: str) -> bool:
        """A router of another platform than Linux, on real hosts: read as a device
        (netmiko, its own `show` commands: network/devices), not with testinfra."""
        return not self.is_lab and self.outputs.routers[key].platform != "linux"

    def device_facts(self, key: str) -> Any:
        """The router's facts (network.devices.facts.RouterFacts), read over one session
        the first time a test asks (a steady-state network: the suite reads it once),
        or the test fails with the one line saying why it could not be read."""
        from network.devices.remote import UnreadableError, read_router

        if key not in self._devices:
            self.router(key)
            try:
                self._devices[key] = read_router(self.outputs.routers[key], self.inventory)
            except UnreadableError as e:
                self._devices[key] = str(e)
        facts = self._devices[key]
        if isinstance(facts, str):
            r = self.outputs.routers[key]
            target = self.inventory["routers"][key].get("target", "")
            pytest.fail(f"{key} ({r.platform}) {target}: {facts}", pytrace=False)
        return facts

    def device_check(self, key: str, area: str, subjects: list[str], what: str = "") -> None:
        """Fails the test unless the device's findings of `area` hold for every subject
        (`<connection>/<n>`): the same checks as `crossnet state`'s (check_facts)."""
        from network.devices.facts import check_facts, verdict

        if not subjects:  # a static-only router has no BGP to check
            return
        facts = self.device_facts(key)
        why = verdict(check_facts(self.outputs.routers[key], facts), area, subjects, what)
        if why is not None:
            pytest.fail(f"{key} ({facts.platform}): {why}", pytrace=False)

    def sas(self, router: dict[str, Any], tunnel: str) -> dict[str, Any]:
        """The IKE SAs a router's charon (the lab: the tunnel's charon) holds."""
        own = router.get("tunnels", {}).get(tunnel, {})
        cmd = f"{own.get('swanctl') or router.get('swanctl', 'swanctl')} --list-sas --raw"
        if own.get("uri"):
            cmd += f" --uri {own['uri']}"
        r = self.run(router["target"], cmd)
        if r.rc != 0 and not r.stdout.strip():
            _daemon_failed(router["target"], "swanctl --list-sas", r)
        return sa_summary(parse_swanctl_raw(r.stdout))

    def vtysh_json(self, target: str, vtysh: str, command: str) -> Any:
        r = self.run(target, f"{vtysh} -c {shlex.quote(command)}")
        data = parse_json(r.stdout)
        if data is None and r.rc != 0:
            _daemon_failed(target, f"vtysh -c '{command}'", r)
        return data

    def need_lab(self, why: str) -> Any:
        if not self.is_lab:
            pytest.skip(f"lab only: {why}")
        return self.lab

    @property
    def poll_wait(self) -> float:
        """Between two reads of a poll: the lab's daemons answer in milliseconds; a
        real host's over SSH in tens of them."""
        return 0.05 if self.is_lab else 0.25

    def prefetched(self, name: str) -> Any:
        """The result of the read-only work registered as `name`, started with the
        session (None: not started, or not applicable here)."""
        return self.background.result(name) if self.background else None

    def changes_lab(self, why: str, changes: frozenset[str] = LAB) -> Any:
        """need_lab, for a test that changes the lab (`changes`: what of it): it first
        waits until the suite's background work reading that is done, so that work
        never sees the change."""
        rt = self.need_lab(why)
        if self.background:
            self.background.quiet(changes)
        return rt


def _daemon_failed(target: str, what: str, r: Any) -> None:
    """A daemon that does not answer (down, socket gone): its tool's own words, at once."""
    text = [ln.strip() for ln in f"{r.stderr}\n{r.stdout}".splitlines() if ln.strip()]
    # swanctl prints its usage after the reason: the reason is the line that failed
    why = [ln for ln in text if "fail" in ln.lower() or "error" in ln.lower()]
    said = (why or text or [f"exit {r.rc}"])[0]
    pytest.fail(f"{target}: {what} failed (exit {r.rc}): {said[:200]}", pytrace=False)


def ssh_reason(e: RuntimeError) -> str:
    """The line of ssh's stderr that says why (testinfra raises its CommandResult)."""
    result: Any = e.args[0] if e.args else ""
    text = str(result.stderr or "") if hasattr(result, "stderr") else str(result)
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    # a jump host's (ProxyCommand's) own error first: socat logs "... socat[pid] E <why>"
    proxy = [ln.split(" E ", 1)[1] for ln in lines if "socat[" in ln and " E " in ln]
    keys = ("verification failed", "Permission denied", "timed out", "refused", "unreachable")
    said = [ln for ln in lines if any(k in ln for k in keys)]
    chosen = (proxy or said or lines[-1:] or [""])[0]
    if "kex_exchange_identification" in chosen:
        # With ControlPersist, ssh sends a ProxyCommand's stderr to /dev/null: all that
        # is left of a jump that could not connect is the connection closing at once.
        chosen += " (closed before SSH began: host unreachable through the jump, or no sshd)"
    return (chosen or "exit 255, no message")[:200]


def admitted(result: dict[str, Any]) -> bool:
    """A TCP probe got past the security groups: it connected, or the host itself
    refused (no listener there); a drop shows as a timeout."""
    return bool(result.get("ok")) or "ConnectionRefused" in str(result.get("error", ""))


def poll(func: Any, expected: Any, seconds: float = 10.0, wait: float = 0.25) -> Any:
    """run_and_expect with a bound in seconds; fails the test with the last difference."""
    ok, result, diff = run_and_expect(func, expected, count=max(1, int(seconds / wait)), wait=wait)
    assert ok, f"after {seconds:g} s: {diff}"
    return result


def record(request: pytest.FixtureRequest, name: str, value: Any, unit: str = "") -> None:
    """A measurement: in the JUnit XML (property) and in the terminal summary."""
    request.node.user_properties.append((name, value))
    request.config.stash[MEASURES].append((request.node.name, name, value, unit))
