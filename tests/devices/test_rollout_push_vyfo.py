"""`crossnet rollout --push-step` to a VyOS and a FortiOS router over real SSH: netmiko's own
`vyos` and `fortinet` drivers against the fake routers of fake_device.py, whose running
config the pushed lines change as the CLIs do (fake_cli.py: VyOS's candidate and commit,
FortiOS's blocks applied at `end`, its datasource checks).

The step is prod's PSK rotation of fra-edge2-hub tunnel 2 (fra-edge2: FortiOS in prod,
VyOS in the same stack with the platform changed): drain, routers (the new key), restore;
the step's checks of fra-edge2 read its recordings (fra-edge1's are left out: one fake).
After each phase the router's config, read back through its own `show configuration
commands` / `show`, is the phase's render (hier_config, both ways). Without `--yes`
nothing is sent; a line the router refuses stops the push there, exit 1, and nothing after
it is sent. Needs root and `ip` (a namespace for the fake router).
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from network.contract import Router, parse_outputs
from network.devices.drift import RENDERED_FILE, config_drift, running_config
from network.devices.session import Target, open_session
from network.render import render_router
from network.state import PROJECT_DIR
from tests.devices import test_devices_session as base
from tests.devices.stack_recording import write_recording
from tests.devices.test_devices_session import DEVICE, HERE, Device
from tests.devices.test_rollout_verify import write_site
from tests.unit.test_review_support import stack_config
from tests.unit.test_rollout import NET, applied

pytestmark = base.pytestmark
net = base.net
keys = base.keys
STACK = "prod"
ROUTER = "fra-edge2"
NEW_KEY = "RotatedSecret" * 3
TIMEOUT = 120  # the whole command; each SSH step has its own bound
ENC = "ENC 4mTq9cZpXk1vW0y8aN3bLq=="  # a key as FortiOS shows it
# The line each router refuses in the refused-line case (the drain's second block/line).
REFUSE = {"vyos": "route-map export", "fortios": "set route-map-out"}


def rotation(platform: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """rollout.json of the rotation with fra-edge2 on `platform`, the applied outputs, and
    the outputs after step 1's pulumi up (the new key)."""
    from network.rollout import Inputs, plan_rollout

    old = stack_config(STACK)
    old[NET]["datacenters"]["fra"]["routers"]["edge2"]["platform"] = platform
    new = copy.deepcopy(old)
    new["crossnet:rot"] = NEW_KEY
    new[NET]["connections"]["fra-edge2-hub"]["tunnel2"] = {"presharedKeySecret": "rot"}
    snap, outputs = applied(STACK, old)
    r = plan_rollout(Inputs(STACK, new, {"config": new}, snap, outputs))
    after = copy.deepcopy(outputs)
    after["presharedKeys"]["fra-edge2-hub/2"] = NEW_KEY
    return r.as_json(), outputs, after


def router(outputs: dict[str, Any]) -> Router:
    return parse_outputs(outputs, "test").routers[ROUTER]


def target(outputs: dict[str, Any], drained: frozenset[str]) -> str:
    r = router(outputs)
    return render_router(r, drained=drained)[RENDERED_FILE[r.platform]]


def device_view(platform: str, text: str) -> str:
    """A render as the router holds it: FortiOS's keys encrypted (VyOS shows its own)."""
    return (
        re.sub(r"set psksecret \S+", f"set psksecret {ENC}", text)
        if platform == "fortios"
        else text
    )


class Site:
    def __init__(self, tmp: Path, platform: str, plan_json: dict[str, Any], entry: Any) -> None:
        self.tmp, self.platform, self.plan = tmp, platform, plan_json
        self.log = tmp / "config.log"
        self.entry = entry
        self.drained = frozenset(plan_json["steps"][0]["drained"])

    def crossnet(
        self, phase: str, *extra: str, stdin: str = ""
    ) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "network.cli", "rollout", "--stack", STACK]
        argv += ["--inventory", str(self.tmp / "inventory.yaml"), "--push-step", "1"]
        argv += ["--phase", phase, "--check-timeout", "5", *extra]
        env = {**os.environ, "CROSSNET_STATE_DIR": str(self.tmp / "state"), "COLUMNS": "200"}
        return subprocess.run(
            argv, cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=TIMEOUT,
            input=stdin,
        )  # fmt: skip

    def running(self) -> str:
        """The router's config through its own `show configuration commands` / `show`."""
        with open_session(self.platform, self.entry) as s:
            return running_config(self.platform, s.run)

    def log_lines(self) -> list[str]:
        return self.log.read_text().splitlines()


