"""`crossnet rollout --push-step N --phase P`: the per-platform push plan and the command's
bad input. Pure: the routers are fakes of the session layer (what they run: a render of the
applied state, keys as devices show them, encrypted), the checks read from the recordings
(as --verify-step's tests). The same plan over real SSH: test_rollout_push_ssh.py.

The step is prod's PSK rotation of ash-edge1-hub tunnel 2 (IOS-XE ash-edge1, Junos
ash-edge2): drain, then AWS's `pulumi up` (the engineer's), then the routers, then restore.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from network import cli
from network.contract import Router, parse_outputs
from network.devices.facts import RouterFacts
from network.render import render_router
from network.rollout.push import (
    added_lines,
    linux_path,
    linux_push,
    phase_entries,
    planned_diff,
    prune,
    vendor_push,
)
from tests.devices.test_rollout_verify import STACK, _rotate_tunnel2, reader, write_site
from tests.unit.test_review_support import stack_config
from tests.unit.test_rollout import applied, rollout

NEW_KEY = "RotatedSecret" * 3
FILE = {"iosxe": "router.cfg", "junos": "router.set"}


def rotation() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """rollout.json of the rotation, the applied outputs, and the outputs after step 1's
    pulumi up (the new key)."""
    r, _ = rollout(STACK, _rotate_tunnel2)
    _, outputs = applied(STACK, stack_config(STACK))
    after = copy.deepcopy(outputs)
    after["presharedKeys"]["ash-edge1-hub/2"] = NEW_KEY
    return r.as_json(), outputs, after


@pytest.fixture(scope="module")
def planned() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    return rotation()


def routers(outputs: dict[str, Any]) -> dict[str, Router]:
    return parse_outputs(outputs, "test").routers


def device_view(platform: str, text: str) -> str:
    """A render as the device shows it: its keys encrypted."""
    if platform == "iosxe":
        return re.sub(r"pre-shared-key \S+", "pre-shared-key 6 Ue]dBBBNfGVIfQ==", text)
    return re.sub(r"ascii-text \S+", 'ascii-text "$9$5Qz/CpB1EyKvLeK"', text)


def running(outputs: dict[str, Any], key: str, drained: frozenset[str]) -> str:
    r = routers(outputs)[key]
    return device_view(r.platform, render_router(r, drained=drained)[FILE[r.platform]])


def plan(step: dict[str, Any], outputs: dict[str, Any], key: str, phase: str, run: str) -> Any:
    r = routers(outputs)[key]
    d = frozenset(step["drained"])
    files = render_router(r, drained=frozenset() if phase == "restore" else d)
    diff = planned_diff(phase_entries(step, phase), key)
    return vendor_push(r, files[FILE[r.platform]], run, diff, d, phase)


def test_iosxe_each_phase_sends_exactly_its_diff_and_the_rotated_key_only(
    planned: tuple[dict[str, Any], dict[str, Any], dict[str, Any]],
) -> None:
    plan_json, before, after = planned
    step = plan_json["steps"][0]
    d = frozenset(step["drained"])
    drain = plan(step, before, "ash-edge1", "drain", running(before, "ash-edge1", frozenset()))
    assert drain.lines == (
        "route-map ash-edge1-hub-2-in permit 10",
        " match ip address prefix-list ash-edge1-hub-in",
        " set local-preference 10",
        "route-map ash-edge1-hub-2-out permit 10",
        " match ip address prefix-list ash-edge1-hub-out",
        " set as-path prepend 65100 65100 65100 65100",
        "router bgp 65100",
        " address-family ipv4",
        "  neighbor 169.254.63.197 route-map ash-edge1-hub-2-in in",
        "  neighbor 169.254.63.197 route-map ash-edge1-hub-2-out out",
        "  exit-address-family",
    )
    assert drain.commands == (
        "clear ip bgp 169.254.63.197 soft in",
        "clear ip bgp 169.254.63.197 soft out",
    )
    assert drain.commit == ()  # IOS-XE applies each line
    # The encrypted keys on the device are not a change: no key line is sent.
    assert "pre-shared-key" not in "\n".join(drain.lines)
    routers_phase = plan(step, after, "ash-edge1", "routers", running(before, "ash-edge1", d))
    assert routers_phase.lines == (
        "crypto ikev2 keyring ash-edge1-hub-2",
        " peer aws-2",
        f"  pre-shared-key {NEW_KEY}",
    )
    assert routers_phase.commands == ()
    assert NEW_KEY not in routers_phase.shown() and "pre-shared-key REDACTED" in (
        routers_phase.shown()
    )
    restore = plan(step, after, "ash-edge1", "restore", running(after, "ash-edge1", d))
    # the neighbour's references go before the route-maps they name
    assert restore.lines == (
        "router bgp 65100",
        " address-family ipv4",
        "  no neighbor 169.254.63.197 route-map ash-edge1-hub-2-in in",
        "  no neighbor 169.254.63.197 route-map ash-edge1-hub-2-out out",
        "  exit-address-family",
        "no route-map ash-edge1-hub-2-in permit 10",
        "no route-map ash-edge1-hub-2-out permit 10",
    )


def test_a_router_already_in_the_phase_gets_nothing(
    planned: tuple[dict[str, Any], dict[str, Any], dict[str, Any]],
) -> None:
    plan_json, before, _ = planned
    step = plan_json["steps"][0]
    d = frozenset(step["drained"])
    p = plan(step, before, "ash-edge1", "drain", running(before, "ash-edge1", d))
    assert p.empty and p.commit == () and p.commands == ()
    assert p.shown() == "nothing differs: nothing sent"


def test_junos_sends_set_commands_then_commits_no_soft_clear(
    planned: tuple[dict[str, Any], dict[str, Any], dict[str, Any]],
) -> None:
    """ash-edge2 is not in this step's drain; its render with ash-edge1's tunnel drained
    is its own: a Junos router drained by hand shows the set/delete lines and commit."""
    plan_json, before, _ = planned
    step = copy.deepcopy(plan_json["steps"][0])
    step["drained"] = ["ash-edge2-hub-1"]
    step["drain"] = [{"router": "ash-edge2", "diff": ""}]
    p = plan(step, before, "ash-edge2", "drain", running(before, "ash-edge2", frozenset()))
    assert p.lines and all(ln.startswith(("set ", "delete ")) for ln in p.lines)
    assert any("local-preference 10" in ln for ln in p.lines)
    assert any('as-path-prepend "65100 65100 65100 65100"' in ln for ln in p.lines)
    assert p.commit == ("commit",) and p.commands == ()
    assert "pre-shared-key" not in "\n".join(p.lines)


def test_linux_writes_only_the_files_that_differ_and_reloads_what_they_feed() -> None:
    from tests.conftest import fake_stack_outputs

    outputs, _ = fake_stack_outputs("dev")
    r = next(r for r in outputs.routers.values() if r.platform == "linux")
    files = render_router(r)
    entry = {"sudo": "sudo -n", "swanctl_dir": "/srv/swanctl"}
    remote: dict[str, str | None] = {linux_path(n, entry): t for n, t in files.items()}
    assert linux_push(r, files, remote, entry, "routers").empty
    tunnel = next(n for n in files if n.startswith("conf.d/"))
    remote[linux_path(tunnel, entry)] = "old"
    remote[linux_path("frr.conf", entry)] = None  # absent on the router
    p = linux_push(r, files, remote, entry, "drain")
    assert sorted(p.files) == ["/etc/frr/frr.conf", f"/srv/swanctl/{tunnel}"]
    t = tunnel[len("conf.d/") : -len(".conf")]
    assert p.commands == (
        "sudo -n swanctl --load-all --file /srv/swanctl/swanctl.conf",
        f"sudo -n swanctl --terminate --ike {t}",  # its key (the old file: unreadable)
        f"sudo -n swanctl --initiate --child {t} --timeout 20",
        "sudo -n /usr/lib/frr/frr-reload.py --reload /etc/frr/frr.conf",
        "sudo -n vtysh -c 'clear bgp ipv4 unicast * soft'",
    )
    # A change of proposals only: loaded, charon renegotiates at its next rekey.
    remote[linux_path(tunnel, entry)] = files[tunnel].replace("aes256-sha256-ecp384", "aes128")
    assert linux_push(r, files, remote, entry, "routers").commands[0] == (
        "sudo -n swanctl --load-all --file /srv/swanctl/swanctl.conf"
    )
    assert len(linux_push(r, files, remote, entry, "routers").commands) == 2  # + frr
    # One charon per tunnel (the lab's inventory): each file into its own.
    conn, n = t.rsplit("-", 1)
    own = {f"{conn}/{n}": {"swanctl": "sudo -n swanctl", "uri": "unix:///run/t.vici"}}
    p2 = linux_push(r, files, remote, {**entry, "tunnels": own}, "routers")
    assert p2.commands[0] == (
        f"sudo -n swanctl --load-all --file /srv/swanctl/{tunnel} --uri unix:///run/t.vici"
    )
    assert not any("swanctl.conf" in c for c in p2.commands)  # no charon loads them all
    keys = [t.psk.reveal() for c in r.connections for t in c.tunnels]
    assert any(k in files[tunnel] for k in keys)  # the file holds the key...
    assert not any(k in p.shown() for k in keys)  # ...what is printed does not


def test_the_diffs_new_line_numbers_and_pruned_sections() -> None:
    diff = "--- a\n+++ b\n@@ -3,2 +3,3 @@\n keep\n-old\n+new\n+more\n"
    assert added_lines(diff) == {3: "new", 4: "more"}
    lines = ["a", " b", "  c", " d", "e", "  exit-address-family"]
    wanted = [True, True, False, False, True, True]
    assert prune(lines, wanted) == ("e", "  exit-address-family")
    assert prune(lines, [True, True, True, False, False, True]) == ("a", " b", "  c")
    forti = ["config x", "    edit y", "        set z", "    next", "end", "config q", "end"]
    assert prune(forti, [True, True, True, True, True, False, True], True) == tuple(forti[:5])


# ------------------------------------------------------------------ the command


class FakeSession:
    """A router's session as the push uses it: its running config, what it is sent."""

    def __init__(self, text: str, sent: list[str]) -> None:
        self.text = text
        self.sent = sent

    def run(self, cmd: str) -> str:
        self.sent.append(f"exec: {cmd}")
        return self.text if cmd.startswith("show") else ""

    def configure(self, lines: tuple[str, ...], commit: tuple[str, ...] = ()) -> str:
        self.sent += list(lines) + [f"commit: {c}" for c in commit]
        return "\n".join(lines)  # a device echoes what it is sent: the output is redacted


