"""Shared fixtures: example stack configs, an isolated state directory."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from network.contract import (
    StackOutputs,
    connection_record,
    datacenter_records,
    parse_outputs,
    router_records,
)
from network.naming import tunnel_id
from network.plan import Plan, build_plan
from network.stack_file import read_stack_config

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_STACKS = ("dev", "staging", "prod")


def load_stack(name: str) -> dict[str, Any]:
    """A stack file's config mapping, keys as Pulumi qualifies them."""
    doc = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{name}.yaml").read_text())
    return copy.deepcopy(doc["config"])


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point crossnet's per-stack state at a temporary directory."""
    d = tmp_path / "state"
    monkeypatch.setenv("CROSSNET_STATE_DIR", str(d))
    return d


FakeOutputs = Callable[[str], tuple[StackOutputs, Plan]]


def fake_stack_outputs(stack: str) -> tuple[StackOutputs, Plan]:
    """A stack's outputs built from its plan with fake AWS values, the way the contract
    builds them from a real apply: documentation-range outside addresses (tunnel 1 in
    198.51.100.0/24, tunnel 2 in 203.0.113.0/24), obviously fake keys. For tests."""
    plan = build_plan(read_stack_config(stack), stack)
    conns: dict[str, Any] = {}
    keys: dict[str, str] = {}
    for i, c in enumerate(plan.connections, start=10):
        values: dict[str, Any] = {
            "id": f"vpn-{i}",
            "customerGatewayId": f"cgw-{i}",
            "gatewayId": f"gw-{i}",
        }
        for t in c.tunnels:
            n = t.number
            values[f"tunnel{n}Address"] = f"198.51.100.{i}" if n == 1 else f"203.0.113.{i}"
            values[f"tunnel{n}InsideCidr"] = str(t.inside_cidr)
            values[f"tunnel{n}CgwInsideAddress"] = str(t.customer_inside)
            values[f"tunnel{n}VgwInsideAddress"] = str(t.aws_inside)
            values[f"tunnel{n}BgpAsn"] = str(c.aws_asn)
            values[f"tunnel{n}BgpHoldtime"] = 30
            keys[tunnel_id(c.name, n)] = f"fake_lab_key_{i}_{n}"
        conns[c.name] = connection_record(c, values)
    data = {
        "crossnet": {"contractVersion": 1, "stack": stack},
        "datacenters": datacenter_records(plan),
        "vpcs": {},
        "gateways": {},
        "peerings": {},
        "routers": router_records(plan, conns),
        "presharedKeys": keys,
    }
    return parse_outputs(data, f"fake outputs of {stack}"), plan


def edited_lab(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    stack: str,
    edit: Callable[[dict[str, Any]], None],
    kept: dict[str, int] | None = None,
) -> Any:
    """The lab layout (network.lab.topology.Lab) of stack `stack` with `edit` applied to
    its `crossnet:network` config, from fake outputs: each call its own stacks directory
    under `tmp_path`, which CROSSNET_STACKS_DIR then names. `kept`: the LAN slots of the
    running lab it changes (topology.lan_slots)."""
    from network.lab.topology import build_lab

    doc = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())
    edit(doc["config"]["crossnet:network"])
    d = tmp_path / str(len(list(tmp_path.iterdir())))
    d.mkdir()
    (d / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    monkeypatch.setenv("CROSSNET_STACKS_DIR", str(d))
    return build_lab(*fake_stack_outputs(stack), kept)


@pytest.fixture(scope="session")
def fake_outputs() -> FakeOutputs:
    """`fake_outputs(stack)`: (outputs, plan) of an example stack with fake AWS values,
    built from its plan as the contract builds them from an apply (the lab's unit
    tests and its life-cycle test use them)."""
    return fake_stack_outputs


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-slow", action="store_true", help="also run the cases marked slow (make test-slow)"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`slow` cases are skipped unless --run-slow is given (`make test` leaves them out)."""
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow (make test-slow)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
