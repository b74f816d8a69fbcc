"""The stack outputs contract (network.contract): records built from a plan,
read back with every problem at once, and written privately."""

from __future__ import annotations

import copy
import json
import stat
from pathlib import Path
from typing import Any

import pytest

from network import aws_rules as aws
from network.contract import (
    CONTRACT_VERSION,
    connection_record,
    crypto_record,
    load_outputs,
    parse_outputs,
    write_private,
)
from network.errors import ConfigError
from network.plan import build_plan
from tests.conftest import ROOT, load_stack

GOLDEN = ROOT / "tests" / "golden" / "linux" / "prod" / "outputs.json"


def _outputs() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(GOLDEN.read_text())
    return data


def _problems(data: Any) -> str:
    with pytest.raises(ConfigError) as e:
        parse_outputs(data, "outputs.json")
    return e.value.render()


def _aws_values(n_tunnels: int = 2) -> dict[str, Any]:
    values: dict[str, Any] = {"id": "vpn-1", "customerGatewayId": "cgw-1", "gatewayId": "vgw-1"}
    for n in range(1, n_tunnels + 1):
        values |= {
            f"tunnel{n}Address": f"198.51.100.{n}",
            f"tunnel{n}InsideCidr": f"169.254.10.{4 * (n - 1)}/30",
            f"tunnel{n}VgwInsideAddress": f"169.254.10.{4 * (n - 1) + 1}",
            f"tunnel{n}CgwInsideAddress": f"169.254.10.{4 * (n - 1) + 2}",
            f"tunnel{n}BgpAsn": "",  # AWS leaves it empty on a static connection
            f"tunnel{n}BgpHoldtime": None,
        }
    return values


def test_golden_outputs_parse() -> None:
    out = parse_outputs(_outputs(), "outputs.json")
    assert out.version == CONTRACT_VERSION and out.routers
    for r in out.routers.values():
        for c in r.connections:
            assert len(c.tunnels) == aws.TUNNELS_PER_CONNECTION
            assert all(t.customer_asn == r.asn for t in c.tunnels)
            assert repr(c.tunnels[0].psk) == "Secret('********')"


def test_connection_record_from_the_plan() -> None:
    plan = build_plan(load_stack("dev"), "dev")
    (c,) = plan.connections
    rec = connection_record(c, _aws_values())
    assert rec["crypto"] == crypto_record(c.options)
    assert rec["maxPrefixesOut"] == aws.MAX_PREFIXES_FROM_CUSTOMER
    t1, t2 = rec["tunnels"]
    # empty AWS values fall back to the plan's ASN and AWS's hold time
    assert t1["awsAsn"] == c.aws_asn and t1["bgpHoldTime"] == aws.BGP_HOLD_TIME
    assert t1["customerAsn"] == c.datacenter.asn
    assert (t1["preference"], t2["preference"]) == ("primary", "secondary")
    assert t1["presharedKeyRef"] != t2["presharedKeyRef"]


def test_crypto_record_spells_every_option() -> None:
    plan = build_plan(load_stack("prod"), "prod")
    rec = crypto_record(plan.connections[0].options)
    assert set(rec) == {
        "ikeVersions",
        "phase1",
        "phase2",
        "rekeyMarginSeconds",
        "rekeyFuzzPercentage",
        "replayWindowSize",
        "dpd",
        "startupAction",
    }
    assert set(rec["phase1"]) == {"encryption", "integrity", "dhGroups", "lifetimeSeconds"}


def test_four_byte_customer_asn_is_carried() -> None:
    data = _outputs()
    for r in data["routers"].values():
        r["asn"] = 4200000001
        for c in r["connections"]:
            for t in c["tunnels"]:
                t["customerAsn"] = 4200000001
    out = parse_outputs(data, "outputs.json")
    asns = {t.customer_asn for r in out.routers.values() for c in r.connections for t in c.tunnels}
    assert asns == {4200000001}
    assert all(r.asn == 4200000001 for r in out.routers.values())


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d.pop("routers"), "routers: 'missing' (a stack output of the crossnet contract"),
        (
            lambda d: d["crossnet"].__setitem__("contractVersion", 99),
            "crossnet.contractVersion: 99 (this crossnet reads version 1",
        ),
        (
            lambda d: _first_tunnel(d).__setitem__("customerAsn", "65000"),
            "customerAsn: '65000' (an ASN is an integer)",
        ),
        (
            lambda d: _first_tunnel(d).__setitem__("customerAsn", 4294967296),
            "customerAsn: 4294967296 (a customer ASN is 1-4294967295",
        ),
        (
            lambda d: _first_tunnel(d).pop("insideCidr"),
            "insideCidr: 'missing' (required by the outputs contract)",
        ),
        (
            lambda d: d["presharedKeys"].update(dict.fromkeys(d["presharedKeys"], "[secret]")),
            "'<redacted>' (not a usable key: export with --show-secrets)",
        ),
        (
            lambda d: _first_connection(d)["tunnels"].pop(),
            "tunnels: 1 (a VPN connection has exactly two tunnels)",
        ),
    ],
)
def test_bad_outputs_are_problems(mutate: Any, expected: str) -> None:
    data = copy.deepcopy(_outputs())
    mutate(data)
    text = _problems(data)
    assert expected in text, text
    assert "FAKE_TEST_KEY" not in text


def test_not_an_object() -> None:
    assert "the outputs file is a JSON object" in _problems([1, 2])


def _first_connection(d: dict[str, Any]) -> dict[str, Any]:
    conn: dict[str, Any] = next(iter(d["routers"].values()))["connections"][0]
    return conn


def _first_tunnel(d: dict[str, Any]) -> dict[str, Any]:
    tunnel: dict[str, Any] = _first_connection(d)["tunnels"][0]
    return tunnel


def test_load_outputs_missing_and_not_json(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="outputs"):
        load_outputs(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\xff\xfe not json")
    with pytest.raises(ConfigError) as e:
        load_outputs(bad)
    assert "not valid JSON" in e.value.render()


def test_write_private_is_0600_and_atomic(tmp_path: Path) -> None:
    target = tmp_path / "state" / "outputs.json"
    write_private(target, "{}")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    write_private(target, '{"a": 1}')
    assert json.loads(target.read_text()) == {"a": 1}
    assert [p.name for p in target.parent.iterdir()] == ["outputs.json"]  # no temp file left
