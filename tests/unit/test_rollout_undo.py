"""`--rollback-on-failure` of a tunnel-options rollout, on the real emulator and planner,
the lab replaced by recorders: each `aws-api` step's ModifyVpnTunnelOptions reversed
through the emulator's own API path (one tunnel per request, the tunnel DOWN meanwhile,
refreshed into the state), the last step's apply deferred until then (one apply would
change both tunnels at once), the routers' crypto union back tunnel by tunnel; the
state, applied.json and outputs.json end as before the rollout."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from network import cli
from network.contract import load_outputs
from network.lab.topology import build_lab
from network.offline.apply import offline_up
from network.plan import build_plan
from network.rollout import aws_actions, execute, rollback, undo
from network.stack_file import read_stack_config
from network.state import outputs_path
from tests.conftest import load_stack

NET = "crossnet:network"
CONN = "dc1-edge1-app"


def _write(stacks: Path, config: dict[str, Any]) -> None:
    (stacks / "Pulumi.dev.yaml").write_text(yaml.safe_dump({"config": config}))


def _new_options(config: dict[str, Any]) -> None:
    o = config[NET]["connections"][CONN]["tunnelOptions"]
    o["phase1"] = {**o["phase1"], "encryption": ["AES128"], "integrity": ["SHA2-384"]}
    o["phase2"] = {**o["phase2"], "dhGroups": [21], "lifetimeSeconds": 1800}
    o["dpd"] = {**o["dpd"], "timeoutSeconds": 40}


def _lab(config: Path | None = None) -> Any:
    plan = build_plan(read_stack_config("dev", config), "dev")
    return SimpleNamespace(lab=build_lab(load_outputs(outputs_path("dev")), plan))


def _files(state: Path) -> dict[str, Any]:
    d = state / "dev"
    s = json.loads((d / "state.json").read_text())
    return {
        "resources": {
            (r["type"], r["name"]): (r["id"], r["inputs"], r["outputs"]) for r in s["resources"]
        },
        "outputs": (d / "outputs.json").read_text(),
        "applied": json.loads((d / "applied.json").read_text())["plan"],
    }


class Recorder:
    """The lab's side of the executor, recorded; the AWS side is the real offline apply."""

    def __init__(self, fail: str, nth: int) -> None:
        self.calls: list[str] = []
        self.fail, self.nth = fail, nth  # checks of this `when` fail the nth time only
        self.below: list[tuple[str, str, int]] = []  # carriers' AWS path, shorter than

    def crypto(self, crypto: dict[str, Any] | None) -> str:
        c = (crypto or {}).get(CONN)
        return "outputs" if c is None else "+".join(c["phase1"]["encryption"])

    def install(self, mp: pytest.MonkeyPatch) -> None:
        def apply_routers(
            rt: Any,
            drained: frozenset[str],
            say: Any,
            crypto: Any = None,
            only: Any = None,
            routers: Any = None,
        ) -> list[str]:
            files = "all" if only is None else ",".join(sorted(only))
            self.calls.append(f"routers {self.crypto(crypto)} drained={sorted(drained)} {files}")
            return []

        def aws_side(
            rt: Any,
            stack: str,
            config: Path,
            say: Any,
            destroy: tuple[str, ...] = (),
            targets: tuple[str, ...] = (),
        ) -> Any:
            saved = os.environ["CROSSNET_STACKS_DIR"]
            os.environ["CROSSNET_STACKS_DIR"] = str(config.parent)
            try:
                offline_up(stack)
            finally:
                os.environ["CROSSNET_STACKS_DIR"] = saved
            self.calls.append(f"apply {config.parent.name}")
            return _lab(config)

        def restart_aws_end(rt: Any, req: Any, say: Any) -> None:
            enc = "+".join(req["crypto"]["phase1"]["encryption"])
            self.calls.append(f"aws end {req['connection']}-{req['tunnel']} {enc}")

        def wait_checks(rt: Any, checks: list[dict[str, Any]], timeout: float) -> Any:
            when = checks[0]["when"]
            kinds = ",".join(sorted({c["kind"] for c in checks}))
            self.calls.append(f"check {when} {kinds}")
            self.below += [
                (when, c["tunnel"], c["expect"]["asPathBelow"])
                for c in checks
                if "asPathBelow" in c["expect"]
            ]
            if when == self.fail:
                self.nth -= 1
                if self.nth == 0:
                    return [f"{when} fails"], 0.0
            return [], 0.0

        mp.setattr(execute, "apply_routers", apply_routers)
        mp.setattr(execute, "aws_side", aws_side)
        mp.setattr(execute, "wait_checks", wait_checks)
        mp.setattr(execute, "open_lab", lambda stack: _lab())
        mp.setattr(aws_actions, "restart_aws_end", restart_aws_end)
        mp.setattr(rollback, "apply_routers", apply_routers)
        mp.setattr(rollback, "aws_side", aws_side)
        mp.setattr(rollback, "wait_checks", wait_checks)
        mp.setattr(rollback, "wait_ready", lambda rt, timeout: {})