@pytest.fixture()
def site(
    planned: tuple[dict[str, Any], dict[str, Any], dict[str, Any]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    plan_json, before, after = planned
    monkeypatch.setenv("CROSSNET_STATE_DIR", str(tmp_path / "state"))
    (tmp_path / "after.json").write_text(json.dumps(after))
    entry = {"identity_file": str(tmp_path / "k"), "known_hosts": str(tmp_path / "kh")}
    return write_site(tmp_path, before, plan_json, entry)


def push(
    site: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    device: dict[str, str],
    *extra: str,
    fault: str = "",
) -> tuple[int, str, dict[str, list[str]]]:
    """The command run against fake sessions (`device`: router -> running config);
    its exit code, its screen, what each router was sent."""
    sent: dict[str, list[str]] = {}

    @contextmanager
    def session(platform: str, t: Any) -> Iterator[FakeSession]:
        key = t.host.removesuffix(".example")
        yield FakeSession(device[key], sent.setdefault(key, []))

    read = reader(site / "state" / STACK / "outputs.json", fault)

    def read_router(router: Router, inv: Any) -> RouterFacts:
        return read(router)

    monkeypatch.setattr("network.devices.session.open_session", session)
    monkeypatch.setattr("network.devices.remote.read_router", read_router)
    monkeypatch.setattr("network.rollout.push_exec.POLL", 0.0)
    monkeypatch.setenv("COLUMNS", "250")
    argv = ["rollout", "--stack", STACK, "--inventory", str(site / "inventory.yaml")]
    code = cli.main([*argv, *extra])
    out = capsys.readouterr()
    return code, out.out + out.err, sent


def test_push_routers_phase_sends_the_rotation_checks_and_never_prints_the_key(
    site: Path,
    planned: tuple[dict[str, Any], dict[str, Any], dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    plan_json, before, _ = planned
    d = frozenset(plan_json["steps"][0]["drained"])
    dev = {"ash-edge1": running(before, "ash-edge1", d)}
    args = ["--push-step", "1", "--phase", "routers", "--outputs", str(site / "after.json")]
    code, screen, sent = push(site, monkeypatch, capsys, dev, *args, "--yes")
    assert code == 0, screen
    assert sent["ash-edge1"] == [
        "exec: show running-config",
        "crypto ikev2 keyring ash-edge1-hub-2",
        " peer aws-2",
        f"  pre-shared-key {NEW_KEY}",
    ]
    assert NEW_KEY not in screen and "pre-shared-key REDACTED" in screen
    assert "the AWS side is yours" in screen and "pulumi up --stack prod --config-file" in screen
    assert (
        "routers of step 1 pushed: 4 check(s) passed, 0 to verify by hand" in screen
        and "│ FAIL" not in screen
    )


def test_a_failing_check_exits_1_and_names_the_way_back(
    site: Path,
    planned: tuple[dict[str, Any], dict[str, Any], dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    plan_json, before, _ = planned
    d = frozenset(plan_json["steps"][0]["drained"])
    dev = {"ash-edge1": running(before, "ash-edge1", d)}
    monkeypatch.setattr("sys.argv", ["crossnet"])
    args = ["--push-step", "1", "--phase", "routers", "--outputs", str(site / "after.json")]
    args += ["--yes", "--check-timeout", "0"]
    code, screen, sent = push(site, monkeypatch, capsys, dev, *args, fault="tunnel-down")
    assert code == 1, screen
    assert sent["ash-edge1"][-1] == f"  pre-shared-key {NEW_KEY}"  # pushed, then checked
    assert [ln.split()[1] for ln in screen.splitlines() if ln.startswith("FAIL ")] == ["ipsec-sa"]
    assert "to go back to step 0's configs: `pulumi up --config-file " in screen
    assert "steps/00/Pulumi.prod.yaml" in screen and "crossnet render" in screen
    assert NEW_KEY not in screen


def test_not_confirmed_nothing_is_sent(
    site: Path,
    planned: tuple[dict[str, Any], dict[str, Any], dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, before, _ = planned
    dev = {"ash-edge1": running(before, "ash-edge1", frozenset())}
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    code, screen, sent = push(
        site, monkeypatch, capsys, dev, "--push-step", "1", "--phase", "drain"
    )
    assert code == 1 and "nothing pushed" in screen
    assert sent["ash-edge1"] == ["exec: show running-config"]  # read, never configured
    assert "route-map ash-edge1-hub-2-in permit 10" in screen  # shown before the question


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--push-step", "9", "--phase", "drain"], "the rollout has steps 1..1"),
        (
            ["--push-step", "1", "--phase", "drain", "--lab"],
            "needs --inventory F and --phase P, without --lab",
        ),
        (["--push-step", "1", "--phase", "drain", "--verify-step", "1"], "without --lab or"),
        (["--phase", "drain"], "--push-step N needs --inventory"),
        ([], "--push-step N needs --inventory"),  # --yes alone
    ],
)
def test_bad_input_exits_2_and_touches_no_router(
    site: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    says: str,
) -> None:
    code, screen, sent = push(site, monkeypatch, capsys, {}, *args, "--yes")
    assert code == 2 and says in screen and not sent, screen
    assert "Traceback" not in screen


def test_a_phase_the_step_lacks_or_a_router_the_inventory_lacks_exits_2(
    site: Path,
    planned: tuple[dict[str, Any], dict[str, Any], dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    plan_json, _, _ = planned
    edited = copy.deepcopy(plan_json)
    edited["steps"][0]["restore"] = []
    rollout_json = site / "state" / STACK / "rollout" / "rollout.json"
    rollout_json.write_text(json.dumps(edited))
    code, screen, sent = push(
        site, monkeypatch, capsys, {}, "--push-step", "1", "--phase", "restore", "--yes"
    )
    assert code == 2 and "step 1 has no restore phase on the routers" in screen and not sent
    rollout_json.write_text(json.dumps(plan_json))
    (site / "inventory.yaml").write_text(yaml.safe_dump({"routers": {"ash-edge2": {}}}))
    code, screen, sent = push(
        site, monkeypatch, capsys, {}, "--push-step", "1", "--phase", "drain", "--yes"
    )
    assert code == 2 and "routers.ash-edge1" in screen and not sent


def test_a_router_only_the_phases_checks_read_must_be_in_the_inventory_too(
    site: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The drain changes ash-edge1 only; its checks read ash-edge2 as well (its tunnels
    carry the traffic drained): exit 2 before anything is sent."""
    inv = yaml.safe_load((site / "inventory.yaml").read_text())
    del inv["routers"]["ash-edge2"]
    (site / "inventory.yaml").write_text(yaml.safe_dump(inv))
    code, screen, sent = push(
        site, monkeypatch, capsys, {}, "--push-step", "1", "--phase", "drain", "--yes"
    )
    assert code == 2 and not sent
    assert "routers.ash-edge2" in screen and "a check after the drain reads it" in screen


def test_every_problem_of_a_push_is_on_one_screen(
    site: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A wrong flag, a router the inventory lacks and an outputs file that is not there:
    all three at once (a user fixing one does not meet the next), exit 2, nothing sent."""
    inv = yaml.safe_load((site / "inventory.yaml").read_text())
    del inv["routers"]["ash-edge1"]
    (site / "inventory.yaml").write_text(yaml.safe_dump(inv))
    args = ["--push-step", "1", "--phase", "drain", "--lab", "--outputs", str(site / "nope.json")]
    code, screen, sent = push(site, monkeypatch, capsys, {}, *args, "--yes")
    assert code == 2 and not sent and "Traceback" not in screen, screen
    assert "needs --inventory F and --phase P, without --lab" in screen
    assert "routers.ash-edge1" in screen
    assert "nope.json" in screen and "not found" in screen
    assert "3 problem(s)" in screen


# VyOS and FortiOS: what their CLIs refuse or leave behind (proven end to end against the
# fake routers in test_rollout_push_vyfo.py).


def test_vyos_leaf_deletes_fold_into_the_node_they_empty() -> None:
    """Deleting each leaf leaves `policy route-map X rule 10` behind on VyOS: the fold
    deletes the named node, never one the target or another running line still needs."""
    from network.rollout.push import whole_deletes

    running = "\n".join(
        [
            "set policy route-map own rule 10 action 'permit'",
            "set policy route-map cx-in rule 10 action 'permit'",
            "set policy route-map cx-in rule 10 set local-preference '10'",
            "set protocols bgp neighbor 1.1.1.1 address-family ipv4-unicast route-map import 'cx-in'",  # noqa: E501
            "set protocols bgp neighbor 1.1.1.1 address-family ipv4-unicast maximum-prefix '10'",
        ]
    )
    target = "\n".join(ln for ln in running.splitlines() if "cx-in" not in ln)
    lines = tuple(f"delete {ln[4:]}" for ln in running.splitlines() if "cx-in" in ln)
    assert whole_deletes(lines, running, target) == (
        "delete policy route-map cx-in",
        "delete protocols bgp neighbor 1.1.1.1 address-family ipv4-unicast route-map",
    )
    mine = running + "\nset policy route-map cx-in rule 20 action 'deny'"  # not ours to drop
    assert whole_deletes(lines, mine, target)[0] == "delete policy route-map cx-in rule 10"


def test_fortios_deletes_go_after_the_lines_that_stop_naming_them() -> None:
    from network.rollout.push import deletes_last

    lines = (
        "config router route-map",
        '    delete "aws2-in"',
        '    edit "aws1-in"',
        "        set set-local-preference 10",
        "    next",
        "end",
        "config router bgp",
        "    config neighbor",
        '        edit "169.254.0.1"',
        "            unset route-map-in",
        "        next",
        "    end",
        "end",
    )
    assert deletes_last(lines) == (
        "config router route-map",
        '    edit "aws1-in"',
        "        set set-local-preference 10",
        "    next",
        "end",
        *lines[6:],
        "config router route-map",
        '    delete "aws2-in"',
        "end",
    )
