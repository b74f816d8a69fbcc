"""A table-driven corpus of bad stack files: each must give a one-screen error
naming the file, the field, the value and the rule, exit 2, and write nothing.

One table, one test: a row edits an example stack's config (`at`: one value,
`bad`: any edit) or its file's text (`raw`: bytes that are not YAML, not text,
or YAML that the CLI refuses)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from network.cli import main
from tests.conftest import ROOT, load_stack

N = "crossnet:network"
Mut = Callable[[dict[str, Any]], object]  # edits the config in place


def net(cfg: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = cfg[N]
    return out


def conn(cfg: dict[str, Any], name: str = "dc1-edge1-app") -> dict[str, Any]:
    out: dict[str, Any] = net(cfg)["connections"][name]
    return out


def opts(cfg: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = conn(cfg)["tunnelOptions"]
    return out


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

# Multi-stage rows: what did not parse is never reported again as "no such ...".
NO_CASCADE = ("no such",)

DUPLICATE_KEYS = (
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


@dataclass(frozen=True)
class Bad:
    """One bad stack file: how it is made, and what its error must (not) say."""

    id: str
    stack: str
    expected: tuple[str, ...]
    mutate: Mut | None = None  # edits the example stack's config
    text: Callable[[str], str | bytes] | None = None  # or edits the file's text
    absent: tuple[str, ...] = ()

    def content(self) -> bytes:
        cfg = load_stack(self.stack)
        if self.mutate is not None:
            self.mutate(cfg)
        body = yaml.safe_dump({"config": cfg})
        out = self.text(body) if self.text is not None else body
        return out if isinstance(out, bytes) else out.encode()


def at(
    id: str,
    path: list[Any],
    value: Any,
    *expected: str,
    stack: str = "dev",
    absent: tuple[str, ...] = (),
) -> Bad:
    """A row that sets one value of the config."""
    return Bad(id, stack, expected, mutate=_set(path, value), absent=absent)


def bad(
    id: str, mutate: Mut, *expected: str, stack: str = "dev", absent: tuple[str, ...] = ()
) -> Bad:
    """A row that edits the config in any way."""
    return Bad(id, stack, expected, mutate=mutate, absent=absent)


def raw(id: str, text: Callable[[str], str | bytes], *expected: str) -> Bad:
    """A row that edits the file's text (the dev stack's, dumped as YAML)."""
    return Bad(id, "dev", expected, text=text)


CASES: list[Bad] = [
    at(
        "vpc-overlaps-datacenter",
        [*V, "cidr"],
        "10.128.0.0/16",
        "crossnet:network.vpcs.app.cidr",
        "'10.128.0.0/16'",
        "overlaps",
    ),
    at("vpc-cidr-host-bits", [*V, "cidr"], "10.16.0.1/16", "vpcs.app.cidr", "host bits set"),
    at("vpc-cidr-not-a-cidr", [*V, "cidr"], "banana", "vpcs.app.cidr", "'banana'", "IPv4 CIDR"),
    at(
        "subnet-outside-vpc",
        [N, "vpcs", "data", "tiers", "db", "subnets", "eu-west-1a"],
        "10.99.0.0/24",
        "tiers.db.subnets.eu-west-1a",
        "10.99.0.0/24",
        "inside its VPC",
        stack="staging",
    ),
    at(
        "subnets-overlap",
        [N, "vpcs", "data", "tiers", "db", "subnets", "eu-west-1b"],
        "10.33.0.0/25",
        "vpcs.data.tiers.db",
        "overlaps subnet",
        stack="staging",
    ),
    at(
        "datacenters-overlap",
        [N, "datacenters", "fra", "prefixes"],
        ["10.128.64.0/18"],
        "datacenters.fra.prefixes[0]",
        "overlaps",
        stack="prod",
    ),
    at(
        "inside-cidr-not-30",
        [*C, "tunnel1"],
        {"insideCidr": "169.254.10.0/29"},
        "tunnel1.insideCidr",
        "169.254.10.0/29",
        "is a /30",
    ),
    at(
        "inside-cidr-outside-link-local",
        [*C, "tunnel1"],
        {"insideCidr": "10.0.0.0/30"},
        "tunnel1.insideCidr",
        "lies in 169.254.0.0/16",
    ),
    at(
        "inside-cidr-reserved",
        [*C, "tunnel2"],
        {"insideCidr": "169.254.169.252/30"},
        "tunnel2.insideCidr",
        "169.254.169.252/30",
        "reserved by AWS",
    ),
    bad(
        "inside-cidr-duplicate",
        _many(
            _set([*C, "tunnel1"], {"insideCidr": "169.254.30.0/30"}),
            _set([*C, "tunnel2"], {"insideCidr": "169.254.30.0/30"}),
        ),
        "tunnel2.insideCidr",
        "also used by dc1-edge1-app.tunnel1",
        "unique per gateway",
    ),
    at(
        "ipv6-inside-on-vgw",
        [*C, "tunnel1"],
        {"insideIpv6Cidr": "fd00::/126"},
        "tunnel1.insideIpv6Cidr",
        "need a transit gateway",
    ),
    at(
        "asn-out-of-range",
        [*D, "asn"],
        4294967296,
        "datacenters.dc1.asn",
        "4294967296",
        "a customer ASN is 1-4294967295",
    ),
    at(
        "asn-equals-aws",
        [*D, "asn"],
        64512,
        "datacenters.dc1.asn",
        "64512",
        "equals the AWS-side ASN",
    ),
    at(
        "amazon-asn-not-private",
        [N, "vpnGateways", "app-vgw", "asn"],
        7224,
        "vpnGateways.app-vgw.asn",
        "64512-65534",
    ),
    at(
        "phase2-not-below-phase1",
        [*T, "phase1", "lifetimeSeconds"],
        3600,
        "phase2.lifetimeSeconds",
        "must be below phase 1",
    ),
    at(
        "rekey-margin-too-big",
        [*T, "rekeyMarginSeconds"],
        1900,
        "rekeyMarginSeconds: 1900 (rekey margin is at most half of phase 2 lifetime (1800))",
    ),
    at(
        "rekey-margin-too-small",
        [*T, "rekeyMarginSeconds"],
        30,
        "rekeyMarginSeconds: 30 (rekey margin is at least 60 seconds",
    ),
    bad(
        "router-key-collision",
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
        "datacenters.dc1-a.routers.b: 'dc1-a-b' (the same router key as dc1/a-b",
        "must be unique",
    ),
    bad(
        "resource-name-collision",
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
        "vpcs.a-b.tiers.c: 'a-b-c-rt (+5 more)' (the same resource name(s) as "
        "crossnet:network.vpcs.a.tiers.b-c",
        "Pulumi refuses two resources with one name",
    ),
    at(
        "unknown-router-keeps-its-name",
        [*C, "router"],
        "dc-east/edge9",
        "connections.dc1-edge1-app.router: 'dc-east/edge9' (no such router; known: dc1/edge1)",
    ),
    at(
        "ipv6-inside-on-tgw",
        [N, "connections", "ash-edge1-hub", "tunnel1"],
        {"insideIpv6Cidr": "fd00::/126"},
        "ash-edge1-hub.tunnel1.insideIpv6Cidr: 'fd00::/126' (IPv6 tunnels are not supported yet",
        "carry IPv6 traffic only",
        stack="prod",
    ),
    bad(
        "two-static-connections-one-tgw-prefix",
        _many(
            _set([N, "connections", "ash-edge1-hub", "routing"], "static"),
            _set([N, "connections", "ash-edge2-hub", "routing"], "static"),
        ),
        "connections.ash-edge2-hub.routing: 'static' (ash-edge1-hub already needs the static "
        "route 10.128.0.0/16",
        "holds one static route per CIDR",
        stack="prod",
    ),
    bad(
        "psk-secure-without-its-value",
        _many(
            _set(["crossnet:t1psk"], {"secure": "v1:abcdefgh"}),
            _set([*C, "tunnel1"], {"presharedKeySecret": "t1psk"}),
        ),
        "tunnel1.presharedKeySecret: 't1psk'",
        "set CROSSNET_SECRET_T1PSK to the key",
        "leave presharedKeySecret out to have a key generated",
    ),
    at("start-without-ikev2", [*T, "ikeVersions"], ["ikev1"], "startupAction", "needs ikev2"),
    at(
        "weak-unknown-algorithm",
        [*T, "phase1", "encryption"],
        ["3DES"],
        "phase1.encryption[0]",
        "'3DES'",
        "must be one of AES128",
    ),
    at(
        "dh-group-not-allowed",
        [*T, "phase1", "dhGroups"],
        [5],
        "phase1.dhGroups[0]",
        "phase 1 DH groups AWS allows",
    ),
    at(
        "dpd-too-short",
        [*T, "dpd", "timeoutSeconds"],
        10,
        "dpd.timeoutSeconds",
        "at least 30 seconds",
    ),
    at(
        "unknown-platform",
        [*D, "routers", "edge1", "platform"],
        "junos-ex",
        "routers.edge1.platform",
        "'junos-ex'",
        "unknown platform",
    ),
    at(
        "unknown-router",
        [*C, "router"],
        "dc1/edge9",
        "connections.dc1-edge1-app.router",
        "dc1/edge9",
        "no such router",
    ),
    at(
        "unknown-gateway",
        [*C, "gateway"],
        "nope",
        "connections.dc1-edge1-app.gateway",
        "'nope'",
        "no such gateway",
    ),
    at(
        "unknown-vpc-for-vgw",
        [N, "vpnGateways", "app-vgw", "vpc"],
        "ghost",
        "vpnGateways.app-vgw.vpc",
        "'ghost'",
        "no such VPC",
    ),
    bad("missing-key", _del([*V, "cidr"]), "vpcs.app.cidr", "missing", "required key"),
    at(
        "mistyped-key",
        [*V, "cidrs"],
        "10.0.0.0/16",
        "vpcs.app.cidrs",
        "unknown key",
        "allowed keys",
    ),
    at("wrong-type", [*D, "asn"], "65010", "datacenters.dc1.asn", "must be an integer"),
    at(
        "ingress-not-planned-prefix",
        [*V, "ingress"],
        [{"from": ["10.200.0.0/16"], "tiers": ["private"], "icmp": True}],
        "ingress[0].from[0]",
        "10.200.0.0/16",
        "not inside a planned datacenter prefix",
    ),
    at(
        "ingress-any",
        [*V, "ingress"],
        [{"from": ["0.0.0.0/0"], "tiers": ["private"], "tcp": [22]}],
        "ingress[0].from[0]",
        "0.0.0.0/0 is never admitted",
    ),
    at(
        "too-many-prefixes",
        [*D, "prefixes"],
        [f"10.{128 + i // 256}.{i % 256}.0/24" for i in range(101)],
        "datacenters.dc1.prefixes",
        "101 prefixes",
        "at most 100",
        "(10.128.0.0/24, 10.128.1.0/24, 10.128.2.0/24, 10.128.3.0/24, 10.128.4.0/24 (+96 more))",
    ),
    bad(
        "too-many-connections-per-vgw",
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
        "11 connections on VGW 'app-vgw'",
        "at most 10",
    ),
    at(
        "private-public-ip",
        [*D, "routers", "edge1", "publicIp"],
        "10.1.1.1",
        "routers.edge1.publicIp",
        "10.1.1.1",
        "public, routable address",
    ),
    at(
        "routing-mode",
        [*C, "routing"],
        "ospf",
        "connections.dc1-edge1-app.routing",
        "'ospf'",
        "must be one of bgp, static",
    ),
    at(
        "psk-from-missing-secret",
        [*C, "tunnel1"],
        {"presharedKeySecret": "t1psk"},
        "tunnel1.presharedKeySecret",
        "crossnet:t1psk",
        "which is not set",
    ),
    bad(
        "psk-breaks-rules",
        _many(
            _set(["crossnet:t1psk"], "0secret!"),
            _set([*C, "tunnel1"], {"presharedKeySecret": "t1psk"}),
        ),
        "tunnel1.presharedKeySecret",
        "<secret t1psk, 8 chars>",
        "not starting with '0'",
        absent=("0secret!",),
    ),
    bad(
        "asn-ikev1-anywhere-platform",
        _many(
            _set([*D, "asn"], 64512),
            _set([*T, "ikeVersions"], ["ikev1"]),
            _set([*V, "ingress", 0, "from"], ["0.0.0.0/0"]),
            _set([*D, "routers", "edge1", "platform"], "cisco"),
        ),
        "4 problem(s)",
        "datacenters.dc1.asn: 64512 (equals the AWS-side ASN",
        "startupAction: 'start' (startup action 'start' needs ikev2)",
        "ingress[0].from[0]: '0.0.0.0/0' (0.0.0.0/0 is never admitted)",
        "routers.edge1.platform: 'cisco' (unknown platform",
        absent=NO_CASCADE,
    ),
    bad(
        "typo-and-overlap",
        _many(_set([*V, "cidrr"], "x"), _set([*D, "prefixes"], ["10.16.0.0/16"])),
        "vpcs.app.cidrr: 'unknown key'",
        "vpcs.app.cidr: '10.16.0.0/16' (overlaps 10.16.0.0/16 at "
        "crossnet:network.datacenters.dc1.prefixes[0]",
        absent=NO_CASCADE,
    ),
    bad(
        "malformed-tunnel-bad-asn-collision",
        _many(
            _set([N, "connections", "ash-edge1-hub", "tunnel2"], "oops"),
            _set([N, "datacenters", "fra", "asn"], "65200"),
            _set(
                [N, "connections", "fra-edge1-hub", "tunnelOptions"],
                {"ikeVersions": ["ikev1"], "startupAction": "start"},
            ),
            _set([N, "datacenters", "ash", "prefixes"], ["10.0.0.0/16"]),
        ),
        "ash-edge1-hub.tunnel2: 'oops' (must be a mapping)",
        "datacenters.fra.asn: '65200' (must be an integer)",
        "fra-edge1-hub.tunnelOptions.startupAction: 'start' (startup action 'start' needs ikev2)",
        "vpcs.shared.cidr: '10.0.0.0/16' (overlaps 10.0.0.0/16 at "
        "crossnet:network.datacenters.ash.prefixes[0]",
        stack="prod",
        absent=NO_CASCADE,
    ),
    bad(
        "no-cascades",
        _many(_set([*V, "cidr"], "banana"), _set([*D, "routers", "edge1", "publicIp"], "nope")),
        "2 problem(s)",
        "vpcs.app.cidr: 'banana'",
        "routers.edge1.publicIp: 'nope'",
        absent=NO_CASCADE,
    ),
    bad(
        "every-problem-at-once",
        _many(
            _set([*V, "cidr"], "10.128.0.0/16"),
            _set([*D, "asn"], 64512),
            _set([*T, "ikeVersions"], ["ikev1"]),
        ),
        # the overlap also puts the VPC outside addressSpace.aws: four in all
        "4 problem(s)",
        "outside addressSpace.aws",
        "overlaps",
        "equals the AWS-side ASN",
        "needs ikev2",
    ),
    # customer ASNs AWS keeps for itself (aws_rules.RESERVED_CUSTOMER_ASNS)
    at(
        "asn-reserved-everywhere",
        [*D, "asn"],
        7224,
        "datacenters.dc1.asn: 7224 (AWS reserves ASN 7224 in every region for itself",
    ),
    at(
        "asn-reserved-in-its-region",
        [N, "datacenters", "dc1", "asn"],
        9059,
        "datacenters.dc1.asn: 9059 (AWS reserves ASN 9059 in eu-west-1 for itself",
        stack="staging",
    ),
    bad(
        "asn-both-aws-fields",
        _many(_set([*D, "bgpAsn"], 65010), _set([*D, "bgpAsnExtended"], 4200000001)),
        "datacenters.dc1.bgpAsn: 65010 (give the ASN once, as asn (1-4294967295)",
        "datacenters.dc1.bgpAsnExtended: 4200000001 (give the ASN once, as asn",
    ),
    # files that are not YAML, not text, or YAML the CLI refuses
    raw("not-yaml", lambda _: "config: [", "(YAML at line 1, column 10)", "unparseable"),
    raw("config-not-a-mapping", lambda _: "config: 3", "a 'config:' mapping"),
    raw("no-config", lambda _: "nothing: {}", "config: missing (a stack file is a mapping"),
    raw(
        "nul-bytes",
        lambda t: t.replace("crossnet:network:", "crossnet:network:\x00", 1),
        "NUL byte (not text: a stack file is UTF-8 YAML and holds no NUL bytes",
    ),
    raw(
        "not-utf8",
        lambda t: t.encode().replace(b"dc1", b"dc\xe91", 1),
        "byte 0xe9 (not UTF-8 text",
    ),
    raw("utf16", lambda t: t.encode("utf-16"), "byte 0xff (not UTF-8 text"),
    raw(
        "duplicate-keys",
        lambda _: DUPLICATE_KEYS,
        "2 problem(s)",
        "(YAML at line 6): 'app' (key given twice in one mapping (first at line 5)",
        "(YAML at line 8): 'datacenters' (key given twice in one mapping (first at line 7",
    ),
]


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 50
    assert len({c.id for c in CASES}) == len(CASES)


def _up(
    name: str,
    content: bytes,
    stacks: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: tuple[str, ...] = ("up",),
) -> tuple[int, str, str]:
    """A command on a stack file holding `content`: (exit status, stdout, stderr)."""
    stacks.mkdir(parents=True, exist_ok=True)
    (stacks / f"Pulumi.{name}.yaml").write_bytes(content)
    monkeypatch.setenv("CROSSNET_STACKS_DIR", str(stacks))
    code = main([*command, "--stack", name])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(
    case: Bad,
    tmp_path: Path,
    state_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = _up(case.id, case.content(), tmp_path / "stacks", monkeypatch, capsys)
    assert code == 2, err
    assert out == ""
    assert err.startswith("error: ")
    assert "Traceback" not in err and "nothing was declared or written." in err
    assert f"Pulumi.{case.id}.yaml" in err.splitlines()[0]  # the file is named
    for text in case.expected:
        assert text in err, f"{text!r} not in:\n{err}"
    for text in case.absent:
        assert text not in err, f"{text!r} in:\n{err}"
    assert len(err.splitlines()) <= 40  # one screen
    assert all(len(line) <= 500 for line in err.splitlines())
    assert not (state_dir / case.id).exists()  # nothing written


def test_messages_name_the_file_really_read(
    tmp_path: Path,
    state_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cfg = load_stack("dev")
    _set([*D, "asn"], 64512)(cfg)
    content = yaml.safe_dump({"config": cfg}).encode()
    elsewhere = tmp_path / "elsewhere"
    code, _, err = _up("dev", content, elsewhere, monkeypatch, capsys)
    assert code == 2
    assert f"stack config '{elsewhere / 'Pulumi.dev.yaml'}' is invalid" in err
    monkeypatch.delenv("CROSSNET_STACKS_DIR")
    other = tmp_path / "review.yaml"
    other.write_bytes(content)
    assert main(["plan", "--stack", "dev", "--config", str(other)]) == 2
    assert f"stack config '{other}' is invalid" in capsys.readouterr().err


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
