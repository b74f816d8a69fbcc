"""A datacenter router added to or removed from a running lab in place (pure: the layouts of
two prod stack configs with fake outputs; network.lab.routers, network.lab.reshape), and
the planner's removal step checking that the remaining routers carry."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from network.lab import fabric, routers
from network.lab.reshape import align, structure_changes
from network.lab.topology import Lab
from tests.conftest import edited_lab


def _layout(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    edit: Callable[[dict[str, Any]], None],
    kept: Lab | None = None,
) -> Lab:
    """`kept`: the running lab whose LAN slots the layout keeps (as lab.json records them)."""
    slots = None if kept is None else kept.lan_slots()
    lab: Lab = edited_lab(tmp_path, monkeypatch, "prod", edit, slots)
    return lab


def _same(net: dict[str, Any]) -> None:
    return None


def _without(dc: str, router: str) -> Callable[[dict[str, Any]], None]:
    def edit(net: dict[str, Any]) -> None:
        del net["datacenters"][dc]["routers"][router]
        del net["connections"][f"{dc}-{router}-hub"]

    return edit


def _without_dc(net: dict[str, Any]) -> None:
    for r in list(net["datacenters"]["fra"]["routers"]):
        del net["connections"][f"fra-{r}-hub"]
    del net["datacenters"]["fra"]
    for v in net["vpcs"].values():
        for rule in v.get("ingress", []):
            rule["from"] = [s for s in rule["from"] if not s.startswith("172.20.")]
        v["ingress"] = [rule for rule in v.get("ingress", []) if rule["from"]]


def test_removing_the_router_that_sorts_last_takes_it_and_its_ends_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    full = _layout(tmp_path, monkeypatch, _same)
    less = _layout(tmp_path, monkeypatch, _without("fra", "edge2"))
    [gone] = routers.removed(full, less)
    assert gone.key == "fra-edge2" and routers.added(full, less) == ()
    ch = structure_changes(full, align(full, less))
    assert ch["refused"] == []
    assert ch["add"] == []
    assert ch["remove"] == sorted(
        [
            "cxl.prod.rtr.fra-edge2",
            *(f"cxl.prod.{s}.fra-edge2-hub-{n}" for s in ("dce", "awe") for n in (1, 2)),
        ]
    )
    # the datacenter host's ECMP set loses it; the other router keeps its LAN address
    [host] = [h for h in less.dc_hosts() if h.name == "fra"]
    assert host.gateways == ("172.20.0.1",)
    assert routers.default_route(host) == "route replace default via 172.20.0.1"
    [edge1] = [r for r in less.routers if r.key == "fra-edge1"]
    assert fabric.stanza(less, edge1) == ""  # its only peer is gone: no fabric left
    # the other datacenter is untouched
    assert [r.key for r in less.routers] == ["ash-edge1", "ash-edge2", "fra-edge1"]


def test_adding_a_router_back_builds_it_and_its_ends_with_fresh_ports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    less = _layout(tmp_path, monkeypatch, _without("fra", "edge2"))
    full = _layout(tmp_path, monkeypatch, _same)
    new = align(less, full)
    [fresh] = routers.added(less, new)
    assert fresh.key == "fra-edge2" and fresh.lan == ("172.20.0.2/16",)
    assert structure_changes(less, new)["refused"] == []
    assert "cxl.prod.rtr.fra-edge2" in structure_changes(less, new)["add"]
    ports = {e.port for e in less.ends}
    added_ends = [e for e in new.ends if e.router_ns == fresh.ns or "fra-edge2" in e.ns]
    assert len(added_ends) == 4 and not {e.port for e in added_ends} & ports
    assert len({e.mac for e in new.ends}) == len(new.ends)  # MACs stay unique
    [host] = [h for h in new.dc_hosts() if h.name == "fra"]
    assert routers.default_route(host) == (
        "route replace default nexthop via 172.20.0.1 nexthop via 172.20.0.2"
    )
    assert routers.drained_all(fresh) == {"fra-edge2-hub-1", "fra-edge2-hub-2"}
    [edge1] = [r for r in new.routers if r.key == "fra-edge1"]
    assert fabric.neighbors(new, edge1) == {"172.20.0.2": "fra-edge2"}


def test_removing_the_router_that_sorts_first_keeps_the_others_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    full = _layout(tmp_path, monkeypatch, _same)
    less = _layout(tmp_path, monkeypatch, _without("fra", "edge1"), kept=full)
    assert structure_changes(full, align(full, less))["refused"] == []
    [edge2] = [r for r in less.routers if r.key == "fra-edge2"]
    assert edge2.lan == ("172.20.0.2/16",) and edge2.slot == 2
    [host] = [h for h in less.dc_hosts() if h.name == "fra"]
    assert routers.default_route(host) == "route replace default via 172.20.0.2"
    # and a router added afterwards takes the slot that was freed
    back = _layout(tmp_path, monkeypatch, _same, kept=less)
    assert back.lan_slots() == full.lan_slots()
    assert structure_changes(less, align(less, back))["refused"] == []


def test_a_layout_that_forgets_the_running_slots_is_refused_it_would_readdress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The guard stays: numbered afresh (by key), fra-edge2 would move to .1."""
    full = _layout(tmp_path, monkeypatch, _same)
    less = _layout(tmp_path, monkeypatch, _without("fra", "edge1"))
    [why] = structure_changes(full, align(full, less))["refused"]
    assert why.startswith("fra-edge2: its LAN addresses would move (172.20.0.2/16 -> 172.20.0.1/16")
    assert "does not re-address a running router" in why


