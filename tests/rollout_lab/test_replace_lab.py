"""Replacing a VPN connection on a running lab while traffic flows: make-before-break
on a transit gateway with one router loses nothing; the naive order (delete + create,
no drain) does.

The stack (`rtgw`) is dev's config with the VPC behind a transit gateway instead of a
VGW: one datacenter router, one connection (`dc1-edge1-hub`), BGP, ECMP. The edit
enables acceleration (pulumi-aws `enable_acceleration`, ForceNew: a new connection,
new outside addresses). The connection is its datacenter's only path, so the rollout
plans make-before-break: a temporary connection `dc1-edge1-hub-mbb` on the same router
comes up drained and is checked; the old connection is drained onto it, destroyed and
created again (`--destroy-target`: the same inside CIDRs, unique per gateway); the
temporary one is drained and removed. Same traffic harness as the PSK and add-VPC
cases (tests/rollout_lab/test_rollout_lab.py): one lab for the module.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from network import cli
from network.lab import traffic
from network.lab.readiness import wait_ready
from network.lab.runtime import open_lab
from network.lab.system import namespaces
from network.rollout.execute import execute_naive
from network.state import outputs_path
from tests.rollout_lab import scenarios
from tests.rollout_lab.harness import MBPS, TRANSFER, Lab, running_lab

# The three-step rollout takes 30-55 s here (a shared 2-core machine): 50 MiB at 6 Mbit/s
# lasts about 70 s, so the transfer spans it (asserted). The naive change is one step.
SAFE_MBPS = 6.0
STACK = "rtgw"
CONN = "dc1-edge1-hub"
TEMP = f"{CONN}-mbb"
pytestmark = pytest.mark.lab


rtgw_stack = scenarios.rtgw_stack  # shared with the bench (scenarios.py)


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with running_lab(STACK, rtgw_stack()) as running:
        yield running


def set_acceleration(lab: Lab, on: bool) -> Any:
    path = lab.stacks / f"Pulumi.{STACK}.yaml"
    doc = yaml.safe_load(path.read_text())
    scenarios.acceleration(on)(doc["config"])
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def aws_ips() -> set[str]:
    """The connection's AWS outside addresses, as the applied outputs hold them."""
    out = json.loads(outputs_path(STACK).read_text())
    [c] = out["routers"]["dc1-edge1"]["connections"]
    return {t["awsOutsideIp"] for t in c["tunnels"]}


def assert_lab_matches_the_stack(lab: Lab, ips: set[str]) -> None:
    """What runs is the edited stack: every planned tunnel, session and route (the
    readiness checks), the AWS ends on the new outside addresses, nothing temporary."""
    rt = open_lab(STACK)  # lab.json records the current outputs (their sha256)
    wait_ready(rt, 60)
    assert {e.outside_ip for e in rt.lab.ends if e.side == "aws"} == ips
    assert {e.conn_name for e in rt.lab.ends} == {f"{CONN}-1", f"{CONN}-2"}
    assert not [n for n in namespaces() if "mbb" in n]
    conf_d = sorted(p.name for p in (rt.router_dir("dc1-edge1") / "conf.d").glob("*.conf"))
    assert conf_d == [f"{CONN}-1.conf", f"{CONN}-2.conf"]


def test_replace_connection_make_before_break_loses_nothing(lab: Lab) -> None:
    before = aws_ips()
    set_acceleration(lab, True)
    flows = traffic.start(open_lab(STACK), TRANSFER, SAFE_MBPS)
    t0 = time.monotonic()
    code = cli.main(["rollout", "--stack", STACK, "--lab"])
    took = time.monotonic() - t0
    spanned = flows.send.poll() is None  # the transfer still running: it spanned the change
    m = flows.finish()
    print(f"replace safe: rollout {took:.1f} s, {m}")
    assert code == 0
    p = json.loads((lab.state / STACK / "rollout" / "progress.json").read_text())
    assert p["status"] == "done" and p["steps"] == {"1": "done", "2": "done", "3": "done"}, p
    plan = json.loads((lab.state / STACK / "rollout" / "rollout.json").read_text())
    assert [s["class"] for s in plan["steps"]] == ["connection-replace"] * 3
    assert plan["steps"][1]["aws"]["destroyFirst"] == [f"{CONN}-vpn"]
    assert {s["impact"]["loss"] for s in plan["steps"]} == {"0"}
    assert spanned, "the transfer ended before the rollout did: it proves nothing"
    assert m["transfer"]["ok"], m["transfer"]
    assert m["bytesLost"] == 0, m
    assert m["lost"] == 0, m
    after = aws_ips()
    assert after and not after & before  # a new connection: new outside addresses
    assert_lab_matches_the_stack(lab, after)
    assert cli.main(["rollout", "--stack", STACK, "--lab"]) == 0  # nothing left to roll out


def test_replace_connection_naive_order_loses_traffic(lab: Lab) -> None:
    """Negative control: the same kind of edit (acceleration off again, ForceNew) the
    naive way: the connection deleted and created, the router reconfigured from the new
    outputs, no temporary connection and no drain."""
    before = aws_ips()
    path = set_acceleration(lab, False)
    flows = traffic.start(open_lab(STACK), TRANSFER, MBPS)
    t0 = time.monotonic()
    execute_naive(STACK, path, print, destroy=(f"{CONN}-vpn",))
    took = time.monotonic() - t0
    m = flows.finish()
    print(f"replace naive: {took:.1f} s, {m}")
    after = aws_ips()
    assert not after & before
    assert_lab_matches_the_stack(lab, after)
    assert m["lost"] > 0 or not m["transfer"]["ok"], m
