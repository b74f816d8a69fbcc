"""`crossnet check --inventory` reads non-Linux routers through netmiko: prod's IOS-XE,
Junos and FortiOS routers, each a fake device (fake_device.py) in a namespace replaying its
recordings re-addressed to prod's tunnels, neighbours and prefixes
(stack_recording.py).

As planned, their tunnel, BGP and prefix rows pass; a recording with one fault
fails exactly that row, with its reason, in the matrix (summary.txt) and the JUnit
XML; an unreachable router and a refused key fail that router's rows with one line,
within the inventory's timeout. Three runs of `crossnet check` (about 10 s each): two
piped, one with its stderr on a pseudo-terminal (the live bar). Needs root and `ip`;
run under the lab lock (`flock /tmp/crossnet-lab.lock pytest tests/devices`).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from network.state import PROJECT_DIR
from tests.conftest import fake_stack_outputs as fake_outputs
from tests.devices import test_devices_session as base
from tests.devices.stack_recording import write_recording
from tests.devices.test_devices_session import DEVICE, HERE, NOBODY, NS, NS_IF, Device, sh

pytestmark = base.pytestmark
net = base.net  # the fake devices' namespace (module scope)
keys = base.keys  # host and client keys

SECOND = DEVICE.rsplit(".", 1)[0] + ".4"  # the Junos router's address, beside DEVICE
THIRD = DEVICE.rsplit(".", 1)[0] + ".5"  # the FortiOS router's
ROUTERS = {
    "ash-edge1": ("iosxe", DEVICE),
    "ash-edge2": ("junos", SECOND),
    "fra-edge2": ("fortios", THIRD),
}
CHECK_TIMEOUT = 240  # the whole `crossnet check`; each session is bounded by `timeout`
SESSION_TIMEOUT = 3


@pytest.fixture(scope="module")
def site(net: None, keys: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both routers' addresses in the device namespace; known_hosts for both; prod's
    outputs (fake AWS values) with the platforms prod's stack gives them."""
    for address in (SECOND, THIRD):
        sh("ip", "-n", NS, "addr", "add", f"{address}/29", "dev", NS_IF)
    d = tmp_path_factory.mktemp("site")
    host = (keys["host.pub"]).read_text().split()
    (d / "known_hosts").write_text(
        "".join(f"{addr} {host[0]} {host[1]}\n" for _, addr in ROUTERS.values())
    )
    outputs, _ = fake_outputs("prod")
    assert {k: outputs.routers[k].platform for k in ROUTERS} == {
        k: p for k, (p, _) in ROUTERS.items()
    }
    (d / "outputs.json").write_text(json.dumps(outputs.raw))
    (d / "outputs.json").chmod(0o600)
    return d


def start_at(platform: str, listen: str, keys: dict[str, Path], recording: Path) -> Device:
    cmd = [
        "ip", "netns", "exec", NS, sys.executable, str(HERE / "fake_device.py"),
        "--platform", platform, "--listen", listen, "--port", "22",
        "--host-key", str(keys["host"]), "--authorized-key", str(keys["client.pub"]),
        "--recording", str(recording),
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    if proc.stdout.readline().strip() != "ready":
        proc.kill()
        raise AssertionError(
            f"fake device did not start: {proc.stderr.read() if proc.stderr else ''}"
        )
    return Device(proc)


@dataclass
class Run:
    code: int
    output: str
    cases: dict[str, tuple[str, str]]  # test name -> (outcome, message)
    summary: str


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


def _on_a_terminal(argv: list[str]) -> subprocess.CompletedProcess[str]:
    """`argv` with its stderr on a pseudo-terminal (as a user's shell), stdout piped."""
    import pty
    import threading

    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "CROSSNET_NO_PROGRESS")}
    env["COLUMNS"] = "160"
    screen: list[bytes] = []

    def read() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the terminal's last writer is gone
                return
            if not data:
                return
            screen.append(data)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        with subprocess.Popen(
            argv, cwd=PROJECT_DIR, stdout=subprocess.PIPE, stderr=slave, text=True, env=env
        ) as proc:
            os.close(slave)
            out, _ = proc.communicate(timeout=CHECK_TIMEOUT)
        reader.join(10)
    finally:
        os.close(master)
    text = b"".join(screen).decode(errors="replace")
    return subprocess.CompletedProcess(argv, proc.returncode, out, text)


