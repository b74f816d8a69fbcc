"""A table-driven corpus of bad stack configs: each must give a one-screen
error naming the field, the value and the rule, exit 2, and write nothing."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from network.cli import main
from tests.conftest import ROOT, load_stack

N = "crossnet:network"
Mut = Callable[[dict[str, Any]], None]


def net(cfg: dict[str, Any]) -> dict[str, Any]:
    return cfg[N]


def conn(cfg: dict[str, Any], name: str = "dc1-edge1-app") -> dict[str, Any]:
    return net(cfg)["connections"][name]


def opts(cfg: dict[str, Any]) -> dict[str, Any]:
    return conn(cfg)["tunnelOptions"]


def _set(path: list[Any], value: Any) -> Mut:
    def mutate(cfg: dict[str, Any]) -> None:
        node: Any = cfg
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = value

    return mutate


def _del(path: list[Any]) -> Mut:
    def mutate(cfg: dict[str, Any]) -> None:
        node: Any = cfg
        for k in path[:-1]:
            node = node[k]
        del node[path[-1]]

    return mutate


def _many(*muts: Mut) -> Mut:
    def mutate(cfg: dict[str, Any]) -> None:
        for m in muts:
            m(cfg)

    return mutate


C = [N, "connections", "dc1-edge1-app"]
T = [*C, "tunnelOptions"]
V = [N, "vpcs", "app"]
D = [N, "datacenters", "dc1"]

# (case id, stack, mutation, substrings the message must hold)
CASES: list[tuple[str, str, Mut, list[str]]] = [
    (
        "vpc-overlaps-datacenter",
        "dev",
        _set([*V, "cidr"], "10.128.0.0/16"),
        ["crossnet:network.vpcs.app.cidr", "'10.128.0.0/16'", "overlaps"],
    ),
    (
        "vpc-cidr-host-bits",
        "dev",
        _set([*V, "cidr"], "10.16.0.1/16"),
        ["vpcs.app.cidr", "host bits set"],
    ),
    (
        "vpc-cidr-not-a-cidr",
        "dev",
        _set([*V, "cidr"], "banana"),
        ["vpcs.app.cidr", "'banana'", "IPv4 CIDR"],
    ),
    (
        "subnet-outside-vpc",
        "staging",
        _set([N, "vpcs", "data", "tiers", "db", "subnets", "eu-west-1a"], "10.99.0.0/24"),
        ["tiers.db.subnets.eu-west-1a", "10.99.0.0/24", "inside its VPC"],
    ),
    (
        "subnets-overlap",
        "staging",
        _set([N, "vpcs", "data", "tiers", "db", "subnets", "eu-west-1b"], "10.33.0.0/25"),
        ["vpcs.data.tiers.db", "overlaps subnet"],
    ),
    (
        "datacenters-overlap",
        "prod",
        _set([N, "datacenters", "fra", "prefixes"], ["10.128.64.0/18"]),
        ["datacenters.fra.prefixes[0]", "overlaps"],
    ),
    (
        "inside-cidr-not-30",
        "dev",
        _set([*C, "tunnel1"], {"insideCidr": "169.254.10.0/29"}),
        ["tunnel1.insideCidr", "169.254.10.0/29", "is a /30"],
    ),
    (
        "inside-cidr-outside-link-local",
        "dev",
        _set([*C, "tunnel1"], {"insideCidr": "10.0.0.0/30"}),
        ["tunnel1.insideCidr", "lies in 169.254.0.0/16"],
    ),
    (
        "inside-cidr-reserved",
        "dev",
        _set([*C, "tunnel2"], {"insideCidr": "169.254.169.252/30"}),
        ["tunnel2.insideCidr", "169.254.169.252/30", "reserved by AWS"],
    ),
    (
        "inside-cidr-duplicate",
        "dev",
        _many(
            _set([*C, "tunnel1"], {"insideCidr": "169.254.30.0/30"}),
            _set([*C, "tunnel2"], {"insideCidr": "169.254.30.0/30"}),
        ),
        ["tunnel2.insideCidr", "also used by dc1-edge1-app.tunnel1", "unique per gateway"],
    ),
    (
        "ipv6-inside-on-vgw",
        "dev",
        _set([*C, "tunnel1"], {"insideIpv6Cidr": "fd00::/126"}),
        ["tunnel1.insideIpv6Cidr", "need a transit gateway"],
    ),
    (
        "asn-out-of-range",
        "dev",
        _set([*D, "asn"], 4294967295),
        ["datacenters.dc1.asn", "4294967295", "an ASN is 1-2147483647"],
    ),
    (
        "asn-equals-aws",
        "dev",
        _set([*D, "asn"], 64512),
        ["datacenters.dc1.asn", "64512", "equals the AWS-side ASN"],
    ),
    (
        "amazon-asn-not-private",
        "dev",
        _set([N, "vpnGateways", "app-vgw", "asn"], 7224),
        ["vpnGateways.app-vgw.asn", "64512-65534"],
    ),
    (
        "phase2-not-below-phase1",
        "dev",
        _set([*T, "phase1", "lifetimeSeconds"], 3600),
        ["phase2.lifetimeSeconds", "must be below phase 1"],
    ),
    (
        "rekey-margin-too-big",
        "dev",
        _set([*T, "rekeyMarginSeconds"], 1900),
        ["rekeyMarginSeconds: 1900 (rekey margin is at most half of phase 2 lifetime (1800))"],
    ),
    (
        "rekey-margin-too-small",
        "dev",
        _set([*T, "rekeyMarginSeconds"], 30),
        ["rekeyMarginSeconds: 30 (rekey margin is at least 60 seconds"],
    ),
    (
        "router-key-collision",
        "dev",
        _many(
            _set(
                [N, "datacenters", "dc1-a"],
                {
                    "asn": 65011,
                    "prefixes": ["10.129.0.0/16"],
                    "routers": {"b": {"publicIp": "198.51.100.50", "platform": "linux"}},
                },
            ),
            _set([*D, "routers", "a-b"], {"publicIp": "198.51.100.51", "platform": "linux"}),
            _set(
                [N, "connections", "c-x"],
                {"router": "dc1-a/b", "gateway": "app-vgw", "routing": "bgp"},
            ),
            _set(
                [N, "connections", "c-y"],
                {"router": "dc1/a-b", "gateway": "app-vgw", "routing": "bgp"},
            ),
        ),
        [
            "datacenters.dc1-a.routers.b: 'dc1-a-b' (the same router key as dc1/a-b",
            "must be unique",
        ],
    ),
    (
        "resource-name-collision",
        "dev",
        _many(
            _set(
                [N, "vpcs", "a"],
                {
                    "cidr": "10.20.0.0/16",
                    "azs": ["us-east-1a"],
                    "tiers": {"b-c": {"prefixLength": 24}},
                },
            ),
            _set(
                [N, "vpcs", "a-b"],
                {
                    "cidr": "10.21.0.0/16",
                    "azs": ["us-east-1a"],
                    "tiers": {"c": {"prefixLength": 24}},
                },
            ),
        ),
        [
            "vpcs.a-b.tiers.c: 'a-b-c-rt (+5 more)' (the same resource name(s) as "
            "crossnet:network.vpcs.a.tiers.b-c",
            "Pulumi refuses two resources with one name",
        ],
    ),
    (
        "unknown-router-keeps-its-name",
        "dev",
        _set([*C, "router"], "dc-east/edge9"),
        ["connections.dc1-edge1-app.router: 'dc-east/edge9' (no such router; known: dc1/edge1)"],
    ),
    (
        "ipv6-inside-on-tgw",
        "prod",
        _set([N, "connections", "ash-edge1-hub", "tunnel1"], {"insideIpv6Cidr": "fd00::/126"}),
        [
            "ash-edge1-hub.tunnel1.insideIpv6Cidr: 'fd00::/126' (IPv6 tunnels are not supported "
            "yet",
            "carry IPv6 traffic only",
        ],
    ),
    (
        "two-static-connections-one-tgw-prefix",
        "prod",
        _many(
            _set([N, "connections", "ash-edge1-hub", "routing"], "static"),
            _set([N, "connections", "ash-edge2-hub", "routing"], "static"),
        ),
        [
            "connections.ash-edge2-hub.routing: 'static' (ash-edge1-hub already needs the static "
            "route 10.128.0.0/16",
            "holds one static route per CIDR",
        ],
    ),
    (
        "psk-secure-without-its-value",
        "dev",
        _many(
            _set(["crossnet:t1psk"], {"secure": "v1:abcdefgh"}),
            _set([*C, "tunnel1"], {"presharedKeySecret": "t1psk"}),
        ),
        [
            "tunnel1.presharedKeySecret: 't1psk'",
            "set CROSSNET_SECRET_T1PSK to the key",
            "leave presharedKeySecret out to have a key generated",
        ],
    ),
    (
        "start-without-ikev2",
        "dev",
        _set([*T, "ikeVersions"], ["ikev1"]),
        ["startupAction", "needs ikev2"],
    ),
    (
        "weak-unknown-algorithm",
        "dev",
        _set([*T, "phase1", "encryption"], ["3DES"]),
        ["phase1.encryption[0]", "'3DES'", "must be one of AES128"],
    ),
    (
        "dh-group-not-allowed",
        "dev",
        _set([*T, "phase1", "dhGroups"], [5]),
        ["phase1.dhGroups[0]", "phase 1 DH groups AWS allows"],
    ),
    (
        "dpd-too-short",
        "dev",
        _set([*T, "dpd", "timeoutSeconds"], 10),
        ["dpd.timeoutSeconds", "at least 30 seconds"],
    ),
    (
        "unknown-platform",
        "dev",
        _set([*D, "routers", "edge1", "platform"], "junos-ex"),
        ["routers.edge1.platform", "'junos-ex'", "unknown platform"],
    ),
    (
        "unknown-router",
        "dev",
        _set([*C, "router"], "dc1/edge9"),
        ["connections.dc1-edge1-app.router", "dc1/edge9", "no such router"],
    ),
    (
        "unknown-gateway",
        "dev",
        _set([*C, "gateway"], "nope"),
        ["connections.dc1-edge1-app.gateway", "'nope'", "no such gateway"],
    ),
    (
        "unknown-vpc-for-vgw",
        "dev",
        _set([N, "vpnGateways", "app-vgw", "vpc"], "ghost"),
        ["vpnGateways.app-vgw.vpc", "'ghost'", "no such VPC"],
    ),
    ("missing-key", "dev", _del([*V, "cidr"]), ["vpcs.app.cidr", "missing", "required key"]),
    (
        "mistyped-key",
        "dev",
        _set([*V, "cidrs"], "10.0.0.0/16"),
        ["vpcs.app.cidrs", "unknown key", "allowed keys"],
    ),
    (
        "wrong-type",
        "dev",
        _set([*D, "asn"], "65010"),
        ["datacenters.dc1.asn", "must be an integer"],
    ),
    (
        "ingress-not-planned-prefix",
        "dev",
        _set([*V, "ingress"], [{"from": ["10.200.0.0/16"], "tiers": ["private"], "icmp": True}]),
        ["ingress[0].from[0]", "10.200.0.0/16", "not inside a planned datacenter prefix"],
    ),
    (
        "ingress-any",
        "dev",
        _set([*V, "ingress"], [{"from": ["0.0.0.0/0"], "tiers": ["private"], "tcp": [22]}]),
        ["ingress[0].from[0]", "0.0.0.0/0 is never admitted"],
    ),
    (
        "too-many-prefixes",
        "dev",
        _set([*D, "prefixes"], [f"10.{128 + i // 256}.{i % 256}.0/24" for i in range(101)]),
        [
            "datacenters.dc1.prefixes",
            "101 prefixes",
            "at most 100",
            # the ingress rules' sources are no longer inside a planned prefix: the
            # list of them is cut short, to fit one screen
            "(10.128.0.0/24, 10.128.1.0/24, 10.128.2.0/24, 10.128.3.0/24, 10.128.4.0/24 "
            "(+96 more))",
        ],
    ),
    (
        "too-many-connections-per-vgw",
        "dev",
        lambda cfg: [
            net(cfg)["connections"].__setitem__(
                f"extra{i}",
                {
                    "router": "dc1/edge1",
                    "gateway": "app-vgw",
                    "routing": "bgp",
                    "tunnel1": {"insideCidr": f"169.254.{100 + i}.0/30"},
                    "tunnel2": {"insideCidr": f"169.254.{100 + i}.4/30"},
                },
            )
            for i in range(10)
        ],
        ["11 connections on VGW 'app-vgw'", "at most 10"],
    ),
    (
        "private-public-ip",
        "dev",
        _set([*D, "routers", "edge1", "publicIp"], "10.1.1.1"),
        ["routers.edge1.publicIp", "10.1.1.1", "public, routable address"],
    ),
    (
        "routing-mode",
        "dev",
        _set([*C, "routing"], "ospf"),
        ["connections.dc1-edge1-app.routing", "'ospf'", "must be one of bgp, static"],
    ),
    (
        "psk-from-missing-secret",
        "dev",
        _set([*C, "tunnel1"], {"presharedKeySecret": "t1psk"}),
        ["tunnel1.presharedKeySecret", "crossnet:t1psk", "which is not set"],
    ),
    (
        "psk-breaks-rules",
        "dev",
        _many(
            _set(["crossnet:t1psk"], "0secret!"),
            _set([*C, "tunnel1"], {"presharedKeySecret": "t1psk"}),
        ),
        ["tunnel1.presharedKeySecret", "<secret t1psk, 8 chars>", "not starting with '0'"],
    ),
]


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 25
    assert len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize(("case", "stack", "mutate", "expected"), CASES, ids=[c[0] for c in CASES])
def test_bad_input(
    case: str,
    stack: str,
    mutate: Mut,
    expected: list[str],
    tmp_path: Path,
    state_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cfg = load_stack(stack)
    mutate(cfg)
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    (stacks / f"Pulumi.{case}.yaml").write_text(yaml.safe_dump({"config": cfg}))
    monkeypatch.setenv("CROSSNET_STACKS_DIR", str(stacks))
    code = main(["up", "--stack", case])
    out, err = capsys.readouterr()
    assert code == 2, err
    assert out == ""
    assert err.startswith("error: ")
    assert "Traceback" not in err and "nothing was declared or written." in err
    for text in expected:
        assert text in err, f"{text!r} not in:\n{err}"
    assert len(err.splitlines()) <= 40  # one screen
    assert all(len(line) <= 500 for line in err.splitlines())
    assert not (state_dir / case / "outputs.json").exists()
    if "secret" in case or "psk" in case:
        assert "0secret!" not in err


def test_every_problem_at_once(
    tmp_path: Path,
    state_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cfg = load_stack("dev")
    for mutate in (
        _set([*V, "cidr"], "10.128.0.0/16"),
        _set([*D, "asn"], 64512),
        _set([*T, "ikeVersions"], ["ikev1"]),
    ):
        mutate(cfg)
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    (stacks / "Pulumi.three.yaml").write_text(yaml.safe_dump({"config": cfg}))
    monkeypatch.setenv("CROSSNET_STACKS_DIR", str(stacks))
    assert main(["up", "--stack", "three"]) == 2
    err = capsys.readouterr().err
    # the overlap also puts the VPC outside addressSpace.aws: four in all
    assert "4 problem(s)" in err and "outside addressSpace.aws" in err
    assert "overlaps" in err and "equals the AWS-side ASN" in err and "needs ikev2" in err


def _write(stacks: Path, name: str, cfg: dict[str, Any]) -> None:
    stacks.mkdir(exist_ok=True)
    (stacks / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump({"config": cfg}))


MIXED: list[tuple[str, str, list[Mut], list[str]]] = [
    (
        # four kinds at once: a parse problem (platform) beside three plan problems
        "asn-ikev1-anywhere-platform",
        "dev",
        [
            _set([*D, "asn"], 64512),
            _set([*T, "ikeVersions"], ["ikev1"]),
            _set([*V, "ingress", 0, "from"], ["0.0.0.0/0"]),
            _set([*D, "routers", "edge1", "platform"], "cisco"),
        ],
        [
            "4 problem(s)",
            "datacenters.dc1.asn: 64512 (equals the AWS-side ASN",
            "startupAction: 'start' (startup action 'start' needs ikev2)",
            "ingress[0].from[0]: '0.0.0.0/0' (0.0.0.0/0 is never admitted)",
            "routers.edge1.platform: 'cisco' (unknown platform",
        ],
    ),
    (
        "typo-and-overlap",
        "dev",
        [_set([*V, "cidrr"], "x"), _set([*D, "prefixes"], ["10.16.0.0/16"])],
        [
            "vpcs.app.cidrr: 'unknown key'",
            "vpcs.app.cidr: '10.16.0.0/16' (overlaps 10.16.0.0/16 at "
            "crossnet:network.datacenters.dc1.prefixes[0]",
        ],
    ),
    (
        # a connection whose tunnel is malformed, an ASN out of range and a
        # name collision: the other connection's and the router's checks still run
        "malformed-tunnel-bad-asn-collision",
        "prod",
        [
            _set([N, "connections", "ash-edge1-hub", "tunnel2"], "oops"),
            _set([N, "datacenters", "fra", "asn"], "65200"),
            _set(
                [N, "connections", "fra-edge1-hub", "tunnelOptions"],
                {"ikeVersions": ["ikev1"], "startupAction": "start"},
            ),
            _set([N, "datacenters", "ash", "prefixes"], ["10.0.0.0/16"]),
        ],
        [
            "ash-edge1-hub.tunnel2: 'oops' (must be a mapping)",
            "datacenters.fra.asn: '65200' (must be an integer)",
            "fra-edge1-hub.tunnelOptions.startupAction: 'start' (startup action 'start' "
            "needs ikev2)",
            "vpcs.shared.cidr: '10.0.0.0/16' (overlaps 10.0.0.0/16 at "
            "crossnet:network.datacenters.ash.prefixes[0]",
        ],
    ),
    (
        # what did not parse is not reported again as missing: one problem each
        "no-cascades",
        "dev",
        [_set([*V, "cidr"], "banana"), _set([*D, "routers", "edge1", "publicIp"], "nope")],
        [
            "2 problem(s)",
            "vpcs.app.cidr: 'banana'",
            "routers.edge1.publicIp: 'nope'",
        ],
    ),
]


@pytest.mark.parametrize(("case", "stack", "muts", "expected"), MIXED, ids=[m[0] for m in MIXED])
def test_every_problem_of_every_stage_at_once(
    case: str,
    stack: str,
    muts: list[Mut],
    expected: list[str],
    tmp_path: Path,
    state_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cfg = load_stack(stack)
    for m in muts:
        m(cfg)
    _write(tmp_path / "stacks", case, cfg)
    monkeypatch.setenv("CROSSNET_STACKS_DIR", str(tmp_path / "stacks"))
    assert main(["up", "--stack", case]) == 2
    err = capsys.readouterr().err
    for text in expected:
        assert text in err, f"{text!r} not in:\n{err}"
    assert "no such" not in err  # nothing that did not parse comes back as "missing"


def test_messages_name_the_file_really_read(
    tmp_path: Path,
    state_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cfg = load_stack("dev")
    _set([*D, "asn"], 64512)(cfg)
    _write(tmp_path / "elsewhere", "dev", cfg)
    monkeypatch.setenv("CROSSNET_STACKS_DIR", str(tmp_path / "elsewhere"))
    assert main(["up", "--stack", "dev"]) == 2
    err = capsys.readouterr().err
    assert f"stack config '{tmp_path / 'elsewhere' / 'Pulumi.dev.yaml'}' is invalid" in err
    monkeypatch.delenv("CROSSNET_STACKS_DIR")
    other = tmp_path / "review.yaml"
    other.write_text(yaml.safe_dump({"config": cfg}))
    assert main(["plan", "--stack", "dev", "--config", str(other)]) == 2
    assert f"stack config '{other}' is invalid" in capsys.readouterr().err


def test_duplicate_yaml_keys_are_refused_with_their_lines(
    tmp_path: Path,
    state_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """YAML keeps the last of two equal keys: a VPC would silently vanish."""
    (tmp_path / "Pulumi.dup.yaml").write_text(
        "config:\n"
        "  aws:region: us-east-1\n"
        "  crossnet:network:\n"
        "    vpcs:\n"
        "      app: {cidr: 10.16.0.0/16, azs: [us-east-1a], tiers: {p: {prefixLength: 20}}}\n"
        "      app: {cidr: 10.17.0.0/16, azs: [us-east-1a], tiers: {p: {prefixLength: 20}}}\n"
        "    datacenters: {}\n"
        "    datacenters: {}\n"
        "    base: &b {asn: 1}\n"
        "    merged: {<<: *b, asn: 2}\n"  # a merge key overridden is not a duplicate
    )
    monkeypatch.setenv("CROSSNET_STACKS_DIR", str(tmp_path))
    assert main(["up", "--stack", "dup"]) == 2
    err = capsys.readouterr().err
    assert "2 problem(s)" in err
    assert "(YAML at line 6): 'app' (key given twice in one mapping (first at line 5)" in err
    assert "(YAML at line 8): 'datacenters' (key given twice in one mapping (first at line 7" in err
    assert not (state_dir / "dup").exists()


@pytest.mark.parametrize("text", ["config: [", "config: 3", "nothing: {}"])
def test_unreadable_stack_file(
    text: str,
    tmp_path: Path,
    state_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "Pulumi.broken.yaml").write_text(text)
    monkeypatch.setenv("CROSSNET_STACKS_DIR", str(tmp_path))
    assert main(["up", "--stack", "broken"]) == 2
    err = capsys.readouterr().err
    assert "Pulumi.broken.yaml" in err and "Traceback" not in err


def test_console_script_exit_status_and_no_traceback(tmp_path: Path) -> None:
    """Through a real process: status 2, the message on stderr, no traceback."""
    env = {"CROSSNET_STATE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [sys.executable, "-m", "network.cli", "up", "--stack", "missing"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "no such stack file; known stacks: dev, hybrid, prod, staging" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_commands_other_than_up_start_without_pulumi_or_moto() -> None:
    """Pulumi, moto and boto3 cost seconds to import; only the offline apply needs them,
    so `crossnet render`, `lab`, `check`, `plan` ... start in a fraction of that."""
    import subprocess
    import sys

    code = (
        "import sys, network.cli; network.cli.build_parser(); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'pulumi', 'pulumi_aws', "
        "'moto', 'boto3', 'botocore'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[]", f"imported at start-up: {out}"