@pytest.fixture
def planned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, Any], Path]:
    """dev applied, its tunnel options edited, the rollout planned (4 steps)."""
    stacks, state = tmp_path / "stacks", tmp_path / "state"
    stacks.mkdir()
    monkeypatch.setenv("CROSSNET_STACKS_DIR", str(stacks))
    monkeypatch.setenv("CROSSNET_STATE_DIR", str(state))
    config = load_stack("dev")
    _write(stacks, config)
    offline_up("dev")
    _new_options(config)
    _write(stacks, config)
    out = state / "dev" / "rollout"
    assert cli.main(["rollout", "--stack", "dev", "--out", str(out)]) == 0
    plan = json.loads((out / "rollout.json").read_text())
    assert [s["aws"]["kind"] for s in plan["steps"]] == ["none", "aws-api", "aws-api", "pulumi-up"]
    return plan, state


def test_a_failed_last_step_reverses_each_tunnels_options_one_request_at_a_time(
    planned: tuple[dict[str, Any], Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    plan, state = planned
    before = _files(state)
    lab = Recorder(f"rolling-change:{CONN}-2", 2)  # step 1's holds, step 4's fails
    lab.install(monkeypatch)
    said: list[str] = []
    with pytest.raises(rollback.RolledBackError) as e:
        execute.execute("dev", plan, said.append, rollback_on_failure=True)
    assert "rolled back step(s) 4, 3, 2, 1" in str(e.value)
    last = Path(plan["steps"][3]["aws"]["config"]).parent.name  # the one stack file applied
    undo_calls = lab.calls[lab.calls.index(f"apply {last}") + 1 :]
    t1, t2 = f"{CONN}-1", f"{CONN}-2"
    fwd = [
        # step 4 failed in its rolling change of tunnel 2 (tunnel 1 done, tunnel 2 drained)
        f"routers outputs drained=['{t1}'] frr.conf",
        f"routers outputs drained=['{t1}'] conf.d/{t1}.conf,frr.conf",
        "routers outputs drained=[] frr.conf",
        f"routers outputs drained=['{t2}'] frr.conf",
        f"routers outputs drained=['{t2}'] conf.d/{t2}.conf,frr.conf",
    ]
    rolled = undo_calls.index(f"check rolling-change:{t2} bgp-established,ipsec-sa") + 1
    assert [c for c in undo_calls[:rolled] if not c.startswith("check")] == fwd
    back = undo_calls[rolled:]
    carriers = "bgp-established,ipsec-sa,prefixes-received"
    sa = "bgp-established,ipsec-sa"
    drain = "advertised-prepend,bgp-established,ipsec-sa,prefixes-received,route-avoids"
    union = "AES128+AES256"
    assert back == [
        # undo 4: no apply (deferred); the routers back to the union, tunnel by tunnel,
        # each drained only once the tunnel that carries meanwhile is up (what failed
        # may have left it down)
        f"check rolling-drain:{t1} {carriers}",
        f"routers {union} drained=['{t1}'] frr.conf",
        f"check rolling-drain:{t1} {drain}",
        f"routers {union} drained=['{t1}'] conf.d/{t1}.conf,frr.conf",
        f"check rolling-change:{t1} {sa}",
        f"routers {union} drained=[] frr.conf",
        f"check rolling-drain:{t2} {carriers}",
        f"routers {union} drained=['{t2}'] frr.conf",
        f"check rolling-drain:{t2} {drain}",
        f"routers {union} drained=['{t2}'] conf.d/{t2}.conf,frr.conf",
        f"check rolling-change:{t2} {sa}",
        f"routers {union} drained=[] frr.conf",
        f"routers {union} drained=[] all",
        # undo 3: tunnel 2 drained (tunnel 1 carrying), its options back through the API,
        # its AWS end too; its SA and BGP back before the drain is restored
        f"check after-drain {carriers}",
        f"routers {union} drained=['{t2}'] all",
        f"check after-drain {drain}",
        f"aws end {t2} AES256",
        f"check after-change {sa}",
        f"routers {union} drained=['{t2}'] all",
        f"routers {union} drained=[] all",
        # undo 2: tunnel 1, then the deferred apply of the baseline (no AWS change left)
        f"check after-drain {carriers}",
        f"routers {union} drained=['{t1}'] all",
        f"check after-drain {drain}",
        f"aws end {t1} AES256",
        f"check after-change {sa}",
        "apply 00",
        f"routers {union} drained=['{t1}'] all",
        f"routers {union} drained=[] all",
        # undo 1: the union dropped, tunnel by tunnel
        f"check rolling-drain:{t1} {carriers}",
        f"routers outputs drained=['{t1}'] frr.conf",
        f"check rolling-drain:{t1} {drain}",
        f"routers outputs drained=['{t1}'] conf.d/{t1}.conf,frr.conf",
        f"check rolling-change:{t1} {sa}",
        "routers outputs drained=[] frr.conf",
        f"check rolling-drain:{t2} {carriers}",
        f"routers outputs drained=['{t2}'] frr.conf",
        f"check rolling-drain:{t2} {drain}",
        f"routers outputs drained=['{t2}'] conf.d/{t2}.conf,frr.conf",
        f"check rolling-change:{t2} {sa}",
        "routers outputs drained=[] frr.conf",
        "routers outputs drained=[] all",
        "check after-restore probe",  # the probes of the state rolled back to
    ]
    # After each drain of the rollback, AWS must prefer the tunnel that carries: its path
    # shorter than the drained one's (the failed step had left tunnel 2 drained too).
    assert (f"rolling-drain:{t1}", t2, 5) in lab.below
    assert ("after-drain", t1, 5) in lab.below and ("after-drain", t2, 5) in lab.below
    text = "\n".join(said)
    assert "deferred until the ModifyVpnTunnelOptions of step(s) 2, 3" in text
    assert text.count("ModifyVpnTunnelOptions") >= 4  # two forward, two back
    # AWS as before the rollout: every resource's ID, inputs and outputs; outputs.json
    # and the applied plan too.
    assert _files(state) == before
    p = execute.read_progress("dev")
    assert p is not None and p.status == "rolled-back" and p.rollback["undone"] == [4, 3, 2, 1]
    assert "deferred" not in p.rollback


def test_reversed_requests_carry_the_previous_options_of_the_same_tunnels() -> None:
    req = {
        "operation": "ModifyVpnTunnelOptions",
        "connection": CONN,
        "tunnel": 2,
        "vpnConnectionId": "vpn-1",
        "inputs": {"tunnel2Phase1EncryptionAlgorithms": ["AES128"], "tunnel2DpdTimeoutSeconds": 40},
        "crypto": {},
    }
    prev = {
        CONN: {
            "ikeVersions": ["ikev2"],
            "phase1": {
                "encryption": ["AES256"],
                "integrity": ["SHA2-256"],
                "dhGroups": [14],
                "lifetimeSeconds": 28800,
            },
            "phase2": {
                "encryption": ["AES256"],
                "integrity": ["SHA2-256"],
                "dhGroups": [14],
                "lifetimeSeconds": 3600,
            },
            "rekeyMarginSeconds": 540,
            "rekeyFuzzPercentage": 100,
            "replayWindowSize": 1024,
            "dpd": {"timeoutSeconds": 30, "action": "restart"},
            "startupAction": "start",
        }
    }
    (back,) = undo.reversed_requests([req], prev)
    assert back["inputs"] == {
        "tunnel2Phase1EncryptionAlgorithms": ["AES256"],
        "tunnel2DpdTimeoutSeconds": 30,
    }
    assert back["tunnel"] == 2 and back["crypto"] == prev[CONN]
    with pytest.raises(Exception, match="no such connection"):
        undo.reversed_requests([req], {})