def check(site: Path, keys: dict[str, Path], tmp: Path, tty: bool = False, **faults: str) -> Run:
    """`crossnet check --stack prod` against the two fake routers, each with its fault
    (a recording's: tunnel-down, neighbour-idle, prefix-missing; or the session's:
    unreachable, auth). Its stdout and stderr are pipes, or stderr is a terminal."""
    outputs, _ = fake_outputs("prod")
    routers: dict[str, Any] = {}
    devices: list[Device] = []
    try:
        for key, (platform, address) in ROUTERS.items():
            fault = faults.get(key.replace("-", "_"), "")
            entry = {
                "target": f"ssh://netops@{NOBODY if fault == 'unreachable' else address}",
                "identity_file": str(keys["other" if fault == "auth" else "client"]),
                "known_hosts": str(site / "known_hosts"),
            }
            routers[key] = entry
            if fault in ("unreachable", "auth"):
                fault = ""
            if entry["target"].endswith(address):
                rec = write_recording(platform, outputs.routers[key], tmp / key, fault)
                devices.append(start_at(platform, address, keys, rec))
        inventory = {
            "stack": "prod",
            "kind": "ssh",
            "aws_view": False,
            "ssh": {"timeout": SESSION_TIMEOUT, "read_timeout": 10},
            "routers": routers,
        }
        (tmp / "inventory.yaml").write_text(yaml.safe_dump(inventory, sort_keys=False))
        argv = [sys.executable, "-m", "network.cli", "check", "--stack", "prod", "--quick"]
        argv += [
            "--inventory",
            str(tmp / "inventory.yaml"),
            "--outputs",
            str(site / "outputs.json"),
        ]
        argv += ["--report-dir", str(tmp / "report")]
        if tty:
            r = _on_a_terminal(argv)
        else:
            r = subprocess.run(
                argv, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=CHECK_TIMEOUT
            )
    finally:
        for d in devices:
            d.stop()
    return _read(r, tmp / "report")


def rows(key: str) -> list[str]:
    conn = f"{key}-hub"
    return [
        f"test_ike_and_child_sa_established[{conn}/1]",
        f"test_ike_and_child_sa_established[{conn}/2]",
        f"test_bgp_sessions_established[{key}]",
        f"test_datacenter_learns_exactly_the_planned_aws_prefixes[{key}]",
        f"test_datacenter_advertises_exactly_the_planned_prefixes[{key}]",
    ]


ALL = rows("ash-edge1") + rows("ash-edge2")


def area(run: Run, name: str) -> str:
    """The matrix's cell for an area ("other areas": one line each)."""
    m = re.search(rf"^{name}\s+(.+)$", run.summary, re.M)
    return m[1] if m else f"no {name} line in the summary"


def failed(run: Run) -> dict[str, str]:
    return {k: m for k, (o, m) in run.cases.items() if o in ("failure", "error")}


ALL = [r for key in ROUTERS for r in rows(key)]


def _n2(key: str) -> str:
    return fake_outputs("prod")[0].routers[key].connections[0].tunnels[1].aws_inside_ip


def test_routers_as_planned_pass_their_rows(
    site: Path, keys: dict[str, Path], tmp_path: Path
) -> None:
    run = check(site, keys, tmp_path)
    assert run.code == 0, run.output[-3000:]
    assert {k: run.cases[k][0] for k in ALL} == dict.fromkeys(ALL, "passed")
    # the Linux router is not in this inventory: skipped, saying so
    assert run.cases["test_bgp_sessions_established[fra-edge1]"] == (
        "skipped",
        "router fra-edge1 is not in the inventory",
    )
    assert area(run, "tunnels") == "pass (6/6)"
    assert area(run, "bgp") == "pass (3/3)"
    assert area(run, "routes") == "pass (6/6)"
    # piped: pytest's own line-oriented output, no terminal control, no pytest.txt
    assert "15 passed, 34 skipped" in run.output
    assert "\x1b[" not in run.output
    assert not (tmp_path / "report" / "pytest.txt").exists()


