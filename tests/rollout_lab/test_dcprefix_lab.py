"""Adding a datacenter prefix on a running dev lab (BGP, a VGW) while traffic flows.

The edit adds 10.129.0.0/16 to dc1's prefixes and to the app VPC's private-tier ingress
rule (the security group admits it). Safe order (the planner's `dc-prefix` step): AWS
first (the security group rule), then the routers announce the prefix. Measured with
the package's traffic (harness.measured: a 20 ms ping and a SHA-256-checked 50 MiB
transfer from the datacenter host's home address to the app VPC host, a flow the change
does not remove) and a second 20 ms ping from the datacenter host's address in the new
prefix (newprefix.SourcedProbe), counted from the moment AWS's gateway first routes the
new prefix (newprefix.RouteWatch): from then on the VPC host's replies can come back, so
every request the security group still drops is the order's loss.

The datacenter already uses the new space before it is announced (that is why it is
added): its addresses on the LAN (the router's .1, the host's .10) are put in place
before the change, as the lab lays them out for the new outputs (asserted afterwards).

Negative control: the naive order, the routers announcing before AWS admits (a router
config pushed at once while `pulumi up` runs takes a second; the apply takes longer):
the existing flows lose nothing either (an additive change), but the new prefix's
traffic is dropped by the security group from the announcement until AWS catches up.

Withdrawn (the same lab, after both additions): the planner's order puts the routers
first (`dc.when = before-aws`: they stop announcing, then the apply removes the
security group rule), measured on the flow from the home address, which the change does
not remove: 0 lost, the transfer intact, and afterwards AWS's gateway neither routes nor
holds the prefix in BGP, nothing of the applied state names it (the ingress rule
gone), and the prefix's address no longer reaches the VPC. Negative control: the other
added prefix withdrawn the naive way (the apply first, then the routers, no check):
it loses nothing on the flow that stays either (a withdrawn prefix's own traffic
ends in both orders: the datacenter stopped using it), so the test asserts what the
safe order guarantees (its phases in order, 0 lost, AWS's side clean afterwards) and
prints the naive figures rather than claiming a loss it does not show.

Marked `lab` and `slow` (`make test-slow`); one lab for the module (conftest.py).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from network.lab.readiness import wait_ready
from network.lab.runtime import Running, open_lab
from network.lab.system import in_ns
from tests.rollout_lab.harness import STACK, Lab, edit_stack, measured, naive, progress, rollout
from tests.rollout_lab.newprefix import announce_first, measured_with_prefix, space_in_use
from tests.rollout_lab.scenarios import BY_NAME, add_dc_prefix, withdraw_dc_prefix

pytestmark = [pytest.mark.lab, pytest.mark.slow]


def _app(rt: Running) -> str:
    """The VPC host the measured flow reaches (dev: app; staging: web)."""
    return rt.lab.vpc_hosts()[0].address


def _ping(rt: Running, src: str, dst: str) -> bool:
    dc = rt.lab.dc_hosts()[0]
    argv = ["ping", "-n", "-q", "-c", "3", "-i", "0.2", "-W", "1", "-I", src, dst]
    return subprocess.run(in_ns(dc.ns, argv), check=False).returncode == 0


def _measure(
    kind: str, rt: Running, src: str, prefix: str, run: Callable[[], Any]
) -> dict[str, Any]:
    """`run` with both probes going; the new prefix's loss counted from the moment the
    gateway routes it."""
    return measured_with_prefix(kind, rt, src, prefix, run)


def test_add_dc_prefix_safe_order_loses_nothing_and_the_prefix_is_reached(lab: Lab) -> None:
    rt = open_lab(STACK)
    src = space_in_use(rt, "10.129.0.0/16")
    edit_stack(lab, BY_NAME["dc-prefix"].safe)  # 10.129.0.0/16, as the bench's
    m = _measure("dc-prefix safe", rt, src, "10.129.0.0/16", lambda: rollout(lab))
    assert m["result"] == 0
    p = progress(lab)
    assert p["events"] == ["1.aws", "1.routers", "1.done"], p  # AWS first, then the routers
    assert m["spans"], "the transfer ended before the rollout did: it proves nothing"
    assert m["transfer"]["ok"] and m["bytesLost"] == 0, m
    assert m["lost"] == 0, m
    assert m["newPrefix"]["sent"] > 0 and m["newPrefix"]["lost"] == 0, m["newPrefix"]
    # The lab is the edited stack: its layout gives the new prefix the addresses that
    # were in use, AWS's side holds the route, and the new prefix reaches the VPC.
    rt = open_lab(STACK)
    wait_ready(rt, 60)
    assert rt.lab.dc_hosts()[0].prefix_addresses == ("10.129.0.10/16",)
    assert "10.129.0.1/16" in rt.lab.routers[0].lan
    assert _ping(rt, src, _app(rt))
    assert rollout(lab) == 0  # nothing left to roll out


def test_add_dc_prefix_naive_order_drops_the_new_prefix_until_aws_admits_it(lab: Lab) -> None:
    rt = open_lab(STACK)
    src = space_in_use(rt, "10.130.0.0/16")
    path = edit_stack(lab, add_dc_prefix("10.130.0.0/16"))
    m = _measure("dc-prefix naive", rt, src, "10.130.0.0/16", lambda: announce_first(STACK, path))
    # The existing flows: an additive change moves none of them.
    assert m["transfer"]["ok"] and m["bytesLost"] == 0, m
    # The new prefix: announced, so AWS sends its replies back, but the security group
    # does not admit it yet: dropped until the apply is done.
    assert m["newPrefix"]["lost"] > 0, m["newPrefix"]
    rt = open_lab(STACK)
    wait_ready(rt, 60)
    assert _ping(rt, src, _app(rt))  # once AWS caught up, it is reached


def assert_withdrawn(lab: Lab, prefix: str, src: str, kept: str) -> None:
    """AWS's side no longer routes or holds `prefix` (its gateway's kernel and BGP, the
    applied state: the ingress rule gone); `kept` (added earlier) is still there; the
    withdrawn prefix's address no longer reaches the VPC."""
    rt = open_lab(STACK)
    wait_ready(rt, 60)
    gw = rt.lab.gateways[0]
    routes = subprocess.run(
        ["ip", "-n", gw.ns, "route", "show", prefix], capture_output=True, text=True, check=True
    ).stdout
    assert routes.strip() == "", routes
    bgp = rt.vtysh(rt.gateway_instance(gw), "show bgp ipv4 unicast json")
    assert prefix not in bgp and kept in bgp
    state = (lab.state / STACK / "state.json").read_text()
    assert prefix not in state and kept in state
    assert not _ping(rt, src, _app(rt))
    assert _ping(rt, rt.lab.dc_hosts()[0].address, _app(rt))  # the home address still does