def assert_same(platform: str, want: str, got: str) -> None:
    """`got` is `want` for hier_config both ways (keys masked: FortiOS shows them encrypted)."""
    names: set[str] = set()
    there = config_drift(ROUTER, platform, want, got, names)
    back = config_drift(ROUTER, platform, got, want, names)
    assert there.clean and back.clean, (there.remediation, back.remediation)


# netmiko's vyos driver reads each config-mode check for 2 s of silence (7 per push):
# about 40 s a phase, so VyOS runs with the slow cases (make test-slow).
@pytest.fixture(params=[pytest.param("vyos", marks=pytest.mark.slow), "fortios"])
def site(
    net: None, keys: dict[str, Path], tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Site]:
    """fra-edge2 on `request.param`, running the applied render (refusing REFUSE's line
    when the test asks for `refusing`, the soft clear for `refusing_clear`)."""
    platform = str(request.param)
    plan_json, before, after = rotation(platform)
    for step in plan_json["steps"]:  # fra-edge1's (Linux) checks: not this fake's
        step["checks"] = [c for c in step["checks"] if c.get("router") == ROUTER]
    entry = {
        "target": f"ssh://netops@{DEVICE}",
        "identity_file": str(keys["client"]),
        "known_hosts": str(keys["known_hosts"]),
        "timeout": "3",
        "read_timeout": "10",
    }
    write_site(tmp_path, before, plan_json, entry)
    (tmp_path / "after.json").write_text(json.dumps(after))
    (tmp_path / "running.cfg").write_text(device_view(platform, target(before, frozenset())))
    rec = write_recording(platform, router(after), tmp_path / "rec")
    (tmp_path / "config.log").write_text("")
    refuse = {"refusing": REFUSE[platform], "refusing_clear": "execute router clear"}
    marker = next((v for k, v in refuse.items() if k in request.fixturenames), "")
    cmd = [
        "ip", "netns", "exec", base.NS, sys.executable, str(HERE / "fake_device.py"),
        "--platform", platform, "--listen", DEVICE, "--port", "22",
        "--host-key", str(keys["host"]), "--authorized-key", str(keys["client.pub"]),
        "--recording", str(rec), "--running", str(tmp_path / "running.cfg"),
        "--config-log", str(tmp_path / "config.log"),
        *(("--refuse", marker) if marker else ()),
    ]  # fmt: skip
    dev = Device.started(cmd)
    t = Target(DEVICE, 22, "netops", keys["client"], keys["known_hosts"], 3, 10)
    yield Site(tmp_path, platform, plan_json, t)
    dev.stop()


def test_drain_routers_restore_leave_the_router_running_each_phases_render(site: Site) -> None:
    _, before, after = rotation(site.platform)
    first = site.running()
    assert_same(site.platform, target(before, frozenset()), first)

    r = site.crossnet("drain", stdin="n\n")  # not confirmed: nothing sent
    assert r.returncode == 1 and "nothing pushed" in r.stdout, r.stdout + r.stderr
    assert site.log_lines() == [] and site.running() == first

    r = site.crossnet("drain", "--yes")
    screen = r.stdout + r.stderr
    assert r.returncode == 0, screen
    assert "drain of step 1 pushed" in screen and "Traceback" not in screen
    drained = site.running()
    assert_same(site.platform, target(before, site.drained), drained)
    assert drained != first
    clear = {
        "vyos": "exec: reset ip bgp 169.254.219.117 soft",
        "fortios": "exec: execute router clear bgp ip 169.254.219.117 soft",
    }[site.platform]
    assert site.log_lines()[-1] == clear
    if site.platform == "vyos":  # the candidate committed and saved, then the soft reset
        assert site.log_lines()[-4:-1] == ["commit", "save", "exit"]

    r = site.crossnet("routers", "--yes", "--outputs", str(site.tmp / "after.json"))
    screen = r.stdout + r.stderr
    assert r.returncode == 0, screen
    assert NEW_KEY not in screen and "routers of step 1 pushed" in screen
    now = site.running()
    assert_same(site.platform, target(after, site.drained), now)
    key = {"vyos": f"secret '{NEW_KEY}'", "fortios": f"set psksecret {NEW_KEY}"}[site.platform]
    assert now.count(key) == 1  # the rotated tunnel's key, exactly once
    assert ENC in now if site.platform == "fortios" else "AppliedSecret" in now  # tunnel 1's

    r = site.crossnet("restore", "--yes", "--outputs", str(site.tmp / "after.json"))
    screen = r.stdout + r.stderr
    assert r.returncode == 0, screen
    restored = site.running()
    assert_same(site.platform, target(after, frozenset()), restored)
    gone = {"vyos": "set policy route-map", "fortios": "config router route-map"}
    assert gone[site.platform] not in restored  # the drain's route-maps deleted, not emptied


