"""A rollout step's `probe` check on the lab (network.lab.step_checks): it pings the VPC
hosts in the prefix whose security groups admit ICMP from the datacenter host, and
fails when one of those does not answer."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from network.lab import step_checks
from network.lab.runtime import LabState, Running
from network.lab.topology import build_lab
from tests.conftest import FakeOutputs


def _rt(fake_outputs: FakeOutputs) -> Running:
    outputs, plan = fake_outputs("prod")
    return Running(build_lab(outputs, plan), LabState("prod", "", "", "aws", 0.0))


def _probe(to: str, src: str) -> dict[str, Any]:
    return {"kind": "probe", "text": "probe", "expect": {"from": src, "to": to, "loss": 0}}


def test_probe_skips_a_vpc_that_admits_nothing_from_the_datacenter(
    fake_outputs: FakeOutputs, monkeypatch: pytest.MonkeyPatch
) -> None:
    rt = _rt(fake_outputs)
    pinged: list[str] = []

    def fake_run(argv: list[str], **_kw: Any) -> subprocess.CompletedProcess[str]:
        pinged.append(argv[-1])
        return subprocess.CompletedProcess(argv, 1, "", "")  # every ping is lost

    monkeypatch.setattr(step_checks, "run", fake_run)
    data = next(h for h in rt.lab.vpc_hosts() if h.name == "data")
    # prod's data VPC admits only 10.128.32.0/20 (ash): from fra there is nothing to ping
    assert step_checks._probe(rt, _probe("10.2.0.0/16", "172.20.0.0/16")) is None
    assert pinged == []
    # from ash it is pinged, and a lost ping fails the check
    assert step_checks._probe(rt, _probe("10.2.0.0/16", "10.128.0.0/16")) is not None
    assert pinged == [data.address]
