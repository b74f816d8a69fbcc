"""The nightly's path, on the lab: `crossnet check --inventory` with ssh:// targets.

The lab's routers and hosts run sshd (network/lab/ssh.py); `crossnet check` runs the
very suite through testinfra's SSH backend, as .github/workflows/nightly.yml's
real-hosts job does, and the same matrix and JUnit XML come out. Then the failures a
nightly meets, each a clear result in the matrix and the JUnit XML, bounded, never a
hang or a traceback: an unreachable host, a wrong key, a host-key mismatch, a router
whose daemons are down.

Not one of `crossnet check`'s own checks (network/lab/check.py NOT_CHECKS): it runs
`crossnet check` itself. It brings up its own lab of the stack and takes it down.
"""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from network.lab import control
from network.lab.runtime import Running, open_lab, read_state
from network.lab.ssh import (
    SshTarget,
    client_config,
    keygen,
    known_hosts_line,
    ssh_dir,
    start_sshd,
    stop_sshd,
    targets,
)
from network.lab.system import stop
from network.state import PROJECT_DIR, outputs_path

pytestmark = pytest.mark.lab
CHECK_TIMEOUT = 300  # the whole `crossnet check` run; each ssh step has its own bound


@dataclass
class SshLab:
    rt: Running
    inventory: Path
    outputs: Path
    started: bool


@pytest.fixture(scope="module")
def ssh_lab(request: pytest.FixtureRequest) -> Iterator[SshLab]:
    from network.lab.system import missing_requirements

    missing = missing_requirements()
    if missing:
        pytest.skip(f"the local lab cannot run here: {'; '.join(missing)}")
    if not Path("/usr/sbin/sshd").exists():
        pytest.skip("sshd is missing: apt-get install openssh-server (scripts/setup.sh)")
    stack = request.config.getoption("--crossnet-stack")
    state = read_state(stack)
    if state is not None:
        pytest.skip(f"a lab of {stack} is running: this module needs its own")
    out = outputs_path(stack)
    if not out.exists():
        from network.offline.apply import offline_up

        offline_up(stack)
    control.up(stack, outputs=out)
    try:
        rt = open_lab(stack)
        yield SshLab(rt, start_sshd(rt), out, True)
        stop_sshd(rt)
    finally:
        control.down(stack)


@dataclass
class Run:
    code: int
    output: str
    cases: dict[str, tuple[str, str]]  # test name -> (outcome, message)
    summary: str


def _check(lab: SshLab, inventory: Path, report: Path, *pytest_args: str) -> Run:
    argv = [sys.executable, "-m", "network.cli", "check", "--stack", lab.rt.stack]
    argv += ["--inventory", str(inventory), "--outputs", str(lab.outputs)]
    argv += ["--report-dir", str(report), "--", *pytest_args]
    r = subprocess.run(argv, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=CHECK_TIMEOUT)
    return _read(r, report)


def _read(r: subprocess.CompletedProcess[str], report: Path) -> Run:
    cases: dict[str, tuple[str, str]] = {}
    for case in ET.parse(report / "junit.xml").getroot().iter("testcase"):
        outcome, message = "passed", ""
        for kind in ("failure", "error", "skipped"):
            el = case.find(kind)
            if el is not None:
                outcome, message = kind, el.get("message", "")
        cases[case.get("name", "")] = (outcome, message)
    return Run(r.returncode, r.stdout + r.stderr, cases, (report / "summary.txt").read_text())


def _variant(lab: SshLab, tmp: Path, ssh_config: str, edit: Any = None) -> Path:
    """The lab's ssh inventory with another ssh_config (and an edit of the inventory)."""
    inv = yaml.safe_load(lab.inventory.read_text())
    (tmp / "ssh_config").write_text(ssh_config)
    inv["ssh"]["ssh_config"] = str(tmp / "ssh_config")
    if edit is not None:
        edit(inv)
    path = tmp / "inventory.yaml"
    path.write_text(yaml.safe_dump(inv, sort_keys=False))
    return path


def _control_dir() -> Path:
    """A variant's own multiplexing sockets (short path: a unix socket's is bounded)."""
    return Path(tempfile.mkdtemp(prefix="cxs-", dir="/tmp"))


def _router_target(lab: SshLab) -> SshTarget:
    return next(t for t in targets(lab.rt) if t.ns == lab.rt.lab.routers[0].ns)


def _no_traceback(run: Run) -> None:
    assert "Traceback" not in run.output, run.output[-2000:]
    assert "RuntimeError" not in run.output, run.output[-2000:]


def _nightly(lab: SshLab, report: Path) -> Run:
    """scripts/nightly.sh, the workflow's real-hosts step, with this checkout's crossnet."""
    argv = ["scripts/nightly.sh", lab.rt.stack, str(lab.inventory), str(lab.outputs)]
    env = {**os.environ, "CROSSNET": f"{sys.executable} -m network.cli"}
    r = subprocess.run(
        [*argv, str(report)],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=CHECK_TIMEOUT,
    )
    return _read(r, report)


