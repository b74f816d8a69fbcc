"""`crossnet rollout --push-step` over real SSH to a fake IOS-XE router (fake_device.py):
netmiko's session, a real key, a known_hosts file. The router runs step 1's drained render
of prod's PSK rotation (keys as IOS shows them: type 6); the command, its own process,
pushes the routers phase and then the restore, and the router receives exactly the lines
the plan shows (read back from its configuration log), then the phase's checks read it
(its recordings, re-addressed to the stack). A router whose tunnel stays down after the
push fails the check: exit 1. Needs root and `ip` (a namespace for the fake device).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from network.state import PROJECT_DIR
from tests.devices import test_devices_session as base
from tests.devices.stack_recording import write_recording
from tests.devices.test_devices_session import DEVICE, HERE, Device
from tests.devices.test_rollout_push import NEW_KEY, plan, rotation, routers, running
from tests.devices.test_rollout_verify import STACK

pytestmark = base.pytestmark
net = base.net
keys = base.keys
TIMEOUT = 120  # the whole command; each SSH step has its own bound


@pytest.fixture(scope="module")
def planned() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    return rotation()


def start(keys: dict[str, Path], recording: Path, running_file: Path, log: Path) -> Device:
    cmd = [
        "ip", "netns", "exec", base.NS, sys.executable, str(HERE / "fake_device.py"),
        "--platform", "iosxe", "--listen", DEVICE, "--port", "22",
        "--host-key", str(keys["host"]), "--authorized-key", str(keys["client.pub"]),
        "--recording", str(recording), "--running", str(running_file),
        "--config-log", str(log),
    ]  # fmt: skip
    return Device.started(cmd)


@pytest.fixture()
def site(
    net: None,
    keys: dict[str, Path],
    planned: tuple[dict[str, Any], dict[str, Any], dict[str, Any]],
    tmp_path: Path,
) -> Path:
    plan_json, before, after = planned
    d = tmp_path / "state" / STACK
    (d / "rollout").mkdir(parents=True)
    (d / "outputs.json").write_text(json.dumps(before))
    (tmp_path / "after.json").write_text(json.dumps(after))
    (d / "rollout" / "rollout.json").write_text(json.dumps(plan_json))
    entry = {
        "target": f"ssh://netops@{DEVICE}",
        "identity_file": str(keys["client"]),
        "known_hosts": str(keys["known_hosts"]),
        "timeout": 3,
        "read_timeout": 10,
    }
    (tmp_path / "inventory.yaml").write_text(yaml.safe_dump({"routers": {"ash-edge1": entry}}))
    return tmp_path


@pytest.fixture()
def device(
    site: Path, keys: dict[str, Path], request: pytest.FixtureRequest
) -> Iterator[tuple[Path, Path]]:
    """The fake ash-edge1 running `request.param`'s config: (running file, config log)."""
    fault, after_rotation = request.param
    plan_json, before, after = request.getfixturevalue("planned")
    drained = frozenset(plan_json["steps"][0]["drained"])
    outputs = after if after_rotation else before
    (site / "running.cfg").write_text(running(outputs, "ash-edge1", drained))
    rec = write_recording("iosxe", routers(after)["ash-edge1"], site / "rec", fault)
    log = site / "config.log"
    log.write_text("")
    d = start(keys, rec, site / "running.cfg", log)
    yield site / "running.cfg", log
    d.stop()


def crossnet(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "network.cli", "rollout", "--stack", STACK]
    argv += ["--inventory", str(site / "inventory.yaml"), "--outputs", str(site / "after.json")]
    env = {**os.environ, "CROSSNET_STATE_DIR": str(site / "state"), "COLUMNS": "200"}
    return subprocess.run(
        [*argv, *args], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=TIMEOUT
    )


