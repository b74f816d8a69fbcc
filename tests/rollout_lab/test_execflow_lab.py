"""The rollout executor's control flow on a running lab (dev's config as stack rdev):
bad input changes nothing in the lab; `lab apply` leaves the lab matching the edited
stack and `crossnet check` is green; a step whose routers go first (a withdrawn
datacenter prefix) runs in that order, and `check` is green after the rollout; a step
that fails for a real reason (a firewall on the path drops the new connection's IKE)
stops the rollout with the way back, and `--rollback-on-failure` undoes the steps in
reverse: the state file as before the rollout (IDs, keys), the routers' old config,
traffic flowing. One lab for the module; no long transfer (no loss figure is proven
here beyond the ping that spans the rollback)."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from network import cli
from network.lab import faults, live, traffic
from network.lab.readiness import wait_ready
from network.lab.runtime import Running, end_instance, frr_instance, open_lab
from network.lab.system import in_ns, namespaces
from tests.rollout_lab.harness import (
    NET,
    ROOT,
    SOURCE_STACK,
    STACK,
    Lab,
    crossnet,
    edit_stack,
    progress,
)
from tests.rollout_lab.test_rollout_lab import _add_vpc, _psk

pytestmark = pytest.mark.lab
CHECK_TIMEOUT = "15"  # a check that cannot hold fails after this, not after the default 90 s


def reset_stack(env: Lab) -> None:
    shutil.copy(
        ROOT / "stacks" / f"Pulumi.{SOURCE_STACK}.yaml", env.stacks / f"Pulumi.{STACK}.yaml"
    )


def check_quick() -> None:
    res = crossnet("check", "--stack", STACK, "--quick")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    assert " 0 failed" in res.stdout


def running_config(rt: Running) -> dict[str, str]:
    """What each datacenter router runs: FRR's running config and the files applied."""
    out = {}
    for r in rt.lab.routers:
        # zebra shows `no ipv6 forwarding` until a router's first frr-reload.py, which
        # issues its inverse (the rendered config has no such line): no step's doing, and
        # present or not depending on whether an earlier case reloaded the router.
        text = rt.vtysh(frr_instance(r.key), "show running-config")
        out[f"{r.key} frr"] = text.replace("\nno ipv6 forwarding\n", "\n")
        d = rt.router_dir(r.key)
        for p in sorted(d.rglob("*")):
            if p.is_file():
                out[f"{r.key} {p.relative_to(d)}"] = p.read_text()
    return out


def lab_record(env: Lab) -> dict[str, Any]:
    """Everything the lab is: the state directory's files, the namespaces, the routers."""
    files = {
        str(p): p.read_bytes()
        for p in (env.state / STACK).rglob("*")
        if p.is_file() and "logs" not in p.parts  # the daemons' own logs grow meanwhile
    }
    return {"files": files, "ns": sorted(namespaces()), "routers": running_config(open_lab(STACK))}


def stack_state(env: Lab) -> dict[str, Any]:
    """The stack's state: every resource's ID, inputs and outputs (the keys among them),
    and the outputs file."""
    state = json.loads((env.state / STACK / "state.json").read_text())
    resources = {
        (r["type"], r["name"]): (r["id"], r["inputs"], r["outputs"]) for r in state["resources"]
    }
    return {"resources": resources, "outputs": (env.state / STACK / "outputs.json").read_text()}


