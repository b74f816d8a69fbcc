"""`crossnet rollout --push-step` over real SSH against the lab's Linux router (slow).

The nightly's lab over SSH (network/lab/ssh.py: sshd inside each router's namespace, the
client through the inventory's ssh_config, host keys checked): a PSK rotation of the app
connection, tunnel by tunnel. Step 1's drain, routers and restore are each pushed by the
command in its own process (paramiko: the files written 0600 by temp file + rename,
strongSwan through swanctl into each tunnel's charon, FRR through frr-reload.py) and
checked over SSH (netmiko); between the drain and the routers, the engineer's `pulumi up`
is the lab's own AWS side of the step (the offline apply, the AWS end restarted with the
new key: network.rollout.execute.aws_side). Then a wrong push: step 2's new key to the
router before AWS has it, which fails its checks (exit 1, how to go back).

The inventory is the lab's SSH inventory with where this router keeps its files
(`swanctl_dir`, `frr_conf`, ...) and its charons' swanctl: what a real router's entry
says too (docs/rollout.md).
"""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from network.lab.live import FRR_RELOAD
from network.lab.runtime import Running, frr_instance, open_lab
from network.lab.ssh import ssh_dir, start_sshd, stop_sshd
from network.rollout.execute import aws_side
from tests.rollout_lab.harness import STACK, Lab, crossnet, edit_stack
from tests.rollout_lab.scenarios import psk

pytestmark = [pytest.mark.lab, pytest.mark.slow]
KEYS = ("PushedKeyOne1x", "PushedKeyTwo2x")


def _all_charons(rt: Running, entry: dict[str, Any], path: Path) -> str:
    """The router's `swanctl` for reading: every tunnel's charon in turn (the lab runs
    one per tunnel; a real router has one)."""
    lines = ["#!/bin/sh"]
    for t in entry["tunnels"].values():
        cmd = t["swanctl"].removeprefix("sudo -n ")
        lines.append(f'{cmd} "$@" --uri {t["uri"]}')
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o700)
    return str(path)


def push_inventory(rt: Running, lab: Lab) -> Path:
    inv = yaml.safe_load(start_sshd(rt).read_text())
    d = ssh_dir(rt)
    inv["ssh"] |= {
        "ssh_identity_file": str(d / "id_ed25519"),
        "known_hosts": str(d / "known_hosts"),
    }
    vtysh = shutil.which("vtysh") or "/usr/bin/vtysh"
    for key, entry in inv["routers"].items():
        inst = frr_instance(key)
        conf, vty = rt.config_dir(inst) / "frr.conf", rt.frr_dir(inst)
        entry |= {
            "swanctl_dir": str(rt.router_dir(key)),
            "strongswan_dir": str(rt.router_dir(key) / "strongswan.d"),
            "scripts_dir": str(rt.router_dir(key)),
            "frr_conf": str(conf),
            "frr_reload": f"python3 {FRR_RELOAD} --stdout --bindir {Path(vtysh).parent} "
            f"--confdir {conf.parent} --rundir {vty} --vty_socket {vty}",
            "swanctl": _all_charons(rt, entry, lab.state / f"swanctl-{key}.sh"),
        }
    path = lab.state / "push-inventory.yaml"
    path.write_text(yaml.safe_dump(inv, sort_keys=False))
    return path


def push(inv: Path, step: int, phase: str, *extra: str) -> tuple[int, str]:
    r = crossnet(
        "rollout", "--stack", STACK, "--inventory", str(inv), "--push-step", str(step),
        "--phase", phase, "--yes", "--no-progress", *extra,
    )  # fmt: skip
    return r.returncode, r.stdout + r.stderr


def test_psk_rotation_pushed_over_ssh_and_checked(lab: Lab) -> None:
    rt = open_lab(STACK)
    from network.lab.configs import router_frr_conf

    for r in rt.lab.routers:  # this push writes the render alone: no fabric to keep
        if router_frr_conf(rt.lab, r, "x\nend\n") != "x\nend\n":
            pytest.skip(f"{r.key} has the lab's datacenter fabric in its frr.conf")
    inv = push_inventory(rt, lab)
    try:
        edit_stack(lab, psk(("push-t1", "push-t2"), KEYS))
        planned = crossnet("rollout", "--stack", STACK)
        assert planned.returncode == 0, planned.stderr
        plan = json.loads((lab.state / STACK / "rollout" / "rollout.json").read_text())
        steps = plan["steps"]
        assert [s["class"] for s in steps] == ["psk", "psk"]
        router = steps[0]["dc"]["routers"][0]["router"]

        code, out = push(inv, 1, "drain")
        assert code == 0, out
        assert "frr-reload.py" in out and "passed" in out
        rt = aws_side(open_lab(STACK), STACK, Path(steps[0]["aws"]["config"]), print)
        code, out = push(inv, 1, "routers")
        assert code == 0, out
        assert "--terminate --ike" in out and "--initiate --child" in out
        tunnel = steps[0]["drained"][0]
        f = rt.router_dir(router) / "conf.d" / f"{tunnel}.conf"
        assert KEYS[0] in f.read_text() and stat.S_IMODE(f.stat().st_mode) == 0o600
        code, out = push(inv, 1, "restore")
        assert code == 0, out
        for text in (out, (lab.state / "push-inventory.yaml").read_text()):
            assert not any(k in text for k in KEYS)

        # A wrong push: step 2's new key sent before its AWS side (outputs that claim AWS
        # has it, as a wrong `--outputs` file does): AWS's end still has the old key.
        code, out = push(inv, 2, "drain")
        assert code == 0, out
        outputs = json.loads((lab.state / STACK / "outputs.json").read_text())
        outputs["presharedKeys"]["dc1-edge1-app/2"] = KEYS[1]
        wrong = lab.state / "wrong-outputs.json"
        wrong.write_text(json.dumps(outputs))
        wrong.chmod(0o600)
        code, out = push(inv, 2, "routers", "--outputs", str(wrong), "--check-timeout", "20")
        assert code == 1, out
        assert "FAIL" in out and "to go back" in out
        assert not any(k in out for k in KEYS)
    finally:
        stop_sshd(rt)
