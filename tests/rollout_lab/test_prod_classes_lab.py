"""More change classes on a running prod lab (ECMP over a transit gateway, two
datacenters of two routers each, the lab's fabric between a datacenter's routers), while
traffic flows: the safe order (`crossnet rollout --lab`) loses nothing, the naive one
(everything at once, no drain: `execute_naive`) is measured the same way, as the
negative control.

- **router-ip with another router carrying**: `fra-edge2`'s public IP changes (a new
  customer gateway; ModifyVpnConnection takes both tunnels of its connection down while
  AWS provisions the new endpoints). The safe order drains the whole router (its share
  carried by `fra-edge1` over the fabric: the after-drain `route-avoids` checks),
  applies, re-addresses the router's tunnel ends from the new outputs, checks,
  restores. The router ID is pinned (`routerId`): a new one resets every BGP session of
  the router at once, the fabric's too, and the drained router then has no path.

Each case: a 20 ms ping and a paced, SHA-256-checked 50 MiB TCP transfer from fra's host
to a VPC host along a flow whose packets leave through the router changed
(`faults.find_flow(rt, "fra", "fra-edge2")`: measured, not predicted), asserted still
running when the change ends. One lab (`rprod`) for the module; every case `slow`.
The edits are the bench's (tests/rollout_lab/scenarios.py, `prod-*`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from network import cli
from network.lab.faults import Flow, find_flow
from network.lab.readiness import wait_ready
from network.lab.runtime import open_lab
from network.lab.system import namespaces, run
from network.rollout.execute import execute_naive
from tests.rollout_lab import harness
from tests.rollout_lab.harness import MBPS, Lab, running_lab
from tests.rollout_lab.scenarios import BY_NAME, PROD_STACK, prod_stack
from tests.rollout_lab.test_cgw_lab import outside_addresses

STACK = PROD_STACK
ROUTER = "fra-edge2"
CONN = "fra-edge2-hub"
pytestmark = [pytest.mark.lab, pytest.mark.slow]


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with running_lab(STACK, prod_stack()) as running:
        yield running


def _flow() -> Flow:
    """A flow from fra's host whose packets leave through fra-edge2 (the router changed)."""
    flow = find_flow(open_lab(STACK), datacenter="fra", router=ROUTER)
    if flow is None:
        pytest.skip("no fra -> VPC flow hashes onto fra-edge2 (the host's static ECMP)")
    return flow


def _plan(lab: Lab) -> dict[str, Any]:
    return dict(json.loads((lab.state / STACK / "rollout" / "rollout.json").read_text()))


def _progress(lab: Lab) -> dict[str, Any]:
    return dict(json.loads((lab.state / STACK / "rollout" / "progress.json").read_text()))


def _rollout() -> int:
    return cli.main(["rollout", "--stack", STACK, "--lab"])


def _outside(router: str) -> set[str]:
    """The addresses `router`'s tunnel ends hold on the internet side (the lab's `dce`s)."""
    return outside_addresses(STACK, router)


def _safe(lab: Lab, kind: str, scenario: str) -> dict[str, Any]:
    """The scenario's safe edit rolled out under traffic: done, intact, spanning it."""
    flow = _flow()
    harness.edit_stack(lab, BY_NAME[scenario].safe, STACK)
    m = harness.measured(f"{scenario} safe", _rollout, BY_NAME[scenario].mbps, STACK, flow)
    assert m["result"] == 0, _progress(lab)
    p = _progress(lab)
    assert p["status"] == "done" and set(p["steps"].values()) == {"done"}, p
    assert {s["class"] for s in _plan(lab)["steps"]} == {kind}
    assert m["spans"], "the transfer ended before the rollout did: it proves nothing"
    assert m["transfer"]["ok"] and m["bytesLost"] == 0, m
    return m


def _naive(lab: Lab, scenario: str) -> dict[str, Any]:
    flow = _flow()
    path = harness.edit_stack(lab, BY_NAME[scenario].naive, STACK)
    m = harness.measured(
        f"{scenario} naive", lambda: execute_naive(STACK, path, print), MBPS, STACK, flow
    )
    wait_ready(open_lab(STACK), 90)
    return m


