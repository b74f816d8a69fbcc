"""`crossnet rollout --lab` on a running dev lab while traffic flows: the safe order loses
nothing; the same change applied the naive way (everything at once, no drain) does.

One lab for the module (brought up in a private state directory, taken down at the end).
Each case: a 20 ms ping and a paced, SHA-256-checked 50 MiB TCP transfer from the
datacenter host to the VPC host, the change run meanwhile, then the counts. Marked
`lab`; longer classes are `slow` (run with CROSSNET_SLOW=1).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from network import cli
from network.lab import control, traffic
from network.lab.readiness import wait_ready
from network.lab.runtime import open_lab
from network.lab.system import in_ns, missing_requirements
from network.rollout.execute import execute_naive

# dev's config under a stack name of its own, so that this module's lab (namespaces
# cxl.rdev.*) never meets the reachability suite's dev lab in the same pytest session.
SOURCE_STACK = "dev"
STACK = "rdev"
NET = "crossnet:network"
ROOT = Path(__file__).resolve().parents[2]
MIB = 1024 * 1024
TRANSFER = 50 * MIB
MBPS = 16.0  # 50 MiB at 16 Mbit/s: about 26 s, longer than a two-step rollout
pytestmark = pytest.mark.lab


@dataclass
class Lab:
    stacks: Path
    state: Path


@contextmanager
def running_lab(stack: str, stack_file: str) -> Iterator[Lab]:
    """A lab of `stack` (its stack file's text) in a private state directory, applied and
    up (`--timers fast`); taken down at the end. Shared by the rollout lab modules."""
    problems = missing_requirements()
    if problems:
        pytest.skip("; ".join(problems))
    tmp = Path(tempfile.mkdtemp(prefix=f"crossnet-rollout-lab-{stack}-"))
    saved = {k: os.environ.get(k) for k in ("CROSSNET_STATE_DIR", "CROSSNET_STACKS_DIR")}
    os.environ["CROSSNET_STATE_DIR"] = str(tmp / "state")
    os.environ["CROSSNET_STACKS_DIR"] = str(tmp / "stacks")
    (tmp / "stacks").mkdir()
    (tmp / "stacks" / f"Pulumi.{stack}.yaml").write_text(stack_file)
    try:
        assert cli.main(["up", "--stack", stack]) == 0
        control.up(stack, timers="fast")
        yield Lab(tmp / "stacks", tmp / "state")
    finally:
        control.down(stack)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    source = (ROOT / "stacks" / f"Pulumi.{SOURCE_STACK}.yaml").read_text()
    with running_lab(STACK, source) as running:
        yield running


def edit_stack(lab: Lab, edit: Callable[[dict[str, Any]], None]) -> Path:
    """The stack file edited in place (what an engineer does before `rollout`)."""
    path = lab.stacks / f"Pulumi.{STACK}.yaml"
    doc = yaml.safe_load(path.read_text())
    edit(doc["config"])
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def start_traffic() -> traffic.Traffic:
    return traffic.start(open_lab(STACK), TRANSFER, MBPS)


def settle() -> None:
    """The lab converged again (after a naive change) before the next case."""
    wait_ready(open_lab(STACK), 90)


def rollout(lab: Lab) -> int:
    return cli.main(["rollout", "--stack", STACK, "--lab"])


def progress(lab: Lab) -> dict[str, Any]:
    return dict(json.loads((lab.state / STACK / "rollout" / "progress.json").read_text()))


def _psk(names: tuple[str, str], values: tuple[str, str]) -> Callable[[dict[str, Any]], None]:
    def edit(cfg: dict[str, Any]) -> None:
        c = cfg[NET]["connections"]["dc1-edge1-app"]
        for n, (name, value) in enumerate(zip(names, values, strict=True), start=1):
            c[f"tunnel{n}"] = {**c.get(f"tunnel{n}", {}), "presharedKeySecret": name}
            cfg[f"crossnet:{name}"] = value

    return edit


# ---------------------------------------------------------------- PSK rotation
def test_psk_rotation_safe_order_loses_nothing(lab: Lab) -> None:
    edit_stack(lab, _psk(("dc1-t1", "dc1-t2"), ("RotatedKeyOne1", "RotatedKeyTwo2")))
    traffic = start_traffic()
    t0 = time.monotonic()
    code = rollout(lab)
    took = time.monotonic() - t0
    m = traffic.finish()
    print(f"psk safe: rollout {took:.1f} s, {m}")
    assert code == 0
    p = progress(lab)
    assert p["status"] == "done" and p["steps"] == {"1": "done", "2": "done"}
    assert oct((lab.state / STACK / "rollout" / "progress.json").stat().st_mode & 0o777) == "0o600"
    assert m["transfer"]["ok"], m["transfer"]
    assert m["bytesLost"] == 0
    assert m["lost"] == 0, m
    # The lab matches the new stack: both routers' keys are the new ones, every check green.
    rt = open_lab(STACK)
    wait_ready(rt, 30)
    conf = (rt.router_dir("dc1-edge1") / "conf.d" / "dc1-edge1-app-1.conf").read_text()
    assert "RotatedKeyOne1" in conf
    # A second run: nothing left to roll out, nothing changed.
    assert rollout(lab) == 0


def test_psk_rotation_naive_order_loses_traffic(lab: Lab) -> None:
    """Negative control: both tunnels' keys changed on the AWS side and the router at once."""
    path = edit_stack(lab, _psk(("dc1-t1b", "dc1-t2b"), ("NaiveKeyOne1", "NaiveKeyTwo2")))
    traffic = start_traffic()
    execute_naive(STACK, path, print)
    m = traffic.finish()
    print(f"psk naive: {m}")
    settle()
    assert m["lost"] > 0 or not m["transfer"]["ok"], m


# ---------------------------------------------------------------- add a VPC
def _add_vpc(name: str, cidr: str, asn: int) -> Callable[[dict[str, Any]], None]:
    def edit(cfg: dict[str, Any]) -> None:
        net = cfg[NET]
        net["vpcs"][name] = {
            "cidr": cidr,
            "azs": ["us-east-1a", "us-east-1b"],
            "tiers": {"private": {"prefixLength": 20}},
            "ingress": [{"from": ["10.128.0.0/16"], "tiers": ["private"], "icmp": True}],
        }
        net["vpnGateways"][f"{name}-vgw"] = {"vpc": name, "asn": asn}
        net["connections"][f"dc1-edge1-{name}"] = {
            **json.loads(json.dumps(net["connections"]["dc1-edge1-app"])),
            "gateway": f"{name}-vgw",
        }
        for n in (1, 2):
            net["connections"][f"dc1-edge1-{name}"].pop(f"tunnel{n}", None)

    return edit


def test_add_vpc_safe_order_loses_nothing_and_reaches_the_new_vpc(lab: Lab) -> None:
    edit_stack(lab, _add_vpc("web", "10.17.0.0/16", 64513))
    traffic = start_traffic()
    code = rollout(lab)
    m = traffic.finish()
    print(f"add-vpc safe: {m}")
    assert code == 0
    assert m["transfer"]["ok"] and m["bytesLost"] == 0, m
    assert m["lost"] == 0, m
    rt = open_lab(STACK)
    wait_ready(rt, 60)  # every planned tunnel, session and route, the new VPC's included
    web = next(h for h in rt.lab.vpc_hosts() if h.name == "web")
    dc = rt.lab.dc_hosts()[0]
    ping = ["ping", "-n", "-q", "-c", "3", "-i", "0.2", "-W", "1", "-I", dc.address, web.address]
    assert subprocess.run(in_ns(dc.ns, ping), check=False).returncode == 0


def test_add_vpc_naive_order_loses_nothing_either(lab: Lab) -> None:
    """The naive order (the new VPC's connection applied and taken into service at once,
    no drain, no checks) measured the same way. An addition moves no existing traffic,
    so it loses nothing either: the class has no order to get wrong for a flow the change
    does not remove (the PSK case is the negative control showing the harness sees loss)."""
    path = edit_stack(lab, _add_vpc("api", "10.18.0.0/16", 64514))
    traffic = start_traffic()
    execute_naive(STACK, path, print)
    m = traffic.finish()
    print(f"add-vpc naive: {m}")
    settle()
    assert m["transfer"]["ok"] and m["bytesLost"] == 0 and m["lost"] == 0, m


def test_a_rollout_killed_between_steps_resumes_where_it_stopped(lab: Lab) -> None:
    """SIGKILL once step 1 is recorded done; the next `rollout --lab` resumes at step 2."""
    edit_stack(lab, _psk(("dc1-t1c", "dc1-t2c"), ("ResumedKeyOne1", "ResumedKeyTwo2")))
    path = lab.state / STACK / "rollout" / "progress.json"
    old = progress(lab)["rolloutSha256"] if path.exists() else None
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "network.cli", "rollout", "--stack", STACK, "--lab"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        now = progress(lab) if path.exists() else None
        if now and now["rolloutSha256"] != old and now["steps"].get("1") == "done":
            break
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    p = progress(lab)
    assert p["status"] == "running" and p["steps"].get("1") == "done", p
    assert p["steps"].get("2") != "done"
    assert rollout(lab) == 0
    p = progress(lab)
    assert p["status"] == "done" and p["steps"] == {"1": "done", "2": "done"}
    rt = open_lab(STACK)
    wait_ready(rt, 60)
    conf = (rt.router_dir("dc1-edge1") / "conf.d" / "dc1-edge1-app-2.conf").read_text()
    assert "ResumedKeyTwo2" in conf
