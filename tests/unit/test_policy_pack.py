"""The CrossGuard pack in policy/, tested the way the policy SDK tests its own policies.

pulumi-policy's own unit tests (sdk/python/lib/test/test_policy.py in
pulumi/pulumi-policy) call `policy.validate(args, report_violation)` with a
`report_violation` that collects messages, awaiting the result when it is a
coroutine. Here `args` are the SDK's own `ResourceValidationArgs` and
`StackValidationArgs`, with properties wrapped by the SDK's
`unknown_checking_proxy` exactly as the analyzer server wraps them. Every
policy gets a good and a bad case.
"""

from __future__ import annotations

import asyncio
import runpy
import sys
from inspect import isawaitable
from pathlib import Path
from typing import Any

import pulumi_policy
import pytest
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy
from test_review_guardrails import good_vpn

from network.review.guardrails import POLICIES, UNKNOWN

POLICY_DIR = Path(__file__).resolve().parents[2] / "policy"
sys.path.insert(0, str(POLICY_DIR))
import crossnet_policies  # noqa: E402

PACK = {p.name: p for p in crossnet_policies.make_policies()}
RANDOM = "random:index/randomPassword:RandomPassword"
VPN = "aws:ec2/vpnConnection:VpnConnection"


def run_policy(policy: Policy, args: Any) -> list[tuple[str, str | None]]:
    """The SDK's own helper, keeping the URN each violation is reported against."""
    violations: list[tuple[str, str | None]] = []

    def report(message: str, urn: str | None = None) -> None:
        violations.append((message, urn))

    assert isinstance(policy, ResourceValidationPolicy | StackValidationPolicy)
    result = policy.validate(args, report)
    if isawaitable(result):
        loop = asyncio.new_event_loop()
        loop.run_until_complete(result)
        loop.close()
    return violations


def _opts() -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def _wire(inputs: dict[str, Any]) -> dict[str, Any]:
    """Inputs as the engine sends them: unknowns as the SDK's sentinel strings."""
    return {k: UNKNOWN_STRING_VALUE if v is UNKNOWN else v for k, v in inputs.items()}


def resource_args(inputs: dict[str, Any], stack: str = "prod",
                  type_: str = VPN) -> ResourceValidationArgs:
    urn = f"urn:pulumi:{stack}::crossnet::{type_}::a-vpn"
    return ResourceValidationArgs(type_, unknown_checking_proxy(_wire(inputs)), urn, "a-vpn",
                                  _opts(), None, {"stack": stack})


def stack_resource(type_: str, name: str, props: dict[str, Any],
                   deps: dict[str, list[PolicyResource]] | None = None) -> PolicyResource:
    urn = f"urn:pulumi:prod::crossnet::{type_}::{name}"
    return PolicyResource(type_, unknown_checking_proxy(_wire(props)), urn, name, _opts(), None,
                          None, [], deps or {})


def stack_args(resources: list[PolicyResource], stack: str = "prod") -> StackValidationArgs:
    return StackValidationArgs(resources, {"stack": stack})


def test_the_pack_has_one_policy_per_guardrail_with_its_severity() -> None:
    assert set(PACK) == set(POLICIES)
    for name, info in POLICIES.items():
        level = PACK[name].enforcement_level
        assert level == (EnforcementLevel.MANDATORY if info.severity == "mandatory"
                         else EnforcementLevel.ADVISORY)
        kind = ResourceValidationPolicy if info.scope == "resource" else StackValidationPolicy
        assert isinstance(PACK[name], kind)


