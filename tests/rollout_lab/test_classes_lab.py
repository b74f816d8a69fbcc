"""`crossnet rollout --lab` for the other change classes, on the package's running dev lab
(conftest.py), while the traffic of harness.measured flows: a 20 ms ping and a paced,
SHA-256-checked 50 MiB TCP transfer from the datacenter host to the app VPC's host.
Each class: the safe order loses nothing; its negative control (the same kind of
change applied the naive way: AWS and the routers at once, no drain, no checks)
loses traffic, or, for an additive change, is shown to lose nothing either.

Marked `lab` and `slow` (`make test-slow`, the nightly): CI runs PSK rotation,
add-VPC and connection replacement on every push (test_rollout_lab, test_replace_lab).
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from network import cli
from network.lab import vici
from network.lab.runtime import open_lab
from network.offline.stack_state import load_state, state_path
from tests.rollout_lab import scenarios
from tests.rollout_lab.harness import (
    STACK,
    Lab,
    edit_stack,
    measured,
    naive,
    phases,
    progress,
    rollout,
    settle,
)
from tests.rollout_lab.scenarios import BY_NAME

pytestmark = [pytest.mark.lab, pytest.mark.slow]  # CI time: the nightly runs it (make test-slow)
CONN = "dc1-edge1-app"
VPN = "aws:ec2/vpnConnection:VpnConnection"


def _ike_algorithms(conn_name: str) -> dict[str, str]:
    """The datacenter end's IKE SA of a tunnel: its negotiated algorithms (vici list-sas)."""
    rt = open_lab(STACK)
    e = next(e for e in rt.lab.ends if e.side == "dc" and e.conn_name == conn_name)
    with vici.Session(rt.vici_socket(e), timeout=5) as s:
        for event in s.streamed("list-sas", "list-sa"):
            sa = event.get(conn_name)
            if sa and sa.get("state") == "ESTABLISHED":
                return {k: str(sa.get(k)) for k in ("encr-alg", "encr-keysize", "integ-alg")}
    return {}


# ---------------------------------------------------------------- crypto, DPD, lifetimes
_options = scenarios.tunnel_options  # the builders are shared with the bench


def _conf_proposals(conn_name: str) -> list[str]:
    """The proposals lines of a tunnel's file as the router applied it (vici load-conn)."""
    d = open_lab(STACK).router_dir("dc1-edge1") / "conf.d"
    text = (d / f"{conn_name}.conf").read_text()
    return [x.strip() for x in text.splitlines() if "proposals =" in x]