# ---------------------------------------------------------------- router-ip
def test_prod_router_ip_with_another_router_carrying_loses_nothing(lab: Lab) -> None:
    assert _outside(ROUTER) == {"192.0.2.202"}
    m = _safe(lab, "router-ip", "prod-router-ip")
    [step] = _plan(lab)["steps"]
    assert step["impact"]["loss"] == "0"
    assert set(step["drained"]) == {f"{CONN}-1", f"{CONN}-2"}  # the whole router
    assert {c["kind"] for c in step["checks"] if c["when"] == "after-drain"} >= {"route-avoids"}
    assert any("ModifyVpnConnection" in op for op in step["aws"]["operations"])
    assert m["lost"] == 0, m
    wait_ready(open_lab(STACK), 60)
    assert _outside(ROUTER) == {"192.0.2.212"}
    assert _rollout() == 0  # nothing left to roll out


def test_prod_router_ip_naive_order(lab: Lab) -> None:
    """Negative control: the next address at once (one apply, the router after, no drain)."""
    m = _naive(lab, "prod-router-ip")
    assert _outside(ROUTER) == {"192.0.2.213"}
    assert m["transfer"]["ok"] and m["bytesLost"] == 0, m  # TCP retransmits what it lost
    assert m["lost"] > 0, m


# ---------------------------------------------------------------- tunnel options
def _tunnel_conf(tunnel: int) -> str:
    rt = open_lab(STACK)
    return (rt.router_dir(ROUTER) / "conf.d" / f"{CONN}-{tunnel}.conf").read_text()


def test_prod_tunnel_options_loses_nothing(lab: Lab) -> None:
    """fra-edge2-hub's crypto, lifetimes and DPD: the routers accept both proposals,
    ModifyVpnTunnelOptions tunnel by tunnel (each drained: the router's other tunnel,
    the other router over the fabric and the TGW's ECMP carry), the stack catches up,
    the routers keep only the new proposals."""
    m = _safe(lab, "tunnel-options", "prod-tunnel-options")
    assert len(_plan(lab)["steps"]) == 4
    assert m["lost"] == 0, m
    wait_ready(open_lab(STACK), 60)
    # DH 20 (ecp384, prod's) -> 21 (ecp521): the old proposals are gone once step 4 ran
    assert "ecp521" in _tunnel_conf(1) and "ecp384" not in _tunnel_conf(1)
    assert _rollout() == 0


def test_prod_tunnel_options_naive_order(lab: Lab) -> None:
    m = _naive(lab, "prod-tunnel-options")
    assert "ecp256" in _tunnel_conf(2) and "ecp521" not in _tunnel_conf(2)
    assert m["transfer"]["ok"] and m["bytesLost"] == 0, m
    assert m["lost"] > 0, m


# ---------------------------------------------------------------- inside CIDR
def test_prod_inside_cidr_loses_nothing(lab: Lab) -> None:
    """Both tunnels of fra-edge2-hub to new inside CIDRs, one tunnel per apply, drained."""
    m = _safe(lab, "inside-cidr", "prod-inside-cidr")
    assert len(_plan(lab)["steps"]) == 2
    assert m["lost"] == 0, m
    wait_ready(open_lab(STACK), 60)
    assert (
        "169.254.44.2" in _tunnel_conf(1)
        or "169.254.44.2" in (open_lab(STACK).router_dir(ROUTER) / "frr.conf").read_text()
    )
    assert _rollout() == 0


def test_prod_inside_cidr_naive_order(lab: Lab) -> None:
    m = _naive(lab, "prod-inside-cidr")
    assert m["transfer"]["ok"] and m["bytesLost"] == 0, m
    assert m["lost"] > 0, m


# ---------------------------------------------------------------- add a VPC
def _reaches(vpc: str) -> None:
    """Every datacenter host answers from `vpc`'s host (both datacenters, ECMP)."""
    rt = open_lab(STACK)
    host = next(h for h in rt.lab.vpc_hosts() if h.name == vpc)
    for dc in rt.lab.dc_hosts():
        argv = ["ping", "-n", "-q", "-c", "3", "-i", "0.2", "-W", "1", "-I", dc.address]
        res = run(["ip", "netns", "exec", dc.ns, *argv, host.address], check=False)
        assert res.returncode == 0, (dc.name, vpc, res.stdout)


