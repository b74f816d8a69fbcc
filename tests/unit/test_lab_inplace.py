"""What a running lab changes in place for a new datacenter prefix and a gateway move
(pure: the layouts of two stack configs, with fake outputs), and the ingress rules a
dc-prefix change carries (network.rollout.prefix_rules)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from network.lab.gwmove import moved_ends, moved_hosts
from network.lab.reshape import align
from network.lab.topology import Lab
from network.rollout.prefix_rules import revert_prefix_rules
from tests.conftest import edited_lab


def _layout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit: Callable[[dict[str, Any]], None]
) -> Lab:
    lab: Lab = edited_lab(tmp_path, monkeypatch, "dev", edit)
    return lab


def _same(net: dict[str, Any]) -> None:
    return None


def _prefix(net: dict[str, Any]) -> None:
    net["datacenters"]["dc1"]["prefixes"].append("10.129.0.0/16")


def _tgw(net: dict[str, Any]) -> None:
    net["vpcs"]["app"]["tiers"]["transit"] = {"prefixLength": 28}
    net["transitGateways"] = {
        "hub": {"asn": 64600, "ecmp": False, "attachments": {"app": {"tier": "transit"}}}
    }
    net["connections"]["dc1-edge1-app"]["gateway"] = "hub"


def test_the_datacenter_host_has_an_address_in_every_datacenter_prefix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = _layout(tmp_path, monkeypatch, _same), _layout(tmp_path, monkeypatch, _prefix)
    assert old.dc_hosts()[0].prefix_addresses == ()
    [host] = new.dc_hosts()
    assert host.address == old.dc_hosts()[0].address  # its home stays
    assert host.prefix_addresses == ("10.129.0.10/16",)
    assert new.routers[0].lan == ("10.128.0.1/16", "10.129.0.1/16")


def test_a_gateway_move_makes_new_aws_ends_and_moves_the_vpc_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = _layout(tmp_path, monkeypatch, _same), _layout(tmp_path, monkeypatch, _tgw)
    moved = moved_ends(old, new)
    assert sorted(e.conn_name for e in moved) == ["dc1-edge1-app-1", "dc1-edge1-app-2"]
    assert {e.side for e in moved} == {"aws"}
    [host] = moved_hosts(old, new)
    assert host.name == "app" and host.gateway_ns == "cxl.dev.gw.hub"
    got = align(old, new)
    olds = {(e.side, e.conn_name): e for e in old.ends}
    for e in got.ends:
        prev = olds[(e.side, e.conn_name)]
        if e.side == "dc":
            assert e == prev  # the datacenter ends keep running, untouched
        else:
            assert e.router_ns == "cxl.dev.gw.hub" != prev.router_ns
            assert e.port != prev.port  # a new bridge port (the old one is still there)
            # the running datacenter end has a permanent neighbour entry for this MAC
            assert (e.mac, e.peer_mac) == (prev.mac, prev.peer_mac)


def test_a_new_prefix_rule_is_reverted_with_the_prefix_and_a_withdrawn_one_restored() -> None:
    net: dict[str, Any] = {
        "vpcs": {
            "app": {
                "ingress": [
                    {"from": ["10.128.0.0/16", "10.129.0.0/16"], "tiers": ["private"]},
                    {"from": ["10.129.4.0/24"], "tiers": ["data"], "tcp": [5432]},
                ]
            }
        }
    }
    old = {
        "datacenters": {"dc1": {"prefixes": ["10.128.0.0/16", "10.130.0.0/16"]}},
        "vpcs": {"app": {"ingress": {"private": ["icmp all from 10.130.0.0/16"]}}},
    }
    revert_prefix_rules(net, old, ["10.129.0.0/16"], ["10.130.0.0/16"])
    assert net["vpcs"]["app"]["ingress"] == [
        {"from": ["10.128.0.0/16"], "tiers": ["private"]},
        {"from": ["10.130.0.0/16"], "tiers": ["private"], "icmp": True},
    ]
