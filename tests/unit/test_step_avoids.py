"""A rollout step's `route-avoids` check on the lab (network.lab.step_checks): after a
drain every prefix has a best route and none leaves through the drained tunnel."""

from __future__ import annotations

from typing import Any

import pytest

from network.lab import step_checks
from network.lab.runtime import LabState, Running
from network.lab.topology import build_lab
from tests.conftest import FakeOutputs


def _rt(fake_outputs: FakeOutputs, routes: dict[str, list[str]]) -> Running:
    outputs, plan = fake_outputs("prod")
    rt = Running(build_lab(outputs, plan), LabState("prod", "", "", "aws", 0.0))
    rt.routes = lambda _ns: routes  # type: ignore[method-assign, assignment]
    return rt


@pytest.mark.parametrize(
    ("best", "fails"),
    [
        ({"10.0.0.0/16": ["lan"]}, None),  # the fabric peer carries
        ({"10.0.0.0/16": ["lan", "{drained}"]}, "still leaves through"),  # ECMP keeps it
        ({}, "no route to ['10.0.0.0/16'] at all"),  # nothing carries: not "avoided"
        ({"10.0.0.0/16": []}, "no route to"),
    ],
)
def test_route_avoids_needs_a_route_that_is_not_the_drained_tunnel(
    fake_outputs: FakeOutputs, best: dict[str, list[str]], fails: str | None
) -> None:
    probe = _rt(fake_outputs, {})
    end = next(e for e in probe.lab.ends if e.side == "dc")
    routes = {p: [i.format(drained=end.ifname) for i in via] for p, via in best.items()}
    rt = _rt(fake_outputs, routes)
    check: dict[str, Any] = {
        "kind": "route-avoids",
        "tunnel": end.conn_name,
        "expect": {"nextHop": "169.254.0.1", "prefixes": ["10.0.0.0/16"]},
    }
    got = step_checks._avoids(rt, check)
    assert (got is None) if fails is None else (got is not None and fails in got)