def test_tunnel_options_safe_order_loses_nothing(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    """Routers accept old and new; ModifyVpnTunnelOptions tunnel 1 (drained), then tunnel 2
    (drained), each on the emulator and the lab's AWS end; refresh and up; routers keep
    only the new proposals."""
    from network.rollout import aws_actions

    edit_stack(lab, BY_NAME["tunnel-options"].safe)  # AES128, SHA2-384, 21, 14400/1800, 40
    seen: list[dict[int, Any]] = []  # before each ModifyVpnTunnelOptions (steps 2 and 3)
    real = aws_actions.run_api

    def run_api(rt: Any, stack: str, requests: Any, say: Any) -> None:
        seen.append(
            {
                n: (
                    _ike_algorithms(f"{CONN}-{n}").get("encr-keysize"),
                    _conf_proposals(f"{CONN}-{n}"),
                )
                for n in (1, 2)
            }
        )
        real(rt, stack, requests, say)

    monkeypatch.setattr(aws_actions, "run_api", run_api)
    m = measured("tunnel-options safe", lambda: rollout(lab), mbps=12.0)
    print(f"negotiated key size and the routers' proposals before steps 2 and 3: {seen}")
    assert m["result"] == 0
    p = progress(lab)
    assert p["status"] == "done" and p["steps"] == {str(n): "done" for n in (1, 2, 3, 4)}, p
    assert m["spans"], "the transfer ended before the rollout did: it proves nothing"
    assert m["transfer"]["ok"] and m["bytesLost"] == 0, m
    assert m["lost"] == 0, m
    # Step (a): the router's files, loaded through vici, accept the old and the new
    # proposals (strongSwan 5.9.8's `list-conns` reports no proposals, so the files and the
    # negotiations are the evidence): before AWS's first request both tunnels still
    # negotiate the old ones (AES256); before its second, tunnel 1 runs the new ones
    # (AES128) and tunnel 2 the old ones, under one router config that has both.
    (after_a, after_2) = seen
    for n in (1, 2):
        ike, esp = after_a[n][1]
        assert ike.startswith("proposals = aes128-aes256-sha384-sha256-"), ike
        assert esp.startswith("esp_proposals = aes128-aes256-sha384-sha256-"), esp
        assert after_2[n][1] == after_a[n][1]
    assert [after_a[1][0], after_a[2][0]] == ["256", "256"]
    assert [after_2[1][0], after_2[2][0]] == ["128", "256"]
    # AWS (the emulator's state, refreshed) and both tunnels run the new options.
    s = load_state(state_path(lab.state / STACK), STACK)
    assert s is not None
    vpn = next(r for r in s.resources if r.type == VPN)
    for n in (1, 2):
        assert vpn.inputs[f"tunnel{n}Phase1EncryptionAlgorithms"] == ["AES128"]
        assert vpn.inputs[f"tunnel{n}DpdTimeoutSeconds"] == 40
        got = _ike_algorithms(f"{CONN}-{n}")
        assert (got.get("encr-alg"), got.get("encr-keysize")) == ("AES_CBC", "128"), got
    conf = (open_lab(STACK).router_dir("dc1-edge1") / "conf.d" / f"{CONN}-1.conf").read_text()
    assert "aes256" not in conf  # the old proposals are gone once AWS has the new ones
    assert rollout(lab) == 0  # nothing left to roll out


def test_tunnel_options_naive_order_loses_traffic(lab: Lab) -> None:
    """Negative control: the options of both tunnels changed on AWS (one apply) and the
    router at once: both tunnels restart with proposals the router does not have yet."""
    path = edit_stack(lab, BY_NAME["tunnel-options"].naive)
    m = measured("tunnel-options naive", lambda: naive(lab, path))
    settle()
    assert m["lost"] > 0 or not m["transfer"]["ok"], m


# ---------------------------------------------------------------- inside CIDRs
def _neighbours() -> set[str]:
    rt = open_lab(STACK)
    return set(rt.bgp("frr-dc1-edge1"))


@pytest.mark.slow
def test_inside_cidr_safe_order_loses_nothing(lab: Lab) -> None:
    """One tunnel per apply (the other pinned): drain, ModifyVpnTunnelOptions
    (TunnelInsideCidr) in the offline apply, the lab's tunnel ends re-created with the new
    inside addresses, the router's new BGP neighbour; checks; restore; then tunnel 2."""
    edit_stack(lab, BY_NAME["inside-cidr"].safe)  # 169.254.44.0/30, 169.254.45.0/30
    m = measured("inside-cidr safe", lambda: rollout(lab), mbps=10.0)
    assert m["result"] == 0
    p = progress(lab)
    assert p["status"] == "done" and set(p["steps"].values()) == {"done"}, p
    assert m["spans"], "the transfer ended before the rollout did: it proves nothing"
    assert m["transfer"]["ok"] and m["bytesLost"] == 0, m
    assert m["lost"] == 0, m
    assert {"169.254.44.1", "169.254.45.1"} <= _neighbours()


@pytest.mark.slow
def test_inside_cidr_naive_order_loses_traffic(lab: Lab) -> None:
    """Negative control: both tunnels' inside CIDRs in one apply, the router after."""
    path = edit_stack(lab, BY_NAME["inside-cidr"].naive)  # 169.254.46.0/30, .47.0/30
    m = measured("inside-cidr naive", lambda: naive(lab, path))
    settle()
    assert m["lost"] > 0 or not m["transfer"]["ok"], m
    assert {"169.254.46.1", "169.254.47.1"} <= _neighbours()


# ---------------------------------------------------------------- a rollback of API steps
def _diff(a: dict[str, str], b: dict[str, str]) -> str:
    import difflib

    return "".join(
        "".join(
            difflib.unified_diff(a.get(k, "").splitlines(True), b.get(k, "").splitlines(True), k, k)
        )
        for k in sorted(set(a) | set(b))
        if a.get(k) != b.get(k)
    )


@pytest.mark.slow
def test_tunnel_options_rolled_back_after_a_later_step_fails_as_before_and_loses_nothing(
    lab: Lab, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tunnel-options rollout whose last step fails for real (tunnel 2's path cut, with
    faults.cut_path, once it is drained for its new proposals): `--rollback-on-failure`
    reverses steps 4, 3, 2, 1. Each tunnel's ModifyVpnTunnelOptions goes back through the
    emulator, one tunnel per request and drained; the lab's AWS ends take their previous
    options; the routers drop the union tunnel by tunnel. Afterwards state.json,
    outputs.json, the AWS ends' and the routers' configs are as before, and the 20 ms ping
    that ran across all of it lost nothing."""
    from network.lab import faults, step_checks
    from network.lab.runtime import end_instance
    from network.rollout import execute, rollback
    from tests.rollout_lab.test_execflow_lab import running_config, stack_state

    stack_file = lab.stacks / f"Pulumi.{STACK}.yaml"
    text = stack_file.read_text()
    rt = open_lab(STACK)
    aws_ends = [e for e in rt.lab.ends if e.side == "aws"]

    def aws_files() -> dict[str, str]:
        r = open_lab(STACK)
        return {
            e.conn_name: (r.config_dir(end_instance(e)) / "swanctl.conf").read_text()
            for e in aws_ends
        }

    def routers() -> dict[str, str]:
        return running_config(open_lab(STACK))

    before = (stack_state(lab), routers(), aws_files())
    before_alg = _ike_algorithms(f"{CONN}-1")
    t2 = next(e.tunnel for e in aws_ends if e.conn_name == f"{CONN}-2")
    cut: list[str] = []
    real_checks, real_back = execute._run_checks, rollback.roll_back

    def run_checks(run: Any, step: dict[str, Any], when: str) -> None:
        real_checks(run, step, when)
        if when == f"rolling-drain:{CONN}-2" and step["aws"]["kind"] == "pulumi-up" and not cut:
            faults.cut_path(run.rt, t2)  # drained: the path dies under no traffic
            cut.append(t2)

    def roll_back(run: Any) -> Any:
        faults.restore_all(run.rt)  # the path is back: the way back can be checked
        return real_back(run)

    lines: list[tuple[float, str]] = []
    real_execute = execute.execute

    def stamped(stack: str, plan: Any, say: Any, **kw: Any) -> Any:
        def note(line: str) -> None:
            lines.append((time.time(), line))
            say(line)

        return real_execute(stack, plan, note, **kw)

    real_hold = rollback._hold

    def hold(run: Any, step: dict[str, Any], checks: list[dict[str, Any]], what: str) -> None:
        t0 = time.time()
        real_hold(run, step, checks, what)
        done = time.time()
        lines.append((done, f"  (rollback: {len(checks)} checks hold, {done - t0:.2f} s: {what})"))

    monkeypatch.setattr(execute, "_run_checks", run_checks)
    monkeypatch.setattr(rollback, "roll_back", roll_back)
    monkeypatch.setattr(execute, "execute", stamped)
    monkeypatch.setattr(rollback, "_hold", hold)
    real_fib = step_checks._fib_avoids

    def fib(rt: Any, ns: str, prefixes: list[str], tunnels: list[str]) -> str | None:
        diff = real_fib(rt, ns, prefixes, tunnels)
        if diff:  # what the lab shows: AWS's BGP already chose the carrier, its FIB not yet
            lines.append((time.time(), f"  (poll: {diff})"))
        return diff

    monkeypatch.setattr(step_checks, "_fib_avoids", fib)
    edit_stack(lab, _options("AES128", "SHA2-256", 14, (10800, 1200), 45))
    argv = ["rollout", "--stack", STACK, "--lab", "--rollback-on-failure", "--check-timeout", "40"]
    try:
        m = measured("tunnel-options rollback", lambda: cli.main(argv), mbps=6.0)
    finally:
        faults.restore_all(open_lab(STACK))
        stack_file.write_text(text)
    print(phases(lines, m["lostAt"]))
    print("\n".join(f"{t:.3f} {line}" for t, line in lines if "(poll:" in line))
    assert cut, "the fault was applied in step 4"
    assert m["result"] == 3, m
    p = progress(lab)
    assert p["status"] == "rolled-back" and p["rollback"]["undone"] == [4, 3, 2, 1], p
    assert p["rollback"]["checks"] == [] and "deferred" not in p["rollback"], p
    assert p["failedStep"] == "4" and f"rolling-change:{CONN}-2" in p["failure"][0], p
    after = (stack_state(lab), routers(), aws_files())
    assert after[0] == before[0]  # state.json (IDs, inputs, outputs) and outputs.json
    assert after[2] == before[2]  # the lab's AWS ends: their previous options
    assert after[1] == before[1], _diff(before[1], after[1])  # the routers' FRR and files
    assert _ike_algorithms(f"{CONN}-1") == before_alg
    assert m["transfer"]["ok"] and m["bytesLost"] == 0, m
    assert m["lost"] == 0, m
