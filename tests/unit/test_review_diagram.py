"""`crossnet diagram`: a valid SVG naming every VPC, router, gateway and tunnel."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from test_review_support import STACKS, plan_of, run_cli

from network.review.diagram import render_svg, topology_graph

SVG = "{http://www.w3.org/2000/svg}"


def _texts(svg: str) -> str:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return "\n".join(t.text or "" for t in root.iter(f"{SVG}text"))


@pytest.mark.parametrize("stack", STACKS)
def test_svg_names_every_vpc_router_gateway_and_tunnel(stack: str) -> None:
    plan = plan_of(stack)
    text = _texts(render_svg(plan))
    for v in plan.vpcs.values():
        assert f"VPC {v.name}" in text
        assert str(v.spec.cidr) in text
    for r in plan.spec.routers():
        assert f"router {r}" in text
    for g in plan.vpn_gateways:
        assert f"VGW {g}" in text
    for t in plan.transit:
        assert f"TGW {t}" in text
    for c in plan.connections:
        for t in c.tunnels:
            assert str(t.inside_cidr) in text
    for p in plan.peerings:
        assert f"peering {p.name}" in text


def test_prod_tunnels_are_bgp_sessions_and_staging_is_static() -> None:
    prod = _texts(render_svg(plan_of("prod")))
    assert prod.count("BGP 65100 <-> 64600") == 4
    staging = topology_graph(plan_of("staging")).source
    assert "(standby)" in staging and "static" in staging


def test_diagram_command_writes_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "prod.svg"
    code, stdout, err = run_cli(["diagram", "--stack", "prod", "--out", str(out)], capsys,
                                monkeypatch)
    assert code == 0, err
    assert stdout == ""
    assert "VPC shared" in _texts(out.read_text())


def test_diagram_command_to_stdout(capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    code, stdout, _ = run_cli(["diagram", "--stack", "dev"], capsys, monkeypatch)
    assert code == 0
    assert "router dc1-edge1" in _texts(stdout)
