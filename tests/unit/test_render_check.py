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
load-balance scope, MOBIKE, syntax VyOS 1.4 refuses, and the Junos and FortiOS
policies between the tunnels and the LAN (exactly the planned prefixes, both ways).
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
# The file a tamper edits unless it names one: the platform's main config file.
FILES = {
    "linux": "frr.conf",
    "iosxe": "router.cfg",
    "junos": "router.set",
    "vyos": "router.cfg",
    "fortios": "router.conf",
}
LINUX_TUNNEL = "conf.d/lon-core1-core-1.conf"
# what -> (words the problem must contain, {platform: (regex, replacement[, file])}):
# one mistake, made on every platform that has the setting.
MISTAKES: dict[str, tuple[str, dict[str, tuple[str, ...]]]] = {
    "key": (
        "pre-shared key",
        {
            "linux": (KEY, "FAKE_TEST_KEY_someone_else", LINUX_TUNNEL),
            "iosxe": (KEY, "FAKE_TEST_KEY_someone_else"),
            "junos": (KEY, "FAKE_TEST_KEY_someone_else"),
            "vyos": (KEY, "FAKE_TEST_KEY_someone_else"),
            "fortios": (KEY, "FAKE_TEST_KEY_someone_else"),
        },
    ),
    "cipher": (
        "IKE encryption 3des",
        {
            "linux": ("aes256gcm16-prfsha256", "3des-sha1", LINUX_TUNNEL),
            "iosxe": ("encryption aes-gcm-256", "encryption 3des"),
            "junos": ("encryption-algorithm aes-256-gcm", "encryption-algorithm 3des-cbc"),
            "vyos": ("encryption 'aes256gcm128'", "encryption '3des'"),
            "fortios": ("aes256gcm-prfsha256", "3des-sha1"),
        },
    ),
    "inside address": (
        "customer side",
        {
            "linux": (r"169\.254\.152\.18\b", "169.254.152.17"),
            "iosxe": (r"169\.254\.152\.18\b", "169.254.152.17"),
            "junos": (r"169\.254\.152\.18\b", "169.254.152.17"),
            "vyos": (r"169\.254\.152\.18\b", "169.254.152.17"),
            "fortios": (r"169\.254\.152\.18\b", "169.254.152.17"),
        },
    ),
    "timers": (
        "BGP timers",
        {
            "linux": ("timers 10 30", "timers 10 90"),
            "iosxe": ("timers 10 30", "timers 10 90"),
            "junos": ("hold-time 30", "hold-time 90"),
            "vyos": ("holdtime '30'", "holdtime '90'"),
            "fortios": ("holdtime-timer 30", "holdtime-timer 90"),
        },
    ),
    "asn": (
        "AWS's 64520",
        {
            "linux": ("remote-as 64520", "remote-as 64999"),
            "iosxe": ("remote-as 64520", "remote-as 64999"),
            "junos": ("peer-as 64520", "peer-as 64999"),
            "vyos": ("remote-as '64520'", "remote-as '64999'"),
            "fortios": ("remote-as 64520", "remote-as 64999"),
        },
    ),
    "lifetime": (
        "ESP lifetime",
        {
            "linux": ("life_time = 1800s", "life_time = 3600s", LINUX_TUNNEL),
            "iosxe": ("lifetime seconds 1800", "lifetime seconds 3600"),
            "junos": ("lifetime-seconds 1800", "lifetime-seconds 3600"),
            "vyos": ("lifetime '1800'", "lifetime '3600'"),
            "fortios": ("keylifeseconds 1800", "keylifeseconds 3600"),
        },
    ),
    "leak": (
        "inbound filter",
        {
            "linux": (r"permit 10\.40\.0\.0/16\n", "permit 10.40.0.0/16 le 24\n"),
            "iosxe": (r"permit 10\.40\.0\.0/16\n", "permit 10.40.0.0/16 le 24\n"),
            "junos": (
                r"(prefix-list lon-core1-core-in 10\.40\.0\.0/16\n)",
                r"\1set policy-options prefix-list lon-core1-core-in 0.0.0.0/0\n",
            ),
            "vyos": (
                r"(rule 10 prefix '10\.40\.0\.0/16'\n)",
                r"\1set policy prefix-list lon-core1-core-in rule 10 le '24'\n",
            ),
            "fortios": ("unset le", "set le 24"),
        },
    ),
    # DF bit and fragmentation, where the platform has the knob
    "df bit": (
        "outer DF bit",
        {
            "linux": ("copy_df = no", "copy_df = yes", LINUX_TUNNEL),
            "iosxe": ("crypto ipsec df-bit clear", "crypto ipsec df-bit copy"),
            "junos": ("df-bit clear", "df-bit copy"),
        },
    ),
    "df bit per tunnel": (
        "outer DF bit",
        {
            "iosxe": (r"(interface Tunnel9733\n)", r"\1 crypto ipsec df-bit set\n"),
        },
    ),
    "fragmentation": (
        "fragmented before encryption",
        {
            "iosxe": ("fragmentation before-encryption", "fragmentation after-encryption"),
            "fortios": (r"set ip-fragmentation pre-encapsulation\n", ""),
        },
    ),
    # a discard route per announced prefix, worst distance
    "discard": (
        "discard route",
        {
            "linux": (r"ip route 10\.161\.0\.0/20 blackhole 254\n", ""),
            "iosxe": (r"ip route 10\.161\.0\.0 255\.255\.240\.0 Null0 254\n", ""),
            "junos": (r"set routing-options static route 10\.161\.0\.0/20 discard\n", ""),
            "vyos": (
                r"route 10\.161\.0\.0/20 blackhole distance '254'",
                "route 10.161.0.0/20 blackhole distance '20'",
            ),
            "fortios": ("set blackhole enable", "set blackhole disable"),
        },
    ),
    "discard distance": (
        "discard route",
        {
            "linux": ("blackhole 254", "blackhole 1"),
        },
    ),
    # static routing: the standby tunnel's route loses, on FortiOS by priority only
    "static standby": (
        "must lose",
        {
            "linux": (r"vti4929 10\n", "vti4929 1\n"),
            "iosxe": (r"169\.254\.77\.5 10\n", "169.254.77.5 1\n"),
            "junos": (r"st0\.4929 preference 10", "st0.4929 preference 1"),
            "vyos": (r"(169\.254\.77\.5 distance) '10'", r"\1 '1'"),
            "fortios": ("set priority 10", "set priority 1"),
        },
    ),
    "static distance": (
        "same distance",
        {
            "fortios": (r"(aws4929\"\n +set distance) 1", r"\1 10"),
        },
    ),
    "rp_filter": (
        "rp_filter=2",
        {
            "linux": ("rp_filter=2", "rp_filter=1", "crossnet-tunnels.sh"),
        },
    ),
    # Junos ECMP: load-balance only the BGP routes of the ECMP connection
    "unscoped load-balance": (
        "changes hashing for every route",
        {
            "junos": (
                r"(set policy-options policy-statement crossnet-ecmp term aws from [^\n]*\n)+",
                "",
            ),
        },
    ),
    "load-balance any protocol": (
        "from protocol bgp",
        {
            "junos": (
                r"set policy-options policy-statement crossnet-ecmp term aws from protocol bgp\n",
                "",
            ),
        },
    ),
    "load-balance misses ecmp": (
        "must load-balance these BGP routes",
        {
            "junos": (
                "(crossnet-ecmp term aws from prefix-list) lon-core1-hub-in",
                r"\1 lon-core1-core-in",
            ),
        },
    ),
    # maximum-prefix: the session comes back by itself where the platform can
    "max-prefix stays down": (
        "must come back after 5 minutes",
        {
            "linux": ("(maximum-prefix 10) restart 5", r"\1"),
            "iosxe": ("(maximum-prefix 10) restart 5", r"\1"),
            "junos": ("teardown idle-timeout 5", "teardown"),
        },
    ),
    # DPD: IOS-XE gives up after interval + 5 retries; VyOS's timeout is IKEv1-only
    "dpd retry": (
        "within AWS's DPD timeout",
        {
            "iosxe": ("dpd 10 6 periodic", "dpd 10 10 periodic"),
        },
    ),
    "ikev1 profile": (
        "IKE version not allowed",
        {
            "iosxe": ("set ikev2-profile lon-core1-core-1", "set isakmp-profile lon-core1-core-1"),
        },
    ),
    "dpd timeout on ikev2": (
        "IKEv1-only",
        {
            "vyos": (
                r"(set vpn ipsec ike-group aws4928 dead-peer-detection interval '10'\n)",
                r"\1set vpn ipsec ike-group aws4928 dead-peer-detection timeout '40'\n",
            ),
        },
    ),
    "dpd threshold": (
        "within AWS's DPD timeout",
        {
            "junos": ("threshold 4", "threshold 9"),
        },
    ),
    "dpd retries": (
        "within AWS's DPD timeout",
        {
            "fortios": ("dpd-retrycount 4", "dpd-retrycount 2"),
        },
    ),
    # active/standby: only tunnel 2 is made less attractive, both ways
    "standby local-pref": (
        "below the default 100",
        {
            "linux": ("local-preference 50", "local-preference 150"),
            "iosxe": ("local-preference 50", "local-preference 150"),
            "junos": ("local-preference 50", "local-preference 150"),
            "vyos": ("local-preference '50'", "local-preference '150'"),
            "fortios": ("set-local-preference 50", "set-local-preference 150"),
        },
    ),
    "standby prepend": (
        "prepend the datacenter's ASN",
        {
            "linux": ("prepend 65300 65300", "prepend 64999"),
            "iosxe": ("prepend 65300 65300", "prepend 64999"),
            "junos": ('as-path-prepend "65300 65300"', 'as-path-prepend "64999"'),
            "vyos": ("prepend '65300 65300'", "prepend '64999'"),
            "fortios": ("set-aspath 65300 65300", "set-aspath 64999"),
        },
    ),
    "primary demoted": (
        "only a standby tunnel",
        {
            "linux": (
                r"(  neighbor 169\.254\.152\.17 activate\n)",
                r"\1  neighbor 169.254.152.17 route-map lon-core1-core-2-in in\n",
            ),
            "iosxe": (
                r"(  neighbor 169\.254\.152\.17 activate\n)",
                r"\1  neighbor 169.254.152.17 route-map lon-core1-core-2-out out\n",
            ),
            "junos": (
                "(set policy-options policy-statement lon-core1-core-1-in term aws then accept)",
                r"set policy-options policy-statement lon-core1-core-1-in term aws then "
                r"local-preference 50\n\1",
            ),
            "vyos": (
                r"(set protocols bgp neighbor 169\.254\.152\.17 description [^\n]*\n)",
                r"\1set protocols bgp neighbor 169.254.152.17 address-family ipv4-unicast "
                r"route-map import 'lon-core1-core-2-in'\n",
            ),
            "fortios": (
                r"(edit \"169\.254\.152\.17\"\n)",
                r'\1            set route-map-out "aws9733-out"\n',
            ),
        },
    ),
    # ECMP needs multipath
    "no multipath": (
        "BGP multipath",
        {
            "linux": (r"  maximum-paths 2\n", ""),
            "iosxe": (r"  maximum-paths 2\n", ""),
            "junos": (r"set protocols bgp group lon-core1-hub multipath\n", ""),
            "vyos": ("maximum-paths ebgp '2'", "maximum-paths ebgp '1'"),
            "fortios": ("set ebgp-multipath enable", "set ebgp-multipath disable"),
        },
    ),
    # tunnel MTU and TCP MSS clamp
    "mtu": (
        "MTU",
        {
            "linux": ("(tunnel vti4928 4928) 1399", r"\1 1500", "crossnet-tunnels.sh"),
            "iosxe": ("ip mtu 1399", "ip mtu 1500"),
            "junos": ("inet mtu 1399", "inet mtu 1500"),
            "vyos": ("mtu '1399'", "mtu '1500'"),
            "fortios": ("set mtu-override enable", "set mtu-override disable"),
        },
    ),
    "mss one way": (
        "TCP MSS",
        {
            "linux": (r'\s*iifname "vti4928" [^\n]*\n', "\n", "crossnet-tunnels.sh"),
        },
    ),
    "mss": (
        "TCP MSS",
        {
            "linux": ("maxseg size set 1359", "maxseg size set 1460", "crossnet-tunnels.sh"),
            "iosxe": ("adjust-mss 1359", "adjust-mss 1460"),
            "junos": ("ipsec-vpn mss 1359", "ipsec-vpn mss 1460"),
            "vyos": ("adjust-mss '1359'", "adjust-mss '1460'"),
            "fortios": ("tcp-mss 1359", "tcp-mss 1460"),
        },
    ),
    # replay window, where the platform sizes it
    "replay window": (
        "replay window",
        {
            "linux": ("replay_window = 2048", "replay_window = 64", LINUX_TUNNEL),
            "iosxe": ("replay window-size 1024", "replay window-size 64"),
        },
    ),
    # VyOS 1.3's spelling, which VyOS 1.4 refuses at commit
    "mobike": (
        "valueless 'disable-mobike'",
        {
            "vyos": ("aws4928 disable-mobike", "aws4928 mobike 'disable'"),
        },
    ),
    "mobike on": (
        "MOBIKE must be off",
        {
            "vyos": (r"set vpn ipsec ike-group aws4928 disable-mobike\n", ""),
            "linux": ("mobike = no", "mobike = yes", LINUX_TUNNEL),
        },
    ),
    # strongSwan's own retransmissions (165 s) would hold a dead SA long after AWS's DPD
    "dpd retransmits": (
        "DPD must give up within",
        {
            "linux": ("retransmit_tries = 3", "retransmit_tries = 5", "strongswan.d/crossnet.conf"),
        },
    ),
    # zone-based platforms: policies both ways, naming exactly the planned prefixes
    "policy prefix": (
        "no policy lets exactly these planned prefixes through",
        {
            "junos": (r"(address crossnet-10\.40\.0\.0-16) 10\.40\.0\.0/16", r"\1 10.40.0.0/15"),
            "fortios": (r"set subnet 10\.40\.0\.0 255\.255\.0\.0", "set subnet 10.0.0.0 255.0.0.0"),
        },
    ),
    "policy wider": (
        "a policy naming prefixes or tunnels the plan does not",
        {
            "junos": (
                r"(policy lon-core1-core-in match) source-address lon-core1-core-aws",
                r"\1 source-address any",
            ),
            "fortios": (r'(set srcaddr) "lon-core1-core-aws"', r'\1 "all"'),
        },
    ),
    "policy missing": (
        "no policy lets exactly these planned prefixes through",
        {
            "junos": (r"set security policies [^\n]* policy lon-core1-hub-in then permit\n", ""),
            "fortios": (r"set action accept", "set action deny"),
        },
    ),
    "policy denies": (
        "no policy lets exactly these planned prefixes through",
        {
            "junos": (r"(policy lon-core1-core-out) then permit", r"\1 then deny"),
            "fortios": (
                r'(set name "aws9732-in"\n(?: +set [^\n]*\n)*?) +set action accept\n',
                r"\1",
            ),
        },
    ),
    "policy tunnels": (
        "over aws9732, aws9733",
        {"fortios": (r'set dstintf "aws9732" "aws9733"', 'set dstintf "aws9732"')},
    ),
    "tunnel outside the zone": (
        "outside the VPN zone",
        {
            "junos": (
                r"(set security zones security-zone aws-vpn interfaces st0\.4928 [^\n]*\n)+",
                "",
            )
        },
    ),
}
# (platform, what, file, regex, replacement, words the problem must contain)
TAMPERS = [
    (platform, what, edit[2] if len(edit) > 2 else FILES[platform], edit[0], edit[1], expect)
    for what, (expect, edits) in MISTAKES.items()
    for platform, edit in edits.items()
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


@pytest.mark.parametrize("platform", ["fortios", "junos"])
def test_policies_where_the_site_keeps_its_own(platform: str) -> None:
    """firewallPolicies false: the sitepolicy golden holds none, and a config that
    still carries crossnet's policies is refused."""
    own = load_outputs(GOLDEN / platform / "sitepolicy" / "outputs.json").routers["lon-core1"]
    assert not own.firewall_policies
    assert check_router(own, render_router(own)) == []
    problems = check_router(own, render_router(mixed(platform)))
    assert len(problems) == 2 * 3 and all("the config must hold none" in p.rule for p in problems)


@pytest.mark.parametrize("platform", ["linux", "iosxe", "vyos"])
def test_no_policies_where_the_platform_forwards_without_them(platform: str) -> None:
    files = render_router(mixed(platform))
    assert not any("firewall policy" in t or "security policies" in t for t in files.values())
