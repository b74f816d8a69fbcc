"""network.lab.gwstatic: a gateway's new static routes entered one by one *before*
frr-reload.py, so that a new prefix's routes only ever grow (routed by the preferred
tunnel from its first moment, never removed once AWS's side first routes it)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from network.lab import aws, gwstatic
from network.lab.configs import config_files
from network.lab.runtime import LabPaths
from tests.conftest import edited_lab

NEW = "10.145.0.0/16"


def _add(net: dict[str, Any]) -> None:
    net["datacenters"]["dc1"]["prefixes"].append(NEW)
    net["vpcs"]["web"]["ingress"][0]["from"].append(NEW)


def _gateway_frr(lab: Any, tmp_path: Path) -> str:
    files = config_files(lab, aws.TIMERS["fast"], LabPaths(tmp_path), frozenset(), "ip")
    [text] = [f.text for rel, f in files.items() if rel == "frr-aws-web-vgw/frr.conf"]
    return text


@pytest.fixture
def frr_confs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """The staging gateway's frr.conf (static routing, a VGW) before and after NEW."""
    old = _gateway_frr(edited_lab(tmp_path, monkeypatch, "staging", lambda n: None), tmp_path)
    new = _gateway_frr(edited_lab(tmp_path, monkeypatch, "staging", _add), tmp_path)
    return old, new


def test_only_the_new_prefixs_routes_are_added_preferred_first(
    frr_confs: tuple[str, str],
) -> None:
    old, new = frr_confs
    added = gwstatic.added(old, new)
    assert list(added) == [NEW]  # 10.144.0.0/16 (already routed) is not touched
    [first, second] = added[NEW]
    assert first.endswith(" 10") and second.endswith(" 20")  # tunnel 1, then the standby
    assert gwstatic.added(new, new) == {}


def test_preenter_adds_one_command_at_a_time_and_never_removes(
    frr_confs: tuple[str, str],
) -> None:
    old, new = frr_confs
    calls: list[tuple[str, tuple[str, ...]]] = []

    def vtysh(inst: str, *commands: str) -> str:
        calls.append((inst, commands))
        return ""

    said: list[str] = []
    rt = SimpleNamespace(vtysh=vtysh)
    assert gwstatic.preenter(rt, "frr-aws-web-vgw", old, new, said.append) == [NEW]  # type: ignore[arg-type]
    [(inst, commands)] = calls
    assert inst == "frr-aws-web-vgw"
    assert commands == ("configure terminal", *gwstatic.added(old, new)[NEW])
    assert not any(c.startswith("no ") for c in commands)  # the prefix is never unrouted
    assert said and NEW in said[0]
    calls.clear()
    assert gwstatic.preenter(rt, "frr-aws-web-vgw", new, new, said.append) == []  # type: ignore[arg-type]
    assert calls == []