# ---------------------------------------------------------------- bad input
def test_bad_input_exits_2_and_changes_nothing_in_state_or_lab(
    lab: Lab,
) -> None:
    d = lab.state / STACK
    before = lab_record(lab)
    for case in ("no-state", "corrupt-state", "corrupt-progress", "invalid-edit"):
        saved = {p: p.read_bytes() for p in (d / "applied.json", d / "outputs.json")}
        progress_file = d / "rollout" / "progress.json"
        if case == "no-state":
            for p in saved:
                p.unlink()
        elif case == "corrupt-state":
            (d / "applied.json").write_text('{"plan": {"snapshotVer')
        elif case == "corrupt-progress":
            progress_file.parent.mkdir(exist_ok=True)
            progress_file.write_text('{"stack": "rdev", "steps": ')
        else:
            edit_stack(lab, lambda c: c[NET]["vpcs"]["app"].update(cidr="10.16.0.0/33"))
        if case != "invalid-edit":
            edit_stack(lab, _psk(("dc1-t1", "dc1-t2"), ("BadInputKey1x", "BadInputKey2x")))
        res = crossnet("rollout", "--stack", STACK, "--lab", "--rollback-on-failure")
        for p, data in saved.items():
            p.write_bytes(data)
        progress_file.unlink(missing_ok=True)
        reset_stack(lab)
        assert res.returncode == 2, (case, res.stderr)
        assert "Traceback" not in res.stderr
        assert {
            "no-state": "no applied state",
            "corrupt-state": "not JSON",
            "corrupt-progress": "progress.json",
            "invalid-edit": "10.16.0.0/33",
        }[case] in res.stderr
    assert lab_record(lab) == before


# ---------------------------------------------------------------- lab apply
def test_lab_apply_leaves_the_lab_matching_the_edited_stack_and_check_is_green(
    lab: Lab,
) -> None:
    edit_stack(lab, _psk(("dc1-t1a", "dc1-t2a"), ("AppliedKeyOne1", "AppliedKeyTwo2")))
    assert cli.main(["up", "--stack", STACK]) == 0
    res = crossnet("lab", "apply", "--stack", STACK)
    assert res.returncode == 0, res.stderr + res.stdout
    rt = open_lab(STACK)
    wait_ready(rt, 60)
    d = rt.router_dir("dc1-edge1") / "conf.d"
    assert "AppliedKeyOne1" in (d / "dc1-edge1-app-1.conf").read_text()
    assert "AppliedKeyTwo2" in (d / "dc1-edge1-app-2.conf").read_text()
    for e in (x for x in rt.lab.ends if x.side == "aws"):
        conf = (rt.config_dir(end_instance(e)) / "swanctl.conf").read_text()
        assert ("AppliedKeyOne1" if e.conn_name.endswith("-1") else "AppliedKeyTwo2") in conf
    check_quick()  # "a check afterwards is green"


# ---------------------------------------------------------------- routers first
def test_a_withdrawn_prefix_leaves_the_routers_first_and_check_is_green_after(
    lab: Lab,
) -> None:
    def prefixes(*p: str) -> Any:
        return lambda c: c[NET]["datacenters"]["dc1"].update(prefixes=list(p))

    edit_stack(lab, prefixes("10.128.0.0/16", "10.129.0.0/16"))
    res = crossnet("rollout", "--stack", STACK, "--lab")
    assert res.returncode == 0, res.stderr
    assert progress(lab)["events"] == ["1.aws", "1.routers", "1.done"]
    rt = open_lab(STACK)
    gw = rt.gateway_instance(rt.lab.gateways[0])
    assert "10.129.0.0/16" in rt.vtysh(gw, "show bgp ipv4 unicast json")
    edit_stack(lab, prefixes("10.128.0.0/16"))
    res = crossnet("rollout", "--stack", STACK, "--lab")
    assert res.returncode == 0, res.stderr
    assert "the routers first (before the AWS side)" in res.stderr
    # The routers stopped announcing before AWS's side changed, and AWS's side followed.
    assert progress(lab)["events"] == ["1.routers-first", "1.aws", "1.routers", "1.done"]
    rt = open_lab(STACK)
    assert "10.129.0.0/16" not in rt.vtysh(gw, "show bgp ipv4 unicast json")
    check_quick()  # after a full `rollout --lab`, the reachability suite is green


