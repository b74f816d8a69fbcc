"""The Pulumi program itself on malformed config, fed the way the real CLI feeds it.

`pulumi up` hands the program its config in PULUMI_CONFIG: a JSON object whose
values are all strings, a structured value (mapping or list in the stack file)
as JSON text and a plain one as itself. These tests run `__main__.py` under the
mocks with exactly that (and without the offline apply's own pre-check), so
what is checked is the program's path: one clean screen, nothing declared.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from network.errors import ConfigError
from network.offline.apply import ApplyError, run_program
from network.offline.aws import AwsEmulator
from network.plan import build_plan
from tests.conftest import load_stack

N = "crossnet:network"


def cli_encoded(config: dict[str, Any]) -> str:
    """PULUMI_CONFIG as the CLI writes it: every value a string."""
    return json.dumps({k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()})


def _dev() -> dict[str, Any]:
    return load_stack("dev")


def _set(cfg: dict[str, Any], path: list[str], value: Any) -> dict[str, Any]:
    node: Any = cfg
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    return cfg


C = [N, "connections", "dc1-edge1-app"]
MALFORMED: list[tuple[str, dict[str, Any], str]] = [
    (
        "network-is-a-string",
        _set(_dev(), [N], "hello"),
        "crossnet:network: 'hello' (must be a mapping)",
    ),
    (
        "network-is-a-list",
        _set(_dev(), [N], ["a", "b"]),
        "crossnet:network: ['a', 'b'] (must be a mapping)",
    ),
    ("network-is-a-number", _set(_dev(), [N], 42), "crossnet:network: 42 (must be a mapping)"),
    (
        "tunnel-is-a-string",
        _set(_dev(), [*C, "tunnel1"], "oops"),
        "tunnel1: 'oops' (must be a mapping)",
    ),
    (
        "connections-is-a-list",
        _set(_dev(), [N, "connections"], [{"router": "dc1/edge1"}]),
        "crossnet:network.connections: [{'router': 'dc1/edge1'}] (must be a mapping)",
    ),
    ("connection-is-a-list", _set(_dev(), C, ["x"]), "dc1-edge1-app: ['x'] (must be a mapping)"),
    ("vpc-is-a-number", _set(_dev(), [N, "vpcs", "app"], 7), "vpcs.app: 7 (must be a mapping)"),
    (
        "psk-ref-is-a-number",
        _set(_dev(), [*C, "tunnel2"], {"presharedKeySecret": 5}),
        "tunnel2.presharedKeySecret: 5 (names a config key",
    ),
    (
        "psk-ref-unset",
        _set(_dev(), [*C, "tunnel2"], {"presharedKeySecret": "nokey"}),
        "names config key 'crossnet:nokey', which is not set",
    ),
    ("region-missing", {N: _dev()[N]}, "aws:region: 'missing'"),
]


@pytest.mark.parametrize(("case", "config", "expected"), MALFORMED, ids=[c[0] for c in MALFORMED])
def test_program_reports_malformed_config_cleanly(
    case: str, config: dict[str, Any], expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PULUMI_CONFIG", cli_encoded(config))
    with AwsEmulator(seed=1) as emu:
        with pytest.raises(ApplyError) as e:
            run_program({}, "dev", emu, seed=1)  # the config comes from PULUMI_CONFIG only
        ec2 = emu.client("ec2", "us-east-1")
        declared = {
            "vpcs": [v for v in ec2.describe_vpcs()["Vpcs"] if not v.get("IsDefault")],
            "cgws": ec2.describe_customer_gateways()["CustomerGateways"],
        }
    text = e.value.render()
    assert "error: stack config 'stacks/Pulumi.dev.yaml' is invalid" in text
    assert expected in text, text
    for leak in ("Traceback", "JSONDecodeError", "AttributeError", "KeyError", "TypeError"):
        assert leak not in text, text
    assert len(text.splitlines()) <= 40
    assert declared == {"vpcs": [], "cgws": []}  # nothing reached AWS


def test_program_runs_on_a_well_formed_cli_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """The control: the same transport with the example config declares it."""
    monkeypatch.setenv("PULUMI_CONFIG", cli_encoded(_dev()))
    with AwsEmulator(seed=1) as emu:
        outputs, _, _ = run_program({}, "dev", emu, seed=1)
    assert set(outputs["routers"]) == {"dc1-edge1"}


def test_a_psk_that_looks_like_json_stays_a_string(monkeypatch: pytest.MonkeyPatch) -> None:
    """A key is never JSON-decoded: `12345678` is the key, not a number."""
    cfg = _dev()
    cfg["crossnet:k2"] = "12345678"
    _set(cfg, [*C, "tunnel2"], {"presharedKeySecret": "k2"})
    monkeypatch.setenv("PULUMI_CONFIG", cli_encoded(cfg))
    with AwsEmulator(seed=1) as emu:
        outputs, _, _ = run_program({}, "dev", emu, seed=1)
    assert outputs["presharedKeys"]["dc1-edge1-app/2"] == "12345678"


# ------------------------------------------------------------------ fuzz
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 70000) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*path, i))
    return out


BASES = {name: load_stack(name) for name in ("dev", "staging", "prod")}
PATHS = {name: [p for p in _paths(cfg) if p] for name, cfg in BASES.items()}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(sorted(BASES)),
    st.lists(st.tuples(st.integers(0, 10**6), json_values), min_size=1, max_size=3),
)
def test_any_shape_anywhere_gives_a_config_error_never_a_crash(
    stack: str, mutations: list[tuple[int, Any]]
) -> None:
    """Replace up to three values anywhere in an example config with any JSON
    value: the plan either holds or raises ConfigError, nothing else."""
    cfg = copy.deepcopy(BASES[stack])
    for index, value in mutations:
        path = PATHS[stack][index % len(PATHS[stack])]
        node: Any = cfg
        try:
            for k in path[:-1]:
                node = node[k]
            node[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed this path
    try:
        build_plan(cfg, stack)
    except ConfigError as e:
        text = e.render()
        assert text.startswith("error: ") and len(text.splitlines()) <= 40
