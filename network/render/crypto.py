"""AWS tunnel crypto, spelled the way each router platform spells it (pure).

The contract carries AWS's names ("AES256-GCM-16", "SHA2-384", DH group 20).
Each platform gets them translated here, never in a template, and the
cross-check (network/render/check.py) reads configs back through the reverse
tables, so a name that is wrong in one direction is caught in the other.

Vendor quirks that shape the mapping:
- AES-GCM is an AEAD cipher: it brings its own integrity. In IKE the AWS
  "integrity" algorithm then only serves as the PRF; in ESP it is dropped.
- AEAD and classic ciphers cannot share one proposal (strongSwan, IOS-XE), so
  each phase yields up to two proposals: GCM ciphers, then CBC ciphers.
- IOS-XE, Junos and VyOS take one PFS group per IPsec policy: the first
  phase 2 group the stack lists (the stack's preferred one) is used.
- Junos, VyOS and FortiOS proposals hold one algorithm of each kind, so the
  lists are expanded into combinations in preference order (capped where the
  platform caps them; the cap keeps a valid subset of what AWS allows).
"""

from __future__ import annotations

from collections.abc import Mapping
from itertools import product
from typing import Any

from network import aws_rules as aws
from network.errors import Problems
from network.model import Phase, TunnelOptions

# ------------------------------------------------------------------ the contract side
# The contract's `crypto` record is read into the plan's own types (model.TunnelOptions
# and model.Phase): one type for the tunnel options on both sides of the contract.


def is_aead(encryption: str) -> bool:
    return encryption.endswith("-GCM-16")


def ike_version(o: TunnelOptions) -> int:
    """The IKE version the datacenter side speaks: IKEv2 whenever AWS allows it."""
    return 2 if "ikev2" in o.ike_versions else 1


class _Reader:
    """Reads one crypto record, adding every problem to `p`."""

    def __init__(self, raw: Mapping[str, Any], path: str, p: Problems):
        self.raw, self.path, self.p = raw, path, p

    def field(self, obj: Mapping[str, Any], key: str, where: str) -> Any:
        if key not in obj:
            self.p.add(f"{where}.{key}", "missing", "required by the outputs contract")
        return obj.get(key)

    def names(self, value: Any, where: str, allowed: tuple[Any, ...]) -> tuple[Any, ...]:
        if not isinstance(value, list) or not value:
            self.p.add(where, value, "a non-empty list")
            return ()
        for v in value:
            if v not in allowed or isinstance(v, bool):
                self.p.add(where, v, "AWS allows " + ", ".join(map(str, allowed)))
        return tuple(dict.fromkeys(value))

    def phase(self, n: int) -> Phase:
        where = f"{self.path}.phase{n}"
        body = self.field(self.raw, f"phase{n}", self.path)
        if not isinstance(body, Mapping):
            self.p.add(where, type(body).__name__, "must be an object")
            return Phase((), (), (), 0)
        first = n == 1
        enc = self.names(
            self.field(body, "encryption", where),
            f"{where}.encryption",
            aws.PHASE1_ENCRYPTION if first else aws.PHASE2_ENCRYPTION,
        )
        integ = self.names(
            self.field(body, "integrity", where),
            f"{where}.integrity",
            aws.PHASE1_INTEGRITY if first else aws.PHASE2_INTEGRITY,
        )
        dh = self.names(
            self.field(body, "dhGroups", where),
            f"{where}.dhGroups",
            aws.PHASE1_DH_GROUPS if first else aws.PHASE2_DH_GROUPS,
        )
        lo, hi = aws.PHASE1_LIFETIME if first else aws.PHASE2_LIFETIME
        life = self.field(body, "lifetimeSeconds", where)
        if not _int_in(life, lo, hi):
            self.p.add(f"{where}.lifetimeSeconds", life, f"phase {n} lifetime is {lo}-{hi} seconds")
            life = 0
        return Phase(enc, integ, dh, life)

    def ints(self, dpd: Mapping[str, Any]) -> dict[str, int]:
        out: dict[str, int] = {}
        for key, where, lo, hi in (
            ("rekeyMarginSeconds", self.raw, aws.REKEY_MARGIN_MIN, aws.REKEY_MARGIN_MAX),
            ("rekeyFuzzPercentage", self.raw, *aws.REKEY_FUZZ),
            ("replayWindowSize", self.raw, *aws.REPLAY_WINDOW),
            ("timeoutSeconds", dpd, aws.DPD_TIMEOUT_MIN, aws.DPD_TIMEOUT_MAX),
        ):
            value: Any = where.get(key)
            name = f"{self.path}.dpd.{key}" if where is dpd else f"{self.path}.{key}"
            if not _int_in(value, lo, hi):
                self.p.add(name, "missing" if value is None else value, f"an integer {lo}-{hi}")
            out[key] = value if _int_in(value, lo, hi) else lo
        return out

    def one_of(self, value: Any, where: str, allowed: tuple[str, ...]) -> str:
        if value not in allowed:
            self.p.add(f"{self.path}.{where}", value, "one of " + ", ".join(allowed))
        return str(value)


