"""Every device platform's state, mapped to the suite's checks (pure).

The recordings are tests/devices/recorded's (ntc-templates' own, and those written
from the vendors' documentation), re-addressed to a stack router's tunnels, BGP
neighbours and prefixes (tests/devices/stack_recording.py). Read by the platform's
reader, checked against the stack outputs (`check_facts`), then cut into the rows
`crossnet check` shows (`verdict`): one per tunnel, BGP, prefixes received and
advertised per router, as the reachability suite's control-plane tests ask.
"""

from __future__ import annotations

from typing import Any

import pytest

from network.contract import Router
from network.devices.facts import Finding, RouterFacts, check_facts, verdict
from network.devices.readers import read_facts
from tests.conftest import fake_stack_outputs as fake_outputs
from tests.devices.stack_recording import FAULTS, recording

PLATFORMS = ("iosxe", "junos", "vyos", "fortios")


def _router() -> Router:
    outputs, _ = fake_outputs("prod")
    return outputs.routers["ash-edge1"]  # one BGP connection to the TGW, 4 prefixes in


def _facts(platform: str, router: Router, fault: str = "") -> RouterFacts:
    answers = recording(platform, router, fault)

    def run(command: str) -> str:
        assert command in answers, f"not recorded: {command}"
        return answers[command]

    return read_facts(router.key, platform, run)


def rows(router: Router, findings: list[Finding]) -> dict[str, str | None]:
    """The suite's rows for the router (test -> its failure, None: passed)."""
    bgp = [f"{c.name}/{t.number}" for c in router.connections for t in c.tunnels]
    out: dict[str, str | None] = {f"tunnel {s}": verdict(findings, "tunnels", [s]) for s in bgp}
    out["bgp"] = verdict(findings, "bgp", bgp)
    out["received"] = verdict(findings, "routes", bgp, "received")
    out["advertised"] = verdict(findings, "routes", bgp, "advertised")
    return out


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_router_as_planned_passes_every_row(platform: str) -> None:
    router = _router()
    facts = _facts(platform, router)
    assert facts.errors == ()
    c = router.connections[0]
    assert set(facts.tunnels) == {t.aws_outside_ip for t in c.tunnels}
    assert {a: (n.state, n.received, n.advertised) for a, n in facts.neighbours.items()} == {
        t.aws_inside_ip: ("Established", len(c.accept), len(c.announce)) for t in c.tunnels
    }
    assert rows(router, check_facts(router, facts)) == dict.fromkeys(rows(router, []), None)


# fault -> the rows that fail (the fault is on tunnel 2), and what the row says
EXPECTED: dict[str, dict[str, str]] = {
    "tunnel-down": {"tunnel ash-edge1-hub/2": "SA not up towards 203.0.113.10"},
    "neighbour-idle": {
        "bgp": "ash-edge1-hub/2: ",
        "received": "ash-edge1-hub/2: ",
        "advertised": "ash-edge1-hub/2: ",
    },
    "prefix-missing": {
        "advertised": "ash-edge1-hub/2: 0 prefixes advertised to 169.254.63.197, planned 1"
    },
}


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize("fault", [f for f in FAULTS if f])
def test_a_fault_fails_exactly_its_rows(platform: str, fault: str) -> None:
    router = _router()
    got = rows(router, check_facts(router, _facts(platform, router, fault)))
    failed = {k: v for k, v in got.items() if v is not None}
    assert set(failed) == set(EXPECTED[fault])
    for row, words in EXPECTED[fault].items():
        assert words in str(failed[row]), failed[row]
        assert "ash-edge1-hub/1" not in str(failed[row])  # tunnel 1 is as planned


@pytest.mark.parametrize("platform", PLATFORMS)
def test_an_idle_neighbour_says_so(platform: str) -> None:
    router = _router()
    failed = rows(router, check_facts(router, _facts(platform, router, "neighbour-idle")))
    n2 = router.connections[0].tunnels[1].aws_inside_ip
    if platform == "junos":
        # ntc-templates' Junos template records a peer on its RIB line, which a session
        # that is down does not print: it is missing from the summary, named so.
        assert failed["bgp"] == (
            f"ash-edge1-hub/2: no BGP neighbour {n2} in the device's summary (down, or not "
            "configured)"
        )
        assert failed["received"] == "ash-edge1-hub/2: routes received not read"
    else:
        assert failed["bgp"] == f"ash-edge1-hub/2: neighbour {n2} Idle"
        assert failed["received"] == (
            f"ash-edge1-hub/2: prefixes received from {n2} not read: neighbour Idle"
        )


def test_a_reading_error_fails_the_rows_it_leaves_unread() -> None:
    router = _router()
    answers = recording("iosxe", router)

    def run(command: str) -> str:
        return "% BGP not active" if "bgp" in command else answers[command]

    got = rows(router, check_facts(router, read_facts(router.key, "iosxe", run)))
    assert got["tunnel ash-edge1-hub/1"] is None and got["tunnel ash-edge1-hub/2"] is None
    for row in ("bgp", "received", "advertised"):
        assert got[row] == "BGP not read: show ip bgp summary: % BGP not active"


def test_nothing_read_for_a_row_fails_it() -> None:
    router = _router()
    empty: list[Any] = []
    assert verdict(empty, "tunnels", ["ash-edge1-hub/1"]) == ("ash-edge1-hub/1: tunnels not read")
    assert verdict(empty, "bgp", []) is None  # a static-only router: no BGP row to fail
    assert router.connections[0].routing == "bgp"
