"""The cross-check: silent for every golden router, loud for each kind of mistake.

Each tamper below changes one thing in a correctly rendered config (the mixed
case: VGW with BGP and a standby tunnel, TGW with ECMP, VGW with static routes)
and the cross-check must name it: a wrong key, a cipher AWS does not allow, the
AWS-side inside address on the router's interface, other BGP timers or ASN, a
lifetime that disagrees with AWS, and an inbound filter that lets more in.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from network.contract import Router, load_outputs
from network.platforms import PLATFORMS
from network.render import render_router
from network.render.check import check_router

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
ALL = [(f"{p}/{case.name}/{key}", r) for p in sorted(PLATFORMS)
       for case in sorted((GOLDEN / p).glob("*/")) if (case / "outputs.json").exists()
       for key, r in sorted(load_outputs(case / "outputs.json").routers.items())]


@pytest.mark.parametrize(("name", "router"), ALL, ids=[n for n, _ in ALL])
def test_every_golden_router_passes(name: str, router: Router) -> None:
    assert check_router(router, render_router(router)) == []


def mixed(platform: str) -> Router:
    return load_outputs(GOLDEN / platform / "mixed" / "outputs.json").routers["lon-core1"]


KEY = "FAKE_TEST_KEY_lon_core1_core_1"
# (platform, what, file, regex, replacement, words the problem must contain)
TAMPERS = [
    *[(p, "key", f, KEY, "FAKE_TEST_KEY_someone_else", "pre-shared key")
      for p, f in (("linux", "conf.d/lon-core1-core-1.conf"), ("iosxe", "router.cfg"),
                   ("junos", "router.set"), ("vyos", "router.cfg"), ("fortios", "router.conf"))],
    ("linux", "cipher", "conf.d/lon-core1-core-1.conf", r"aes256gcm16-prfsha256", "3des-sha1",
     "IKE encryption 3des"),
    ("iosxe", "cipher", "router.cfg", r"encryption aes-gcm-256", "encryption 3des",
     "IKE encryption 3des"),
    ("junos", "cipher", "router.set", r"encryption-algorithm aes-256-gcm",
     "encryption-algorithm 3des-cbc", "IKE encryption 3des-cbc"),
    ("vyos", "cipher", "router.cfg", r"encryption 'aes256gcm128'", "encryption '3des'",
     "IKE encryption 3des"),
    ("fortios", "cipher", "router.conf", r"aes256gcm-prfsha256", "3des-sha1",
     "IKE encryption 3des"),
    *[(p, "inside address", f, r"169\.254\.152\.18\b", "169.254.152.17", "customer side")
      for p, f in (("linux", "frr.conf"), ("iosxe", "router.cfg"), ("junos", "router.set"),
                   ("vyos", "router.cfg"), ("fortios", "router.conf"))],
    ("linux", "timers", "frr.conf", r"timers 10 30", "timers 10 90", "BGP timers"),
    ("iosxe", "timers", "router.cfg", r"timers 10 30", "timers 10 90", "BGP timers"),
    ("junos", "timers", "router.set", r"hold-time 30", "hold-time 90", "BGP timers"),
    ("vyos", "timers", "router.cfg", r"holdtime '30'", "holdtime '90'", "BGP timers"),
    ("fortios", "timers", "router.conf", r"holdtime-timer 30", "holdtime-timer 90",
     "BGP timers"),
    ("linux", "asn", "frr.conf", r"remote-as 64520", "remote-as 64999", "AWS's 64520"),
    ("iosxe", "asn", "router.cfg", r"remote-as 64520", "remote-as 64999", "AWS's 64520"),
    ("junos", "asn", "router.set", r"peer-as 64520", "peer-as 64999", "AWS's 64520"),
    ("vyos", "asn", "router.cfg", r"remote-as '64520'", "remote-as '64999'", "AWS's 64520"),
    ("fortios", "asn", "router.conf", r"remote-as 64520", "remote-as 64999", "AWS's 64520"),
    ("linux", "lifetime", "conf.d/lon-core1-core-1.conf", r"life_time = 1800s",
     "life_time = 3600s", "ESP lifetime"),
    ("iosxe", "lifetime", "router.cfg", r"lifetime seconds 1800", "lifetime seconds 3600",
     "ESP lifetime"),
    ("junos", "lifetime", "router.set", r"lifetime-seconds 1800", "lifetime-seconds 3600",
     "ESP lifetime"),
    ("vyos", "lifetime", "router.cfg", r"lifetime '1800'", "lifetime '3600'", "ESP lifetime"),
    ("fortios", "lifetime", "router.conf", r"keylifeseconds 1800", "keylifeseconds 3600",
     "ESP lifetime"),
    ("linux", "leak", "frr.conf", r"permit 10\.40\.0\.0/16\n", "permit 10.40.0.0/16 le 24\n",
     "inbound filter"),
    ("iosxe", "leak", "router.cfg", r"permit 10\.40\.0\.0/16\n", "permit 10.40.0.0/16 le 24\n",
     "inbound filter"),
    ("junos", "leak", "router.set", r"(prefix-list lon-core1-core-in 10\.40\.0\.0/16\n)",
     r"\1set policy-options prefix-list lon-core1-core-in 0.0.0.0/0\n", "inbound filter"),
    ("vyos", "leak", "router.cfg", r"(rule 10 prefix '10\.40\.0\.0/16'\n)",
     r"\1set policy prefix-list lon-core1-core-in rule 10 le '24'\n", "inbound filter"),
    ("fortios", "leak", "router.conf", r"unset le", "set le 24", "inbound filter"),
    # DF bit and fragmentation, where the platform has the knob
    ("linux", "df bit", "conf.d/lon-core1-core-1.conf", r"copy_df = no", "copy_df = yes",
     "outer DF bit"),
    ("iosxe", "df bit", "router.cfg", r"crypto ipsec df-bit clear", "crypto ipsec df-bit copy",
     "outer DF bit"),
    ("iosxe", "df bit per tunnel", "router.cfg", r"(interface Tunnel9733\n)",
     r"\1 crypto ipsec df-bit set\n", "outer DF bit"),
    ("iosxe", "fragmentation", "router.cfg", r"fragmentation before-encryption",
     "fragmentation after-encryption", "fragmented before encryption"),
    ("junos", "df bit", "router.set", r"df-bit clear", "df-bit copy", "outer DF bit"),
    ("fortios", "fragmentation", "router.conf", r"set ip-fragmentation pre-encapsulation\n", "",
     "fragmented before encryption"),
    # a discard route per announced prefix, worst distance
    ("linux", "discard", "frr.conf", r"ip route 10\.161\.0\.0/20 blackhole 254\n", "",
     "discard route"),
    ("linux", "discard distance", "frr.conf", r"blackhole 254", "blackhole 1", "discard route"),
    ("iosxe", "discard", "router.cfg", r"ip route 10\.161\.0\.0 255\.255\.240\.0 Null0 254\n",
     "", "discard route"),
    ("junos", "discard", "router.set",
     r"set routing-options static route 10\.161\.0\.0/20 discard\n", "", "discard route"),
    ("vyos", "discard", "router.cfg", r"route 10\.161\.0\.0/20 blackhole distance '254'",
     "route 10.161.0.0/20 blackhole distance '20'", "discard route"),
    ("fortios", "discard", "router.conf", r"set blackhole enable", "set blackhole disable",
     "discard route"),
    # static routing: the standby tunnel's route loses, on FortiOS by priority only
    ("linux", "static standby", "frr.conf", r"vti4929 10\n", "vti4929 1\n", "must lose"),
    ("iosxe", "static standby", "router.cfg", r"169\.254\.77\.5 10\n", "169.254.77.5 1\n",
     "must lose"),
    ("junos", "static standby", "router.set", r"st0\.4929 preference 10", "st0.4929 preference 1",
     "must lose"),
    ("vyos", "static standby", "router.cfg", r"(169\.254\.77\.5 distance) '10'", r"\1 '1'",
     "must lose"),
    ("fortios", "static standby", "router.conf", r"set priority 10", "set priority 1",
     "must lose"),
    ("fortios", "static distance", "router.conf", r"(aws4929\"\n +set distance) 1", r"\1 10",
     "same distance"),
    ("linux", "rp_filter", "crossnet-tunnels.sh", r"rp_filter=2", "rp_filter=1", "rp_filter=2"),
    # Junos ECMP: load-balance only the BGP routes of the ECMP connection
    ("junos", "unscoped load-balance", "router.set",
     r"(set policy-options policy-statement crossnet-ecmp term aws from [^\n]*\n)+", "",
     "changes hashing for every route"),
    ("junos", "load-balance any protocol", "router.set",
     r"set policy-options policy-statement crossnet-ecmp term aws from protocol bgp\n", "",
     "from protocol bgp"),
    ("junos", "load-balance misses ecmp", "router.set",
     r"(crossnet-ecmp term aws from prefix-list) lon-core1-hub-in", r"\1 lon-core1-core-in",
     "must load-balance these BGP routes"),
    # maximum-prefix: the session comes back by itself where the platform can
    ("linux", "max-prefix stays down", "frr.conf", r"(maximum-prefix 10) restart 5", r"\1",
     "must come back after 5 minutes"),
    ("iosxe", "max-prefix stays down", "router.cfg", r"(maximum-prefix 10) restart 5", r"\1",
     "must come back after 5 minutes"),
    ("junos", "max-prefix stays down", "router.set", r"teardown idle-timeout 5", "teardown",
     "must come back after 5 minutes"),
    # VyOS 1.3's spelling, which VyOS 1.4 refuses at commit
    ("vyos", "mobike", "router.cfg", r"aws4928 disable-mobike", "aws4928 mobike 'disable'",
     "valueless 'disable-mobike'"),
    ("vyos", "mobike on", "router.cfg", r"set vpn ipsec ike-group aws4928 disable-mobike\n", "",
     "MOBIKE must be off"),
    ("linux", "mobike on", "conf.d/lon-core1-core-1.conf", r"mobike = no", "mobike = yes",
     "MOBIKE must be off"),
    # strongSwan's own retransmissions (165 s) would hold a dead SA long after AWS's DPD
    ("linux", "dpd retransmits", "strongswan.d/crossnet.conf", r"retransmit_tries = 3",
     "retransmit_tries = 5", "DPD must give up within"),
]


def test_linux_without_its_charon_settings_fails_the_dpd_check() -> None:
    router = mixed("linux")
    files = render_router(router)
    del files["strongswan.d/crossnet.conf"]
    problems = check_router(router, files)
    assert problems and all("DPD must give up" in p.rule for p in problems)
    # strongSwan's defaults: 10 s + 4 s x (1 + 1.8 + ... + 1.8^5)
    assert any("175.1 s" in p.value for p in problems)


@pytest.mark.parametrize(("platform", "what", "file", "pattern", "repl", "expect"), TAMPERS,
                         ids=[f"{t[0]}-{t[1]}" for t in TAMPERS])
def test_each_mistake_is_named(platform: str, what: str, file: str, pattern: str, repl: str,
                               expect: str) -> None:
    router = mixed(platform)
    files = render_router(router)
    changed, n = re.subn(pattern, repl, files[file], count=1)
    assert n == 1, f"tamper {what!r} found nothing to change in {file}"
    problems = check_router(router, {**files, file: changed})
    assert any(expect in p.rule or expect in p.value for p in problems), \
        [p.line() for p in problems]
    assert all(KEY not in p.line() for p in problems)  # a key is never echoed


def test_a_config_missing_a_tunnel_or_unreadable() -> None:
    router = mixed("iosxe")
    files = render_router(router)
    text = re.sub(r"interface Tunnel9733\n(?: .*\n)+", "", files["router.cfg"])
    problems = check_router(router, {"router.cfg": text})
    assert any("no tunnel to this AWS address" in p.rule for p in problems)
    problems = check_router(router, {"other.cfg": ""})
    assert problems and "could not be read back" in problems[0].rule
