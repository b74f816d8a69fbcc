"""AWS tunnel crypto -> each platform's spelling, and the contract record's validation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from network import aws_rules as aws
from network.errors import Problems
from network.model import TunnelOptions
from network.render import crypto as cr


def record(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "ikeVersions": ["ikev2"],
        "phase1": {
            "encryption": ["AES256-GCM-16"],
            "integrity": ["SHA2-384"],
            "dhGroups": [20],
            "lifetimeSeconds": 28800,
        },
        "phase2": {
            "encryption": ["AES256-GCM-16"],
            "integrity": ["SHA2-384"],
            "dhGroups": [20],
            "lifetimeSeconds": 3600,
        },
        "rekeyMarginSeconds": 540,
        "rekeyFuzzPercentage": 100,
        "replayWindowSize": 1024,
        "dpd": {"timeoutSeconds": 30, "action": "restart"},
        "startupAction": "start",
    }
    for key, value in over.items():
        if key in ("phase1", "phase2"):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return base


def spec(**over: Any) -> TunnelOptions:
    p = Problems()
    got = cr.parse_crypto(record(**over), "crypto", p)
    assert not p.items, p.items
    assert got is not None
    return got


def test_the_issue_example_for_strongswan() -> None:
    """AES256-GCM-16 / SHA2-384 / DH 20 -> aes256gcm16-prfsha384-ecp384."""
    got = cr.strongswan(spec())
    assert got == {
        "ike_proposals": ["aes256gcm16-prfsha384-ecp384"],
        "esp_proposals": ["aes256gcm16-ecp384"],
    }


def test_strongswan_splits_aead_and_classic_ciphers() -> None:
    got = cr.strongswan(
        spec(
            phase1={
                "encryption": ["AES128", "AES256-GCM-16"],
                "integrity": ["SHA2-256", "SHA1"],
                "dhGroups": [14, 19],
            },
            phase2={
                "encryption": ["AES256-GCM-16", "AES128"],
                "integrity": ["SHA2-512"],
                "dhGroups": [5],
            },
        )
    )
    assert got["ike_proposals"] == [
        "aes128-sha256-sha1-modp2048-ecp256",
        "aes256gcm16-prfsha256-prfsha1-modp2048-ecp256",
    ]
    assert got["esp_proposals"] == ["aes256gcm16-modp1536", "aes128-sha512-modp1536"]


def test_iosxe() -> None:
    got = cr.iosxe(
        spec(
            phase2={
                "encryption": ["AES256-GCM-16", "AES256"],
                "integrity": ["SHA2-256"],
                "dhGroups": [20, 14],
            }
        )
    )
    assert got["ike_proposals"] == [
        {
            "suffix": "gcm",
            "encryption": ["aes-gcm-256"],
            "integrity": [],
            "prf": ["sha384"],
            "group": ["20"],
        }
    ]
    assert got["transform_sets"] == [
        {"suffix": "aes256gcm", "spec": "esp-gcm 256"},
        {"suffix": "aes256-sha256", "spec": "esp-aes 256 esp-sha256-hmac"},
    ]
    assert got["pfs"] == "group20"  # one PFS group: the stack's first choice


def test_junos_vyos_fortios() -> None:
    s = spec(
        phase1={
            "encryption": ["AES256", "AES128-GCM-16"],
            "integrity": ["SHA2-256"],
            "dhGroups": [14],
        },
        phase2={"encryption": ["AES128"], "integrity": ["SHA1", "SHA2-512"], "dhGroups": [19]},
    )
    j = cr.junos(s)
    assert [(p["encryption"], p["authentication"], p["dh"]) for p in j["ike_proposals"]] == [
        ("aes-256-cbc", "sha-256", "group14"),
        ("aes-128-gcm", "sha-256", "group14"),
    ]
    assert [(p["encryption"], p["authentication"]) for p in j["esp_proposals"]] == [
        ("aes-128-cbc", "hmac-sha1-96"),
        ("aes-128-cbc", "hmac-sha-512"),
    ]
    assert j["pfs"] == "group19"
    v = cr.vyos(s)
    assert [(p["number"], p["encryption"], p["hash"], p["dh"]) for p in v["ike_proposals"]] == [
        (10, "aes256", "sha256", "14"),
        (20, "aes128gcm128", "sha256", "14"),
    ]
    assert v["pfs"] == "dh-group19"
    f = cr.fortios(s)
    assert f["phase1_proposals"] == ["aes256-sha256", "aes128gcm-prfsha256"]
    assert f["phase2_proposals"] == ["aes128-sha1", "aes128-sha512"]
    assert (f["phase1_dh"], f["phase2_dh"]) == (["14"], ["19"])


def test_every_aws_algorithm_has_a_spelling_everywhere() -> None:
    for table in (
        cr.STRONGSWAN_ENC,
        cr.IOSXE_IKE_ENC,
        cr.IOSXE_ESP_ENC,
        cr.JUNOS_ENC,
        cr.VYOS_ENC,
        cr.FORTIOS_ENC,
    ):
        assert set(table) == set(aws.PHASE1_ENCRYPTION)
    for table in (
        cr.STRONGSWAN_INTEG,
        cr.IOSXE_IKE_INTEG,
        cr.IOSXE_ESP_INTEG,
        cr.JUNOS_IKE_AUTH,
        cr.JUNOS_ESP_AUTH,
        cr.VYOS_HASH,
        cr.FORTIOS_HASH,
    ):
        assert set(table) == set(aws.PHASE1_INTEGRITY)
    assert set(cr.STRONGSWAN_DH) == set(aws.PHASE2_DH_GROUPS)
    tables: tuple[Mapping[Any, str], ...] = (
        cr.STRONGSWAN_ENC,
        cr.JUNOS_ESP_AUTH,
        cr.STRONGSWAN_DH,
    )
    for exact in tables:
        assert len(cr.reverse(exact)) == len(exact)  # the reverse tables are exact


@pytest.mark.parametrize(
    ("fn", "groups"), [(cr.iosxe, [17, 18]), (cr.junos, [22]), (cr.fortios, [23, 24])]
)
def test_a_platform_without_any_chosen_group_says_so(fn, groups) -> None:
    with pytest.raises(cr.UnsupportedCryptoError, match="DH groups"):
        fn(spec(phase1={"dhGroups": groups}))


def test_unsupported_groups_are_dropped_when_others_remain() -> None:
    assert cr.iosxe(spec(phase1={"dhGroups": [17, 20]}))["ike_proposals"][0]["group"] == ["20"]


def test_parse_crypto_reports_every_problem() -> None:
    p = Problems()
    bad = record(
        phase1={"encryption": ["3DES"], "lifetimeSeconds": 100},
        phase2={"dhGroups": [1], "lifetimeSeconds": 3600},
        rekeyMarginSeconds=10,
        dpd={"timeoutSeconds": 10, "action": "hold"},
    )
    del bad["startupAction"]
    assert cr.parse_crypto(bad, "c", p) is None
    fields = {x.field for x in p.items}
    assert {
        "c.phase1.encryption",
        "c.phase1.lifetimeSeconds",
        "c.phase2.dhGroups",
        "c.rekeyMarginSeconds",
        "c.dpd.timeoutSeconds",
        "c.dpd.action",
        "c.startupAction",
    } <= fields
    assert cr.parse_crypto("nope", "c", Problems()) is None


@pytest.mark.parametrize(
    ("aws", "ios"), [(64, 64), (100, 64), (1000, 512), (1024, 1024), (2048, 1024)]
)
def test_iosxe_replay_window_never_exceeds_aws(aws: int, ios: int) -> None:
    from network.render.crypto import iosxe_replay_window

    assert iosxe_replay_window(aws) == ios