def test_lan_slots_keep_what_runs_and_fill_the_lowest_free() -> None:
    from network.lab.topology import lan_slots

    dcs = {"a-r1": "a", "a-r2": "a", "b-r1": "b"}
    assert lan_slots(dcs, {}) == {"a-r1": 1, "a-r2": 2, "b-r1": 1}  # a lab coming up
    # a router that sorts first, added beside one that runs: the running one keeps .1
    assert lan_slots({"a-r0": "a", "a-r1": "a"}, {"a-r1": 1}) == {"a-r0": 2, "a-r1": 1}
    # the first removed: the second keeps .2; then a new one takes the freed .1
    assert lan_slots({"a-r2": "a"}, {"a-r1": 1, "a-r2": 2}) == {"a-r2": 2}
    assert lan_slots({"a-r2": "a", "a-r3": "a"}, {"a-r2": 2}) == {"a-r2": 2, "a-r3": 1}
    # the dev hardware refresh: add edge2, then remove edge1 (edge2 stays .2)
    step1 = lan_slots({"dc-edge1": "dc", "dc-edge2": "dc"}, {"dc-edge1": 1})
    assert step1 == {"dc-edge1": 1, "dc-edge2": 2}
    assert lan_slots({"dc-edge2": "dc"}, step1) == {"dc-edge2": 2}
    # a clash in what was recorded (a hand-edited lab.json): the first by key keeps it
    assert lan_slots({"a-r1": "a", "a-r2": "a"}, {"a-r1": 1, "a-r2": 1}) == {"a-r1": 1, "a-r2": 2}


def test_readdressed_names_only_an_address_that_moves_in_a_kept_prefix() -> None:
    # hostside.follow_lan adds or drops the new prefix's address; the others stay
    assert routers.readdressed(("10.128.0.1/16",), ("10.128.0.1/16", "10.129.0.1/16")) == []
    assert routers.readdressed(("10.128.0.1/16", "10.129.0.1/16"), ("10.128.0.1/16",)) == []
    assert routers.readdressed(("10.128.0.2/16",), ("10.128.0.1/16", "10.129.0.1/16")) == [
        "10.128.0.2/16 -> 10.128.0.1/16"
    ]


def test_a_datacenter_removed_is_still_refused_with_its_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    full = _layout(tmp_path, monkeypatch, _same)
    less = _layout(tmp_path, monkeypatch, _without_dc)
    refused = structure_changes(full, align(full, less))["refused"]
    assert any(x.startswith("datacenter fra removed") for x in refused), refused


def test_the_removal_step_probes_over_the_routers_that_carry_on() -> None:
    from tests.unit.test_rollout import rollout

    def edit(cfg: dict[str, Any], net: dict[str, Any]) -> None:
        _without("fra", "edge2")(net)

    r, _new = rollout("prod", edit)
    [s] = r.steps
    probes = [c for c in s.checks if c.kind == "probe"]
    assert probes and {c.router for c in probes} == {"fra-edge1"}
    assert {c.expect["from"] for c in probes} == {"172.20.0.0/16"}
    assert all(c.when == "after-restore" for c in probes)


