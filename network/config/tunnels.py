"""Reading a connection: its router and gateway, tunnel options and tunnels,
with their inside CIDRs and pre-shared keys (pure).

Each option's own range comes from `network.aws_rules`; the rules that join two
options (phase 2 below phase 1, the rekey margin against phase 2) are the
plan's, which knows which options parsed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from network import aws_rules as aws
from network.config.reader import Reader
from network.errors import Problem
from network.model import ConnectionSpec, Phase, Secret, TunnelOptions, TunnelSpec
from network.stack_file import is_secure, secret_env_var

# crossnet's own defaults are stronger than AWS's (which offers IKEv1, AES128,
# SHA1 and DH group 2 unless told otherwise).
DEFAULT_IKE_VERSIONS = ("ikev2",)
DEFAULT_ENCRYPTION = ("AES256",)
DEFAULT_INTEGRITY = ("SHA2-256",)
DEFAULT_DH_GROUPS = (20,)


def psk_key(ref: str) -> str:
    return ref if ":" in ref else f"crossnet:{ref}"


def _phase(r: Reader, body: Any, path: str, n: int, bad: set[str]) -> Phase:
    b = r.mapping(body, path, required=False)
    r.keys(b, path, {"encryption", "integrity", "dhGroups", "lifetimeSeconds"}, set())
    enc_ok = aws.PHASE1_ENCRYPTION if n == 1 else aws.PHASE2_ENCRYPTION
    int_ok = aws.PHASE1_INTEGRITY if n == 1 else aws.PHASE2_INTEGRITY
    dh_ok = aws.PHASE1_DH_GROUPS if n == 1 else aws.PHASE2_DH_GROUPS
    lo, hi = aws.PHASE1_LIFETIME if n == 1 else aws.PHASE2_LIFETIME
    enc = r.list_(
        b.get("encryption", list(DEFAULT_ENCRYPTION)),
        f"{path}.encryption",
        lambda v, q: r.str_(v, q, enc_ok),
    )
    integ = r.list_(
        b.get("integrity", list(DEFAULT_INTEGRITY)),
        f"{path}.integrity",
        lambda v, q: r.str_(v, q, int_ok),
    )

    def dh(v: Any, q: str) -> int | None:
        if isinstance(v, bool) or v not in dh_ok:
            r.p.add(q, v, f"phase {n} DH groups AWS allows: " + ", ".join(map(str, dh_ok)))
            return None
        return int(v)

    groups = r.list_(b.get("dhGroups", list(DEFAULT_DH_GROUPS)), f"{path}.dhGroups", dh)
    default_life = aws.PHASE1_LIFETIME_DEFAULT if n == 1 else aws.PHASE2_LIFETIME_DEFAULT
    life = r.int_(
        b.get("lifetimeSeconds", default_life),
        f"{path}.lifetimeSeconds",
        lo,
        hi,
        f"phase {n} lifetime is {lo}-{hi} seconds",
    )
    if life is None:
        bad.add(f"phase{n}.lifetimeSeconds")
    return Phase(
        tuple(dict.fromkeys(enc)),
        tuple(dict.fromkeys(integ)),
        tuple(dict.fromkeys(groups)),
        life if life is not None else default_life,
    )


def _options(r: Reader, body: Any, path: str, bad: set[str]) -> TunnelOptions:
    """The tunnel options; `bad` receives the names of those that did not parse
    (and were replaced by their defaults), so the plan's cross-checks skip them."""
    b = r.mapping(body, path, required=False)
    r.keys(
        b,
        path,
        {
            "ikeVersions",
            "phase1",
            "phase2",
            "rekeyMarginSeconds",
            "rekeyFuzzPercentage",
            "replayWindowSize",
            "dpd",
            "startupAction",
        },
        set(),
    )
    mark = r.mark()
    ike = r.list_(
        b.get("ikeVersions", list(DEFAULT_IKE_VERSIONS)),
        f"{path}.ikeVersions",
        lambda v, q: r.str_(v, q, aws.IKE_VERSIONS),
    )
    if r.since(mark):
        bad.add("ikeVersions")
    p1 = _phase(r, b.get("phase1"), f"{path}.phase1", 1, bad)
    p2 = _phase(r, b.get("phase2"), f"{path}.phase2", 2, bad)
    # The upper bound, half of the phase 2 lifetime, is the plan's check: it
    # depends on another option.
    margin = r.int_(
        b.get("rekeyMarginSeconds", aws.REKEY_MARGIN_DEFAULT),
        f"{path}.rekeyMarginSeconds",
        aws.REKEY_MARGIN_MIN,
        2**31 - 1,
        f"rekey margin is at least {aws.REKEY_MARGIN_MIN} seconds "
        "(and at most half of the phase 2 lifetime)",
    )
    if margin is None:
        bad.add("rekeyMarginSeconds")
    fuzz = r.int_(
        b.get("rekeyFuzzPercentage", aws.REKEY_FUZZ_DEFAULT),
        f"{path}.rekeyFuzzPercentage",
        *aws.REKEY_FUZZ,
        "rekey fuzz is 0-100 percent",
    )
    window = r.int_(
        b.get("replayWindowSize", aws.REPLAY_WINDOW_DEFAULT),
        f"{path}.replayWindowSize",
        *aws.REPLAY_WINDOW,
        f"replay window is {aws.REPLAY_WINDOW[0]}-{aws.REPLAY_WINDOW[1]} packets",
    )
    dpd = r.mapping(b.get("dpd"), f"{path}.dpd", required=False)
    r.keys(dpd, f"{path}.dpd", {"timeoutSeconds", "action"}, set())
    dpd_timeout = r.int_(
        dpd.get("timeoutSeconds", aws.DPD_TIMEOUT_DEFAULT),
        f"{path}.dpd.timeoutSeconds",
        aws.DPD_TIMEOUT_MIN,
        aws.DPD_TIMEOUT_MAX,
        f"DPD timeout is at least {aws.DPD_TIMEOUT_MIN} seconds (and at most "
        f"{aws.DPD_TIMEOUT_MAX})",
    )
    dpd_action = r.str_(dpd.get("action", "clear"), f"{path}.dpd.action", aws.DPD_ACTIONS)
    startup = r.str_(b.get("startupAction", "add"), f"{path}.startupAction", aws.STARTUP_ACTIONS)
    if startup is None:
        bad.add("startupAction")
    return TunnelOptions(
        ike_versions=tuple(dict.fromkeys(ike)),
        phase1=p1,
        phase2=p2,
        rekey_margin=margin if margin is not None else aws.REKEY_MARGIN_DEFAULT,
        rekey_fuzz=fuzz if fuzz is not None else aws.REKEY_FUZZ_DEFAULT,
        replay_window=window if window is not None else aws.REPLAY_WINDOW_DEFAULT,
        dpd_timeout=dpd_timeout if dpd_timeout is not None else aws.DPD_TIMEOUT_DEFAULT,
        dpd_action=dpd_action or "clear",
        startup_action=startup or "add",
    )


