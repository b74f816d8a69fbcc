"""Adding a datacenter prefix on a running prod lab (BGP, ECMP over the transit gateway,
two routers in the datacenter, the lab's fabric between them) while traffic flows.

The edit (scenarios.py `prod-dc-prefix`) adds 172.21.0.0/16 to fra's prefixes and to
every ingress rule that admits fra's 172.20.0.0/16 (shared, app, media). Safe order
(the planner's `dc-prefix` step): AWS first (the security group rules), then both of
fra's routers announce the prefix; the TGW learns it from each (ECMP). Measured with a
20 ms ping and a SHA-256-checked 50 MiB transfer along a flow from fra's host that
leaves through fra-edge2 (`find_flow`: a flow the change does not remove), and a second
20 ms ping from fra's host's address in the new prefix to the same VPC host
(newprefix.SourcedProbe, over whichever router the LAN's ECMP hashes it onto), counted
from the moment the TGW's namespace first routes the new prefix (newprefix.RouteWatch).

Negative control: the naive order (the routers announce before the apply, as on dev:
newprefix.announce_first) with 172.22.0.0/16: the existing flow loses nothing either
(an additive change), the new prefix is dropped by the security groups until the apply
is done.

Marked `lab` and `slow` (`make test-slow`); one lab (`rprod`) for the module.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from network import cli
from network.lab.faults import Flow, find_flow
from network.lab.readiness import wait_ready
from network.lab.runtime import open_lab
from network.lab.system import in_ns
from tests.rollout_lab import harness
from tests.rollout_lab.harness import Lab, running_lab
from tests.rollout_lab.newprefix import announce_first, measured_with_prefix, space_in_use
from tests.rollout_lab.scenarios import BY_NAME, PROD_STACK, prod_stack

STACK = PROD_STACK
SAFE, NAIVE = "172.21.0.0/16", "172.22.0.0/16"
pytestmark = [pytest.mark.lab, pytest.mark.slow]


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with running_lab(STACK, prod_stack()) as running:
        yield running


def _flow() -> Flow:
    """A flow from fra's host whose packets leave through fra-edge2."""
    flow = find_flow(open_lab(STACK), datacenter="fra", router="fra-edge2")
    if flow is None:
        pytest.skip("no fra -> VPC flow hashes onto fra-edge2 (the host's static ECMP)")
    return flow


def _ping(flow: Flow, src: str) -> bool:
    argv = ["ping", "-n", "-q", "-c", "3", "-i", "0.2", "-W", "1", "-I", src, flow.vpc.address]
    return subprocess.run(in_ns(flow.dc.ns, argv), check=False).returncode == 0


def _rollout() -> int:
    return cli.main(["rollout", "--stack", STACK, "--lab"])


def _state(lab: Lab, name: str) -> dict[str, Any]:
    return dict(json.loads((lab.state / STACK / "rollout" / name).read_text()))


def _tgw_paths(flow: Flow, prefix: str) -> int:
    """How many next hops the TGW's kernel has for `prefix` (ECMP over fra's tunnels)."""
    out = subprocess.run(
        ["ip", "-n", flow.gateway.ns, "-j", "route", "show", prefix],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    routes = json.loads(out or "[]")
    return sum(len(r.get("nexthops", [])) or 1 for r in routes)


def test_prod_add_dc_prefix_safe_order_loses_nothing_and_the_prefix_is_reached(
    lab: Lab,
) -> None:
    flow = _flow()
    rt = open_lab(STACK)
    src = space_in_use(rt, SAFE, "fra")
    harness.edit_stack(lab, BY_NAME["prod-dc-prefix"].safe, STACK)
    m = measured_with_prefix("prod dc-prefix safe", rt, src, SAFE, _rollout, stack=STACK, flow=flow)
    assert m["result"] == 0, _state(lab, "progress.json")
    [step] = _state(lab, "rollout.json")["steps"]
    assert step["class"] == "dc-prefix" and step["impact"]["loss"] == "0", step
    p = _state(lab, "progress.json")
    assert p["events"] == ["1.aws", "1.routers", "1.done"], p  # AWS first, then the routers
    assert m["spans"], "the transfer ended before the rollout did: it proves nothing"
    assert m["transfer"]["ok"] and m["bytesLost"] == 0, m
    assert m["lost"] == 0, m
    assert m["newPrefix"]["sent"] > 0 and m["newPrefix"]["lost"] == 0, m["newPrefix"]
    # The lab is the edited stack: fra's host and both routers hold the prefix's
    # addresses as its layout gives them, the TGW routes it over more than one tunnel
    # (ECMP), and the new prefix reaches the VPC.
    rt = open_lab(STACK)
    wait_ready(rt, 60)
    [host] = [h for h in rt.lab.dc_hosts() if h.name == "fra"]
    assert host.prefix_addresses == ("172.21.0.10/16",)
    lans = {r.key: r.lan for r in rt.lab.routers if r.datacenter == "fra"}
    assert "172.21.0.1/16" in lans["fra-edge1"] and "172.21.0.2/16" in lans["fra-edge2"], lans
    assert _tgw_paths(flow, SAFE) > 1
    assert _ping(flow, src)
    assert _rollout() == 0  # nothing left to roll out


def test_prod_add_dc_prefix_naive_order_drops_the_new_prefix_until_aws_admits_it(
    lab: Lab,
) -> None:
    flow = _flow()
    rt = open_lab(STACK)
    src = space_in_use(rt, NAIVE, "fra")
    path = harness.edit_stack(lab, BY_NAME["prod-dc-prefix"].naive, STACK)
    m = measured_with_prefix(
        "prod dc-prefix naive",
        rt,
        src,
        NAIVE,
        lambda: announce_first(STACK, path),
        stack=STACK,
        flow=flow,
    )
    # The existing flow: an additive change moves none of it.
    assert m["transfer"]["ok"] and m["bytesLost"] == 0, m
    # The new prefix: announced, so AWS sends its replies back, but the security groups
    # do not admit it yet: dropped until the apply is done.
    assert m["newPrefix"]["lost"] > 0, m["newPrefix"]
    wait_ready(open_lab(STACK), 90)
    assert _ping(flow, src)  # once AWS caught up, it is reached
