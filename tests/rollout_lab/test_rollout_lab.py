"""`crossnet rollout --lab` on a running dev lab while traffic flows: the safe order loses
nothing; the same change applied the naive way (everything at once, no drain) does.

One lab for the package (conftest.py: brought up in a private state directory, taken down
at the end).
Each case: a 20 ms ping and a paced, SHA-256-checked 50 MiB TCP transfer from the
datacenter host to the VPC host, the change run meanwhile, then the counts. Marked
`lab`; the other classes are in test_classes_lab.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from network.lab.readiness import wait_ready
from network.lab.runtime import open_lab
from network.lab.system import in_ns
from network.rollout.execute import execute_naive
from tests.rollout_lab import scenarios
from tests.rollout_lab.harness import (
    ROOT,
    STACK,
    Lab,
    edit_stack,
    progress,
    rollout,
    settle,
    start_traffic,
)

pytestmark = pytest.mark.lab


_psk = scenarios.psk  # (the builders are shared with the bench: scenarios.py)
_add_vpc = scenarios.add_vpc


# ---------------------------------------------------------------- PSK rotation
def test_psk_rotation_safe_order_loses_nothing(lab: Lab) -> None:
    edit_stack(lab, _psk(("dc1-t1", "dc1-t2"), ("RotatedKeyOne1", "RotatedKeyTwo2")))
    traffic = start_traffic()
    t0 = time.monotonic()
    code = rollout(lab)
    took = time.monotonic() - t0
    m = traffic.finish()
    print(f"psk safe: rollout {took:.1f} s, {m}")
    assert code == 0
    p = progress(lab)
    assert p["status"] == "done" and p["steps"] == {"1": "done", "2": "done"}
    assert oct((lab.state / STACK / "rollout" / "progress.json").stat().st_mode & 0o777) == "0o600"
    assert m["transfer"]["ok"], m["transfer"]
    assert m["bytesLost"] == 0
    assert m["lost"] == 0, m
    # The lab matches the new stack: both routers' keys are the new ones, every check green.
    rt = open_lab(STACK)
    wait_ready(rt, 30)
    conf = (rt.router_dir("dc1-edge1") / "conf.d" / "dc1-edge1-app-1.conf").read_text()
    assert "RotatedKeyOne1" in conf
    # A second run: nothing left to roll out, nothing changed.
    assert rollout(lab) == 0


def test_psk_rotation_naive_order_loses_traffic(lab: Lab) -> None:
    """Negative control: both tunnels' keys changed on the AWS side and the router at once."""
    path = edit_stack(lab, _psk(("dc1-t1b", "dc1-t2b"), ("NaiveKeyOne1", "NaiveKeyTwo2")))
    traffic = start_traffic()
    execute_naive(STACK, path, print)
    m = traffic.finish()
    print(f"psk naive: {m}")
    settle()
    assert m["lost"] > 0 or not m["transfer"]["ok"], m


# ---------------------------------------------------------------- add a VPC
def test_add_vpc_safe_order_loses_nothing_and_reaches_the_new_vpc(lab: Lab) -> None:
    edit_stack(lab, _add_vpc("web", "10.17.0.0/16", 64513))
    traffic = start_traffic()
    code = rollout(lab)
    m = traffic.finish()
    print(f"add-vpc safe: {m}")
    assert code == 0
    assert m["transfer"]["ok"] and m["bytesLost"] == 0, m
    assert m["lost"] == 0, m
    rt = open_lab(STACK)
    wait_ready(rt, 60)  # every planned tunnel, session and route, the new VPC's included
    web = next(h for h in rt.lab.vpc_hosts() if h.name == "web")
    dc = rt.lab.dc_hosts()[0]
    ping = ["ping", "-n", "-q", "-c", "3", "-i", "0.2", "-W", "1", "-I", dc.address, web.address]
    assert subprocess.run(in_ns(dc.ns, ping), check=False).returncode == 0


def test_add_vpc_naive_order_loses_nothing_either(lab: Lab) -> None:
    """The naive order (the new VPC's connection applied and taken into service at once,
    no drain, no checks) measured the same way. An addition moves no existing traffic,
    so it loses nothing either: the class has no order to get wrong for a flow the change
    does not remove (the PSK case is the negative control showing the harness sees loss)."""
    path = edit_stack(lab, _add_vpc("api", "10.18.0.0/16", 64514))
    traffic = start_traffic()
    execute_naive(STACK, path, print)
    m = traffic.finish()
    print(f"add-vpc naive: {m}")
    settle()
    assert m["transfer"]["ok"] and m["bytesLost"] == 0 and m["lost"] == 0, m


def test_a_rollout_killed_between_steps_resumes_where_it_stopped(lab: Lab) -> None:
    """SIGKILL once step 1 is recorded done; the next `rollout --lab` resumes at step 2."""
    edit_stack(lab, _psk(("dc1-t1c", "dc1-t2c"), ("ResumedKeyOne1", "ResumedKeyTwo2")))
    path = lab.state / STACK / "rollout" / "progress.json"
    old = progress(lab)["rolloutSha256"] if path.exists() else None
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "network.cli", "rollout", "--stack", STACK, "--lab"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        now = progress(lab) if path.exists() else None
        if now and now["rolloutSha256"] != old and now["steps"].get("1") == "done":
            break
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    p = progress(lab)
    assert p["status"] == "running" and p["steps"].get("1") == "done", p
    assert p["steps"].get("2") != "done"
    assert rollout(lab) == 0
    p = progress(lab)
    assert p["status"] == "done" and p["steps"] == {"1": "done", "2": "done"}
    rt = open_lab(STACK)
    wait_ready(rt, 60)
    conf = (rt.router_dir("dc1-edge1") / "conf.d" / "dc1-edge1-app-2.conf").read_text()
    assert "ResumedKeyTwo2" in conf