def test_a_new_router_waits_for_routes_covering_the_vpc_hosts_its_peer_routes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The datacenter host takes a new router into its ECMP set only once its kernel table
    covers every VPC host address its peer's covers (VPC CIDRs, not the hosts' subnets)."""
    from network.lab.runtime import LabState, Running

    full = _layout(tmp_path, monkeypatch, _same)
    tables = {
        "cxl.prod.rtr.fra-edge1": {"10.0.0.0/16": ["vti1"], "default": ["lan"]},
        "cxl.prod.rtr.fra-edge2": {"default": ["lan"]},
    }
    rt = Running(full, LabState("prod", "", "", "fast", 0.0))
    monkeypatch.setattr(Running, "routes", lambda self, ns: tables.get(ns, {}))
    [edge2] = [r for r in full.routers if r.key == "fra-edge2"]
    want = routers.routed(rt, full, edge2)
    hosts = {h.name: h.address for h in full.vpc_hosts()}
    assert want and want <= set(hosts.values())
    assert all(a.startswith("10.0.") for a in want)  # what edge1 routes, no more
    assert not routers._covers(set(tables["cxl.prod.rtr.fra-edge2"]), next(iter(want)))
    assert routers._covers({"10.0.0.0/16"}, next(iter(want)))


def test_dev_gains_a_second_router_and_its_fabric_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dev's one router gets a peer: the new one is built, the old one keeps its LAN
    address and gains a fabric stanza, the host's route becomes ECMP over both."""

    def dev(edit: Callable[[dict[str, Any]], None]) -> Lab:
        lab: Lab = edited_lab(tmp_path, monkeypatch, "dev", edit)
        return lab

    def second(net: dict[str, Any]) -> None:
        net["datacenters"]["dc1"]["routers"]["edge2"] = {
            "publicIp": "192.0.2.20",
            "platform": "linux",
        }
        conn = {k: v for k, v in net["connections"]["dc1-edge1-app"].items()}
        net["connections"]["dc1-edge2-app"] = {**conn, "router": "dc1/edge2"}
        for n in (1, 2):
            net["connections"]["dc1-edge2-app"].pop(f"tunnel{n}", None)

    old, new = dev(_same), align(dev(_same), dev(second))
    assert structure_changes(old, new)["refused"] == []
    [fresh] = routers.added(old, new)
    assert fresh.key == "dc1-edge2" and fresh.lan == ("10.128.0.2/16",)
    [edge1] = [r for r in new.routers if r.key == "dc1-edge1"]
    assert edge1.lan == old.routers[0].lan
    assert fabric.stanza(old, old.routers[0]) == "" != fabric.stanza(new, edge1)
    [host] = new.dc_hosts()
    assert routers.default_route(host).endswith("nexthop via 10.128.0.1 nexthop via 10.128.0.2")

    # and removing the original router afterwards would re-address the new one: refused
    def swapped(net: dict[str, Any]) -> None:
        second(net)
        _without_dev_edge1(net)

    back = dev(swapped)
    assert any("dc1-edge2: its LAN addresses" in x for x in structure_changes(new, back)["refused"])


def _without_dev_edge1(net: dict[str, Any]) -> None:
    del net["datacenters"]["dc1"]["routers"]["edge1"]
    del net["connections"]["dc1-edge1-app"]


def _prefixes(dc: str, *prefixes: str) -> Callable[[dict[str, Any]], None]:
    def edit(net: dict[str, Any]) -> None:
        net["datacenters"][dc]["prefixes"] = list(prefixes)

    return edit


def test_a_datacenter_prefix_added_or_withdrawn_is_no_readdressing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The prefix's own LAN address comes or goes; the running ones stay: in place."""
    full = _layout(tmp_path, monkeypatch, _same)
    more = _layout(tmp_path, monkeypatch, _prefixes("fra", "172.20.0.0/16", "172.21.0.0/16"))
    assert structure_changes(full, align(full, more))["refused"] == []
    for key, n in (("fra-edge1", 1), ("fra-edge2", 2)):
        [was] = [r.lan for r in full.routers if r.key == key]
        [now] = [r.lan for r in more.routers if r.key == key]
        assert was == (f"172.20.0.{n}/16",) and now == (*was, f"172.21.0.{n}/16")
    assert structure_changes(more, align(more, full))["refused"] == []  # withdrawn again
    # The existing case stays refused: a router's address in a kept prefix moving.
    assert routers.readdressed(("172.20.0.2/16",), ("172.20.0.1/16", "172.21.0.1/16"))


def test_lab_json_records_the_slots_and_an_older_file_without_them_still_reads() -> None:
    from network.lab.runtime import LabState

    st = LabState("dev", "o.json", "0" * 64, "aws", 1.0, lan_slots={"dc-edge2": 2})
    assert LabState.from_json(st.to_json()).lan_slots == {"dc-edge2": 2}
    older = {k: v for k, v in st.to_json().items() if k != "lan_slots"}
    assert LabState.from_json(older).lan_slots == {}