def test_main_builds_the_pack(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    class FakePack:  # the real PolicyPack starts a gRPC server and never returns
        def __init__(self, **kwargs: Any) -> None:
            seen.update(kwargs)

    monkeypatch.setattr(pulumi_policy, "PolicyPack", FakePack)
    runpy.run_path(str(POLICY_DIR / "__main__.py"), run_name="__main__")
    assert seen["name"] == "crossnet-guardrails"
    assert {p.name for p in seen["policies"]} == set(POLICIES)


def test_pack_metadata() -> None:
    text = (POLICY_DIR / "PulumiPolicy.yaml").read_text()
    assert "name: python" in text
    assert "pulumi-policy" in (POLICY_DIR / "requirements.txt").read_text()


# ------------------------------------------------------------ resource policies
BARE_TUNNEL2 = {f"tunnel2{k}": None for k in (
    "IkeVersions", "Phase1EncryptionAlgorithms", "Phase1IntegrityAlgorithms",
    "Phase1DhGroupNumbers", "Phase2EncryptionAlgorithms", "Phase2IntegrityAlgorithms",
    "Phase2DhGroupNumbers")}
RESOURCE_CASES: list[tuple[str, dict[str, Any], str, str]] = [
    # policy, change to the good connection, stack, expected message part
    ("vpn-both-tunnels-configured", BARE_TUNNEL2, "dev", "tunnel 2 has no options"),
    ("vpn-tunnels-match", {"tunnel2Phase1LifetimeSeconds": 14400}, "dev", "differ"),
    ("vpn-no-weak-crypto-in-prod", {"tunnel1IkeVersions": ["ikev1"]}, "prod", "IKEv1"),
    ("vpn-weak-crypto", {"tunnel1Phase1DhGroupNumbers": [2]}, "dev", "DH group 2"),
    ("vpn-dpd-set", {"tunnel1DpdTimeoutAction": None}, "prod", "DpdTimeoutAction"),
]


@pytest.mark.parametrize(("policy", "change", "stack", "message"), RESOURCE_CASES)
def test_resource_policy_rejects_its_bad_case(policy: str, change: dict[str, Any], stack: str,
                                              message: str) -> None:
    bad = good_vpn(**change)["inputs"]
    found = run_policy(PACK[policy], resource_args(bad, stack))
    assert found and any(message in m for m, _ in found)


@pytest.mark.parametrize(("policy", "change", "stack", "message"), RESOURCE_CASES)
def test_resource_policy_accepts_the_good_case(policy: str, change: dict[str, Any], stack: str,
                                               message: str) -> None:
    assert run_policy(PACK[policy], resource_args(good_vpn()["inputs"], stack)) == []


def test_weak_crypto_only_in_its_stack_kind() -> None:
    weak = good_vpn(tunnel1IkeVersions=["ikev1"])["inputs"]
    assert run_policy(PACK["vpn-no-weak-crypto-in-prod"], resource_args(weak, "dev")) == []
    assert run_policy(PACK["vpn-weak-crypto"], resource_args(weak, "prod")) == []


def test_unknown_stack_name_is_judged_as_prod(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PULUMI_STACK", raising=False)
    weak = good_vpn(tunnel1IkeVersions=["ikev1"])["inputs"]
    args = resource_args(weak, "prod")
    args = ResourceValidationArgs(args.resource_type, args.props, args.urn, args.name,
                                  args.opts, None, {})
    assert run_policy(PACK["vpn-no-weak-crypto-in-prod"], args)
    monkeypatch.setenv("PULUMI_STACK", "dev")
    assert run_policy(PACK["vpn-no-weak-crypto-in-prod"], args) == []


def test_resource_policies_ignore_other_types_and_unknowns() -> None:
    other = resource_args({"cidrBlock": "10.0.0.0/16"}, "prod", "aws:ec2/vpc:Vpc")
    for name, info in POLICIES.items():
        if info.scope == "resource":
            assert run_policy(PACK[name], other) == []
    unknown = good_vpn(tunnel1IkeVersions=UNKNOWN, tunnel2IkeVersions=UNKNOWN)["inputs"]
    assert run_policy(PACK["vpn-no-weak-crypto-in-prod"], resource_args(unknown)) == []


# ------------------------------------------------------------ stack policies
def _vpn_resource(psk: Any, deps: dict[str, list[PolicyResource]] | None = None
                  ) -> PolicyResource:
    return stack_resource(VPN, "a-vpn", good_vpn(tunnel1PresharedKey=psk,
                                                 tunnel2PresharedKey=None)["inputs"], deps)


def test_psk_literal_is_rejected_without_printing_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PULUMI_CONFIG", raising=False)
    key = "Literal_Key_12345"
    found = run_policy(PACK["vpn-psk-from-secrets"], stack_args([_vpn_resource(key)]))
    assert len(found) == 1
    message, urn = found[0]
    assert key not in message and urn and urn.endswith("::a-vpn")


def test_psk_from_random_config_or_unknown_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULUMI_CONFIG", '{"crossnet:dc1Psk": "From_Config_Key_1"}')
    rnd = stack_resource(RANDOM, "a-psk", {"length": 32})
    cases = [
        _vpn_resource("Generated_Key_0001", {"tunnel1PresharedKey": [rnd]}),
        _vpn_resource("From_Config_Key_1"),
        _vpn_resource(UNKNOWN),
        _vpn_resource(None),
    ]
    for r in cases:
        assert run_policy(PACK["vpn-psk-from-secrets"], stack_args([rnd, r])) == []


def test_default_route_to_a_vgw_is_rejected_by_its_dependency() -> None:
    vgw = stack_resource("aws:ec2/vpnGateway:VpnGateway", "app-vgw", {"vpcId": "vpc-1"})
    bad = stack_resource("aws:ec2/route:Route", "default",
                         {"destinationCidrBlock": "0.0.0.0/0", "gatewayId": UNKNOWN,
                          "routeTableId": "rtb-1"}, {"gatewayId": [vgw]})
    igw = stack_resource("aws:ec2/internetGateway:InternetGateway", "igw", {})
    good = stack_resource("aws:ec2/route:Route", "internet",
                          {"destinationCidrBlock": "0.0.0.0/0", "gatewayId": UNKNOWN,
                           "routeTableId": "rtb-1"}, {"gatewayId": [igw]})
    policy = PACK["no-default-route-to-datacenter"]
    found = run_policy(policy, stack_args([vgw, bad]))
    assert len(found) == 1 and found[0][1] and found[0][1].endswith("::default")
    assert run_policy(policy, stack_args([igw, good])) == []


def _stack_outputs(announce: list[str]) -> PolicyResource:
    return stack_resource("pulumi:pulumi:Stack", "crossnet-prod", {"routers": {
        "ash-edge1": {"connections": [{"name": "ash-edge1-hub", "announce": announce}]}}})


def test_prefix_count_from_the_stack_outputs() -> None:
    policy = PACK["max-100-prefixes-announced"]
    many = [f"10.{i // 256}.{i % 256}.0/24" for i in range(101)]
    found = run_policy(policy, stack_args([_stack_outputs(many)]))
    assert len(found) == 1 and "101 prefixes" in found[0][0]
    assert run_policy(policy, stack_args([_stack_outputs(many[:100])])) == []


def test_stack_policies_tolerate_unknown_outputs() -> None:
    preview = stack_resource("pulumi:pulumi:Stack", "crossnet-prod", {"routers": UNKNOWN})
    for name, info in POLICIES.items():
        if info.scope == "stack":
            assert run_policy(PACK[name], stack_args([preview])) == []


def test_plain_unwraps_the_sdk_proxies() -> None:
    props = unknown_checking_proxy({"a": [1, {"b": UNKNOWN_STRING_VALUE}], "c": "x"})
    assert crossnet_policies.plain(props) == {"a": [1, {"b": UNKNOWN}], "c": "x"}
