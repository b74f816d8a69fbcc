"""Removing a VPC on a running lab while traffic to the VPC that stays flows.

The stack (`rdev`) is dev's config with two more VPCs, each with its own VGW and a BGP
connection from the one router (`web` 10.17.0.0/16, `api` 10.18.0.0/16; their ingress
admits ICMP only, so the measured flow, harness.measured, is the datacenter host ->
app VPC host, a flow the change does not remove). Safe order (the planner's
`vpc-remove` step): one apply deletes the VPC, its VGW and its connection (the lab's AWS
side: that connection's tunnel ends stopped by PID, the gateway's FRR and the VPC host
gone with their namespaces), then the routers stop accepting its prefix and drop its
tunnels. Afterwards: 0 lost to app, the removed VPC's host unreachable, nothing of it
left in the lab. Negative control: the other VPC removed the naive way (AWS and the
routers at once, no checks): a removal moves no remaining flow either, so it is shown
to lose nothing on app's flow too (the class protects nothing but the remaining
paths, which no order touches); what the safe order adds is the check that they hold.

Marked `lab` and `slow`; one lab for the module.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from network.lab.readiness import wait_ready
from network.lab.runtime import Running, open_lab
from network.lab.system import in_ns, namespaces
from tests.rollout_lab.harness import (
    STACK,
    Lab,
    edit_stack,
    measured,
    naive,
    progress,
    rollout,
    running_lab,
)
from tests.rollout_lab.scenarios import BY_NAME, remove_vpc, three_vpcs_stack

pytestmark = [pytest.mark.lab, pytest.mark.slow]


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with running_lab(STACK, three_vpcs_stack()) as running:
        yield running


def _ping(rt: Running, dst: str) -> bool:
    dc = rt.lab.dc_hosts()[0]
    argv = ["ping", "-n", "-q", "-c", "3", "-i", "0.2", "-W", "1", "-I", dc.address, dst]
    return subprocess.run(in_ns(dc.ns, argv), check=False).returncode == 0


def _host(rt: Running, name: str) -> str:
    return next(h.address for h in rt.lab.vpc_hosts() if h.name == name)


def assert_gone(rt: Running, name: str, address: str) -> None:
    """Nothing of the VPC is left in the lab, and its host is not reached."""
    wait_ready(rt, 60)  # every planned tunnel, session and route: the others' hold
    assert name not in {h.name for h in rt.lab.vpc_hosts()}
    mine = [n for n in namespaces() if n.startswith(f"cxl.{STACK}.")]
    assert mine and not [n for n in mine if f".{name}" in n or f"-{name}" in n], mine
    assert not [e for e in rt.lab.ends if e.conn_name.startswith(f"dc1-edge1-{name}-")]
    assert not [p for p in rt.state.procs if f".{name}" in p.ns or f"-{name}" in p.ns]
    conf_d = rt.router_dir("dc1-edge1") / "conf.d"
    assert not list(conf_d.glob(f"dc1-edge1-{name}-*.conf"))
    assert not _ping(rt, address)
    assert _ping(rt, _host(rt, "app"))


def test_remove_vpc_safe_order_loses_nothing_on_the_vpc_that_stays(lab: Lab) -> None:
    rt = open_lab(STACK)
    web = _host(rt, "web")
    assert _ping(rt, web)  # reached before
    edit_stack(lab, BY_NAME["vpc-remove"].safe)  # web, as the bench's
    m = measured("vpc-remove safe", lambda: rollout(lab))
    assert m["result"] == 0
    p = progress(lab)
    assert p["status"] == "done" and p["steps"] == {"1": "done"}, p
    assert m["spans"], "the transfer ended before the rollout did: it proves nothing"
    assert m["transfer"]["ok"] and m["bytesLost"] == 0, m
    assert m["lost"] == 0, m
    assert_gone(open_lab(STACK), "web", web)
    assert rollout(lab) == 0  # nothing left to roll out


def test_remove_vpc_naive_order_loses_nothing_either(lab: Lab) -> None:
    rt = open_lab(STACK)
    api = _host(rt, "api")
    assert _ping(rt, api)
    path = edit_stack(lab, remove_vpc("api"))
    m = measured("vpc-remove naive", lambda: naive(lab, path))
    assert m["transfer"]["ok"] and m["bytesLost"] == 0 and m["lost"] == 0, m
    assert_gone(open_lab(STACK), "api", api)
