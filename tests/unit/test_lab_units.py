"""The lab's pure parts, without root: layout, AWS side, security groups, probes.

The stack outputs here are built from the plan with fake AWS values (the
`fake_outputs` fixture of tests/conftest.py).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from netaddr import IPAddress, IPNetwork, IPSet

from network.contract import StackOutputs
from network.lab import aws, sg, vici
from network.lab.check import Collector, Result, summary
from network.lab.probe import json_cmp, parse_swanctl_raw, run_and_expect, sa_summary, tunnel_up
from network.lab.readiness import (
    carries_traffic,
    expected_routes_aws,
    expected_routes_dc,
    route_paths,
    routes_match,
)
from network.lab.suite import admitted
from network.lab.system import AGENT
from network.lab.topology import (
    IFNAMSIZ,
    UNPLANNED_POOLS,
    Lab,
    build_lab,
    expected_flows,
    free_prefix,
    ns_prefix,
    planned_pairs,
    planned_ranges,
    rogue_prefix,
    vpc_profile,
)
from network.plan import Plan, build_plan
from network.stack_file import read_stack_config

# The `fake_outputs` fixture (tests/conftest.py): stack -> (outputs, plan).
FakeOutputs = Callable[[str], tuple[StackOutputs, Plan]]
STACKS = ("dev", "staging", "prod")


@pytest.fixture(scope="module", params=STACKS)
def lab(request: pytest.FixtureRequest, fake_outputs: FakeOutputs) -> Lab:
    outputs, plan = fake_outputs(request.param)
    return build_lab(outputs, plan)


def test_names_are_unique_and_fit(lab: Lab) -> None:
    names = lab.namespaces()
    assert len(names) == len(set(names))
    assert all(n.startswith(ns_prefix(lab.stack)) for n in names)
    ifnames = [e.ifname for e in lab.ends] + [r.lan_port for r in lab.routers]
    assert all(len(i) <= IFNAMSIZ for i in ifnames)
    macs = [e.mac for e in lab.ends]
    assert len(macs) == len(set(macs))


def test_each_aws_end_talks_to_its_own_datacenter_end(lab: Lab) -> None:
    """The datacenter ends of one router share its public IP (the lab's stated
    difference); each AWS end's static neighbour entry is its peer's MAC."""
    for e in [e for e in lab.ends if e.side == "aws"]:
        dc = lab.end("dc", e.tunnel)
        assert e.peer_mac == dc.mac and dc.peer_mac == e.mac
        assert e.peer_outside_ip == dc.outside_ip and dc.peer_outside_ip == e.outside_ip
        assert e.ns != dc.ns
    for r in lab.routers:
        mine = [e for e in lab.ends if e.side == "dc" and e.router_ns == r.ns]
        assert {e.outside_ip for e in mine} == {r.router.public_ip}
        assert len({e.ns for e in mine}) == len(mine)


def test_every_router_is_rendered_as_linux(lab: Lab) -> None:
    for r in lab.routers:
        assert r.router.platform == "linux"
        assert (r.platform == "linux") == (not any(r.key in n for n in lab.notes))


def test_hosts_of_dev(fake_outputs: FakeOutputs) -> None:
    outputs, plan = fake_outputs("dev")
    lab = build_lab(outputs, plan)
    (dc,) = lab.dc_hosts()
    (vpc,) = lab.vpc_hosts()
    # The most specific ingress source inside the datacenter's prefixes.
    assert dc.address == "10.128.10.10"
    assert IPAddress(dc.unplanned_source) not in IPNetwork("10.128.0.0/16")
    assert (vpc.tier, vpc.tcp_ports, vpc.closed_tcp_port) == ("private", (22, 443, 8080), 18081)
    flows = expected_flows(dc.address, vpc.ingress, [*vpc.tcp_ports, 18081], [])
    assert flows == {
        "icmp": True,
        "tcp": {22: True, 443: True, 8080: True, 18081: False},
        "udp": {},
    }
    assert dc.unplanned_source is not None
    assert not any(expected_flows(dc.unplanned_source, vpc.ingress, [22], [])["tcp"].values())
    assert planned_pairs(plan) == [("dc1", "app")]


def test_prod_leaves_out_the_peered_vpc_and_says_why(fake_outputs: FakeOutputs) -> None:
    outputs, plan = fake_outputs("prod")
    lab = build_lab(outputs, plan)
    assert {h.name for h in lab.vpc_hosts()} == {"shared", "app", "data", "media"}
    assert any("VPC dr" in n for n in lab.notes)
    assert vpc_profile(plan, "data").tier == "db"
    (g,) = lab.gateways
    assert g.ecmp and g.type == "tgw"


@pytest.mark.parametrize("stack", [*STACKS, "hybrid"])
def test_rogue_prefix_lies_outside_every_planned_range(stack: str) -> None:
    plan = build_plan(read_stack_config(stack), stack)
    rogue = rogue_prefix(plan)
    assert rogue is not None and rogue.prefixlen == 24
    assert not IPSet([rogue]) & planned_ranges(plan)
    assert any(rogue in pool for pool in UNPLANNED_POOLS)


def test_rogue_prefix_on_a_fully_allocated_datacenter_space() -> None:
    """hybrid's datacenters fill 192.168.0.0/16: the rogue prefix is found elsewhere
    (a /24 inside the datacenter supernets, as before, does not exist)."""
    plan = build_plan(read_stack_config("hybrid"), "hybrid")
    dc = IPSet(plan.spec.datacenter_supernets)
    assert dc == IPSet([p for d in plan.spec.datacenters for p in d.prefixes])
    assert str(rogue_prefix(plan)) == "10.0.0.0/24"
    assert free_prefix(IPSet(["10.0.0.0/8"])) == IPNetwork("172.16.0.0/24")
    assert free_prefix(IPSet(["10.0.0.0/24", "10.0.1.0/25"])) == IPNetwork("10.0.2.0/24")
    assert free_prefix(IPSet(UNPLANNED_POOLS)) is None


def test_aws_proposals() -> None:
    gcm = {
        "phase1": {"encryption": ["AES256-GCM-16"], "integrity": ["SHA2-384"], "dhGroups": [20]},
        "phase2": {"encryption": ["AES256-GCM-16"], "integrity": ["SHA2-384"], "dhGroups": [20]},
    }
    assert aws.ike_proposals(gcm) == "aes256gcm16-prfsha384-ecp384"
    assert aws.esp_proposals(gcm) == "aes256gcm16-ecp384"
    mixed = {
        "phase1": {
            "encryption": ["AES128", "AES256-GCM-16"],
            "integrity": ["SHA1", "SHA2-256"],
            "dhGroups": [14, 20],
        }
    }
    assert aws.ike_proposals(mixed) == (
        "aes128-sha1-sha256-modp2048-ecp384, aes256gcm16-prfsha1-prfsha256-modp2048-ecp384"
    )


def test_aws_side_bgp(fake_outputs: FakeOutputs) -> None:
    outputs, plan = fake_outputs("prod")
    (hub,) = build_lab(outputs, plan).gateways
    conf = aws.frr_conf(hub, aws.AWS_TIMERS)
    assert "maximum-paths 8" in conf and f"router bgp {hub.asn}" in conf
    assert conf.count("timers 10 30") == 8 and conf.count("maximum-prefix 100") == 8
    dev = build_lab(*fake_outputs("dev")).gateways[0]
    assert "maximum-paths 1" in aws.frr_conf(dev, aws.AWS_TIMERS)
    assert aws.AWS_TIMERS.dpd_dead_after() == pytest.approx(33.75)
    assert aws.FAST_TIMERS.dpd_dead_after() == aws.AWS_TIMERS.dpd_dead_after()


def test_aws_side_static_routes(fake_outputs: FakeOutputs) -> None:
    (g,) = build_lab(*fake_outputs("staging")).gateways
    conf = aws.frr_conf(g, aws.AWS_TIMERS)
    assert "router bgp" not in conf
    assert "ip route 10.144.0.0/16 169.254.20.2 10" in conf
    assert "ip route 10.144.0.0/16 169.254.20.6 20" in conf


def test_aws_swanctl_is_a_responder_with_aws_dpd(fake_outputs: FakeOutputs) -> None:
    lab = build_lab(*fake_outputs("dev"))
    e = lab.end("aws", "dc1-edge1-app/1")
    c = lab.routers[0].router.connections[0]
    text = aws.swanctl_conf(e, c, "fake_lab_key", "/x/updown.sh", aws.AWS_TIMERS)
    for line in (
        "start_action = none",
        "dpd_action = clear",
        "dpd_delay = 10s",
        f"local_addrs = {e.outside_ip}",
        f"id-1 = {e.peer_outside_ip}",
    ):
        assert line in text


def test_security_groups_as_nftables(fake_outputs: FakeOutputs) -> None:
    (vpc,) = build_lab(*fake_outputs("dev")).vpc_hosts()
    rules = sg.ruleset(vpc)
    assert "policy drop;" in rules and "ct state established,related accept" in rules
    assert "ip saddr { 10.128.0.0/16 } tcp dport { 22, 443, 8080 }" in rules
    assert "ip saddr { 10.128.0.0/16 } meta l4proto icmp" in rules
    assert "5432" not in rules  # the data tier's rule is not this host's
    # Drops are counted per source after every rule: a source the rules admit is never
    # counted, so the unplanned-source check can still fail.
    counted = rules.index("meta nfproto ipv4 update @dropped_from { ip saddr }")
    assert rules.rindex("counter name admitted accept") < counted
    assert counted < rules.index("counter name dropped drop")


RAW = (
    "list-sa event {t-1 {uniqueid=1 version=2 state=ESTABLISHED local-host=192.0.2.10 "
    "remote-host=198.51.100.10 child-sas {t-1-1 {name=t-1 state=INSTALLED bytes-in=84 "
    "bytes-out=42 local-ts=[0.0.0.0/0] remote-ts=[0.0.0.0/0]}}}}\n"
    "list-sa event {t-2 {uniqueid=2 version=2 state=CONNECTING child-sas {}}}\n"
    "list-sas reply {}\n"
)


def test_swanctl_raw_and_tunnel_state() -> None:
    events = parse_swanctl_raw(RAW)
    assert events[0]["t-1"]["child-sas"]["t-1-1"]["local-ts"] == ["0.0.0.0/0"]
    s = sa_summary(events)
    assert s["t-1"] == {
        "state": "ESTABLISHED",
        "children": {"t-1": "INSTALLED"},
        "bytesIn": 84,
        "bytesOut": 42,
        "remote": "198.51.100.10",
    }
    assert tunnel_up(s, "t-1") is None
    assert "CONNECTING" in (tunnel_up(s, "t-2") or "")
    assert "missing" in (tunnel_up(s, "t-3") or "")


def test_json_cmp() -> None:
    actual = {"a": {"b": 1, "c": [1, {"d": 2}]}, "e": 3}
    assert json_cmp(actual, {"a": {"c": [{"d": 2}]}}) is None
    assert json_cmp(actual, {"x": None}) is None
    assert json_cmp(actual, {"e": None}) == "e: expected absent, got 3"
    assert json_cmp(actual, {"a": {"b": 2}}) == "a.b: expected 2, got 1"
    ok, _, diff = run_and_expect(lambda: {"s": "Active"}, {"s": "Established"}, count=2, wait=0.01)
    assert not ok and diff == "s: expected 'Established', got 'Active'"


def test_expected_routes_follow_redundancy(fake_outputs: FakeOutputs) -> None:
    prod = build_lab(*fake_outputs("prod"))
    ash1 = next(r for r in prod.routers if r.key == "ash-edge1")
    want = expected_routes_dc(prod, ash1)
    assert all(count == 2 for _devs, count in want.values())  # ECMP over both tunnels
    down = frozenset({"ash-edge1-hub/1"})
    assert all(count == 1 for _devs, count in expected_routes_dc(prod, ash1, down).values())
    (hub,) = prod.gateways
    # AWS spreads each datacenter prefix over the 4 tunnels of its 2 routers.
    assert expected_routes_aws(prod, hub)["10.128.0.0/16"][1] == 4
    dev = build_lab(*fake_outputs("dev"))
    (r,) = dev.routers
    [(devs, count)] = list(expected_routes_dc(dev, r).values())
    assert count == 1 and devs == {dev.end("dc", "dc1-edge1-app/1").ifname}
    assert routes_match({"10.16.0.0/16": sorted(devs)}, expected_routes_dc(dev, r)) is None
    assert "no route" in (routes_match({}, expected_routes_dc(dev, r)) or "")
    assert route_paths(False, [], None) == (set(), 0)


def test_only_a_standby_tunnel_carries_no_traffic(fake_outputs: FakeOutputs) -> None:
    dev = build_lab(*fake_outputs("dev"))  # active/standby over a VGW
    assert carries_traffic(dev, "dc1-edge1-app/1")
    assert not carries_traffic(dev, "dc1-edge1-app/2")
    prod = build_lab(*fake_outputs("prod"))  # ECMP over a TGW: every tunnel
    assert all(carries_traffic(prod, e.tunnel) for e in prod.ends if e.side == "dc")


def test_vici_messages_round_trip() -> None:
    msg = {"ike": "t-1", "timeout": "5000", "sub": {"list": ["a", "b"], "k": "v"}}
    assert vici.decode(vici.encode(msg)) == msg


def test_check_summary_matrix() -> None:
    c = Collector(
        results=[
            Result("test_ping[dc1->app]", "passed", "dc1|app", 0.1, module="x/test_reach_hosts.py"),
            Result(
                "test_tcp[dc1->app]",
                "failed",
                "dc1|app",
                0.1,
                "tcp/22 dropped",
                "x/test_reach_hosts.py",
            ),
            Result(
                "test_bgp_sessions_established[r]",
                "passed",
                None,
                0.1,
                module="x/test_reach_control_plane.py",
            ),
        ]
    )
    lines = summary("dev", "the local lab", c, 1.0).splitlines()

    def row(*words: str) -> bool:
        return any(all(w in line for w in words) for line in lines)

    assert any(line.split()[:1] == ["dc1"] and "FAIL (1/2)" in line for line in lines)
    assert any(line.split()[:1] == ["bgp"] and "pass (1/1)" in line for line in lines)
    assert row("test_tcp[dc1->app]", "tcp/22 dropped")


def test_admitted_reads_refusals_as_past_the_security_groups() -> None:
    assert admitted({"ok": True})
    assert admitted({"ok": False, "error": "ConnectionRefusedError: [Errno 111]"})
    assert not admitted({"ok": False, "error": "TimeoutError: timed out"})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_agent_on_loopback() -> None:
    """The agent's listener and probes, on 127.0.0.1 only."""
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, str(AGENT), "serve", "--name", "unit", "--tcp", str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        server.stdout.readline()  # listening
        out = subprocess.run(
            [
                sys.executable,
                str(AGENT),
                "send",
                "127.0.0.1",
                str(port),
                "--bytes",
                str(3 * 1024 * 1024 + 17),
            ],
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout
        sent = json.loads(out)
        assert sent["ok"] and sent["received"] == 3 * 1024 * 1024 + 17
        probe = json.loads(
            subprocess.run(
                [
                    sys.executable,
                    str(AGENT),
                    "tcp",
                    "127.0.0.1",
                    f"{port},{_free_port()}",
                    "--timeout",
                    "1",
                ],
                capture_output=True,
                text=True,
                timeout=30,
            ).stdout
        )
        assert probe[str(port)]["banner"] == f"crossnet-lab unit {port}"
        assert len(probe) == 2
    finally:
        server.terminate()
        server.wait(timeout=5)


def test_without_root_the_lab_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import shutil

    from network.lab import system

    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setattr(shutil, "which", lambda tool: None)
    missing = system.missing_requirements()
    assert missing[0].startswith("the lab needs root")
    assert any("vtysh is missing (Debian package frr)" in m for m in missing)


def test_the_check_matrix_fits_the_terminal_and_names_every_cell() -> None:
    from network.lab.check import Collector, Result, summary

    c = Collector()
    c.results = [
        Result("test_ping[dc1->app]", "passed", "dc1|app", 0.1),
        Result("test_tcp[dc1->data]", "failed", "dc1|data", 0.1, "refused " * 40),
        Result("test_bgp_established[x]", "passed", None, 0.1),
    ]
    c.measures = [("test_transfer", "transfer during failover", 6.35)]
    text = summary("dev", "the lab", c, 12.3)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "pass (1/1)" in text and "FAIL (1/1)" in text and "6.35" in text
    assert "1 failed" in text.splitlines()[0]


_RELOAD_LOG = (
    '2026-12-06 22:57:41,563 ERROR: "router bgp 65010 --  address-family ipv4 unicast --   '
    'no neighbor 169.254.26.61 route-map dc1-edge1-hub-mbb-2-in in" we failed to remove this '
    "command\n"
)


@pytest.mark.parametrize(
    ("new_conf", "running", "accepted"),
    [
        (
            "router bgp 65010\n neighbor 169.254.123.17 remote-as 64512\n",
            "router bgp 65010\n",
            True,
        ),
        # still wanted, or still running: a real failure
        ("router bgp 65010\n neighbor 169.254.26.61 remote-as 64512\n", "", False),
        ("", "router bgp 65010\n neighbor 169.254.26.61 remote-as 64512\n", False),
    ],
)
def test_frr_reload_failing_only_on_a_removed_neighbours_lines_is_accepted(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, new_conf: str, running: str, accepted: bool
) -> None:
    """frr-reload.py 8.4 removes a neighbour before its address-family lines and exits 1
    when those then fail; the lab accepts that (and only that) once the neighbour is gone."""
    from network.lab import live

    conf = tmp_path / "frr.conf"
    conf.write_text(new_conf)
    monkeypatch.setattr(
        live, "run", lambda argv, **kw: subprocess.CompletedProcess(argv, 0, running, "")
    )
    assert live._only_gone_parts(_RELOAD_LOG, conf, tmp_path) is accepted
    assert not live._only_gone_parts("ERROR: something else\n", conf, tmp_path)
    other = _RELOAD_LOG.replace("no neighbor 169.254.26.61", "no ip prefix-list x")
    assert not live._only_gone_parts(other, conf, tmp_path)


def test_frr_reload_failing_on_a_deleted_tunnels_interface_removes_it(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from network.lab import live

    conf = tmp_path / "frr.conf"
    conf.write_text("interface vti7876\n ip address 169.254.123.18/30\n")
    log = '2026 ERROR: "interface vti1678 --  no" we failed to remove this command\n'
    calls: list[list[str]] = []
    running = {"text": "interface vti1678\n ip address 169.254.26.58/30\n"}

    def run(argv: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
        calls.append(argv)
        if "no interface vti1678" in argv:
            running["text"] = ""
        return subprocess.CompletedProcess(argv, 0, running["text"], "")

    monkeypatch.setattr(live, "run", run)
    assert live._only_gone_parts(log, conf, tmp_path)
    assert any("no interface vti1678" in c for c in calls)
    # an interface the new config still has: a real failure, nothing removed
    calls.clear()
    conf.write_text("interface vti1678\n ip address 169.254.26.58/30\n")
    assert not live._only_gone_parts(log, conf, tmp_path)
    assert not calls


class _FakeFrr:
    """A running lab's AWS side as `faults` reads it: `show bgp neighbors json` and the
    commands it is sent (no daemon: the negotiated hold times are given)."""

    def __init__(self, lab: Lab, holds: dict[str, int | None], timers: str) -> None:
        from types import SimpleNamespace

        self.lab, self.holds = lab, holds
        self.sent: list[tuple[str, ...]] = []
        self.state = SimpleNamespace(timers=timers)

    def gateway_instance(self, g: Any) -> str:
        return f"frr-aws-{g.name}"

    def vtysh(self, inst: str, *commands: str) -> str:
        if commands == ("show bgp neighbors json",):
            data = {}
            for e in self.lab.ends:
                if e.side == "aws":
                    ms = self.holds.get(e.tunnel)
                    state = "Established" if ms is not None else "Active"
                    data[e.peer_inside_ip] = {"bgpState": state, "bgpTimerHoldTimeMsecs": ms}
            return json.dumps(data)
        self.sent.append(commands)
        return ""


def test_retime_resets_only_the_sessions_on_other_timers(
    fake_outputs: FakeOutputs, monkeypatch: pytest.MonkeyPatch
) -> None:
    from network.lab import faults

    lab = build_lab(*fake_outputs("dev"))
    waited: list[float] = []
    monkeypatch.setattr(faults, "wait_ready", lambda _rt, seconds: waited.append(seconds))
    # tunnel 1 came back on the short timers (an IKE DELETE), tunnel 2 still runs AWS's
    rt = _FakeFrr(lab, {"dc1-edge1-app/1": 3000, "dc1-edge1-app/2": 30000}, "fast")
    assert faults.negotiated_holds(rt) == {"dc1-edge1-app/1": 3.0, "dc1-edge1-app/2": 30.0}  # type: ignore[arg-type]
    assert faults.retime(rt, ["dc1-edge1-app/1"]) == []  # type: ignore[arg-type]
    assert rt.sent == [] and waited == []  # nothing to reset, nothing to wait for
    assert faults.retime(rt) == ["dc1-edge1-app/2"]  # type: ignore[arg-type]
    peer = lab.end("aws", "dc1-edge1-app/2").peer_inside_ip
    assert rt.sent == [(f"clear bgp {peer}",)] and waited == [60.0]
    # a session that is down is reset too (it would come up on whatever is configured)
    rt = _FakeFrr(lab, {"dc1-edge1-app/1": None, "dc1-edge1-app/2": 30000}, "aws")
    assert faults.retime(rt) == ["dc1-edge1-app/1"]  # type: ignore[arg-type]
