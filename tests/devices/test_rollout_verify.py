"""`crossnet rollout --verify-step N --inventory F`: a written step's checks against the real
routers, here prod's IOS-XE and Junos routers read from their recordings
(stack_recording.py: ntc-templates' and the vendors' outputs re-addressed to the stack),
through the device layer's own readers. Pure: no SSH, no lab.

As planned every readable check passes and the rest are named "verify by hand"; a tunnel
down, a neighbour Idle or a missing prefix fails exactly that check; bad input exits 2.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from network import cli
from network.contract import Router, load_outputs
from network.devices.facts import RouterFacts
from network.devices.readers import read_facts
from tests.devices.stack_recording import recording
from tests.unit.test_review_support import stack_config
from tests.unit.test_rollout import applied, rollout

STACK = "prod"
CONN = "ash-edge1-hub"  # the recordings' faults hit its last tunnel: tunnel 2


def _rotate_tunnel2(cfg: dict[str, Any], net: dict[str, Any]) -> None:
    cfg["crossnet:rot"] = "RotatedSecret" * 3
    net["connections"][CONN]["tunnel2"] = {"presharedKeySecret": "rot"}


@pytest.fixture(scope="module")
def planned() -> tuple[dict[str, Any], dict[str, Any]]:
    """The rollout of a PSK rotation on ash-edge1-hub's tunnel 2 (as rollout.json) and the
    applied outputs (the rotation leaves tunnels, neighbours and prefixes as they are)."""
    r, _ = rollout(STACK, _rotate_tunnel2)
    _, outputs = applied(STACK, stack_config(STACK))
    return r.as_json(), outputs


def reader(truth: Path, fault: str = "", on: str = "ash-edge1") -> Any:
    """Each router read from its recording, addressed as the applied outputs `truth` say
    (the devices' state, whatever outputs the command was given)."""
    routers = load_outputs(truth).routers

    def read(router: Router) -> RouterFacts:
        real = routers[router.key]
        rec = recording(real.platform, real, fault if router.key == on else "")
        return read_facts(real.key, real.platform, lambda cmd: rec[cmd])

    return read


@pytest.fixture()
def site(
    planned: tuple[dict[str, Any], dict[str, Any]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    """The state directory holding prod's outputs and the written rollout; the inventory."""
    plan, outputs = planned
    monkeypatch.setenv("CROSSNET_STATE_DIR", str(tmp_path / "state"))
    return write_site(tmp_path, outputs, plan)


def write_site(
    tmp_path: Path,
    outputs: dict[str, Any],
    plan: dict[str, Any],
    entry: dict[str, str] | None = None,
) -> Path:
    """Under `tmp_path`: the stack's state directory with `outputs` and the written
    rollout `plan`, and an inventory naming each router (`ssh://<key>.example`, `entry`'s
    settings beside)."""
    d = tmp_path / "state" / STACK
    (d / "rollout").mkdir(parents=True)
    (d / "outputs.json").write_text(json.dumps(outputs))
    (d / "rollout" / "rollout.json").write_text(json.dumps(plan))
    routers = {k: {"target": f"ssh://{k}.example", **(entry or {})} for k in outputs["routers"]}
    (tmp_path / "inventory.yaml").write_text(yaml.safe_dump({"routers": routers}))
    return tmp_path


def run(
    site: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *extra: str,
    fault: str = "",
) -> tuple[int, str, list[str]]:
    """The command's exit code, its screen, and the routers it read (in order)."""
    read = reader(site / "state" / STACK / "outputs.json", fault)
    seen: list[str] = []

    def read_router(router: Router, inv: Any) -> RouterFacts:
        seen.append(router.key)
        return read(router)

    monkeypatch.setattr("network.devices.remote.read_router", read_router)
    monkeypatch.setenv("COLUMNS", "250")
    argv = ["rollout", "--stack", STACK, "--inventory", str(site / "inventory.yaml")]
    code = cli.main([*argv, *extra])
    out = capsys.readouterr()
    return code, out.out + out.err, seen


def rows(screen: str, status: str) -> list[str]:
    return [line for line in screen.splitlines() if f"│ {status}" in line]


def test_as_planned_every_readable_check_passes_the_rest_by_hand(
    site: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, screen, seen = run(site, monkeypatch, capsys, "--verify-step", "1")
    assert code == 0, screen
    assert seen == ["ash-edge1"]  # one read per router
    assert not rows(screen, "FAIL")
    assert "4 passed, 0 failed, 4 to verify by hand" in screen
    assert "not readable from iosxe over SSH: verify by hand: ping from a host in" in screen


def test_the_drain_phase_reads_both_routers_and_names_what_it_cannot_read(
    site: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, screen, seen = run(
        site, monkeypatch, capsys, "--verify-step", "1", "--when", "after-drain"
    )
    assert code == 0, screen
    assert seen == ["ash-edge1", "ash-edge2"]
    assert "9 passed, 0 failed, 2 to verify by hand" in screen
    assert "verify by hand: show ip route 10." in screen  # route-avoids, IOS-XE's command
    assert "show ip bgp neighbors 169.254." in screen  # advertised-prepend


@pytest.mark.parametrize(
    ("fault", "failing"),
    [
        ("tunnel-down", ["ipsec-sa"]),
        # an Idle session receives and is sent nothing: its prefix checks fail with it
        ("neighbour-idle", ["bgp-established", "prefixes-received", "prefixes-advertised"]),
        ("prefix-missing", ["prefixes-advertised"]),
    ],
)
def test_one_fault_fails_exactly_its_checks(
    site: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fault: str,
    failing: list[str],
) -> None:
    code, screen, _ = run(site, monkeypatch, capsys, "--verify-step", "1", fault=fault)
    assert code == 1, screen
    named = [line.split()[1] for line in screen.splitlines() if line.startswith("FAIL ")]
    assert named == failing
    assert all(f"{CONN}-2" in line for line in screen.splitlines() if line.startswith("FAIL "))
    assert f"{4 - len(failing)} passed, {len(failing)} failed" in screen
    assert "do not start step 2. To go back by hand, in reverse:" in screen
    assert "(before step 1: " in screen and "steps/00/Pulumi.prod.yaml)" in screen


def test_a_recorded_fault_on_a_tunnel_the_phase_does_not_check_fails_nothing(
    site: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, screen, _ = run(
        site, monkeypatch, capsys, "--verify-step", "1", "--when", "after-restore"
    )
    assert code == 0 and "0 passed, 0 failed, 4 to verify by hand" in screen


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--verify-step", "9"], "the rollout has steps 1..1"),
        (["--verify-step", "1", "--lab"], "given together, without --lab"),
        ([], "given together"),
    ],
)
def test_bad_input_exits_2_and_reads_no_router(
    site: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    says: str,
) -> None:
    code, screen, seen = run(site, monkeypatch, capsys, *args)
    assert code == 2 and says in screen and not seen
    assert "Traceback" not in screen


def test_no_rollout_or_a_bad_inventory_exits_2(
    site: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (site / "inventory.yaml").write_text("routers: [a, b]\n")
    code, screen, seen = run(site, monkeypatch, capsys, "--verify-step", "1")
    assert code == 2 and "a mapping of router entries" in screen and not seen
    (site / "inventory.yaml").write_text(yaml.safe_dump({"routers": {"ash-edge2": {}}}))
    code, screen, seen = run(site, monkeypatch, capsys, "--verify-step", "1")
    assert code == 2 and "routers.ash-edge1" in screen and not seen
    (site / "state" / STACK / "rollout" / "rollout.json").unlink()
    code, screen, seen = run(site, monkeypatch, capsys, "--verify-step", "1")
    assert code == 2 and "run `crossnet rollout --stack prod` first" in screen and not seen
    assert not (site / "state" / STACK / "rollout" / "rollout.json").exists()


def test_a_router_that_cannot_be_read_fails_its_checks_with_why(
    site: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from network.devices.remote import UnreadableError

    def unreachable(router: Router, inv: Any) -> RouterFacts:
        raise UnreadableError("unreachable", f"{router.key}.example:22: connection refused")

    monkeypatch.setattr("network.devices.remote.read_router", unreachable)
    monkeypatch.setenv("COLUMNS", "250")
    argv = ["rollout", "--stack", STACK, "--inventory", str(site / "inventory.yaml")]
    code = cli.main([*argv, "--verify-step", "1"])
    screen = capsys.readouterr().out
    assert code == 1
    assert screen.count("router not read: unreachable: ash-edge1.example:22") == 4 + 4  # table+list
    assert "0 passed, 4 failed, 4 to verify by hand" in screen


def test_the_outputs_name_the_tunnels_aws_end_a_moved_one_fails_its_sa(
    site: Path,
    planned: tuple[dict[str, Any], dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    moved = copy.deepcopy(planned[1])
    conn = next(c for c in moved["routers"]["ash-edge1"]["connections"] if c["name"] == CONN)
    conn["tunnels"][-1]["awsOutsideIp"] = "192.0.2.99"  # AWS's end as `--outputs` says
    (site / "moved.json").write_text(json.dumps(moved))
    code, screen, _ = run(
        site, monkeypatch, capsys, "--verify-step", "1", "--outputs", str(site / "moved.json")
    )
    assert code == 1
    assert [x for x in screen.splitlines() if x.startswith("FAIL ")] == [
        f"FAIL ipsec-sa {CONN}-2: no SA towards 192.0.2.99"
    ]
