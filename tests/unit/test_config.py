"""Reading the stack config (network.config): types, defaults, the ASN rules,
and what did not parse is recorded, never raised."""

from __future__ import annotations

from typing import Any

import pytest

from network import aws_rules as aws
from network.config import (
    DEFAULT_DH_GROUPS,
    DEFAULT_ENCRYPTION,
    DEFAULT_IKE_VERSIONS,
    NETWORK_KEY,
    config_source,
    load_network,
    parse_network,
    psk_config_keys,
)
from network.errors import ConfigError, Problems
from tests.conftest import EXAMPLE_STACKS, load_stack


def _parse(cfg: dict[str, Any]) -> tuple[Any, Problems]:
    p = Problems()
    return parse_network(cfg, "t", p), p


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_example_stacks_parse_without_problems(stack: str) -> None:
    spec, p = _parse(load_stack(stack))
    assert not p.items and spec is not None and not spec.unparsed
    assert spec.stack == "t" and spec.vpcs and spec.datacenters and spec.connections


def test_defaults_are_crossnets_not_awss() -> None:
    cfg = load_stack("dev")
    cfg[NETWORK_KEY]["connections"]["dc1-edge1-app"].pop("tunnelOptions", None)
    spec, p = _parse(cfg)
    assert not p.items
    o = spec.connections[0].options
    assert o.ike_versions == DEFAULT_IKE_VERSIONS == ("ikev2",)
    assert o.phase1.encryption == DEFAULT_ENCRYPTION and o.phase1.dh_groups == DEFAULT_DH_GROUPS
    assert (o.phase1.lifetime, o.phase2.lifetime) == (
        aws.PHASE1_LIFETIME_DEFAULT,
        aws.PHASE2_LIFETIME_DEFAULT,
    )
    assert (o.rekey_margin, o.replay_window, o.dpd_timeout, o.dpd_action) == (
        aws.REKEY_MARGIN_DEFAULT,
        aws.REPLAY_WINDOW_DEFAULT,
        aws.DPD_TIMEOUT_DEFAULT,
        "clear",
    )
    dc = cfg[NETWORK_KEY]["datacenters"]["dc1"]
    dc.pop("asn")
    spec, _ = _parse(cfg)
    assert spec.datacenters[0].asn == aws.CUSTOMER_DEFAULT_ASN


@pytest.mark.parametrize(
    "asn", [1, 65000, 2147483647, 2147483648, 4200000000, 4200000001, 4294967294, 4294967295]
)
def test_customer_asns_up_to_four_bytes_parse(asn: int) -> None:
    cfg = load_stack("dev")
    cfg[NETWORK_KEY]["datacenters"]["dc1"]["asn"] = asn
    spec, p = _parse(cfg)
    assert not p.items
    assert spec.datacenters[0].asn == asn


@pytest.mark.parametrize(
    ("asn", "rule"),
    [
        (0, "a customer ASN is 1-4294967295"),
        (4294967296, "a customer ASN is 1-4294967295"),
        ("65000", "must be an integer"),
        (True, "must be an integer"),
    ],
)
def test_customer_asns_out_of_range_are_problems(asn: Any, rule: str) -> None:
    cfg = load_stack("dev")
    cfg[NETWORK_KEY]["datacenters"]["dc1"]["asn"] = asn
    spec, p = _parse(cfg)
    (problem,) = p.items
    assert problem.field == f"{NETWORK_KEY}.datacenters.dc1.asn" and rule in problem.rule
    # the datacenter is kept (its routers and prefixes are still checked)
    assert "asn:dc1" in spec.unparsed and spec.datacenters[0].name == "dc1"


@pytest.mark.parametrize("field", ["bgpAsn", "bgpAsnExtended"])
def test_awss_asn_fields_are_one_asn_here(field: str) -> None:
    cfg = load_stack("dev")
    cfg[NETWORK_KEY]["datacenters"]["dc1"][field] = 4200000001
    _, p = _parse(cfg)
    (problem,) = p.items
    assert problem.field.endswith(f"datacenters.dc1.{field}")
    assert "give the ASN once, as asn" in problem.rule and "bgpAsnExtended" in problem.rule


def test_amazon_side_asn_rule_comes_from_aws_rules() -> None:
    cfg = load_stack("dev")
    cfg[NETWORK_KEY]["vpnGateways"]["app-vgw"]["asn"] = 65535
    _, p = _parse(cfg)
    (problem,) = p.items
    assert problem.rule == aws.amazon_side_asn_violation(65535)


def test_every_problem_is_collected_and_what_parsed_is_kept() -> None:
    cfg = load_stack("prod")
    net = cfg[NETWORK_KEY]
    net["vpcs"]["app"]["cidr"] = "banana"
    net["datacenters"]["fra"]["routers"]["edge1"]["publicIp"] = "nope"
    net["connections"]["ash-edge1-hub"]["tunnelOptions"] = {"dpd": {"timeoutSeconds": 10}}
    spec, p = _parse(cfg)
    fields = {x.field.removeprefix(f"{NETWORK_KEY}.") for x in p.items}
    assert fields == {
        "vpcs.app.cidr",
        "datacenters.fra.routers.edge1.publicIp",
        "connections.ash-edge1-hub.tunnelOptions.dpd.timeoutSeconds",
    }
    assert {"vpc:app", "router:fra/edge1"} <= spec.unparsed
    assert "shared" in {v.name for v in spec.vpcs}


def test_load_network_raises_one_error_naming_the_file() -> None:
    cfg = load_stack("dev")
    cfg[NETWORK_KEY]["vpcs"]["app"]["cidr"] = "10.16.0.1/16"
    with pytest.raises(ConfigError) as e:
        load_network(cfg, "dev", source="somewhere.yaml")
    assert e.value.source == "stack config 'somewhere.yaml'"
    assert "host bits set" in e.value.render()
    assert config_source({}, "dev") == "stack config 'stacks/Pulumi.dev.yaml'"


def test_no_network_is_one_problem() -> None:
    spec, p = _parse({"aws:region": "us-east-1"})
    assert spec is None and [x.field for x in p.items] == [NETWORK_KEY]


@pytest.mark.parametrize(
    ("network", "keys"),
    [
        (None, []),
        ("junk", []),
        ({"connections": []}, []),
        ({"connections": {"c": "x", "d": {"tunnel1": 3}}}, []),
        (
            {
                "connections": {
                    "c": {"tunnel1": {"presharedKeySecret": "k1"}},
                    "d": {
                        "tunnel1": {"presharedKeySecret": "k1"},
                        "tunnel2": {"presharedKeySecret": "other:k2"},
                    },
                }
            },
            ["crossnet:k1", "other:k2"],
        ),
    ],
)
def test_psk_config_keys_is_total(network: Any, keys: list[str]) -> None:
    assert psk_config_keys(network) == keys