def test_prod_add_vpc_loses_nothing_and_reaches_it(lab: Lab) -> None:
    """A VPC on the transit gateway (an attachment, the spokes table): one apply, the
    routers accept its prefix; the flow through fra-edge2 loses nothing."""
    m = _safe(lab, "vpc-add", "prod-vpc-add")
    assert m["lost"] == 0, m
    wait_ready(open_lab(STACK), 60)
    _reaches("web")
    assert _rollout() == 0


def test_prod_add_vpc_naive_order_loses_nothing_either(lab: Lab) -> None:
    """An addition moves no existing traffic: the naive order loses nothing either (the
    other classes' controls show the harness sees loss)."""
    m = _naive(lab, "prod-vpc-add")
    assert m["transfer"]["ok"] and m["bytesLost"] == 0 and m["lost"] == 0, m
    _reaches("api")


# ---------------------------------------------------------------- customer ASN
def test_prod_customer_asn_router_by_router_loses_nothing(lab: Lab) -> None:
    """fra's ASN, one router per apply (--target its customer gateway), each drained
    while its tunnels move to the new customer gateway and it takes the new local AS.
    Mid-way the lab's fabric is eBGP across the LAN (its explicit route map: FRR's
    `ebgp-requires-policy`), and its floating routes via the peer carry the LAN's
    packets while the router's bgpd instance is rebuilt for the new AS."""
    m = _safe(lab, "customer-asn", "prod-customer-asn")
    steps = _plan(lab)["steps"]
    assert [s["title"] for s in steps] == ["customer-asn fra-edge1", "customer-asn fra-edge2"]
    assert {s["impact"]["loss"] for s in steps} == {"0"}
    assert m["lost"] == 0, m
    wait_ready(open_lab(STACK), 60)
    assert _rollout() == 0
    res = harness.crossnet("check", "--stack", STACK, "--quick")
    assert res.returncode == 0 and " 0 failed" in res.stdout, res.stdout[-3000:]


def test_prod_customer_asn_naive_order(lab: Lab) -> None:
    m = _naive(lab, "prod-customer-asn")
    assert m["transfer"]["ok"] and m["bytesLost"] == 0, m
    assert m["lost"] > 0, m


# ---------------------------------------------------------------- remove a VPC
def _gone(vpc: str, address: str) -> None:
    """Nothing of the VPC is left in the lab, its host is not reached, app still is."""
    rt = open_lab(STACK)
    assert vpc not in {h.name for h in rt.lab.vpc_hosts()}
    mine = [n for n in namespaces() if n.startswith(f"cxl.{STACK}.")]
    assert mine and not [n for n in mine if f".{vpc}" in n or f"-{vpc}" in n], mine
    assert not [p for p in rt.state.procs if f".{vpc}" in p.ns or f"-{vpc}" in p.ns]
    for dc in rt.lab.dc_hosts():
        argv = ["ping", "-n", "-q", "-c", "2", "-i", "0.2", "-W", "1", "-I", dc.address]
        res = run(["ip", "netns", "exec", dc.ns, *argv, address], check=False)
        assert res.returncode != 0, (dc.name, vpc, "still answers")
    _reaches("app")


def _address(vpc: str) -> str:
    return next(h.address for h in open_lab(STACK).lab.vpc_hosts() if h.name == vpc)


def test_prod_remove_vpc_loses_nothing_on_the_vpcs_that_stay(lab: Lab) -> None:
    """web (added above) removed from the transit gateway: one apply (its attachment,
    association and propagations go), the routers stop accepting its prefix; the flow
    through fra-edge2 to app loses nothing."""
    address = _address("web")
    m = _safe(lab, "vpc-remove", "prod-vpc-remove")
    assert m["lost"] == 0, m
    wait_ready(open_lab(STACK), 60)
    _gone("web", address)
    assert _rollout() == 0


def test_prod_remove_vpc_naive_order_loses_nothing_either(lab: Lab) -> None:
    """A removal moves no remaining flow: the naive order loses nothing either (the other
    classes' controls show the harness sees loss)."""
    address = _address("api")
    m = _naive(lab, "prod-vpc-remove")
    assert m["transfer"]["ok"] and m["bytesLost"] == 0 and m["lost"] == 0, m
    _gone("api", address)
