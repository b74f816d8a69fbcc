"""A rollback's drain check of what AWS forwards (network.lab.step_checks, `fibAvoids`):
BGP at the gateway choosing the carrier is not enough, its kernel routes must have left
the drained tunnel (zebra installs a new best path a moment after BGP chose it)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from network.lab import step_checks
from network.lab.runtime import LabState, Running
from network.lab.topology import build_lab
from network.rollout.rollback import _carried
from tests.conftest import FakeOutputs

CONN = "dc1-edge1-app"
PREFIX = "10.128.0.0/16"


class _Gateway(Running):
    """The lab read back: the gateway's BGP table for the prefix, its kernel routes."""

    table: dict[str, Any] = {}
    fib: dict[str, list[str]] = {}

    def vtysh(self, instance: str, *commands: str, timeout: float = 10) -> str:
        return json.dumps(self.table)

    def routes(self, ns: str) -> dict[str, list[str]]:
        return self.fib


def _rt(fake_outputs: FakeOutputs, fib: dict[str, list[str]]) -> Running:
    outputs, plan = fake_outputs("dev")
    rt = _Gateway(build_lab(outputs, plan), LabState("dev", "", "", "aws", 0.0))
    carrier = next(e for e in rt.lab.ends if (e.side, e.conn_name) == ("dc", f"{CONN}-2"))
    rt.table = {
        "paths": [{"peer": {"peerId": carrier.inside.split("/")[0]}, "aspath": {"length": 1}}]
    }
    rt.fib = fib
    return rt


def _ifname(rt: Running, tunnel: str) -> str:
    return next(e.ifname for e in rt.lab.ends if (e.side, e.conn_name) == ("aws", tunnel))


def _check(avoid: list[str]) -> dict[str, Any]:
    expect = {"neighbor": "x", "prefixes": [PREFIX], "asPathBelow": 3, "fibAvoids": avoid}
    return {"kind": "advertised-prepend", "tunnel": f"{CONN}-2", "expect": expect}


@pytest.mark.parametrize(
    ("via", "holds"),
    [(f"{CONN}-2", True), (f"{CONN}-1", False), (None, False)],
)
def test_the_carriers_check_holds_once_aws_forwards_by_it(
    fake_outputs: FakeOutputs, via: str | None, holds: bool
) -> None:
    probe = _rt(fake_outputs, {})
    fib = {PREFIX: [_ifname(probe, via)]} if via else {}
    diff = step_checks._prepend(_rt(fake_outputs, fib), _check([f"{CONN}-1"]))
    assert (diff is None) == holds, diff
    if via == f"{CONN}-1":
        assert (
            diff == f"AWS's FIB still routes {PREFIX} through {CONN}-1 ([{_ifname(probe, via)!r}])"
        )


def test_without_fib_avoids_only_bgp_is_read(fake_outputs: FakeOutputs) -> None:
    rt = _rt(fake_outputs, {})
    assert step_checks._prepend(rt, _check([])) is None


def test_a_rollbacks_carrier_check_names_the_drained_tunnels() -> None:
    t1, t2 = f"{CONN}-1", f"{CONN}-2"
    when = f"rolling-drain:{t1}"
    step = {
        "checks": [
            {
                "when": when,
                "kind": "bgp-established",
                "router": "dc1-edge1",
                "tunnel": t2,
                "expect": {"neighbor": "169.254.0.1"},
            },
            {
                "when": when,
                "kind": "route-avoids",
                "router": "dc1-edge1",
                "tunnel": t1,
                "expect": {"nextHop": "169.254.0.5", "prefixes": ["10.0.0.0/16"]},
            },
            {
                "when": when,
                "kind": "advertised-prepend",
                "router": "dc1-edge1",
                "tunnel": t1,
                "expect": {"neighbor": "169.254.0.5", "prefixes": [PREFIX], "asPathLength": 3},
            },
        ]
    }
    [c] = _carried(step, when)
    assert c["tunnel"] == t2
    assert c["expect"] == {
        "neighbor": "169.254.0.1",
        "prefixes": [PREFIX],
        "asPathBelow": 3,
        "fibAvoids": [t1],
    }
