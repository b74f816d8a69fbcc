"""The SSH path against a fake device: netmiko, a real key, a known_hosts file.

The fake device (fake_device.py, paramiko) runs in its own network namespace
behind a veth pair (198.18.0.0/15, the benchmarking range: never routed), so
it listens on port 22 as a router would. Needs root and `ip`; run under the
lab lock (`flock /tmp/crossnet-lab.lock pytest tests/devices`).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from network.devices.drift import RENDERED_FILE, router_drift
from network.devices.readers import read_facts
from network.devices.session import SessionError, Target, open_session
from network.render import render_router
from tests.conftest import fake_stack_outputs as fake_outputs

HERE = Path(__file__).resolve().parent
REC = HERE / "recorded"
pytestmark = [
    pytest.mark.daemon,
    pytest.mark.skipif(
        os.geteuid() != 0 or shutil.which("ip") is None,
        reason="needs root and ip (a namespace for the fake device)",
    ),
]
NET = 18 + os.getpid() % 200
NS, HOST_IF, NS_IF = (
    f"cxdev{os.getpid()}",
    f"cxdh{os.getpid() % 100000}",
    f"cxdn{os.getpid() % 100000}",
)
DEVICE, GATE, NOBODY = f"198.18.{NET}.2", f"198.18.{NET}.1", f"198.18.{NET}.3"


def sh(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True, timeout=10)


@pytest.fixture(scope="module")
def net() -> Iterator[None]:
    sh("ip", "netns", "add", NS)
    try:
        sh("ip", "link", "add", HOST_IF, "type", "veth", "peer", "name", NS_IF)
        sh("ip", "link", "set", NS_IF, "netns", NS)
        sh("ip", "addr", "add", f"{GATE}/29", "dev", HOST_IF)
        sh("ip", "link", "set", HOST_IF, "up")
        sh("ip", "-n", NS, "addr", "add", f"{DEVICE}/29", "dev", NS_IF)
        sh("ip", "-n", NS, "link", "set", NS_IF, "up")
        sh("ip", "-n", NS, "link", "set", "lo", "up")
        yield
    finally:
        subprocess.run(["ip", "link", "del", HOST_IF], capture_output=True, timeout=10)
        subprocess.run(["ip", "netns", "del", NS], capture_output=True, timeout=10)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from cryptography.hazmat.primitives import serialization as ser
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    d = tmp_path_factory.mktemp("keys")
    for name in ("host", "client", "other", "impostor"):
        key = Ed25519PrivateKey.generate()
        private = key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.OpenSSH, ser.NoEncryption())
        (d / name).write_bytes(private)
        (d / name).chmod(0o600)
        public = key.public_key().public_bytes(ser.Encoding.OpenSSH, ser.PublicFormat.OpenSSH)
        (d / f"{name}.pub").write_bytes(public + b" crossnet-test\n")
    host_pub = (d / "host.pub").read_text().split()
    (d / "known_hosts").write_text(f"{DEVICE} {host_pub[0]} {host_pub[1]}\n")
    imp = (d / "impostor.pub").read_text().split()
    (d / "known_hosts.changed").write_text(f"{DEVICE} {imp[0]} {imp[1]}\n")
    (d / "known_hosts.empty").write_text("")
    return {p.name: p for p in d.iterdir()}


class Device:
    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc

    @classmethod
    def started(cls, cmd: list[str]) -> Device:
        """fake_device.py started by `cmd`, once it says it is ready."""
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            proc.kill()
            raise AssertionError(f"fake device did not start: {proc.stderr and proc.stderr.read()}")
        return cls(proc)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def start(platform: str, keys: dict[str, Path], *extra: str) -> Device:
    cmd = [
        "ip", "netns", "exec", NS, sys.executable, str(HERE / "fake_device.py"),
        "--platform", platform, "--listen", DEVICE, "--port", "22",
        "--host-key", str(keys["host"]), "--authorized-key", str(keys["client.pub"]),
        "--recording", str(REC / platform), *extra,
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()  # "ready" once it listens
    if line.strip() != "ready":
        proc.kill()
        raise AssertionError(
            f"fake device did not start: {proc.stderr.read() if proc.stderr else ''}"
        )
    return Device(proc)


@pytest.fixture
def device(net: None, keys: dict[str, Path], request: pytest.FixtureRequest) -> Iterator[Device]:
    platform, *extra = request.param
    d = start(platform, keys, *extra)
    yield d
    d.stop()


def tgt(
    keys: dict[str, Path], host: str = DEVICE, key: str = "client", known: str = "known_hosts"
) -> Target:
    return Target(host, 22, "netops", keys[key], keys[known], timeout=3, read_timeout=10)


def replayed(platform: str) -> Any:
    from tests.unit.test_devices_parsing import replay

    return read_facts("r", platform, replay(platform))


@pytest.mark.parametrize(
    "device",
    [("iosxe",), ("junos",), ("vyos",), ("fortios",), ("linux",)],
    indirect=True,
    ids=lambda p: p[0],
)
def test_facts_over_ssh_equal_the_recordings(
    device: Device, keys: dict[str, Path], request: pytest.FixtureRequest
) -> None:
    platform = request.node.callspec.params["device"][0]
    with open_session(platform, tgt(keys)) as s:
        facts = read_facts("r", platform, s.run)
    assert facts == replayed(platform)


@pytest.mark.parametrize("device", [("iosxe",)], indirect=True, ids=["iosxe"])
def test_wrong_key_is_refused(device: Device, keys: dict[str, Path]) -> None:
    with pytest.raises(SessionError) as e, open_session("iosxe", tgt(keys, key="other")):
        pass
    assert e.value.kind == "auth" and "was refused" in e.value.message


@pytest.mark.parametrize("device", [("iosxe",)], indirect=True, ids=["iosxe"])
@pytest.mark.parametrize(
    ("known", "words"), [("known_hosts.changed", "differs"), ("known_hosts.empty", "not in")]
)
def test_host_key_mismatch_or_unknown_is_refused(
    device: Device, keys: dict[str, Path], known: str, words: str
) -> None:
    with pytest.raises(SessionError) as e, open_session("iosxe", tgt(keys, known=known)):
        pass
    assert e.value.kind == "host-key" and words in e.value.message


def test_unreachable_host_is_bounded(net: None, keys: dict[str, Path]) -> None:
    with pytest.raises(SessionError) as e, open_session("iosxe", tgt(keys, host=NOBODY)):
        pass
    assert e.value.kind == "unreachable"


@pytest.mark.parametrize(
    "device", [("iosxe", "--down"), ("linux", "--down")], indirect=True, ids=["iosxe", "linux"]
)
def test_daemons_down_is_a_named_result(
    device: Device, keys: dict[str, Path], request: pytest.FixtureRequest
) -> None:
    platform = request.node.callspec.params["device"][0]
    with open_session(platform, tgt(keys)) as s:
        facts = read_facts("r", platform, s.run)
    assert facts.tunnels == {} and facts.neighbours == {}
    assert len(facts.errors) == 2
    down = {"iosxe": "% BGP not active", "linux": "Exiting: failed to connect to any daemons."}
    assert all(e.endswith(down[platform]) for e in facts.errors)


# ---------------------------------------------------------------- drift
def _drifted(platform: str, tmp: Path) -> tuple[Any, Path, dict[str, list[str]]]:
    """The dev router rendered for `platform`, and a running config changed in known ways."""
    import dataclasses

    outputs, _ = fake_outputs("dev")
    router = dataclasses.replace(next(iter(outputs.routers.values())), platform=platform)
    text = render_router(router)[RENDERED_FILE[platform]]
    lines = text.splitlines()
    want: dict[str, list[str]] = {"add": [], "remove": []}
    if platform == "iosxe":
        hold = next(ln for ln in lines if re.match(r"^ neighbor \S+ timers 10 30$", ln))
        lines[lines.index(hold)] = hold.replace("10 30", "20 60")
        lines += [
            "interface GigabitEthernet1", " ip address 10.0.0.1 255.255.255.0",
            f"ip prefix-list {router.connections[0].name}-in seq 900 permit 10.99.0.0/16",
        ]  # fmt: skip
        want["add"] = [hold.strip()]
        want["remove"] = [
            hold.strip().replace("10 30", "20 60").join(["no ", ""]),
            f"no ip prefix-list {router.connections[0].name}-in seq 900 permit 10.99.0.0/16",
        ]
    else:  # junos
        peer = next(ln for ln in lines if " peer-as " in ln)
        lines.remove(peer)
        rogue = f"set protocols bgp group {router.connections[0].name} neighbor 169.254.99.1"
        lines += [rogue, "set interfaces ge-0/0/1 unit 0 family inet address 10.0.0.1/24"]
        want = {"add": [peer], "remove": ["delete " + rogue[4:]]}
    running = tmp / "running.cfg"
    running.write_text("\n".join(lines) + "\n")
    return router, running, want


@pytest.mark.parametrize("platform", ["iosxe", "junos"])
def test_drift_reports_exactly_what_was_changed(
    net: None, keys: dict[str, Path], tmp_path: Path, platform: str
) -> None:
    router, running, want = _drifted(platform, tmp_path)
    d = start(platform, keys, "--running", str(running))
    try:
        with open_session(platform, tgt(keys)) as s:
            (drift,) = router_drift(router, s.run)
    finally:
        d.stop()
    assert sorted(drift.add) == sorted(want["add"])
    assert sorted(drift.remove) == sorted(want["remove"])
    assert "REDACTED" not in "\n".join(drift.remediation)  # keys are never compared or shown
    for t in (t for c in router.connections for t in c.tunnels):
        assert t.psk.reveal() not in "\n".join(drift.remediation)


def test_drift_cli_over_ssh(
    net: None, keys: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`crossnet drift` end to end: an ssh:// inventory, an outputs file, exit 1 and the
    same remediation as the API."""
    import json

    from network.cli import main

    router, running, want = _drifted("iosxe", tmp_path)
    outputs, _ = fake_outputs("dev")
    raw = dict(outputs.raw)
    raw["routers"] = {k: {**v, "platform": "iosxe"} for k, v in raw["routers"].items()}
    out_file = tmp_path / "outputs.json"
    out_file.write_text(json.dumps(raw))
    ssh = {"ssh_identity_file": str(keys["client"]), "known_hosts": str(keys["known_hosts"])}
    inv = tmp_path / "inv.yaml"
    inv.write_text(
        yaml.safe_dump(
            {
                "ssh": {**ssh, "timeout": 3},
                "routers": {router.key: {"target": f"ssh://netops@{DEVICE}"}},
            }
        )
    )
    d = start("iosxe", keys, "--running", str(running))
    try:
        args = ["drift", "--stack", "dev", "--inventory", str(inv), "--outputs", str(out_file)]
        code = main([*args, "--json"])
    finally:
        d.stop()
    assert code == 1
    (report,) = json.loads(capsys.readouterr().out)
    assert sorted(report["add"]) == sorted(want["add"])
    assert sorted(report["remove"]) == sorted(want["remove"])
    # The same router unreachable: exit 3, named, no traceback.
    assert main(args) == 3
    assert f"{router.key} (iosxe): NOT READ: unreachable" in capsys.readouterr().out


