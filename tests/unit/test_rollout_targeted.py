"""A targeted step on the lab: each router rendered with the ASN its customer gateway holds
(`network.rollout.targeted`), from a real targeted offline apply of prod's customer ASN."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from network.offline.apply import offline_up
from network.offline.stack_state import load_state, state_path
from network.rollout.targeted import as_gateways_hold, cgw_asns, targeted_urns
from tests.unit.test_apply_state import NET, _start, apply


@pytest.fixture
def stacks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "stacks"
    d.mkdir()
    monkeypatch.setenv("CROSSNET_STACKS_DIR", str(d))
    return d


def _router(outputs: dict[str, Any], key: str) -> tuple[int, set[int]]:
    r = outputs["routers"][key]
    return r["asn"], {t["customerAsn"] for c in r["connections"] for t in c["tunnels"]}


def test_the_untargeted_router_keeps_the_asn_its_gateway_holds(
    tmp_path_factory: pytest.TempPathFactory, state_dir: Path, stacks: Path
) -> None:
    config = _start("prod", tmp_path_factory, state_dir, stacks)
    before = dict(config[NET]["datacenters"]["fra"])["asn"]
    config[NET]["datacenters"]["fra"]["asn"] = 65211
    [urn] = targeted_urns("prod", ("fra-edge1-cgw",))
    assert urn.startswith("urn:pulumi:prod::") and urn.endswith("::fra-edge1-cgw")
    assert targeted_urns("prod", ("no-such",)) == ["no-such"]  # the apply names it
    result = apply(stacks, "prod", config, targets=(urn,), target_dependents=True)
    # The outputs follow the datacenter's config for both routers...
    assert _router(result.outputs, "fra-edge2") == (65211, {65211})
    # ...but fra-edge2's gateway still holds the old AS: the lab renders it with that one.
    asns = cgw_asns(load_state(state_path(state_dir / "prod"), "prod"))
    held = as_gateways_hold(result.outputs, asns)
    assert _router(held, "fra-edge1") == (65211, {65211})
    assert _router(held, "fra-edge2") == (before, {before})
    assert held["routers"]["ash-edge1"] == result.outputs["routers"]["ash-edge1"]
    # its own step: both hold the new AS, and the outputs are left as they are
    offline_up(
        "prod", targets=tuple(targeted_urns("prod", ("fra-edge2-cgw",))), target_dependents=True
    )
    final = json.loads((state_dir / "prod" / "outputs.json").read_text())
    asns = cgw_asns(load_state(state_path(state_dir / "prod"), "prod"))
    assert as_gateways_hold(final, asns) == final
