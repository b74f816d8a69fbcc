"""State readers on recorded device output (tests/devices/recorded, sources in its README)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import yaml

from network.devices.facts import NeighbourFacts, RouterFacts, TunnelFacts, check_facts
from network.devices.readers import read_facts
from tests.conftest import fake_stack_outputs as fake_outputs

REC = Path(__file__).resolve().parents[1] / "devices" / "recorded"


def replay(platform: str, broken: str = ""):
    d = REC / platform
    commands = yaml.safe_load((d / "commands.yaml").read_text())

    def run(cmd: str) -> str:
        if broken and cmd.startswith(broken):
            return {
                "iosxe": "% BGP not active",
                "linux": "Exiting: failed to connect to any daemons.",
            }.get(platform, "error: the routing subsystem is not running")
        for key, name in commands.items():
            if key == cmd or (key.startswith("re:") and re.fullmatch(key[3:], cmd)):
                return (d / name).read_text()
        raise AssertionError(f"not recorded: {cmd}")

    return run


def test_iosxe_recorded() -> None:
    f = read_facts("r", "iosxe", replay("iosxe"))
    assert f.errors == ()
    assert f.tunnels == {
        "21.16.95.23": TunnelFacts(
            "21.16.95.23", True, True, "Tunnel11", "UP-ACTIVE, IKE SA Active, 2 IPsec SAs"
        )
    }
    assert len(f.neighbours) == 10
    assert f.neighbours["10.0.0.4"] == NeighbourFacts("10.0.0.4", "Established", 65003, 1351, 7)
    assert f.neighbours["10.0.0.10"] == NeighbourFacts("10.0.0.10", "Idle (Admin)", 65009)


def test_junos_recorded() -> None:
    f = read_facts("r", "junos", replay("junos"))
    assert f.errors == ()
    assert {p: (t.ike_up, t.ipsec_up) for p, t in f.tunnels.items()} == {
        "198.51.100.10": (True, True),
        "203.0.113.10": (False, False),
    }
    assert f.neighbours["198.51.100.200"] == NeighbourFacts(
        "198.51.100.200", "Established", 64496, 70, 2
    )
    # Two sessions to one address in the recording (two RIBs): their counts add up.
    assert f.neighbours["203.0.113.0"].received == 74 + 72


def test_vyos_recorded() -> None:
    f = read_facts("r", "vyos", replay("vyos"))
    assert f.errors == ()
    assert {p: (t.ike_up, t.ipsec_up) for p, t in f.tunnels.items()} == {
        "198.51.100.10": (True, True),
        "203.0.113.10": (False, False),
    }
    assert f.neighbours["193.189.82.105"].state == "Active"
    assert f.neighbours["10.10.10.10"] == NeighbourFacts("10.10.10.10", "Established", 1234, 0, 1)


def test_fortios_recorded() -> None:
    f = read_facts("r", "fortios", replay("fortios"))
    assert f.errors == ()
    assert f.tunnels["198.51.100.10"].name == "aws1281"
    assert (f.tunnels["203.0.113.10"].ike_up, f.tunnels["203.0.113.10"].ipsec_up) == (False, False)
    assert f.neighbours["10.205.35.95"] == NeighbourFacts(
        "10.205.35.95", "Established", 65302, 1, 1
    )
    assert f.neighbours["169.132.250.17"].state == "Idle"


def test_linux_recorded_through_the_labs_readers() -> None:
    f = read_facts("r", "linux", replay("linux"))
    assert f.errors == ()
    assert f.tunnels["198.51.100.10"] == dataclasses.replace(
        f.tunnels["198.51.100.10"], ike_up=True, ipsec_up=True
    )
    assert (f.tunnels["203.0.113.10"].ike_up, f.tunnels["203.0.113.10"].ipsec_up) == (False, False)
    assert f.neighbours["169.254.20.5"] == NeighbourFacts(
        "169.254.20.5", "Established", 64512, 1, 2
    )


@pytest.mark.parametrize(
    ("platform", "broken"),
    [("iosxe", "show ip bgp summary"), ("junos", "show bgp summary"), ("linux", "vtysh")],
)
def test_a_daemon_down_is_named_not_raised(platform: str, broken: str) -> None:
    f = read_facts("r", platform, replay(platform, broken))
    assert f.neighbours == {}
    assert len(f.errors) == 1 and f.errors[0].startswith("BGP not read: ")
    assert f.tunnels  # the rest is still read


def test_output_no_template_reads_is_an_error_not_a_traceback() -> None:
    f = read_facts("r", "junos", lambda cmd: "something else entirely\n")
    # crossnet's own templates refuse what they do not know; ntc's BGP one reads nothing.
    assert f.errors == (
        "tunnels not read: show security ike security-associations: output not understood "
        "(State Error raised. Rule Line: 12. Input Line: something else entirely)",
    )
    assert f.tunnels == {} and f.neighbours == {}


def test_check_facts_against_the_plan() -> None:
    outputs, _ = fake_outputs("dev")
    router = next(iter(outputs.routers.values()))
    c = router.connections[0]
    t1, t2 = c.tunnels
    facts = RouterFacts(
        router.key,
        "iosxe",
        {
            t1.aws_outside_ip: TunnelFacts(t1.aws_outside_ip, True, True),
            t2.aws_outside_ip: TunnelFacts(t2.aws_outside_ip, True, False, detail="no child"),
        },
        {
            t1.aws_inside_ip: NeighbourFacts(
                t1.aws_inside_ip, "Established", 64512, len(c.accept), len(c.announce)
            ),
            t2.aws_inside_ip: NeighbourFacts(t2.aws_inside_ip, "Active"),
        },
    )
    bad = {(f.area, f.subject, f.what): f.message for f in check_facts(router, facts) if not f.ok}
    # A neighbour that is not Established has no prefix counts: each is a failure, not a
    # check left out.
    n2 = t2.aws_inside_ip
    assert bad == {
        ("tunnels", f"{c.name}/2", ""): f"IPsec SA not up towards {t2.aws_outside_ip} (no child)",
        ("bgp", f"{c.name}/2", ""): f"neighbour {n2} Active",
        ("routes", f"{c.name}/2", "received"): f"prefixes received from {n2} not read: "
        "neighbour Active",
        ("routes", f"{c.name}/2", "advertised"): f"prefixes advertised to {n2} not read: "
        "neighbour Active",
    }
    good = [f for f in check_facts(router, facts) if f.ok]
    assert {f.area for f in good} == {"tunnels", "bgp", "routes"}