def test_state_cli_over_ssh(
    net: None, keys: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`crossnet state` reads the recorded IOS-XE router and checks it against the plan:
    the recording holds none of dev's tunnels, so every tunnel check fails, by name."""
    import json

    from network.cli import main

    outputs, _ = fake_outputs("dev")
    raw = dict(outputs.raw)
    raw["routers"] = {k: {**v, "platform": "iosxe"} for k, v in raw["routers"].items()}
    out_file = tmp_path / "outputs.json"
    out_file.write_text(json.dumps(raw))
    key = next(iter(outputs.routers))
    inv = tmp_path / "inv.yaml"
    inv.write_text(
        yaml.safe_dump(
            {
                "ssh": {
                    "ssh_identity_file": str(keys["client"]),
                    "known_hosts": str(keys["known_hosts"]),
                },
                "routers": {key: {"target": f"ssh://netops@{DEVICE}"}},
            }
        )
    )
    d = start("iosxe", keys)
    try:
        code = main(["state", "--inventory", str(inv), "--outputs", str(out_file), "--json"])
    finally:
        d.stop()
    assert code == 1
    (report,) = json.loads(capsys.readouterr().out)
    assert report["tunnels"]["21.16.95.23"]["ike"] is True
    failed = {f["message"] for f in report["findings"] if not f["ok"]}
    tunnels = [t for c in outputs.routers[key].connections for t in c.tunnels]
    assert {f"no SA towards {t.aws_outside_ip}" for t in tunnels} <= failed


@pytest.mark.parametrize("device", [("junos", "--hang")], indirect=True, ids=["junos"])
def test_a_command_never_answered_is_bounded(device: Device, keys: dict[str, Path]) -> None:
    """A CLI stuck on a command (no output, no prompt): the read gives up after the
    inventory's read_timeout with one line, as `crossnet check` and `state` report it."""
    from network.devices.remote import UnreadableError, read_router

    outputs, _ = fake_outputs("prod")
    router = outputs.routers["ash-edge2"]
    inv = {
        "ssh": {"timeout": 3, "read_timeout": 2},
        "routers": {
            router.key: {
                "target": f"ssh://netops@{DEVICE}",
                "identity_file": str(keys["client"]),
                "known_hosts": str(keys["known_hosts"]),
            }
        },
    }
    with pytest.raises(UnreadableError) as e:
        read_router(router, inv)
    assert e.value.kind == "timeout"
    assert e.value.message == (
        f"{DEVICE}: no answer to 'show security ike security-associations' within 2 s"
    )