def test_withdraw_dc_prefix_safe_order_leaves_the_routers_first_and_loses_nothing(
    lab: Lab,
) -> None:
    src = "10.130.0.10"  # in use since the naive addition
    edit_stack(lab, withdraw_dc_prefix("10.130.0.0/16"))
    m = measured("dc-prefix withdraw safe", lambda: rollout(lab))
    assert m["result"] == 0
    p = progress(lab)
    assert p["events"] == ["1.routers-first", "1.aws", "1.routers", "1.done"], p
    assert m["spans"], "the transfer ended before the rollout did: it proves nothing"
    assert m["transfer"]["ok"] and m["bytesLost"] == 0, m
    assert m["lost"] == 0, m
    assert_withdrawn(lab, "10.130.0.0/16", src, "10.129.0.0/16")
    assert rollout(lab) == 0  # nothing left to roll out


def test_withdraw_dc_prefix_naive_order_loses_nothing_on_the_flow_that_stays(lab: Lab) -> None:
    path = edit_stack(lab, withdraw_dc_prefix("10.129.0.0/16"))
    m = measured("dc-prefix withdraw naive", lambda: naive(lab, path))
    assert m["transfer"]["ok"] and m["bytesLost"] == 0 and m["lost"] == 0, m
    assert_withdrawn(lab, "10.129.0.0/16", "10.129.0.10", "10.128.0.0/16")
