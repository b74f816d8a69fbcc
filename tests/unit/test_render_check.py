"""The cross-check: silent for every golden router, loud for each kind of mistake.

Each tamper below changes one thing in a correctly rendered config (the mixed
case: VGW with BGP and a standby tunnel, TGW with ECMP, VGW with static routes)
and the cross-check must name it, on every platform that has the setting: a
wrong key, a cipher AWS does not allow, the AWS-side inside address on the
router's interface, other BGP timers or ASN, a lifetime that disagrees with
AWS, an inbound filter that lets more in, the standby tunnel's local preference
and AS-path prepend (and either one on a primary tunnel), static distances and
priorities, tunnel MTU and TCP MSS, BGP multipath for ECMP, discard routes, the
DF bit and fragmentation, DPD give-up times, maximum-prefix restarts, Junos's
load-balance scope, MOBIKE, and syntax VyOS 1.4 refuses.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from network.contract import Router, load_outputs, parse_outputs
from network.platforms import PLATFORMS
from network.render import render_router
from network.render.check import check_router, review_router

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
ALL = [
    (f"{p}/{case.name}/{key}", r)
    for p in sorted(PLATFORMS)
    for case in sorted((GOLDEN / p).glob("*/"))
    if (case / "outputs.json").exists()
    for key, r in sorted(load_outputs(case / "outputs.json").routers.items())
]


@pytest.mark.parametrize(("name", "router"), ALL, ids=[n for n, _ in ALL])
def test_every_golden_router_passes(name: str, router: Router) -> None:
    assert check_router(router, render_router(router)) == []


def mixed(platform: str) -> Router:
    return load_outputs(GOLDEN / platform / "mixed" / "outputs.json").routers["lon-core1"]


KEY = "FAKE_TEST_KEY_lon_core1_core_1"
# (platform, what, file, regex, replacement, words the problem must contain)
TAMPERS = [
    *[
        (p, "key", f, KEY, "FAKE_TEST_KEY_someone_else", "pre-shared key")
        for p, f in (
            ("linux", "conf.d/lon-core1-core-1.conf"),
            ("iosxe", "router.cfg"),
            ("junos", "router.set"),
            ("vyos", "router.cfg"),
            ("fortios", "router.conf"),
        )
    ],
    (
        "linux",
        "cipher",
        "conf.d/lon-core1-core-1.conf",
        r"aes256gcm16-prfsha256",
        "3des-sha1",
        "IKE encryption 3des",
    ),
    (
        "iosxe",
        "cipher",
        "router.cfg",
        r"encryption aes-gcm-256",
        "encryption 3des",
        "IKE encryption 3des",
    ),
    (
        "junos",
        "cipher",
        "router.set",
        r"encryption-algorithm aes-256-gcm",
        "encryption-algorithm 3des-cbc",
        "IKE encryption 3des-cbc",
    ),
    (
        "vyos",
        "cipher",
        "router.cfg",
        r"encryption 'aes256gcm128'",
        "encryption '3des'",
        "IKE encryption 3des",
    ),
    (
        "fortios",
        "cipher",
        "router.conf",
        r"aes256gcm-prfsha256",
        "3des-sha1",
        "IKE encryption 3des",
    ),
    *[
        (p, "inside address", f, r"169\.254\.152\.18\b", "169.254.152.17", "customer side")
        for p, f in (
            ("linux", "frr.conf"),
            ("iosxe", "router.cfg"),
            ("junos", "router.set"),
            ("vyos", "router.cfg"),
            ("fortios", "router.conf"),
        )
    ],
    ("linux", "timers", "frr.conf", r"timers 10 30", "timers 10 90", "BGP timers"),
    ("iosxe", "timers", "router.cfg", r"timers 10 30", "timers 10 90", "BGP timers"),
    ("junos", "timers", "router.set", r"hold-time 30", "hold-time 90", "BGP timers"),
    ("vyos", "timers", "router.cfg", r"holdtime '30'", "holdtime '90'", "BGP timers"),
    ("fortios", "timers", "router.conf", r"holdtime-timer 30", "holdtime-timer 90", "BGP timers"),
    ("linux", "asn", "frr.conf", r"remote-as 64520", "remote-as 64999", "AWS's 64520"),
    ("iosxe", "asn", "router.cfg", r"remote-as 64520", "remote-as 64999", "AWS's 64520"),
    ("junos", "asn", "router.set", r"peer-as 64520", "peer-as 64999", "AWS's 64520"),
    ("vyos", "asn", "router.cfg", r"remote-as '64520'", "remote-as '64999'", "AWS's 64520"),
    ("fortios", "asn", "router.conf", r"remote-as 64520", "remote-as 64999", "AWS's 64520"),
    (
        "linux",
        "lifetime",
        "conf.d/lon-core1-core-1.conf",
        r"life_time = 1800s",
        "life_time = 3600s",
        "ESP lifetime",
    ),
    (
        "iosxe",
        "lifetime",
        "router.cfg",
        r"lifetime seconds 1800",
        "lifetime seconds 3600",
        "ESP lifetime",
    ),
    (
        "junos",
        "lifetime",
        "router.set",
        r"lifetime-seconds 1800",
        "lifetime-seconds 3600",
        "ESP lifetime",
    ),
    ("vyos", "lifetime", "router.cfg", r"lifetime '1800'", "lifetime '3600'", "ESP lifetime"),
    (
        "fortios",
        "lifetime",
        "router.conf",
        r"keylifeseconds 1800",
        "keylifeseconds 3600",
        "ESP lifetime",
    ),
    (
        "linux",
        "leak",
        "frr.conf",
        r"permit 10\.40\.0\.0/16\n",
        "permit 10.40.0.0/16 le 24\n",
        "inbound filter",
    ),
    (
        "iosxe",
        "leak",
        "router.cfg",
        r"permit 10\.40\.0\.0/16\n",
        "permit 10.40.0.0/16 le 24\n",
        "inbound filter",
    ),
    (
        "junos",
        "leak",
        "router.set",
        r"(prefix-list lon-core1-core-in 10\.40\.0\.0/16\n)",
        r"\1set policy-options prefix-list lon-core1-core-in 0.0.0.0/0\n",
        "inbound filter",
    ),
    (
        "vyos",
        "leak",
        "router.cfg",
        r"(rule 10 prefix '10\.40\.0\.0/16'\n)",
        r"\1set policy prefix-list lon-core1-core-in rule 10 le '24'\n",
        "inbound filter",
    ),
    ("fortios", "leak", "router.conf", r"unset le", "set le 24", "inbound filter"),
    # DF bit and fragmentation, where the platform has the knob
    (
        "linux",
        "df bit",
        "conf.d/lon-core1-core-1.conf",
        r"copy_df = no",
        "copy_df = yes",
        "outer DF bit",
    ),
    (
        "iosxe",
        "df bit",
        "router.cfg",
        r"crypto ipsec df-bit clear",
        "crypto ipsec df-bit copy",
        "outer DF bit",
    ),
    (
        "iosxe",
        "df bit per tunnel",
        "router.cfg",
        r"(interface Tunnel9733\n)",
        r"\1 crypto ipsec df-bit set\n",
        "outer DF bit",
    ),
    (
        "iosxe",
        "fragmentation",
        "router.cfg",
        r"fragmentation before-encryption",
        "fragmentation after-encryption",
        "fragmented before encryption",
    ),
    ("junos", "df bit", "router.set", r"df-bit clear", "df-bit copy", "outer DF bit"),
    (
        "fortios",
        "fragmentation",
        "router.conf",
        r"set ip-fragmentation pre-encapsulation\n",
        "",
        "fragmented before encryption",
    ),
    # a discard route per announced prefix, worst distance
    (
        "linux",
        "discard",
        "frr.conf",
        r"ip route 10\.161\.0\.0/20 blackhole 254\n",
        "",
        "discard route",
    ),
    ("linux", "discard distance", "frr.conf", r"blackhole 254", "blackhole 1", "discard route"),
    (
        "iosxe",
        "discard",
        "router.cfg",
        r"ip route 10\.161\.0\.0 255\.255\.240\.0 Null0 254\n",
        "",
        "discard route",
    ),
    (
        "junos",
        "discard",
        "router.set",
        r"set routing-options static route 10\.161\.0\.0/20 discard\n",
        "",
        "discard route",
    ),
    (
        "vyos",
        "discard",
        "router.cfg",
        r"route 10\.161\.0\.0/20 blackhole distance '254'",
        "route 10.161.0.0/20 blackhole distance '20'",
        "discard route",
    ),
    (
        "fortios",
        "discard",
        "router.conf",
        r"set blackhole enable",
        "set blackhole disable",
        "discard route",
    ),
    # static routing: the standby tunnel's route loses, on FortiOS by priority only
    ("linux", "static standby", "frr.conf", r"vti4929 10\n", "vti4929 1\n", "must lose"),
    (
        "iosxe",
        "static standby",
        "router.cfg",
        r"169\.254\.77\.5 10\n",
        "169.254.77.5 1\n",
        "must lose",
    ),
    (
        "junos",
        "static standby",
        "router.set",
        r"st0\.4929 preference 10",
        "st0.4929 preference 1",
        "must lose",
    ),
    (
        "vyos",
        "static standby",
        "router.cfg",
        r"(169\.254\.77\.5 distance) '10'",
        r"\1 '1'",
        "must lose",
    ),
    ("fortios", "static standby", "router.conf", r"set priority 10", "set priority 1", "must lose"),
    (
        "fortios",
        "static distance",
        "router.conf",
        r"(aws4929\"\n +set distance) 1",
        r"\1 10",
        "same distance",
    ),
    ("linux", "rp_filter", "crossnet-tunnels.sh", r"rp_filter=2", "rp_filter=1", "rp_filter=2"),
    # Junos ECMP: load-balance only the BGP routes of the ECMP connection
    (
        "junos",
        "unscoped load-balance",
        "router.set",
        r"(set policy-options policy-statement crossnet-ecmp term aws from [^\n]*\n)+",
        "",
        "changes hashing for every route",
    ),
    (
        "junos",
        "load-balance any protocol",
        "router.set",
        r"set policy-options policy-statement crossnet-ecmp term aws from protocol bgp\n",
        "",
        "from protocol bgp",
    ),
    (
        "junos",
        "load-balance misses ecmp",
        "router.set",
        r"(crossnet-ecmp term aws from prefix-list) lon-core1-hub-in",
        r"\1 lon-core1-core-in",
        "must load-balance these BGP routes",
    ),
    # maximum-prefix: the session comes back by itself where the platform can
    (
        "linux",
        "max-prefix stays down",
        "frr.conf",
        r"(maximum-prefix 10) restart 5",
        r"\1",
        "must come back after 5 minutes",
    ),
    (
        "iosxe",
        "max-prefix stays down",
        "router.cfg",
        r"(maximum-prefix 10) restart 5",
        r"\1",
        "must come back after 5 minutes",
    ),
    (
        "junos",
        "max-prefix stays down",
        "router.set",
        r"teardown idle-timeout 5",
        "teardown",
        "must come back after 5 minutes",
    ),
    # DPD: IOS-XE gives up after interval + 5 retries; VyOS's timeout is IKEv1-only
    (
        "iosxe",
        "dpd retry",
        "router.cfg",
        r"dpd 10 6 periodic",
        "dpd 10 10 periodic",
        "within AWS's DPD timeout",
    ),
    (
        "iosxe",
        "ikev1 profile",
        "router.cfg",
        r"set ikev2-profile lon-core1-core-1",
        "set isakmp-profile lon-core1-core-1",
        "IKE version not allowed",
    ),
    (
        "vyos",
        "dpd timeout on ikev2",
        "router.cfg",
        r"(set vpn ipsec ike-group aws4928 dead-peer-detection interval '10'\n)",
        r"\1set vpn ipsec ike-group aws4928 dead-peer-detection timeout '40'\n",
        "IKEv1-only",
    ),
    (
        "junos",
        "dpd threshold",
        "router.set",
        r"threshold 4",
        "threshold 9",
        "within AWS's DPD timeout",
    ),
    (
        "fortios",
        "dpd retries",
        "router.conf",
        r"dpd-retrycount 4",
        "dpd-retrycount 2",
        "within AWS's DPD timeout",
    ),
    # active/standby: only tunnel 2 is made less attractive, both ways
    (
        "linux",
        "standby local-pref",
        "frr.conf",
        r"local-preference 50",
        "local-preference 150",
        "below the default 100",
    ),
    (
        "iosxe",
        "standby local-pref",
        "router.cfg",
        r"local-preference 50",
        "local-preference 150",
        "below the default 100",
    ),
    (
        "junos",
        "standby local-pref",
        "router.set",
        r"local-preference 50",
        "local-preference 150",
        "below the default 100",
    ),
    (
        "vyos",
        "standby local-pref",
        "router.cfg",
        r"local-preference '50'",
        "local-preference '150'",
        "below the default 100",
    ),
    (
        "fortios",
        "standby local-pref",
        "router.conf",
        r"set-local-preference 50",
        "set-local-preference 150",
        "below the default 100",
    ),
    (
        "linux",
        "standby prepend",
        "frr.conf",
        r"prepend 65300 65300",
        "prepend 64999",
        "prepend the datacenter's ASN",
    ),
    (
        "iosxe",
        "standby prepend",
        "router.cfg",
        r"prepend 65300 65300",
        "prepend 64999",
        "prepend the datacenter's ASN",
    ),
    (
        "junos",
        "standby prepend",
        "router.set",
        r'as-path-prepend "65300 65300"',
        'as-path-prepend "64999"',
        "prepend the datacenter's ASN",
    ),
    (
        "vyos",
        "standby prepend",
        "router.cfg",
        r"prepend '65300 65300'",
        "prepend '64999'",
        "prepend the datacenter's ASN",
    ),
    (
        "fortios",
        "standby prepend",
        "router.conf",
        r"set-aspath 65300 65300",
        "set-aspath 64999",
        "prepend the datacenter's ASN",
    ),
    (
        "linux",
        "primary demoted",
        "frr.conf",
        r"(  neighbor 169\.254\.152\.17 activate\n)",
        r"\1  neighbor 169.254.152.17 route-map lon-core1-core-2-in in\n",
        "only a standby tunnel",
    ),
    (
        "iosxe",
        "primary demoted",
        "router.cfg",
        r"(  neighbor 169\.254\.152\.17 activate\n)",
        r"\1  neighbor 169.254.152.17 route-map lon-core1-core-2-out out\n",
        "only a standby tunnel",
    ),
    (
        "junos",
        "primary demoted",
        "router.set",
        r"(set policy-options policy-statement lon-core1-core-1-in term aws then accept)",
        r"set policy-options policy-statement lon-core1-core-1-in term aws then local-preference "
        r"50\n\1",
        "only a standby tunnel",
    ),
    (
        "vyos",
        "primary demoted",
        "router.cfg",
        r"(set protocols bgp neighbor 169\.254\.152\.17 description [^\n]*\n)",
        r"\1set protocols bgp neighbor 169.254.152.17 address-family ipv4-unicast route-map "
        r"import 'lon-core1-core-2-in'\n",
        "only a standby tunnel",
    ),
    (
        "fortios",
        "primary demoted",
        "router.conf",
        r"(edit \"169\.254\.152\.17\"\n)",
        r'\1            set route-map-out "aws9733-out"\n',
        "only a standby tunnel",
    ),
    # ECMP needs multipath
    ("linux", "no multipath", "frr.conf", r"  maximum-paths 2\n", "", "BGP multipath"),
    ("iosxe", "no multipath", "router.cfg", r"  maximum-paths 2\n", "", "BGP multipath"),
    (
        "junos",
        "no multipath",
        "router.set",
        r"set protocols bgp group lon-core1-hub multipath\n",
        "",
        "BGP multipath",
    ),
    (
        "vyos",
        "no multipath",
        "router.cfg",
        r"maximum-paths ebgp '2'",
        "maximum-paths ebgp '1'",
        "BGP multipath",
    ),
    (
        "fortios",
        "no multipath",
        "router.conf",
        r"set ebgp-multipath enable",
        "set ebgp-multipath disable",
        "BGP multipath",
    ),
    # tunnel MTU and TCP MSS clamp
    ("linux", "mtu", "crossnet-tunnels.sh", r"(tunnel vti4928 4928) 1399", r"\1 1500", "MTU"),
    ("iosxe", "mtu", "router.cfg", r"ip mtu 1399", "ip mtu 1500", "MTU"),
    ("junos", "mtu", "router.set", r"inet mtu 1399", "inet mtu 1500", "MTU"),
    ("vyos", "mtu", "router.cfg", r"mtu '1399'", "mtu '1500'", "MTU"),
    (
        "fortios",
        "mtu",
        "router.conf",
        r"set mtu-override enable",
        "set mtu-override disable",
        "MTU",
    ),
    (
        "linux",
        "mss one way",
        "crossnet-tunnels.sh",
        r'\s*iifname "vti4928" [^\n]*\n',
        "\n",
        "TCP MSS",
    ),
    (
        "linux",
        "mss",
        "crossnet-tunnels.sh",
        r"maxseg size set 1359",
        "maxseg size set 1460",
        "TCP MSS",
    ),
    ("iosxe", "mss", "router.cfg", r"adjust-mss 1359", "adjust-mss 1460", "TCP MSS"),
    ("junos", "mss", "router.set", r"ipsec-vpn mss 1359", "ipsec-vpn mss 1460", "TCP MSS"),
    ("vyos", "mss", "router.cfg", r"adjust-mss '1359'", "adjust-mss '1460'", "TCP MSS"),
    ("fortios", "mss", "router.conf", r"tcp-mss 1359", "tcp-mss 1460", "TCP MSS"),
    # replay window, where the platform sizes it
    (
        "linux",
        "replay window",
        "conf.d/lon-core1-core-1.conf",
        r"replay_window = 2048",
        "replay_window = 64",
        "replay window",
    ),
    (
        "iosxe",
        "replay window",
        "router.cfg",
        r"replay window-size 1024",
        "replay window-size 64",
        "replay window",
    ),
    # VyOS 1.3's spelling, which VyOS 1.4 refuses at commit
    (
        "vyos",
        "mobike",
        "router.cfg",
        r"aws4928 disable-mobike",
        "aws4928 mobike 'disable'",
        "valueless 'disable-mobike'",
    ),
    (
        "vyos",
        "mobike on",
        "router.cfg",
        r"set vpn ipsec ike-group aws4928 disable-mobike\n",
        "",
        "MOBIKE must be off",
    ),
    (
        "linux",
        "mobike on",
        "conf.d/lon-core1-core-1.conf",
        r"mobike = no",
        "mobike = yes",
        "MOBIKE must be off",
    ),
    # strongSwan's own retransmissions (165 s) would hold a dead SA long after AWS's DPD
    (
        "linux",
        "dpd retransmits",
        "strongswan.d/crossnet.conf",
        r"retransmit_tries = 3",
        "retransmit_tries = 5",
        "DPD must give up within",
    ),
]


def test_linux_without_its_charon_settings_fails_the_dpd_check() -> None:
    router = mixed("linux")
    files = render_router(router)
    del files["strongswan.d/crossnet.conf"]
    problems = check_router(router, files)
    assert problems and all("DPD must give up" in p.rule for p in problems)
    # strongSwan's defaults: 10 s + 4 s x (1 + 1.8 + ... + 1.8^5)
    assert any("175.1 s" in p.value for p in problems)


@pytest.mark.parametrize(
    ("platform", "what", "file", "pattern", "repl", "expect"),
    TAMPERS,
    ids=[f"{t[0]}-{t[1]}" for t in TAMPERS],
)
def test_each_mistake_is_named(
    platform: str, what: str, file: str, pattern: str, repl: str, expect: str
) -> None:
    router = mixed(platform)
    files = render_router(router)
    changed, n = re.subn(pattern, repl, files[file], count=1)
    assert n == 1, f"tamper {what!r} found nothing to change in {file}"
    problems = check_router(router, {**files, file: changed})
    assert any(expect in p.rule or expect in p.value for p in problems), [
        p.line() for p in problems
    ]
    assert all(KEY not in p.line() for p in problems)  # a key is never echoed


def test_vyos_ikev2_dpd_is_a_note_not_an_agreement() -> None:
    """VyOS 1.4 cannot tune IKEv2 DPD: the check says so instead of passing a timeout."""
    router = mixed("vyos")
    review = review_router(router, render_router(router))
    assert review.problems == []
    # 10 s + charon's default retransmissions (165 s), against AWS's 40 s
    assert review.notes and all("175 s" in n and "AWS after 40 s" in n for n in review.notes)
    assert len(review.notes) == len(router.connections)
    assert review_router(mixed("junos"), render_router(mixed("junos"))).notes == []


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_dpd_timeouts_that_are_no_multiple_of_the_interval(platform: str) -> None:
    """35 s: Junos and FortiOS count 3 x 10 s, IOS-XE 10 s + 5 x 5 s; all within AWS's."""
    data = json.loads((GOLDEN / platform / "dev" / "outputs.json").read_text())
    for c in data["routers"]["dc1-edge1"]["connections"]:
        c["crypto"]["dpd"]["timeoutSeconds"] = 35
    router = parse_outputs(data, "t").routers["dc1-edge1"]
    assert check_router(router, render_router(router)) == []


def test_a_config_missing_a_tunnel_or_unreadable() -> None:
    router = mixed("iosxe")
    files = render_router(router)
    text = re.sub(r"interface Tunnel9733\n(?: .*\n)+", "", files["router.cfg"])
    problems = check_router(router, {"router.cfg": text})
    assert any("no tunnel to this AWS address" in p.rule for p in problems)
    problems = check_router(router, {"other.cfg": ""})
    assert problems and "could not be read back" in problems[0].rule
