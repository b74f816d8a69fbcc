"""network.lab.reshape.missing_hosts: a VPC added on an existing transit gateway adds a
host and nothing else; the running layout (built from the edited stack file) already
lists it, so only lab.json's namespaces tell that it is not built yet."""

from __future__ import annotations

from types import SimpleNamespace

from network.lab.reshape import missing_hosts
from network.lab.topology import build_lab
from tests.conftest import FakeOutputs


def test_a_vpc_host_without_a_recorded_namespace_is_missing(fake_outputs: FakeOutputs) -> None:
    outputs, plan = fake_outputs("prod")
    lab = build_lab(outputs, plan)
    hosts = {h.ns for h in lab.vpc_hosts()}
    assert len(hosts) >= 2
    built = sorted(hosts)[1:]  # lab.json records every host but one
    rt = SimpleNamespace(state=SimpleNamespace(namespaces=[*built, "cxl.prod.other"]))
    assert missing_hosts(rt, lab) == {sorted(hosts)[0]}  # type: ignore[arg-type]
    rt.state.namespaces = sorted(hosts)
    assert missing_hosts(rt, lab) == set()  # type: ignore[arg-type]