@pytest.mark.parametrize("device", [("", False)], indirect=True)
def test_the_routers_phase_sends_exactly_the_planned_lines_over_ssh(
    site: Path,
    device: tuple[Path, Path],
    planned: tuple[dict[str, Any], dict[str, Any], dict[str, Any]],
) -> None:
    running_file, log = device
    plan_json, _, after = planned
    step = plan_json["steps"][0]
    expected = plan(step, after, "ash-edge1", "routers", running_file.read_text())
    assert expected.lines == (
        "crypto ikev2 keyring ash-edge1-hub-2",
        " peer aws-2",
        f"  pre-shared-key {NEW_KEY}",
    )
    r = crossnet(site, "--push-step", "1", "--phase", "routers", "--check-timeout", "5", "--yes")
    screen = r.stdout + r.stderr
    assert r.returncode == 0, screen
    assert log.read_text().splitlines() == list(expected.lines)
    assert NEW_KEY not in screen and "Traceback" not in screen
    assert "routers of step 1 pushed: 4 check(s) passed" in screen


@pytest.mark.parametrize("device", [("", True)], indirect=True)
def test_the_restore_sends_its_lines_then_the_soft_clears(
    site: Path,
    device: tuple[Path, Path],
    planned: tuple[dict[str, Any], dict[str, Any], dict[str, Any]],
) -> None:
    running_file, log = device
    plan_json, _, after = planned
    expected = plan(plan_json["steps"][0], after, "ash-edge1", "restore", running_file.read_text())
    r = crossnet(site, "--push-step", "1", "--phase", "restore", "--yes")
    assert r.returncode == 0, r.stdout + r.stderr
    got = log.read_text().splitlines()
    assert got == [*expected.lines, *(f"exec: {c}" for c in expected.commands)]
    assert got[-2:] == [
        "exec: clear ip bgp 169.254.63.197 soft in",
        "exec: clear ip bgp 169.254.63.197 soft out",
    ]
    assert "  no neighbor 169.254.63.197 route-map ash-edge1-hub-2-in in" in got


@pytest.mark.parametrize("device", [("tunnel-down", False)], indirect=True)
def test_a_push_the_router_does_not_follow_fails_its_check(
    site: Path, device: tuple[Path, Path]
) -> None:
    """The lines are sent, but the tunnel stays down (its recording): exit 1, the SA
    named, and how to go back."""
    _, log = device
    r = crossnet(site, "--push-step", "1", "--phase", "routers", "--check-timeout", "0", "--yes")
    screen = r.stdout + r.stderr
    assert r.returncode == 1, screen
    assert log.read_text().splitlines()[-1] == f"  pre-shared-key {NEW_KEY}"
    assert [ln.split()[1] for ln in screen.splitlines() if ln.startswith("FAIL ")] == ["ipsec-sa"]
    assert "to go back to step 0's configs: `pulumi up --config-file" in screen
    assert NEW_KEY not in screen


def test_junos_lines_and_commit_over_ssh(
    net: None,
    keys: dict[str, Path],
    planned: tuple[dict[str, Any], dict[str, Any], dict[str, Any]],
    tmp_path: Path,
) -> None:
    """The Junos session's configuration path (netmiko: `configure`, the lines, `commit`,
    `exit configuration-mode`) against the fake Junos router: it receives the drain's
    set lines, then the commit."""
    import copy

    from network.devices.session import Target, open_session

    plan_json, before, _ = planned
    step = copy.deepcopy(plan_json["steps"][0])
    step["drained"], step["drain"] = ["ash-edge2-hub-1"], [{"router": "ash-edge2", "diff": ""}]
    p = plan(step, before, "ash-edge2", "drain", running(before, "ash-edge2", frozenset()))
    assert p.commit == ("commit",) and p.lines
    log = tmp_path / "config.log"
    log.write_text("")
    cmd = [
        "ip", "netns", "exec", base.NS, sys.executable, str(HERE / "fake_device.py"),
        "--platform", "junos", "--listen", DEVICE, "--port", "22",
        "--host-key", str(keys["host"]), "--authorized-key", str(keys["client.pub"]),
        "--recording", str(base.REC / "junos"), "--config-log", str(log),
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    d = Device(proc)
    try:
        t = Target(DEVICE, 22, "netops", keys["client"], keys["known_hosts"], 3, 10)
        with open_session("junos", t) as s:
            out = s.configure(p.lines, p.commit)
    finally:
        d.stop()
    assert log.read_text().splitlines() == [*p.lines, "commit"]
    assert "commit complete" in out
