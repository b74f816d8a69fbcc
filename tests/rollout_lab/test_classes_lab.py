"""`crossnet rollout --lab` for the other change classes, on the package's running dev lab
(conftest.py), while the traffic of harness.measured flows: a 20 ms ping and a paced,
SHA-256-checked 50 MiB TCP transfer from the datacenter host to the app VPC's host.
Each class: the safe order loses nothing; its negative control (the same kind of
change applied the naive way: AWS and the routers at once, no drain, no checks)
loses traffic, or, for an additive change, is shown to lose nothing either.

Marked `lab`; the longer classes also `slow` (`make test-slow`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from network.lab import vici
from network.lab.runtime import open_lab
from network.offline.stack_state import load_state, state_path
from tests.rollout_lab.harness import (
    NET,
    STACK,
    Lab,
    edit_stack,
    measured,
    naive,
    progress,
    rollout,
    settle,
)

pytestmark = pytest.mark.lab
CONN = "dc1-edge1-app"
VPN = "aws:ec2/vpnConnection:VpnConnection"


def _ike_algorithms(conn_name: str) -> dict[str, str]:
    """The datacenter end's IKE SA of a tunnel: its negotiated algorithms (vici list-sas)."""
    rt = open_lab(STACK)
    e = next(e for e in rt.lab.ends if e.side == "dc" and e.conn_name == conn_name)
    with vici.Session(rt.vici_socket(e), timeout=5) as s:
        for event in s.streamed("list-sas", "list-sa"):
            sa = event.get(conn_name)
            if sa and sa.get("state") == "ESTABLISHED":
                return {k: str(sa.get(k)) for k in ("encr-alg", "encr-keysize", "integ-alg")}
    return {}


# ---------------------------------------------------------------- crypto, DPD, lifetimes
def _options(
    enc: str, integ: str, dh: int, life: tuple[int, int], dpd: int
) -> Callable[[dict[str, Any]], None]:
    def edit(cfg: dict[str, Any]) -> None:
        o = cfg[NET]["connections"][CONN]["tunnelOptions"]
        o["phase1"] = {"encryption": [enc], "integrity": [integ], "dhGroups": [dh]}
        o["phase1"]["lifetimeSeconds"] = life[0]
        o["phase2"] = {"encryption": [enc], "integrity": [integ], "dhGroups": [dh]}
        o["phase2"]["lifetimeSeconds"] = life[1]
        o["dpd"] = {**o.get("dpd", {}), "timeoutSeconds": dpd}

    return edit


def test_tunnel_options_safe_order_loses_nothing(lab: Lab) -> None:
    """Routers accept old and new; ModifyVpnTunnelOptions tunnel 1 (drained), then tunnel 2
    (drained), each on the emulator and the lab's AWS end; refresh and up; routers keep
    only the new proposals."""
    edit_stack(lab, _options("AES128", "SHA2-384", 21, (14400, 1800), 40))
    m = measured("tunnel-options safe", lambda: rollout(lab), mbps=12.0)
    assert m["result"] == 0
    p = progress(lab)
    assert p["status"] == "done" and p["steps"] == {str(n): "done" for n in (1, 2, 3, 4)}, p
    assert m["spans"], "the transfer ended before the rollout did: it proves nothing"
    assert m["transfer"]["ok"] and m["bytesLost"] == 0, m
    assert m["lost"] == 0, m
    # AWS (the emulator's state, refreshed) and both tunnels run the new options.
    s = load_state(state_path(lab.state / STACK), STACK)
    assert s is not None
    vpn = next(r for r in s.resources if r.type == VPN)
    for n in (1, 2):
        assert vpn.inputs[f"tunnel{n}Phase1EncryptionAlgorithms"] == ["AES128"]
        assert vpn.inputs[f"tunnel{n}DpdTimeoutSeconds"] == 40
        got = _ike_algorithms(f"{CONN}-{n}")
        assert (got.get("encr-alg"), got.get("encr-keysize")) == ("AES_CBC", "128"), got
    conf = (open_lab(STACK).router_dir("dc1-edge1") / "conf.d" / f"{CONN}-1.conf").read_text()
    assert "aes256" not in conf  # the old proposals are gone once AWS has the new ones
    assert rollout(lab) == 0  # nothing left to roll out


def test_tunnel_options_naive_order_loses_traffic(lab: Lab) -> None:
    """Negative control: the options of both tunnels changed on AWS (one apply) and the
    router at once: both tunnels restart with proposals the router does not have yet."""
    path = edit_stack(lab, _options("AES256", "SHA2-512", 20, (28800, 3600), 30))
    m = measured("tunnel-options naive", lambda: naive(lab, path))
    settle()
    assert m["lost"] > 0 or not m["transfer"]["ok"], m


# ---------------------------------------------------------------- inside CIDRs
def _inside(one: str, two: str) -> Callable[[dict[str, Any]], None]:
    def edit(cfg: dict[str, Any]) -> None:
        c = cfg[NET]["connections"][CONN]
        for n, cidr in ((1, one), (2, two)):
            c[f"tunnel{n}"] = {**c.get(f"tunnel{n}", {}), "insideCidr": cidr}

    return edit


def _neighbours() -> set[str]:
    rt = open_lab(STACK)
    return set(rt.bgp("frr-dc1-edge1"))


@pytest.mark.slow
def test_inside_cidr_safe_order_loses_nothing(lab: Lab) -> None:
    """One tunnel per apply (the other pinned): drain, ModifyVpnTunnelOptions
    (TunnelInsideCidr) in the offline apply, the lab's tunnel ends re-created with the new
    inside addresses, the router's new BGP neighbour; checks; restore; then tunnel 2."""
    edit_stack(lab, _inside("169.254.44.0/30", "169.254.45.0/30"))
    m = measured("inside-cidr safe", lambda: rollout(lab), mbps=10.0)
    assert m["result"] == 0
    p = progress(lab)
    assert p["status"] == "done" and set(p["steps"].values()) == {"done"}, p
    assert m["spans"], "the transfer ended before the rollout did: it proves nothing"
    assert m["transfer"]["ok"] and m["bytesLost"] == 0, m
    assert m["lost"] == 0, m
    assert {"169.254.44.1", "169.254.45.1"} <= _neighbours()


@pytest.mark.slow
def test_inside_cidr_naive_order_loses_traffic(lab: Lab) -> None:
    """Negative control: both tunnels' inside CIDRs in one apply, the router after."""
    path = edit_stack(lab, _inside("169.254.46.0/30", "169.254.47.0/30"))
    m = measured("inside-cidr naive", lambda: naive(lab, path))
    settle()
    assert m["lost"] > 0 or not m["transfer"]["ok"], m
    assert {"169.254.46.1", "169.254.47.1"} <= _neighbours()
