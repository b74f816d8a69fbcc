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
import importlib.metadata
import json
import runpy
import sys
from inspect import isawaitable
from pathlib import Path
from typing import Any

import pulumi_policy
import pytest
import yaml
from pulumi.runtime.proto import analyzer_pb2
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
from pulumi_policy import policy as sdk_policy
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, unknown_checking_proxy

from network.review.guardrails import POLICIES, UNKNOWN
from tests.unit.test_review_guardrails import good_vpn

POLICY_DIR = Path(__file__).resolve().parents[2] / "policy"
sys.path.insert(0, str(POLICY_DIR))
import crossnet_policies  # noqa: E402

PACK = {p.name: p for p in crossnet_policies.make_policies()}
SERVICER = sdk_policy._PolicyAnalyzerServicer


@pytest.fixture(autouse=True)
def _no_stack_context(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts with no stack context: nothing captured, no engine variables;
    the SDK's ConfigureStack comes back as it was."""
    for var in ("PULUMI_CONFIG", "PULUMI_CONFIG_SECRET_KEYS", "PULUMI_STACK", "PULUMI_PROJECT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(crossnet_policies, "_CONFIGURED", {})
    monkeypatch.setattr(SERVICER, "ConfigureStack", SERVICER.ConfigureStack)


def configure_stack(
    stack: str, config: dict[str, str] | None = None, secret_keys: list[str] | None = None
) -> Any:
    """What the engine sends: an AnalyzerStackConfigureRequest, through the SDK servicer
    with crossnet's capture installed."""
    assert crossnet_policies.capture_stack_configure()
    servicer = SERVICER(
        crossnet_policies.PACK_NAME, "0.1.0", list(PACK.values()), EnforcementLevel.MANDATORY
    )
    request = analyzer_pb2.AnalyzerStackConfigureRequest(
        stack=stack,
        project="crossnet",
        organization="org",
        dry_run=True,
        config=config or {},
        config_secret_keys=secret_keys or [],
        tags={"team": "net"},
    )
    return servicer.ConfigureStack(request, None)


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


def resource_args(
    inputs: dict[str, Any], stack: str = "prod", type_: str = VPN
) -> ResourceValidationArgs:
    urn = f"urn:pulumi:{stack}::crossnet::{type_}::a-vpn"
    return ResourceValidationArgs(
        type_, unknown_checking_proxy(_wire(inputs)), urn, "a-vpn", _opts(), None, {"stack": stack}
    )


def stack_resource(
    type_: str,
    name: str,
    props: dict[str, Any],
    deps: dict[str, list[PolicyResource]] | None = None,
) -> PolicyResource:
    urn = f"urn:pulumi:prod::crossnet::{type_}::{name}"
    return PolicyResource(
        type_, unknown_checking_proxy(_wire(props)), urn, name, _opts(), None, None, [], deps or {}
    )


def stack_args(resources: list[PolicyResource], stack: str = "prod") -> StackValidationArgs:
    return StackValidationArgs(resources, {"stack": stack})


def test_the_pack_has_one_policy_per_guardrail_with_its_severity() -> None:
    assert set(PACK) == set(POLICIES) | set(crossnet_policies.PACK_ONLY)
    for name, info in POLICIES.items():
        level = PACK[name].enforcement_level
        assert level == (
            EnforcementLevel.MANDATORY
            if info.severity == "mandatory"
            else EnforcementLevel.ADVISORY
        )
        kind = ResourceValidationPolicy if info.scope == "resource" else StackValidationPolicy
        assert isinstance(PACK[name], kind)
    # the pack-only policy never blocks a preview
    for name in crossnet_policies.PACK_ONLY:
        assert PACK[name].enforcement_level == EnforcementLevel.ADVISORY


def test_main_builds_the_pack_and_captures_configure_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    class FakePack:  # the real PolicyPack starts a gRPC server and never returns
        def __init__(self, **kwargs: Any) -> None:
            seen.update(kwargs)

    monkeypatch.setattr(pulumi_policy, "PolicyPack", FakePack)
    runpy.run_path(str(POLICY_DIR / "__main__.py"), run_name="__main__")
    assert seen["name"] == "crossnet-guardrails"
    assert seen["enforcement_level"] == EnforcementLevel.MANDATORY
    policies = {p.name: p for p in seen["policies"]}
    assert set(policies) == set(POLICIES) | set(crossnet_policies.PACK_ONLY)
    assert len(seen["policies"]) == len(policies)  # no name twice
    for name, info in POLICIES.items():
        assert policies[name].description == info.description
        assert policies[name].enforcement_level.value == info.severity
        assert policies[name].config_schema is crossnet_policies.CONFIG_SCHEMA
    assert getattr(SERVICER.ConfigureStack, "_crossnet_capture", False)


def test_pack_metadata() -> None:
    meta = yaml.safe_load((POLICY_DIR / "PulumiPolicy.yaml").read_text())
    assert meta["runtime"]["name"] == "python"
    # Pulumi runs the pack in policy/venv, built with pip from policy/requirements.txt
    assert meta["runtime"]["options"] == {"toolchain": "pip", "virtualenv": "venv"}
    assert meta["description"] and meta["version"]
    for name in ("PulumiPolicy.yaml", "__main__.py", "requirements.txt"):
        assert (POLICY_DIR / name).is_file()
    reqs = {
        line.split(">=")[0]: line
        for line in (POLICY_DIR / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert set(reqs) == {"pulumi", "pulumi-policy"}
    # the pinned range admits the SDK these tests run against
    installed = tuple(int(x) for x in importlib.metadata.version("pulumi_policy").split(".")[:2])
    low = tuple(int(x) for x in reqs["pulumi-policy"].split(">=")[1].split(",")[0].split("."))
    high = int(reqs["pulumi-policy"].split(",<")[1])
    assert low <= installed and installed[0] < high


# ------------------------------------------------------------ resource policies
BARE_TUNNEL2 = {
    f"tunnel2{k}": None
    for k in (
        "IkeVersions",
        "Phase1EncryptionAlgorithms",
        "Phase1IntegrityAlgorithms",
        "Phase1DhGroupNumbers",
        "Phase2EncryptionAlgorithms",
        "Phase2IntegrityAlgorithms",
        "Phase2DhGroupNumbers",
    )
}
RESOURCE_CASES: list[tuple[str, dict[str, Any], str, str]] = [
    # policy, change to the good connection, stack, expected message part
    ("vpn-both-tunnels-configured", BARE_TUNNEL2, "dev", "tunnel 2 has no options"),
    ("vpn-tunnels-match", {"tunnel2Phase1LifetimeSeconds": 14400}, "dev", "differ"),
    ("vpn-no-weak-crypto-in-prod", {"tunnel1IkeVersions": ["ikev1"]}, "prod", "IKEv1"),
    ("vpn-weak-crypto", {"tunnel1Phase1DhGroupNumbers": [2]}, "dev", "DH group 2"),
    ("vpn-dpd-set", {"tunnel1DpdTimeoutAction": None}, "prod", "DpdTimeoutAction"),
]


@pytest.mark.parametrize(("policy", "change", "stack", "message"), RESOURCE_CASES)
def test_resource_policy_rejects_its_bad_case(
    policy: str, change: dict[str, Any], stack: str, message: str
) -> None:
    bad = good_vpn(**change)["inputs"]
    found = run_policy(PACK[policy], resource_args(bad, stack))
    assert found and any(message in m for m, _ in found)


@pytest.mark.parametrize(("policy", "change", "stack", "message"), RESOURCE_CASES)
def test_resource_policy_accepts_the_good_case(
    policy: str, change: dict[str, Any], stack: str, message: str
) -> None:
    assert run_policy(PACK[policy], resource_args(good_vpn()["inputs"], stack)) == []


def test_weak_crypto_only_in_its_stack_kind() -> None:
    weak = good_vpn(tunnel1IkeVersions=["ikev1"])["inputs"]
    assert run_policy(PACK["vpn-no-weak-crypto-in-prod"], resource_args(weak, "dev")) == []
    assert run_policy(PACK["vpn-weak-crypto"], resource_args(weak, "prod")) == []


def test_unknown_stack_name_is_reported_without_blocking() -> None:
    weak = good_vpn(tunnel1IkeVersions=["ikev1"])["inputs"]
    args = resource_args(weak, "prod")
    args = ResourceValidationArgs(
        args.resource_type, args.props, args.urn, args.name, args.opts, None, {}
    )
    # no policy config, nothing from the engine: not judged as production ...
    assert run_policy(PACK["vpn-no-weak-crypto-in-prod"], args) == []
    # ... but reported, saying why
    [(message, _)] = run_policy(PACK["vpn-weak-crypto"], args)
    assert "IKEv1" in message and "could not learn the stack name" in message


def test_stack_name_from_configure_stack_then_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    weak = good_vpn(tunnel1IkeVersions=["ikev1"])["inputs"]
    args = resource_args(weak, "prod")
    args = ResourceValidationArgs(
        args.resource_type, args.props, args.urn, args.name, args.opts, None, {}
    )
    monkeypatch.setenv("PULUMI_STACK", "prod")  # the fallback
    assert run_policy(PACK["vpn-no-weak-crypto-in-prod"], args)
    configure_stack("dev")  # what the engine said wins over the environment
    assert crossnet_policies.stack_context().source == "ConfigureStack"
    assert run_policy(PACK["vpn-no-weak-crypto-in-prod"], args) == []
    configure_stack("org/crossnet/prod")
    assert run_policy(PACK["vpn-no-weak-crypto-in-prod"], args)


def test_configure_stack_is_captured_and_still_reaches_the_sdk() -> None:
    response = configure_stack(
        "prod",
        {"crossnet:dc1Psk": "From_Config_Key_1", "aws:region": "us-east-1"},
        ["crossnet:dc1Psk"],
    )
    assert isinstance(response, analyzer_pb2.AnalyzerStackConfigureResponse)
    ctx = crossnet_policies.stack_context()
    assert (ctx.stack, ctx.project, ctx.source) == ("prod", "crossnet", "ConfigureStack")
    assert ctx.secret_keys == frozenset({"crossnet:dc1Psk"})
    assert crossnet_policies.config_values(ctx) == ({"From_Config_Key_1"}, {"us-east-1"})
    # capturing twice wraps once
    assert crossnet_policies.capture_stack_configure()
    assert crossnet_policies.capture_stack_configure(object()) is False


def test_resource_policies_ignore_other_types_and_unknowns() -> None:
    other = resource_args({"cidrBlock": "10.0.0.0/16"}, "prod", "aws:ec2/vpc:Vpc")
    for name, info in POLICIES.items():
        if info.scope == "resource":
            assert run_policy(PACK[name], other) == []
    unknown = good_vpn(tunnel1IkeVersions=UNKNOWN, tunnel2IkeVersions=UNKNOWN)["inputs"]
    assert run_policy(PACK["vpn-no-weak-crypto-in-prod"], resource_args(unknown)) == []


# ------------------------------------------------------------ stack policies
def _vpn_resource(psk: Any, deps: dict[str, list[PolicyResource]] | None = None) -> PolicyResource:
    return stack_resource(
        VPN, "a-vpn", good_vpn(tunnel1PresharedKey=psk, tunnel2PresharedKey=None)["inputs"], deps
    )


def test_psk_literal_is_rejected_without_printing_it() -> None:
    configure_stack("prod", {"crossnet:other": "x"}, [])
    key = "Literal_Key_12345"
    found = run_policy(PACK["vpn-psk-from-secrets"], stack_args([_vpn_resource(key)]))
    assert len(found) == 1
    message, urn = found[0]
    assert key not in message and urn and urn.endswith("::a-vpn")
    assert (
        run_policy(PACK[crossnet_policies.PSK_UNVERIFIED], stack_args([_vpn_resource(key)])) == []
    )


@pytest.mark.parametrize("via", ["ConfigureStack", "environment"])
def test_psk_from_random_secret_config_or_unknown_is_accepted(
    via: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = {"crossnet:dc1Psk": "From_Config_Key_1", "crossnet:plain": "Plain_Config_Key"}
    if via == "ConfigureStack":
        configure_stack("prod", config, ["crossnet:dc1Psk"])
    else:
        monkeypatch.setenv("PULUMI_CONFIG", json.dumps(config))
        monkeypatch.setenv("PULUMI_CONFIG_SECRET_KEYS", '["crossnet:dc1Psk"]')
    rnd = stack_resource(RANDOM, "a-psk", {"length": 32})
    cases = [
        _vpn_resource("Generated_Key_0001", {"tunnel1PresharedKey": [rnd]}),
        _vpn_resource("From_Config_Key_1"),
        _vpn_resource(UNKNOWN),
        _vpn_resource(None),
    ]
    for r in cases:
        assert run_policy(PACK["vpn-psk-from-secrets"], stack_args([rnd, r])) == []
    # a key equal to a plain (not secret) config value is no secret
    assert run_policy(PACK["vpn-psk-from-secrets"], stack_args([_vpn_resource("Plain_Config_Key")]))


def test_without_stack_config_a_plain_key_is_advisory_not_blocking() -> None:
    key = "Maybe_From_Config_1"
    args = stack_args([_vpn_resource(key)])
    assert crossnet_policies.stack_context().knows_config is False
    assert run_policy(PACK["vpn-psk-from-secrets"], args) == []  # mandatory: silent
    [(message, urn)] = run_policy(PACK[crossnet_policies.PSK_UNVERIFIED], args)
    assert "crossnet guardrails" in message and key not in message
    assert urn and urn.endswith("::a-vpn")
    rnd = stack_resource(RANDOM, "a-psk", {"length": 32})
    generated = _vpn_resource("Generated_Key_0001", {"tunnel1PresharedKey": [rnd]})
    assert run_policy(PACK[crossnet_policies.PSK_UNVERIFIED], stack_args([rnd, generated])) == []


def test_default_route_to_a_vgw_is_rejected_by_its_dependency() -> None:
    vgw = stack_resource("aws:ec2/vpnGateway:VpnGateway", "app-vgw", {"vpcId": "vpc-1"})
    bad = stack_resource(
        "aws:ec2/route:Route",
        "default",
        {"destinationCidrBlock": "0.0.0.0/0", "gatewayId": UNKNOWN, "routeTableId": "rtb-1"},
        {"gatewayId": [vgw]},
    )
    igw = stack_resource("aws:ec2/internetGateway:InternetGateway", "igw", {})
    good = stack_resource(
        "aws:ec2/route:Route",
        "internet",
        {"destinationCidrBlock": "0.0.0.0/0", "gatewayId": UNKNOWN, "routeTableId": "rtb-1"},
        {"gatewayId": [igw]},
    )
    policy = PACK["no-default-route-to-datacenter"]
    found = run_policy(policy, stack_args([vgw, bad]))
    assert len(found) == 1 and found[0][1] and found[0][1].endswith("::default")
    assert run_policy(policy, stack_args([igw, good])) == []


def _stack_outputs(announce: list[str]) -> PolicyResource:
    return stack_resource(
        "pulumi:pulumi:Stack",
        "crossnet-prod",
        {
            "routers": {
                "ash-edge1": {"connections": [{"name": "ash-edge1-hub", "announce": announce}]}
            }
        },
    )


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