def parse_connection(
    r: Reader, name: str, body: Any, path: str, config: Mapping[str, Any]
) -> ConnectionSpec | None:
    ok = r.name(name, path)
    b = r.mapping(body, path)
    r.keys(
        b,
        path,
        {"router", "gateway", "routing", "acceleration", "publicIp"}
        | {"tunnelOptions", "tunnel1", "tunnel2"},
        {"router", "gateway", "routing"},
    )
    public_ip = r.ip(b["publicIp"], f"{path}.publicIp") if "publicIp" in b else None
    router = r.str_(b.get("router"), f"{path}.router") if "router" in b else None
    if router is not None and not re.fullmatch(r"[a-z0-9-]+/[a-z0-9-]+", router):
        r.p.add(f"{path}.router", router, "a router is named '<datacenter>/<router>'")
        router = None
    gateway = r.str_(b.get("gateway"), f"{path}.gateway") if "gateway" in b else None
    routing = (
        r.str_(b.get("routing"), f"{path}.routing", ("bgp", "static")) if "routing" in b else None
    )
    acceleration = (
        r.bool_(b["acceleration"], f"{path}.acceleration") if "acceleration" in b else False
    )
    bad: set[str] = set()
    options = _options(r, b.get("tunnelOptions"), f"{path}.tunnelOptions", bad)
    r.unparsed.update(f"option:{name}:{x}" for x in bad)
    tunnels = tuple(_tunnel(r, n, b.get(f"tunnel{n}"), f"{path}.tunnel{n}", config) for n in (1, 2))
    if not ok or router is None or gateway is None or routing is None:
        # Keep what it refers to, so that no other check calls those unused.
        if router is not None:
            r.unparsed.add(f"uses-router:{router}")
        if gateway is not None:
            r.unparsed.add(f"uses-gateway:{gateway}")
        return None
    return ConnectionSpec(
        name,
        router.replace("/", "-"),
        gateway,
        routing,
        options,
        (tunnels[0], tunnels[1]),
        router_ref=router,
        acceleration=acceleration,
        public_ip=public_ip,
    )


def _tunnel(r: Reader, n: int, body: Any, path: str, config: Mapping[str, Any]) -> TunnelSpec:
    b = r.mapping(body, path, required=False)
    r.keys(b, path, {"insideCidr", "insideIpv6Cidr", "presharedKeySecret"}, set())
    inside = r.net(b["insideCidr"], f"{path}.insideCidr") if "insideCidr" in b else None
    inside6 = (
        r.net(b["insideIpv6Cidr"], f"{path}.insideIpv6Cidr", 6) if "insideIpv6Cidr" in b else None
    )
    psk = None
    source = None
    if "presharedKeySecret" in b:
        ref = b["presharedKeySecret"]
        field = f"{path}.presharedKeySecret"
        if not isinstance(ref, str) or not ref:
            r.p.add(field, ref, "names a config key, such as dc1-edge1-t1")
            return TunnelSpec(n, inside, inside6, None, None)
        source = psk_key(ref)
        value = config.get(source)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)  # `key: 12345678` in YAML is the string the CLI passes
        if is_secure(value):
            if r.need_secrets:
                r.p.add(
                    field,
                    ref,
                    f"'{source}' is a 'secure:' value, which only the Pulumi CLI can decrypt: "
                    f"for `crossnet up` set {secret_env_var(source)} to the key in the "
                    "environment (read, never printed), or leave presharedKeySecret out to "
                    "have a key generated; `pulumi up` decrypts it itself",
                )
            else:
                r.warnings.append(
                    Problem(
                        field,
                        repr(ref),
                        f"the key is the secret config value '{source}', not read here: "
                        "AWS's key rules are checked when it is applied",
                    )
                )
        elif value is None:
            r.p.add(
                field,
                ref,
                f"names config key '{source}', which is not set "
                f"(pulumi config set --secret {source} ...)",
            )
        elif not isinstance(value, str):
            r.p.add(field, ref, f"config key '{source}' must hold the key as a string")
        elif not aws.psk_ok(value):
            # never echo the key itself: show only its length
            r.p.add(
                field,
                f"<secret {ref}, {len(value)} chars>",
                "a pre-shared key is " + aws.PSK_RULE,
            )
        else:
            psk = Secret(value)
    return TunnelSpec(n, inside, inside6, psk, source)