def test_a_fault_in_the_recording_fails_exactly_its_rows(
    site: Path, keys: dict[str, Path], tmp_path: Path
) -> None:
    run = check(
        site,
        keys,
        tmp_path,
        ash_edge1="tunnel-down",
        ash_edge2="neighbour-idle",
        fra_edge2="prefix-missing",
    )
    assert run.code == 1
    bad = failed(run)
    assert bad == {
        "test_ike_and_child_sa_established[ash-edge1-hub/2]": (
            "Failed: ash-edge1 (iosxe): ash-edge1-hub/2: IKE and IPsec SA not up towards "
            "203.0.113.10 (DOWN-NEGOTIATING, IKE SA Inactive, 0 IPsec SAs)"
        ),
        "test_bgp_sessions_established[ash-edge2]": (
            f"Failed: ash-edge2 (junos): ash-edge2-hub/2: no BGP neighbour {_n2('ash-edge2')} "
            "in the device's summary (down, or not configured)"
        ),
        "test_datacenter_learns_exactly_the_planned_aws_prefixes[ash-edge2]": (
            "Failed: ash-edge2 (junos): ash-edge2-hub/2: routes received not read"
        ),
        "test_datacenter_advertises_exactly_the_planned_prefixes[ash-edge2]": (
            "Failed: ash-edge2 (junos): ash-edge2-hub/2: routes advertised not read"
        ),
        "test_datacenter_advertises_exactly_the_planned_prefixes[fra-edge2]": (
            f"Failed: fra-edge2 (fortios): fra-edge2-hub/2: 0 prefixes advertised to "
            f"{_n2('fra-edge2')}, planned 1"
        ),
    }
    assert {k: run.cases[k][0] for k in ALL if k not in bad} == {
        k: "passed" for k in ALL if k not in bad
    }
    # the matrix: the areas that failed, and each failure with its reason
    assert area(run, "tunnels") == "FAIL (1/6)"
    assert area(run, "bgp") == "FAIL (1/3)"
    assert area(run, "routes") == "FAIL (3/6)"
    assert "DOWN-NEGOTIATING" in run.summary
    assert "Traceback" not in run.output


def test_on_a_terminal_unreachable_and_refused_routers_fail_their_rows(
    site: Path, keys: dict[str, Path], tmp_path: Path
) -> None:
    """stderr a terminal: the live bar (counts, the test under way) and each failure the
    moment it happens; pytest's own lines go to pytest.txt. An unreachable router and a
    refused key fail each of that router's rows with one line, within the timeout."""
    run = check(
        site, keys, tmp_path, tty=True, ash_edge1="auth", ash_edge2="unreachable", fra_edge2=""
    )
    assert run.code == 1
    bad = failed(run)
    assert set(bad) == {*rows("ash-edge1"), *rows("ash-edge2")}
    refused = (
        f"Failed: ash-edge1 (iosxe) ssh://netops@{DEVICE}: auth: netops@{DEVICE}:22: "
        f"the key {keys['other']} was refused"
    )
    unreachable = (
        f"Failed: ash-edge2 (junos) ssh://netops@{NOBODY}: unreachable: netops@{NOBODY}:22: "
        f"no SSH answer within {SESSION_TIMEOUT} s"
    )
    assert {bad[k] for k in rows("ash-edge1")} == {refused}
    assert {bad[k] for k in rows("ash-edge2")} == {unreachable}
    assert {run.cases[k][0] for k in rows("fra-edge2")} == {"passed"}
    screen = run.output
    assert "\x1b[" in screen  # a terminal's control sequences: the live bar
    assert "crossnet check --stack prod" in screen
    assert "49/49" in screen and "5 passed, 10 failed, 34 skipped" in screen
    for k in rows("ash-edge2"):
        assert f"FAIL {k}: {unreachable[len('Failed: ') :]}" in screen
    # every test is drawn as it starts, its parameters never read as markup
    assert "test_datacenter_advertises_exactly_the_planned_prefixes[fra-edge2]" in screen
    assert "....." not in screen  # pytest's dots are not on the terminal...
    pytest_log = (tmp_path / "report" / "pytest.txt").read_text()
    assert "10 failed, 5 passed, 34 skipped" in pytest_log  # ... but in pytest.txt
    assert area(run, "tunnels") == "FAIL (4/6)"
    assert "Traceback" not in screen