@pytest.fixture()
def refusing() -> bool:
    """Asked for by a test: its router refuses REFUSE's line."""
    return True


def test_a_refused_line_stops_the_push_there(refusing: bool, site: Site) -> None:
    """The router refuses the neighbour's outbound route-map: exit 1 naming the line and
    the router's answer; nothing after it is sent (no commit, no soft clear)."""
    first = site.running()
    r = site.crossnet("drain", "--yes")
    screen = r.stdout + r.stderr
    assert r.returncode == 1, screen
    assert "FAIL: push stopped: fra-edge2:" in screen and "refused" in screen, screen
    assert "Traceback" not in screen
    assert "to go back: crossnet rollout --stack prod" in screen
    sent = site.log_lines()
    at = next(i for i, ln in enumerate(sent) if REFUSE[site.platform] in ln)
    after_it = [ln.strip() for ln in sent[at + 1 :]]
    if site.platform == "vyos":
        assert "is not valid" in screen, screen
        assert after_it == ["exit", "exit discard"]  # the candidate dropped
        assert site.running() == first
    else:
        assert "Command fail. Return code -61" in screen, screen
        assert after_it == ["abort"]  # the open bgp block dropped
        now = site.running()  # the route-map block ended before it: applied
        assert 'edit "aws14045-out"' in now and "set route-map-in" not in now
    assert not any(ln.startswith("exec: ") for ln in sent)


@pytest.mark.slow
@pytest.mark.parametrize("site", ["vyos"], indirect=True)
def test_a_vyos_commit_the_router_refuses_is_discarded(site: Site) -> None:
    """A neighbour naming a route-map that does not exist: VyOS refuses the commit, the
    candidate is discarded (`exit discard`), `save` never sent, the running config as it was."""
    from network.devices.session import SessionError

    first = site.running()
    line = "set protocols bgp neighbor 169.254.219.117 address-family ipv4-unicast route-map import 'nope'"  # noqa: E501
    with pytest.raises(SessionError) as e, open_session("vyos", site.entry) as s:
        s.configure((line,), ("commit", "save"))
    assert e.value.kind == "refused"
    why = '[ protocols bgp ] / Route-map "nope" does not exist! / [[protocols bgp]] failed'
    assert f"did not take the commit: {why} / Commit failed;" in str(e.value)
    assert "the candidate was discarded" in str(e.value)
    assert site.log_lines() == [line, "commit", "exit", "exit discard"]
    assert site.running() == first


@pytest.fixture()
def refusing_clear() -> bool:
    """Asked for by a test: its router refuses the soft clear."""
    return True


@pytest.mark.parametrize("site", ["fortios"], indirect=True)
def test_a_soft_clear_the_router_refuses_fails_the_push(refusing_clear: bool, site: Site) -> None:
    """The drain's lines are applied, then the router does not know the soft clear: exit 1
    naming it, never "pushed"."""
    r = site.crossnet("drain", "--yes")
    screen = r.stdout + r.stderr
    assert r.returncode == 1, screen
    assert "the config is applied, but execute router clear bgp ip 169.254.219.117 soft" in screen
    assert "Unknown action 0" in screen and "pushed:" not in screen
    _, before, _ = rotation(site.platform)
    assert_same(site.platform, target(before, site.drained), site.running())