def test_nightly_over_ssh_gives_the_same_matrix(ssh_lab: SshLab, tmp_path: Path) -> None:
    """The nightly's step (scripts/nightly.sh) against the lab over SSH: green, the
    matrix, JUnit XML."""
    run = _nightly(ssh_lab, tmp_path)
    _no_traceback(run)
    bad = {n: c for n, c in run.cases.items() if c[0] in ("failure", "error")}
    assert run.code == 0 and not bad, bad or run.output[-2000:]
    passed = [n for n, c in run.cases.items() if c[0] == "passed"]
    assert any(n.startswith("test_bgp_sessions_established") for n in passed)
    assert any(n.startswith("test_ping_datacenter_to_vpc") for n in passed)
    assert any(n.startswith("test_aws_telemetry_agrees") for n in passed)
    assert "against inventory" in run.summary and "pass (" in run.summary


def test_unreachable_host_is_a_clear_failure(ssh_lab: SshLab, tmp_path: Path) -> None:
    """A datacenter host nobody answers for (inside the lab's LAN): ssh gives up after
    its ConnectTimeout; the pair's tests fail saying so; the router's still pass."""
    lab = ssh_lab
    host = lab.rt.lab.dc_hosts()[0]
    net = ipaddress.ip_interface(f"{host.address}/{host.prefixlen}").network
    ghost = str(net.network_address + 250)
    ts = [*targets(lab.rt), SshTarget("ghost", host.ns, ghost)]
    d = ssh_dir(lab.rt)
    conf = client_config(_control_dir(), ts, d / "id_ed25519", d / "known_hosts")

    def edit(inv: dict[str, Any]) -> None:
        inv["datacenter_hosts"][host.name]["target"] = f"ssh://root@{ghost}"

    run = _check(
        lab, _variant(lab, tmp_path, conf, edit), tmp_path, "-k", "ping_datacenter or bgp_sess"
    )
    _no_traceback(run)
    assert run.code == 1
    ping = next(c for n, c in run.cases.items() if n.startswith("test_ping_datacenter"))
    # The pair's probes are gathered once per run (network/lab/batch.py), so the
    # failure shows in the test's setup (a JUnit error) rather than in its body.
    assert ping[0] in ("failure", "error") and "ssh failed" in ping[1] and ghost in ping[1], ping
    assert any(k in ping[1] for k in ("timed out", "No route", "unreachable", "Connection")), ping
    bgp = next(c for n, c in run.cases.items() if n.startswith("test_bgp_sessions"))
    assert bgp[0] == "passed", bgp
    assert "FAIL" in run.summary


def test_wrong_key_is_a_clear_failure(ssh_lab: SshLab, tmp_path: Path) -> None:
    """A key the hosts do not authorise: every test fails with ssh's 'Permission denied'."""
    lab = ssh_lab
    d = ssh_dir(lab.rt)
    keygen(tmp_path / "other_key", "not-authorised")
    conf = client_config(_control_dir(), targets(lab.rt), tmp_path / "other_key", d / "known_hosts")
    run = _check(lab, _variant(lab, tmp_path, conf), tmp_path, "-k", "bgp_sessions")
    _no_traceback(run)
    [(outcome, message)] = [c for n, c in run.cases.items() if n.startswith("test_bgp")]
    assert outcome == "failure" and "Permission denied" in message, message


def test_host_key_mismatch_is_a_clear_failure(ssh_lab: SshLab, tmp_path: Path) -> None:
    """The router presents a host key known_hosts does not hold for it: ssh refuses
    (host-key checking stays on) and the test says so."""
    lab = ssh_lab
    d = ssh_dir(lab.rt)
    router = _router_target(lab)
    impostor = keygen(tmp_path / "impostor", "impostor")
    lines = [
        ln
        for ln in (d / "known_hosts").read_text().splitlines()
        if not ln.startswith(f"[{router.address}]:")
    ]
    lines.append(known_hosts_line(router.address, impostor))
    (tmp_path / "known_hosts").write_text("\n".join(lines) + "\n")
    conf = client_config(
        _control_dir(), targets(lab.rt), d / "id_ed25519", tmp_path / "known_hosts"
    )
    run = _check(lab, _variant(lab, tmp_path, conf), tmp_path, "-k", "bgp_sessions")
    _no_traceback(run)
    [(outcome, message)] = [c for n, c in run.cases.items() if n.startswith("test_bgp")]
    assert outcome == "failure" and "Host key verification failed" in message, message


def test_router_with_its_daemons_down_is_a_clear_failure(ssh_lab: SshLab, tmp_path: Path) -> None:
    """The router answers SSH but its FRR and charons are stopped: the tunnel and BGP
    tests fail at once with the tools' own words. (Last: the module's lab goes after.)"""
    lab = ssh_lab
    router = lab.rt.lab.routers[0]
    dc_ends = {e.ns for e in lab.rt.lab.ends if e.side == "dc" and e.router_ns == router.ns}
    daemons = [p for p in lab.rt.state.procs if p.ns == router.ns or p.ns in dc_ends]
    assert daemons, "no daemons recorded for the router"
    stop(daemons)
    run = _check(lab, lab.inventory, tmp_path, "-k", "bgp_sessions or ike_and_child")
    _no_traceback(run)
    bgp = [c for n, c in run.cases.items() if n.startswith("test_bgp")]
    sas = [c for n, c in run.cases.items() if n.startswith("test_ike_and_child")]
    assert bgp and all(o == "failure" and "vtysh" in m for o, m in bgp), bgp
    assert sas and all(o == "failure" and "swanctl" in m for o, m in sas), sas
    assert "FAIL" in run.summary
