"""Adding a datacenter prefix on static routing (staging's config as stack `rdev`): the
AWS side is all there is. A module of its own, so that its lab never meets
test_dcprefix_lab.py's (one lab per module, the same stack name). Marked `lab`, `slow`."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from network.lab.readiness import wait_ready
from network.lab.runtime import open_lab
from tests.rollout_lab.harness import ROOT, STACK, Lab, edit_stack, rollout, running_lab
from tests.rollout_lab.newprefix import space_in_use
from tests.rollout_lab.scenarios import add_dc_prefix
from tests.rollout_lab.test_dcprefix_lab import _app, _measure, _ping

pytestmark = [pytest.mark.lab, pytest.mark.slow]


# ---------------------------------------------------------------- static (staging)
@pytest.fixture(scope="module")
def static_lab() -> Iterator[Lab]:
    """staging's config (static routing on a VGW, one router) as this package's stack."""
    with running_lab(STACK, (ROOT / "stacks" / "Pulumi.staging.yaml").read_text()) as running:
        yield running


def test_add_dc_prefix_static_aws_routes_it_and_nothing_is_lost(static_lab: Lab) -> None:
    """Static routing: the AWS side is all there is (a VpnConnectionRoute and the
    security group rule; the routers announce nothing, so their render does not change
    and no router-side order can go wrong: there is no naive order to measure). The lab's
    gateway gets the static routes to the new prefix over both tunnels."""
    rt = open_lab(STACK)
    src = space_in_use(rt, "10.145.0.0/16")
    edit_stack(static_lab, add_dc_prefix("10.145.0.0/16", "web"))
    m = _measure("dc-prefix static safe", rt, src, "10.145.0.0/16", lambda: rollout(static_lab))
    assert m["result"] == 0
    plan = json.loads((static_lab.state / STACK / "rollout" / "rollout.json").read_text())
    assert [s["class"] for s in plan["steps"]] == ["dc-prefix"]
    assert m["spans"] and m["transfer"]["ok"] and m["bytesLost"] == 0, m
    assert m["lost"] == 0, m
    assert m["newPrefix"]["sent"] > 0 and m["newPrefix"]["lost"] == 0, m["newPrefix"]
    rt = open_lab(STACK)
    wait_ready(rt, 60)
    gw = rt.gateway_instance(rt.lab.gateways[0])
    routes = [x for x in rt.vtysh(gw, "show running-config").splitlines() if "10.145.0.0/16" in x]
    assert len(routes) == 2, routes  # over tunnel 1, then tunnel 2
    assert _ping(rt, src, _app(rt))
