"""The guardrails as pure functions: a good and a bad case for every rule."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from network.review.guardrails import (
    POLICIES,
    STACK,
    TGW_ROUTE,
    UNKNOWN,
    VPC_ROUTE,
    VPN_CONNECTION,
    VPN_CONNECTION_ROUTE,
    VPN_GATEWAY,
    Violation,
    blocking,
    check_resources,
    is_prod,
)
from network.review.resources import proposed_resources
from network.review.snapshot import plan_snapshot
from tests.unit.test_review_support import STACKS, plan_of, run_cli, stack_config, write_stack_file

RANDOM = "random:index/randomPassword:RandomPassword"


def good_vpn(**changes: Any) -> dict[str, Any]:
    """A VPN connection as crossnet declares it for prod: strong, both tunnels, DPD."""
    inputs: dict[str, Any] = {
        "type": "ipsec.1",
        "customerGatewayId": "cgw-1",
        "transitGatewayId": "tgw-1",
        "staticRoutesOnly": False,
    }
    for n in (1, 2):
        inputs.update(
            {
                f"tunnel{n}InsideCidr": f"169.254.10.{4 * (n - 1)}/30",
                f"tunnel{n}IkeVersions": ["ikev2"],
                f"tunnel{n}Phase1EncryptionAlgorithms": ["AES256-GCM-16"],
                f"tunnel{n}Phase1IntegrityAlgorithms": ["SHA2-384"],
                f"tunnel{n}Phase1DhGroupNumbers": [20],
                f"tunnel{n}Phase1LifetimeSeconds": 28800,
                f"tunnel{n}Phase2EncryptionAlgorithms": ["AES256-GCM-16"],
                f"tunnel{n}Phase2IntegrityAlgorithms": ["SHA2-384"],
                f"tunnel{n}Phase2DhGroupNumbers": [20],
                f"tunnel{n}Phase2LifetimeSeconds": 3600,
                f"tunnel{n}DpdTimeoutSeconds": 30,
                f"tunnel{n}DpdTimeoutAction": "restart",
                f"tunnel{n}StartupAction": "start",
                f"tunnel{n}PresharedKey": UNKNOWN,
            }
        )
    for k, v in changes.items():
        if v is None:
            inputs.pop(k, None)
        else:
            inputs[k] = v
    return {"type": VPN_CONNECTION, "name": "a-vpn", "inputs": inputs}


def policies(violations: list[Violation]) -> set[str]:
    return {v.policy for v in violations}


@pytest.mark.parametrize("stack", STACKS)
def test_example_stacks_pass_every_guardrail(stack: str) -> None:
    resources = proposed_resources(plan_snapshot(plan_of(stack)))
    assert check_resources(resources, stack) == []


def test_good_connection_passes_in_prod() -> None:
    assert check_resources([good_vpn()], "prod") == []


# ---------------------------------------------------------------- both tunnels
def test_a_tunnel_without_options_is_mandatory() -> None:
    bare = {
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
    found = check_resources([good_vpn(**bare)], "dev")
    both = [v for v in found if v.policy == "vpn-both-tunnels-configured"]
    assert both and both[0].severity == "mandatory"
    assert "tunnel 2 has no options" in both[0].message


def test_a_partly_configured_tunnel_names_what_is_missing() -> None:
    found = check_resources([good_vpn(tunnel1Phase2DhGroupNumbers=None)], "dev")
    msg = next(v.message for v in found if v.policy == "vpn-both-tunnels-configured")
    assert "tunnel1Phase2DhGroupNumbers" in msg


def test_tunnels_that_differ_are_advisory() -> None:
    found = check_resources([good_vpn(tunnel2DpdTimeoutSeconds=60)], "prod")
    assert [(v.policy, v.severity) for v in found] == [("vpn-tunnels-match", "advisory")]
    assert "DpdTimeoutSeconds" in found[0].message


# ---------------------------------------------------------------- crypto
@pytest.mark.parametrize(
    ("change", "what"),
    [
        ({"tunnel1IkeVersions": ["ikev1", "ikev2"]}, "IKEv1"),
        ({"tunnel2Phase1IntegrityAlgorithms": ["SHA1", "SHA2-256"]}, "SHA1 in phase 1"),
        ({"tunnel1Phase2DhGroupNumbers": [2, 14]}, "DH group 2 in phase 2"),
        ({"tunnel2IkeVersions": None}, "IKE versions not set"),
    ],
)
def test_weak_crypto_is_mandatory_in_prod_advisory_elsewhere(
    change: dict[str, Any], what: str
) -> None:
    prod = [
        v
        for v in check_resources([good_vpn(**change)], "prod")
        if v.policy.startswith("vpn-") and "crypto" in v.policy
    ]
    assert [(v.policy, v.severity) for v in prod] == [("vpn-no-weak-crypto-in-prod", "mandatory")]
    assert what in prod[0].message
    dev = [v for v in check_resources([good_vpn(**change)], "dev") if "crypto" in v.policy]
    assert [(v.policy, v.severity) for v in dev] == [("vpn-weak-crypto", "advisory")]


def test_prod_names() -> None:
    assert is_prod("prod") and is_prod("acme/crossnet/prod")
    assert not is_prod("dev") and is_prod("live", ["live"])


# ---------------------------------------------------------------- DPD
@pytest.mark.parametrize(
    ("change", "what"),
    [
        ({"tunnel1DpdTimeoutAction": None}, "does not set tunnel1DpdTimeoutAction"),
        ({"tunnel2DpdTimeoutSeconds": None}, "does not set tunnel2DpdTimeoutSeconds"),
        (
            {"tunnel1DpdTimeoutAction": "none", "tunnel2DpdTimeoutAction": "none"},
            "never be cleared",
        ),
        ({"tunnel1DpdTimeoutSeconds": 10, "tunnel2DpdTimeoutSeconds": 10}, "below 30 s"),
    ],
)
def test_dpd_must_be_set(change: dict[str, Any], what: str) -> None:
    found = [v for v in check_resources([good_vpn(**change)], "prod") if v.policy == "vpn-dpd-set"]
    assert found and all(v.severity == "mandatory" for v in found)
    assert any(what in v.message for v in found)


# ---------------------------------------------------------------- pre-shared keys
def test_psk_literal_is_mandatory_and_never_printed() -> None:
    key = "Literal_Key_12345"
    found = check_resources([good_vpn(tunnel1PresharedKey=key)], "dev")
    psk = [v for v in found if v.policy == "vpn-psk-from-secrets"]
    assert len(psk) == 1 and psk[0].severity == "mandatory"
    assert all(key not in v.message for v in found)


@pytest.mark.parametrize("how", ["unknown", "absent", "secret", "generated"])
def test_psk_from_secrets_is_fine(how: str) -> None:
    r = good_vpn(tunnel1PresharedKey="Some_Key_123456")
    if how == "unknown":
        r["inputs"]["tunnel1PresharedKey"] = UNKNOWN
    elif how == "absent":
        del r["inputs"]["tunnel1PresharedKey"]
    elif how == "secret":
        r["secret_inputs"] = {"tunnel1PresharedKey"}
    else:
        r["sources"] = {"tunnel1PresharedKey": [RANDOM]}
    assert "vpn-psk-from-secrets" not in policies(check_resources([r], "prod"))


def test_plain_config_psk_in_a_stack_file_is_flagged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = stack_config("dev")
    key = "Plain_Text_Key_99"
    config["crossnet:dc1Psk"] = key
    config["crossnet:network"]["connections"]["dc1-edge1-app"]["tunnel1"] = {
        "presharedKeySecret": "dc1Psk"
    }
    path = write_stack_file(tmp_path, "dev", config)
    code, out, err = run_cli(
        ["guardrails", "--stack", "dev", "--config", str(path)], capsys, monkeypatch
    )
    assert code == 1, err
    assert "vpn-psk-from-secrets" in out and key not in out + err
    snap = plan_snapshot(plan_of("dev", config))
    secret = proposed_resources(snap, ["crossnet:dc1Psk"])
    assert check_resources(secret, "dev") == []


def _secure_psk_stack(tmp: Path) -> Path:
    """prod with ash-edge2-hub tunnel 2's key kept as a `secure:` value (pulumi config set
    --secret), which nothing here can decrypt."""
    config = stack_config("prod")
    config["crossnet:ash-edge2-t2"] = {"secure": "AAABAKx0dGVzdA=="}
    config["crossnet:network"]["connections"]["ash-edge2-hub"]["tunnel2"] = {
        "presharedKeySecret": "ash-edge2-t2"
    }
    return write_stack_file(tmp, "prod", config)


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["plan"], 0),
        (["diagram"], 0),
        (["estimate", "--data", "1TB"], 0),
        (["guardrails"], 0),
        (["diff", "--no-configs"], 1),
    ],
)
def test_review_commands_work_on_a_secure_psk(
    argv: list[str],
    code: int,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CROSSNET_STATE_DIR", str(tmp_path / "state"))
    path = _secure_psk_stack(tmp_path)
    got, out, err = run_cli(
        [argv[0], "--stack", "prod", "--config", str(path), *argv[1:]], capsys, monkeypatch
    )
    assert got == code, err
    assert "Traceback" not in err and "AAABAKx0dGVzdA==" not in out + err
    # the key's rules are left to the apply, and the output says so
    assert "not read here" in out + err


def test_secure_psk_passes_the_psk_guardrail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _secure_psk_stack(tmp_path)
    code, out, err = run_cli(
        ["guardrails", "--stack", "prod", "--config", str(path)], capsys, monkeypatch
    )
    assert code == 0, err
    row = next(line for line in out.splitlines() if line.startswith("vpn-psk-from-secrets"))
    assert row.split()[-1] == "ok"
    # the tunnel reads its key from the secret, by name
    code, out, _ = run_cli(["plan", "--stack", "prod", "--config", str(path)], capsys, monkeypatch)
    assert code == 0 and "config crossnet:ash-edge2-t2" in out


# ---------------------------------------------------------------- default routes
def route(t: str, **inputs: Any) -> dict[str, Any]:
    return {"type": t, "name": "r", "inputs": inputs}


@pytest.mark.parametrize(
    "bad",
    [
        route(VPC_ROUTE, destinationCidrBlock="0.0.0.0/0", transitGatewayId="tgw-1"),
        route(VPC_ROUTE, destinationCidrBlock="0.0.0.0/0", gatewayId="vgw-123"),
        route(VPC_ROUTE, destinationIpv6CidrBlock="::/0", transitGatewayId=UNKNOWN),
        {
            **route(VPC_ROUTE, destinationCidrBlock="0.0.0.0/0", gatewayId=UNKNOWN),
            "sources": {"gatewayId": [VPN_GATEWAY]},
        },
        route(VPN_CONNECTION_ROUTE, destinationCidrBlock="0.0.0.0/0", vpnConnectionId="vpn-1"),
        {
            **route(
                TGW_ROUTE, destinationCidrBlock="0.0.0.0/0", transitGatewayAttachmentId=UNKNOWN
            ),
            "sources": {"transitGatewayAttachmentId": [VPN_CONNECTION]},
        },
        {
            "type": STACK,
            "name": "s",
            "inputs": {
                "routers": {
                    "dc1-edge1": {
                        "connections": [{"name": "c", "announce": ["10.0.0.0/16", "0.0.0.0/0"]}]
                    }
                }
            },
        },
    ],
)
def test_default_route_towards_the_datacenter_is_mandatory(bad: dict[str, Any]) -> None:
    found = check_resources([bad], "dev")
    assert [(v.policy, v.severity) for v in found] == [
        ("no-default-route-to-datacenter", "mandatory")
    ]


@pytest.mark.parametrize(
    "ok",
    [
        route(VPC_ROUTE, destinationCidrBlock="0.0.0.0/0", gatewayId="igw-1"),
        route(VPC_ROUTE, destinationCidrBlock="10.128.0.0/16", transitGatewayId="tgw-1"),
        route(
            TGW_ROUTE, destinationCidrBlock="0.0.0.0/0", transitGatewayAttachmentId="tgw-attach-vpc"
        ),
        route(TGW_ROUTE, destinationCidrBlock="0.0.0.0/0", blackhole=True),
        route(VPN_CONNECTION_ROUTE, destinationCidrBlock="10.144.0.0/16", vpnConnectionId="vpn-1"),
    ],
)
def test_other_routes_are_fine(ok: dict[str, Any]) -> None:
    assert check_resources([ok], "dev") == []


def test_tgw_default_route_to_a_known_vpn_attachment_id() -> None:
    vpn = good_vpn(transitGatewayAttachmentId="tgw-attach-vpn1")
    bad = route(
        TGW_ROUTE, destinationCidrBlock="0.0.0.0/0", transitGatewayAttachmentId="tgw-attach-vpn1"
    )
    assert "no-default-route-to-datacenter" in policies(check_resources([vpn, bad], "dev"))


# ---------------------------------------------------------------- prefixes
def test_more_than_100_prefixes_announced_is_mandatory() -> None:
    many = [f"10.{i // 256}.{i % 256}.0/24" for i in range(101)]
    stack: dict[str, Any] = {
        "type": STACK,
        "name": "s",
        "inputs": {"routers": {"r": {"connections": [{"name": "c", "announce": many}]}}},
    }
    found = check_resources([stack], "dev")
    assert [(v.policy, v.severity) for v in found] == [("max-100-prefixes-announced", "mandatory")]
    stack100 = copy.deepcopy(stack)
    stack100["inputs"]["routers"]["r"]["connections"][0]["announce"] = many[:100]
    assert check_resources([stack100], "dev") == []


def test_more_than_100_static_routes_on_one_connection() -> None:
    routes = [
        route(VPN_CONNECTION_ROUTE, destinationCidrBlock=f"10.{i}.0.0/16", vpnConnectionId="vpn-1")
        for i in range(101)
    ]
    assert policies(check_resources(routes, "dev")) == {"max-100-prefixes-announced"}
    assert check_resources(routes[:100], "dev") == []


# ---------------------------------------------------------------- scopes and table
def test_scopes_split_the_rules() -> None:
    r = good_vpn(tunnel1PresharedKey="Literal_Key_12345", tunnel1DpdTimeoutAction="none")
    assert policies(check_resources([r], "dev", scope="resource")) == {
        "vpn-dpd-set",
        "vpn-tunnels-match",
    }
    assert policies(check_resources([r], "dev", scope="stack")) == {"vpn-psk-from-secrets"}


def test_policy_table() -> None:
    assert set(POLICIES) == {
        "vpn-both-tunnels-configured",
        "vpn-tunnels-match",
        "vpn-no-weak-crypto-in-prod",
        "vpn-weak-crypto",
        "vpn-dpd-set",
        "vpn-psk-from-secrets",
        "no-default-route-to-datacenter",
        "max-100-prefixes-announced",
    }
    assert {p.severity for p in POLICIES.values()} == {"mandatory", "advisory"}
    v = Violation("vpn-dpd-set", "mandatory", "x", "m")
    assert blocking([v, Violation("vpn-weak-crypto", "advisory", "x", "m")]) == [v]


@pytest.mark.parametrize("stack", STACKS)
def test_guardrails_command_on_example_stacks(
    stack: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run_cli(["guardrails", "--stack", stack], capsys, monkeypatch)
    assert code == 0, err
    assert "0 mandatory and 0 advisory" in out


def test_guardrails_command_fails_on_weak_prod_crypto(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = stack_config("prod")
    opts = config["crossnet:network"]["connections"]["ash-edge1-hub"]["tunnelOptions"]
    opts["ikeVersions"] = ["ikev1", "ikev2"]
    path = write_stack_file(tmp_path, "prod", config)
    code, out, _ = run_cli(
        ["guardrails", "--stack", "prod", "--config", str(path)], capsys, monkeypatch
    )
    assert code == 1
    assert "vpn-no-weak-crypto-in-prod" in out and "ash-edge1-hub-vpn" in out


def test_the_rules_copied_from_aws_rules_are_the_same() -> None:
    """guardrails.py is standard library only, so it carries copies: they must agree."""
    from network import aws_rules
    from network.review import guardrails

    assert guardrails.MAX_PREFIXES == aws_rules.MAX_PREFIXES_FROM_CUSTOMER
    assert guardrails.DPD_MIN_SECONDS == aws_rules.DPD_TIMEOUT_MIN