# ---------------------------------------------------------------- a failed step
@pytest.fixture
def firewall(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """A firewall on the path that drops the IKE and ESP of vpc web's connection: each of
    its tunnels has its path cut (faults.cut_path) the moment AWS's side creates it,
    before the datacenter side first sends. Nothing else is touched."""
    real = live.apply_aws
    cut: list[str] = []

    def apply_aws(rt: Running, new: Any, outputs: Path, say: Any = print) -> Running:
        nrt = real(rt, new, outputs, say)
        for e in nrt.lab.ends:
            if e.side == "aws" and "-web-" in e.conn_name and e.tunnel not in cut:
                faults.cut_path(nrt, e.tunnel)
                cut.append(e.tunnel)
        return nrt

    monkeypatch.setattr(live, "apply_aws", apply_aws)
    yield cut
    faults.restore_all(open_lab(STACK))


def _two_vpcs(cfg: dict[str, Any]) -> None:
    _add_vpc("api", "10.19.0.0/16", 64515)(cfg)  # step 1: goes through
    _add_vpc("web", "10.20.0.0/16", 64516)(cfg)  # step 2: its tunnels never come up


def rollout_in_process(*extra: str) -> tuple[int, str]:
    from contextlib import redirect_stderr
    from io import StringIO

    err = StringIO()
    with redirect_stderr(err):
        code = cli.main(
            ["rollout", "--stack", STACK, "--lab", "--check-timeout", CHECK_TIMEOUT, *extra]
        )
    return code, err.getvalue()


def test_a_failed_step_stops_and_then_rolls_back_in_reverse(
    lab: Lab,
    firewall: list[str],
) -> None:
    stack_file = lab.stacks / f"Pulumi.{STACK}.yaml"
    text = stack_file.read_text()
    before_state, before_routers = stack_state(lab), running_config(open_lab(STACK))
    edit_stack(lab, _two_vpcs)
    # Without the flag: step 2's checks fail for real (no SA through the firewall); the
    # rollout stops, says what fails and how to go back.
    code, err = rollout_in_process()
    assert code == 3, err
    assert "step 2" in err and "IKE SA and CHILD SA of dc1-edge1-web" in err
    assert "To go back" in err and "steps/00/Pulumi.rdev.yaml" in err
    assert firewall, "the fault was applied to web's tunnels"
    p = progress(lab)
    assert p["status"] == "failed" and p["steps"] == {"1": "done", "2": "aws"}
    # Again with --rollback-on-failure, while a ping runs to the app VPC: the rollout
    # resumes at step 2, fails again, and undoes step 2 then step 1.
    flow = traffic.start(open_lab(STACK), 1024 * 1024, 16.0)
    code, err = rollout_in_process("--rollback-on-failure")
    m = flow.finish()
    print(f"rollback: {m}; {err.splitlines()[-1]}")
    assert code == 3, err
    assert "rolled back step(s) 2, 1" in err
    p = progress(lab)
    assert p["status"] == "rolled-back" and p["rollback"]["undone"] == [2, 1]
    assert p["rollback"]["checks"] == []
    assert p["events"][-2:] == ["2.rolled-back", "1.rolled-back"]
    # AWS as before the rollout: every resource's ID, inputs and outputs (keys included).
    assert stack_state(lab) == before_state
    rt = open_lab(STACK)
    assert not [e for e in rt.lab.ends if "-api-" in e.conn_name or "-web-" in e.conn_name]
    assert running_config(rt) == before_routers  # the routers run their old config
    # Traffic flowed across the rollback, and flows now.
    assert m["lost"] == 0 and m["transfer"]["ok"], m
    dc, app = rt.lab.dc_hosts()[0], next(h for h in rt.lab.vpc_hosts() if h.name == "app")
    ping = ["ping", "-n", "-q", "-c", "3", "-i", "0.2", "-W", "1", "-I", dc.address, app.address]
    assert subprocess.run(in_ns(dc.ns, ping), check=False).returncode == 0
    stack_file.write_text(text)