def _int_in(value: Any, lo: int, hi: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi


def parse_crypto(raw: Any, path: str, p: Problems) -> TunnelOptions | None:
    """Read the contract's `crypto` record, checking every value against AWS's rules."""
    if not isinstance(raw, Mapping):
        p.add(path, type(raw).__name__, "the crypto record is an object")
        return None
    before = len(p.items)
    r = _Reader(raw, path, p)
    versions = r.names(r.field(raw, "ikeVersions", path), f"{path}.ikeVersions", aws.IKE_VERSIONS)
    p1, p2 = r.phase(1), r.phase(2)
    dpd = r.field(raw, "dpd", path)
    dpd = dpd if isinstance(dpd, Mapping) else {}
    ints = r.ints(dpd)
    action = r.one_of(dpd.get("action"), "dpd.action", aws.DPD_ACTIONS)
    startup = r.one_of(raw.get("startupAction"), "startupAction", aws.STARTUP_ACTIONS)
    why = aws.phase2_lifetime_violation(p1.lifetime, p2.lifetime) if p1.lifetime else None
    if p2.lifetime and why:
        p.add(f"{path}.phase2.lifetimeSeconds", p2.lifetime, why)
    why = aws.rekey_margin_violation(ints["rekeyMarginSeconds"], p2.lifetime)
    if p2.lifetime and why:
        p.add(f"{path}.rekeyMarginSeconds", ints["rekeyMarginSeconds"], why)
    if len(p.items) > before:
        return None
    return TunnelOptions(
        ike_versions=versions,
        phase1=p1,
        phase2=p2,
        rekey_margin=ints["rekeyMarginSeconds"],
        rekey_fuzz=ints["rekeyFuzzPercentage"],
        replay_window=ints["replayWindowSize"],
        dpd_timeout=ints["timeoutSeconds"],
        dpd_action=action,
        startup_action=startup,
    )


# ------------------------------------------------------------------ vendor tables
# AWS name -> vendor spelling. The reverse tables (vendor -> AWS) are derived.

STRONGSWAN_ENC = {
    "AES128": "aes128",
    "AES256": "aes256",
    "AES128-GCM-16": "aes128gcm16",
    "AES256-GCM-16": "aes256gcm16",
}
STRONGSWAN_INTEG = {
    "SHA1": "sha1",
    "SHA2-256": "sha256",
    "SHA2-384": "sha384",
    "SHA2-512": "sha512",
}
STRONGSWAN_PRF = {k: f"prf{v}" for k, v in STRONGSWAN_INTEG.items()}
STRONGSWAN_DH = {
    2: "modp1024",
    5: "modp1536",
    14: "modp2048",
    15: "modp3072",
    16: "modp4096",
    17: "modp6144",
    18: "modp8192",
    19: "ecp256",
    20: "ecp384",
    21: "ecp521",
    22: "modp1024s160",
    23: "modp2048s224",
    24: "modp2048s256",
}

IOSXE_IKE_ENC = {
    "AES128": "aes-cbc-128",
    "AES256": "aes-cbc-256",
    "AES128-GCM-16": "aes-gcm-128",
    "AES256-GCM-16": "aes-gcm-256",
}
IOSXE_IKE_INTEG = {"SHA1": "sha1", "SHA2-256": "sha256", "SHA2-384": "sha384", "SHA2-512": "sha512"}
IOSXE_ESP_ENC = {
    "AES128": "esp-aes 128",
    "AES256": "esp-aes 256",
    "AES128-GCM-16": "esp-gcm 128",
    "AES256-GCM-16": "esp-gcm 256",
}
IOSXE_ESP_INTEG = {
    "SHA1": "esp-sha-hmac",
    "SHA2-256": "esp-sha256-hmac",
    "SHA2-384": "esp-sha384-hmac",
    "SHA2-512": "esp-sha512-hmac",
}
# IOS-XE IKEv2 and PFS know groups 1, 2, 5, 14, 15, 16, 19, 20, 21 and 24 only.
IOSXE_DH = {g: str(g) for g in (2, 5, 14, 15, 16, 19, 20, 21, 24)}

# IOS-XE's IPsec replay window sizes (set security-association replay window-size).
IOSXE_REPLAY_WINDOWS = (64, 128, 256, 512, 1024)

JUNOS_ENC = {
    "AES128": "aes-128-cbc",
    "AES256": "aes-256-cbc",
    "AES128-GCM-16": "aes-128-gcm",
    "AES256-GCM-16": "aes-256-gcm",
}
JUNOS_IKE_AUTH = {
    "SHA1": "sha1",
    "SHA2-256": "sha-256",
    "SHA2-384": "sha-384",
    "SHA2-512": "sha-512",
}
JUNOS_ESP_AUTH = {
    "SHA1": "hmac-sha1-96",
    "SHA2-256": "hmac-sha-256-128",
    "SHA2-384": "hmac-sha-384",
    "SHA2-512": "hmac-sha-512",
}
JUNOS_DH = {g: f"group{g}" for g in (2, 5, 14, 15, 16, 19, 20, 21, 24)}
JUNOS_MAX_PROPOSALS = 4  # an IKE or IPsec policy lists at most four proposals

# VyOS's "gcm128" is the 128-bit (16-byte) ICV, i.e. AWS's GCM-16.
VYOS_ENC = {
    "AES128": "aes128",
    "AES256": "aes256",
    "AES128-GCM-16": "aes128gcm128",
    "AES256-GCM-16": "aes256gcm128",
}
VYOS_HASH = {"SHA1": "sha1", "SHA2-256": "sha256", "SHA2-384": "sha384", "SHA2-512": "sha512"}
VYOS_DH = {g: str(g) for g in STRONGSWAN_DH}  # VyOS drives strongSwan: every group

FORTIOS_ENC = {
    "AES128": "aes128",
    "AES256": "aes256",
    "AES128-GCM-16": "aes128gcm",
    "AES256-GCM-16": "aes256gcm",
}
FORTIOS_HASH = {"SHA1": "sha1", "SHA2-256": "sha256", "SHA2-384": "sha384", "SHA2-512": "sha512"}
# FortiOS has no 22-24 (it offers 27-32 instead).
FORTIOS_DH = {g: str(g) for g in (2, 5, 14, 15, 16, 17, 18, 19, 20, 21)}
FORTIOS_MAX_PROPOSALS = 10


def reverse(table: Mapping[Any, str]) -> dict[str, Any]:
    """Vendor spelling -> AWS name."""
    return {v: k for k, v in table.items()}


# ------------------------------------------------------------------ per platform


class UnsupportedCryptoError(ValueError):
    """The stack's choice leaves nothing this platform can offer."""


def _supported(
    values: tuple[Any, ...], table: Mapping[Any, str], what: str, platform: str
) -> tuple[Any, ...]:
    kept = tuple(v for v in values if v in table)
    if not kept:
        raise UnsupportedCryptoError(
            f"{platform} supports none of the {what} "
            + ", ".join(map(str, values))
            + "; it knows "
            + ", ".join(map(str, table))
        )
    return kept


def strongswan(c: TunnelOptions) -> dict[str, Any]:
    """swanctl `proposals` and `esp_proposals` strings."""
    p1, p2 = c.phase1, c.phase2
    dh1 = [STRONGSWAN_DH[g] for g in p1.dh_groups]
    dh2 = [STRONGSWAN_DH[g] for g in p2.dh_groups]
    ike, esp = [], []
    for group in _families(p1.encryption):
        enc = [STRONGSWAN_ENC[e] for e in group]
        if is_aead(group[0]):
            ike.append("-".join(enc + [STRONGSWAN_PRF[i] for i in p1.integrity] + dh1))
        else:
            ike.append("-".join(enc + [STRONGSWAN_INTEG[i] for i in p1.integrity] + dh1))
    for group in _families(p2.encryption):
        enc = [STRONGSWAN_ENC[e] for e in group]
        integ = [] if is_aead(group[0]) else [STRONGSWAN_INTEG[i] for i in p2.integrity]
        esp.append("-".join(enc + integ + dh2))  # DH here is PFS, which AWS always uses
    return {"ike_proposals": ike, "esp_proposals": esp}


def iosxe(c: TunnelOptions) -> dict[str, Any]:
    """IKEv2 proposals (one per cipher family), transform sets and the PFS group."""
    p1, p2 = c.phase1, c.phase2
    groups = [IOSXE_DH[g] for g in _supported(p1.dh_groups, IOSXE_DH, "phase 1 DH groups", "iosxe")]
    pfs = _supported(p2.dh_groups, IOSXE_DH, "phase 2 DH groups", "iosxe")[0]
    proposals = []
    for group in _families(p1.encryption):
        aead = is_aead(group[0])
        proposals.append(
            {
                "suffix": "gcm" if aead else "cbc",
                "encryption": [IOSXE_IKE_ENC[e] for e in group],
                # GCM carries its own integrity: IOS-XE then wants a PRF and no integrity.
                "integrity": [] if aead else [IOSXE_IKE_INTEG[i] for i in p1.integrity],
                "prf": [IOSXE_IKE_INTEG[i] for i in p1.integrity] if aead else [],
                "group": groups,
            }
        )
    transforms = []
    for e in p2.encryption:
        if is_aead(e):
            transforms.append({"suffix": _slug(e), "spec": IOSXE_ESP_ENC[e]})
        else:
            for i in p2.integrity:
                transforms.append(
                    {
                        "suffix": f"{_slug(e)}-{_slug(i)}",
                        "spec": f"{IOSXE_ESP_ENC[e]} {IOSXE_ESP_INTEG[i]}",
                    }
                )
    # An IPsec profile references at most six transform sets.
    return {
        "ike_proposals": proposals,
        "transform_sets": transforms[:6],
        "pfs": f"group{IOSXE_DH[pfs]}",
        "replay_window": iosxe_replay_window(c.replay_window),
    }


def iosxe_replay_window(aws_window: int) -> int:
    """The largest replay window IOS-XE takes that is not larger than AWS's (64-2048)."""
    return max(w for w in IOSXE_REPLAY_WINDOWS if w <= aws_window)


def junos(c: TunnelOptions) -> dict[str, Any]:
    """IKE and IPsec proposals (one algorithm of each kind each) and the PFS group."""
    p1, p2 = c.phase1, c.phase2
    dh1 = _supported(p1.dh_groups, JUNOS_DH, "phase 1 DH groups", "junos")
    pfs = _supported(p2.dh_groups, JUNOS_DH, "phase 2 DH groups", "junos")[0]
    ike = [
        # With AES-GCM, Junos uses the IKE authentication algorithm as the PRF.
        {"encryption": JUNOS_ENC[e], "authentication": JUNOS_IKE_AUTH[i], "dh": JUNOS_DH[g]}
        for e, i, g in product(p1.encryption, p1.integrity, dh1)
    ][:JUNOS_MAX_PROPOSALS]
    esp = []
    for e in p2.encryption:
        for i in [None] if is_aead(e) else p2.integrity:
            esp.append(
                {"encryption": JUNOS_ENC[e], "authentication": JUNOS_ESP_AUTH[i] if i else None}
            )
    return {
        "ike_proposals": _numbered(ike),
        "esp_proposals": _numbered(esp[:JUNOS_MAX_PROPOSALS]),
        "pfs": JUNOS_DH[pfs],
        "version": f"v{ike_version(c)}-only",
    }


def vyos(c: TunnelOptions) -> dict[str, Any]:
    """ike-group and esp-group proposals, and the esp-group PFS group."""
    p1, p2 = c.phase1, c.phase2
    ike = [
        # With GCM the hash is only the PRF (strongSwan derives prf<hash> from it).
        {"encryption": VYOS_ENC[e], "hash": VYOS_HASH[i], "dh": VYOS_DH[g]}
        for e, i, g in product(p1.encryption, p1.integrity, p1.dh_groups)
    ]
    esp = []
    for e in p2.encryption:
        for i in [None] if is_aead(e) else p2.integrity:
            esp.append({"encryption": VYOS_ENC[e], "hash": VYOS_HASH[i] if i else None})
    return {
        "ike_proposals": _numbered(ike),
        "esp_proposals": _numbered(esp),
        "pfs": f"dh-group{VYOS_DH[p2.dh_groups[0]]}",
        "key_exchange": f"ikev{ike_version(c)}",
    }


def fortios(c: TunnelOptions) -> dict[str, Any]:
    """phase1/phase2-interface `proposal` tokens and `dhgrp` lists."""
    p1, p2 = c.phase1, c.phase2
    dh1 = _supported(p1.dh_groups, FORTIOS_DH, "phase 1 DH groups", "fortios")
    dh2 = _supported(p2.dh_groups, FORTIOS_DH, "phase 2 DH groups", "fortios")
    phase1 = [
        f"{FORTIOS_ENC[e]}-prf{FORTIOS_HASH[i]}"
        if is_aead(e)
        else f"{FORTIOS_ENC[e]}-{FORTIOS_HASH[i]}"
        for e, i in product(p1.encryption, p1.integrity)
    ]
    phase2 = []
    for e in p2.encryption:
        if is_aead(e):
            phase2.append(FORTIOS_ENC[e])
        else:
            phase2 += [f"{FORTIOS_ENC[e]}-{FORTIOS_HASH[i]}" for i in p2.integrity]
    return {
        "phase1_proposals": list(dict.fromkeys(phase1))[:FORTIOS_MAX_PROPOSALS],
        "phase1_dh": [FORTIOS_DH[g] for g in dh1],
        "phase2_proposals": list(dict.fromkeys(phase2))[:FORTIOS_MAX_PROPOSALS],
        "phase2_dh": [FORTIOS_DH[g] for g in dh2],
    }


PLATFORM_CRYPTO = {
    "linux": strongswan,
    "iosxe": iosxe,
    "junos": junos,
    "vyos": vyos,
    "fortios": fortios,
}


def _families(encryption: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Split ciphers into AEAD and classic groups, the group listed first first."""
    aead = tuple(e for e in encryption if is_aead(e))
    cbc = tuple(e for e in encryption if not is_aead(e))
    groups = [aead, cbc] if encryption and is_aead(encryption[0]) else [cbc, aead]
    return [g for g in groups if g]


def _numbered(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"number": 10 * (i + 1), **item} for i, item in enumerate(items)]


def _slug(aws_name: str) -> str:
    """A short lowercase token for object names: AES256-GCM-16 -> aes256gcm, SHA2-384 -> sha384."""
    return aws_name.lower().replace("sha2-", "sha").replace("-gcm-16", "gcm").replace("-", "")
