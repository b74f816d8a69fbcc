"""build_context: the values the templates get, and every input problem at once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from network.contract import Router, parse_outputs
from network.errors import ConfigError
from network.render import build_context, render_router
from network.render.check import check_router
from network.render.defaults import IOSXE_DPD_RETRIES, REDACTED, iosxe_dpd_retry

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def raw(platform: str, case: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GOLDEN / platform / case / "outputs.json").read_text())
    return data


def router(data: dict[str, Any], key: str | None = None) -> Router:
    routers = parse_outputs(data, "test").routers
    return routers[key or next(iter(routers))]


def test_dev_router_context() -> None:
    rt = router(raw("linux", "dev"))
    ctx = build_context(rt)["router"]
    assert (ctx.key, ctx.asn, ctx.router_id, ctx.bgp, ctx.static) == (
        "dc1-edge1",
        65010,
        "192.0.2.10",
        True,
        False,
    )
    (c,) = ctx.connections
    crypto = rt.connections[0].crypto
    margin = crypto["rekeyMarginSeconds"]  # fuzz 100 %: the whole margin is randomised
    assert (c.ike_lifetime, c.ike_rekey_time, c.ike_over_time, c.ike_rand_time) == (
        28800,
        28800 - margin,
        margin,
        margin,
    )
    assert (c.esp_lifetime, c.esp_rekey_time, c.esp_rand_time) == (3600, 3600 - margin, margin)
    assert (c.dpd_interval, c.dpd_retries, c.dpd_timeout) == (10, 3, 30)  # the stack's DPD 30 s
    t1, t2 = c.tunnels
    assert t1.customer_inside_ip.endswith(".114") and t1.aws_inside_ip.endswith(".113")
    assert t1.interface == f"vti{t1.tunnel_no}" and t2.tunnel_no == t1.tunnel_no + 1
    assert (t1.local_pref, t1.prepend, t1.route_map_in) == (None, (), None)
    assert (t2.local_pref, t2.prepend, t2.route_map_in) == (
        50,
        (65010, 65010),
        "dc1-edge1-app-2-in",
    )
    assert ctx.ecmp_paths == 0


def test_ecmp_and_static_context() -> None:
    prod = build_context(router(raw("linux", "prod"), "ash-edge1"))["router"]
    assert prod.ecmp_paths == 2 and all(t.local_pref is None for t in prod.tunnels)
    staging = build_context(router(raw("linux", "staging")))["router"]
    assert staging.static and not staging.bgp
    assert [t.static_distance for t in staging.tunnels] == [1, 10]
    assert [t.tunnel_no for t in staging.tunnels] == [1280, 1281]  # 169.254.20.0/30, .4/30


def test_mixed_timers_follow_the_tunnel_options() -> None:
    ctx = build_context(router(raw("linux", "mixed")))["router"]
    core = next(c for c in ctx.connections if c.name == "lon-core1-core")
    # phase 2 1800 s, margin 300 s, fuzz 50 %: rekey at 1500 s, up to 150 s earlier.
    assert (core.esp_rekey_time, core.esp_rand_time, core.ike_rekey_time) == (1500, 150, 14100)
    assert (core.dpd_interval, core.dpd_retries) == (10, 4)  # DPD timeout 40 s
    assert core.replay_window == 2048


@pytest.mark.parametrize("platform", ["linux", "iosxe", "junos", "vyos", "fortios"])
def test_redact_masks_every_key(platform: str) -> None:
    data = raw("linux", "mixed")
    for r in data["routers"].values():
        r["platform"] = platform
    rt = router(data)
    keys = [t.psk.reveal() for c in rt.connections for t in c.tunnels]
    assert all(t.psk == REDACTED for t in build_context(rt, redact=True)["router"].tunnels)
    text = "".join(render_router(rt, redact=True).values())
    assert not any(k in text for k in keys) and REDACTED in text
    assert all(k in "".join(render_router(rt).values()) for k in keys)


def test_every_problem_of_a_router_at_once() -> None:
    data = raw("linux", "mixed")
    r = data["routers"]["lon-core1"]
    conns = {c["name"]: c for c in r["connections"]}
    conns["lon-core1-core"]["tunnels"][0]["insideCidr"] = "169.254.9.0/29"
    conns["lon-core1-core"]["tunnels"][1]["customerOutsideIp"] = "192.0.2.99"
    conns["lon-core1-hub"]["crypto"]["phase1"]["encryption"] = ["3DES"]
    conns["lon-core1-batch"]["routing"] = "ospf"
    with pytest.raises(ConfigError) as e:
        build_context(router(data))
    text = e.value.render()
    for needle in ("insideCidr", "customerOutsideIp", "phase1.encryption", "routing"):
        assert needle in text
    assert "FAKE_TEST_KEY" not in text


def test_unknown_platform_and_no_tunnels() -> None:
    data = raw("linux", "dev")
    data["routers"]["dc1-edge1"]["platform"] = "pan-os"
    with pytest.raises(ConfigError, match="problem") as e:
        build_context(router(data))
    assert "unknown platform" in e.value.render()
    empty = Router(
        key="x-y",
        datacenter="x",
        name="y",
        platform="linux",
        public_ip="192.0.2.1",
        asn=65000,
        prefixes=("10.0.0.0/16",),
        connections=(),
    )
    with pytest.raises(ConfigError) as e:
        build_context(empty)
    assert "no tunnels" in e.value.render()


def test_iosxe_needs_one_phase1_per_router() -> None:
    data = raw("linux", "mixed")
    r = data["routers"]["lon-core1"]
    r["platform"] = "iosxe"
    r["connections"][0]["crypto"]["phase1"]["dhGroups"] = [19]
    with pytest.raises(ConfigError) as e:
        build_context(router(data))
    assert "same phase 1 algorithms" in e.value.render()


@pytest.mark.parametrize("platform", ["linux", "junos", "vyos", "fortios", "iosxe"])
def test_ikev1_only_connections(platform: str) -> None:
    data = raw("linux", "dev")
    r = data["routers"]["dc1-edge1"]
    r["platform"] = platform
    crypto = r["connections"][0]["crypto"]
    crypto["ikeVersions"], crypto["startupAction"] = ["ikev1"], "add"
    if platform == "iosxe":
        with pytest.raises(ConfigError, match="problem") as e:
            render_router(router(data))
        assert "IKEv2 only" in e.value.render()
        return
    rt = router(data)
    files = render_router(rt)
    assert check_router(rt, files) == []
    text = "".join(files.values())
    expected = {
        "linux": "version = 1",
        "junos": "version v1-only",
        "vyos": "key-exchange 'ikev1'",
        "fortios": "set ike-version 1",
    }[platform]
    assert expected in text
    if platform == "linux":
        assert "dpd_timeout = 30s" in text


@pytest.mark.parametrize(("timeout", "retry"), [(30, 4), (35, 5), (40, 6), (3600, 60)])
def test_iosxe_dpd_gives_up_within_aws_timeout(timeout: int, retry: int) -> None:
    interval = min(10, timeout // 3)
    assert iosxe_dpd_retry(timeout, interval) == retry
    assert interval + IOSXE_DPD_RETRIES * retry <= timeout


def test_templates_stay_dumb() -> None:
    """Templates only `if`, `for` and `include`, print values and join lists: no
    comparisons, arithmetic, calls or inline conditions (that logic is build_context's)."""
    from jinja2 import nodes

    from network.render.environment import TEMPLATE_DIR, environment
    from network.render.filters import FILTERS

    env = environment()
    allowed_filters = {"join", *FILTERS}
    banned = (
        nodes.Compare,
        nodes.BinExpr,
        nodes.UnaryExpr,
        nodes.Concat,
        nodes.CondExpr,
        nodes.Call,
        nodes.Assign,
        nodes.Macro,
        nodes.Test,
    )
    for path in sorted(TEMPLATE_DIR.rglob("*.j2")):
        tree = env.parse(path.read_text())
        for node in tree.find_all(banned):
            if isinstance(node, nodes.Not) and isinstance(node.node, (nodes.Name, nodes.Getattr)):
                continue
            raise AssertionError(
                f"{path.relative_to(TEMPLATE_DIR)}:{node.lineno}: "
                f"{type(node).__name__} belongs in build_context"
            )
        for f in tree.find_all(nodes.Filter):
            assert f.name in allowed_filters, (path, f.name)


@pytest.mark.parametrize(
    ("platform", "flag", "want"),
    [
        ("junos", None, True),  # outputs of an older program: no flag, policies rendered
        ("junos", True, True),
        ("junos", False, False),
        ("fortios", False, False),
        ("linux", True, False),  # not zone-based: forwards without a policy
    ],
)
def test_policies_follow_the_router_flag(platform: str, flag: bool | None, want: bool) -> None:
    data = raw(platform, "dev")
    if flag is None:
        del data["routers"]["dc1-edge1"]["firewallPolicies"]
    else:
        data["routers"]["dc1-edge1"]["firewallPolicies"] = flag
    ctx = build_context(router(data))["router"]
    assert ctx.policies is want
    (c,) = ctx.connections
    assert ctx.policy_addresses == (
        ("crossnet-10.128.0.0-16", "10.128.0.0/16"),
        ("crossnet-10.16.0.0-16", "10.16.0.0/16"),
    )
    assert (c.address_set_dc, c.dc_addresses) == ("dc1-edge1-app-dc", ("crossnet-10.128.0.0-16",))


def test_a_policy_flag_that_is_not_true_or_false() -> None:
    data = raw("junos", "dev")
    data["routers"]["dc1-edge1"]["firewallPolicies"] = "no"
    with pytest.raises(ConfigError) as e:
        parse_outputs(data, "test")
    assert "routers.dc1-edge1.firewallPolicies: 'no' (true or false)" in str(
        e.value.problems[0].line()
    )


def test_iosxe_policy_matches_every_local_address_of_the_router() -> None:
    """A connection on a second address of its router (`connections.<c>.publicIp`): the
    IKEv2 policy, which matches the local address only, must match that address too, or
    IOS-XE answers that tunnel's IKE_SA_INIT with no proposal chosen."""
    data = raw("linux", "dev")
    r = data["routers"]["dc1-edge1"]
    r["platform"] = "iosxe"
    for t in r["connections"][0]["tunnels"]:
        t["customerOutsideIp"] = "192.0.2.20"
    rt = router(data)
    assert build_context(rt)["router"].local_addresses == ("192.0.2.10", "192.0.2.20")
    files = render_router(rt)
    text = "".join(files.values())
    assert " match address local 192.0.2.10\n match address local 192.0.2.20\n" in text
    assert " tunnel source 192.0.2.20\n" in text
    assert check_router(rt, files) == []
