"""The lab at scale, pure: the largest bench topology lays out, and the lab's memory
is read per process as PSS (network/lab/memory.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from bench.topology import large_config
from network.lab import memory
from network.lab.system import Proc, start_time
from network.lab.topology import IFNAMSIZ, build_lab
from tests.conftest import fake_stack_outputs

ROLLUP = """\
55d0c0a5e000-7ffd1f5f3000 ---p 00000000 00:00 0                          [rollup]
Rss:               18204 kB
Pss:               12484 kB
Pss_Dirty:          8224 kB
Pss_Anon:           8224 kB
Pss_File:           4260 kB
Pss_Shmem:             0 kB
Shared_Clean:       9904 kB
Shared_Dirty:          0 kB
Private_Clean:        76 kB
Private_Dirty:      8224 kB
Referenced:        18204 kB
Anonymous:          8224 kB
Swap:                  0 kB
SwapPss:               0 kB
Locked:                0 kB
"""


def test_parse_rollup() -> None:
    u = memory.parse_rollup(ROLLUP)
    assert (u.rss, u.pss, u.uss) == (18204, 12484, 8300)
    assert memory.parse_status_rss("Name:\tx\nVmRSS:\t  1234 kB\n") == 1234
    assert memory.parse_status_rss("Name:\tkthreadd\n") == 0


def _me(name: str) -> Proc:
    st = start_time(os.getpid())
    assert st is not None
    return Proc(name=name, ns="", pid=os.getpid(), start=st, log="")


def test_measure_counts_exactly_the_recorded_processes_by_kind() -> None:
    me = _me("agent vpc a")
    recycled = Proc(name="charon dc t/1", ns="", pid=os.getpid(), start=me.start + 1, log="")
    r = memory.measure([me, _me("agent vpc b"), recycled])
    assert list(r.kinds) == ["agent"] and r.kinds["agent"].count == 2
    assert r.missing == 1  # a PID whose start time differs is someone else's
    one = r.kinds["agent"]
    if r.exact:
        assert 0 < one.uss <= one.pss <= one.rss
    assert r.mib()["total"] == pytest.approx(one.pss / 1024, abs=0.1)
    assert "PSS" in memory.summary(r) and "agent 2 x" in memory.summary(r)


def test_the_largest_bench_topology_lays_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """6 datacenters x 2 routers on a TGW with ECMP, 40 VPCs (30 attached): every
    namespace, interface, bridge port and MAC unique, every interface name fits."""
    (tmp_path / "Pulumi.large.yaml").write_text(yaml.safe_dump({"config": large_config()}))
    monkeypatch.setenv("CROSSNET_STACKS_DIR", str(tmp_path))
    lab = build_lab(*fake_stack_outputs("large"))
    assert (len(lab.ends), len(lab.routers), len(lab.gateways)) == (48, 12, 1)
    assert len(lab.vpc_hosts()) == 30 and len(lab.dc_hosts()) == 6
    names = lab.namespaces()
    assert len(names) == len(set(names)) == 1 + 48 + 12 + 1 + 36
    for ns in {e.router_ns for e in lab.ends}:
        here = [e.ifname for e in lab.ends if e.router_ns == ns]
        assert len(here) == len(set(here))
    gw_ifs = [h.gateway_if for h in lab.vpc_hosts()]
    assert len(gw_ifs) == len(set(gw_ifs))
    ifnames = [e.ifname for e in lab.ends] + [r.lan_port for r in lab.routers]
    assert all(i and len(i) <= IFNAMSIZ for i in [*ifnames, *gw_ifs])
    ports = [e.port for e in lab.ends]
    macs = [e.mac for e in lab.ends]
    assert len(ports) == len(set(ports)) and len(macs) == len(set(macs))
    assert lab.gateways[0].ecmp


def test_lab_memory_reads_the_labs_own_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """lab.json's processes, and sshd's (ssh/sshd.json) while `lab ssh` runs."""
    import json

    from network.lab.runtime import LabState, write_state
    from network.state import lab_dir

    monkeypatch.setenv("CROSSNET_STATE_DIR", str(tmp_path))
    assert memory.lab_procs("memtest") == []  # no lab: nothing to count
    lab_dir("memtest").mkdir(parents=True)
    state = LabState("memtest", "", "", "aws", 0.0, procs=[_me("zebra frr-x"), _me("bgpd frr-x")])
    write_state(state)
    assert memory.lab_memory("memtest").kinds.keys() == {"zebra", "bgpd"}
    ssh = lab_dir("memtest") / "ssh"
    ssh.mkdir()
    (ssh / "sshd.json").write_text(json.dumps([_me("sshd dch.x").to_json()]))
    r = memory.lab_memory("memtest")
    assert r.kinds.keys() == {"zebra", "bgpd", "sshd"} and r.total.count == 3
