"""The rollout executor's control flow without a lab: phases in the planned order (the
routers first for `dc.when = before-aws`), `--rollback-on-failure` undoing the steps in
reverse (AWS back to the previous stack file, then the baseline), the record it leaves,
and the baseline stack file every rollout writes. The lab's operations are replaced by
recorders here; tests/rollout_lab/test_execflow_lab.py runs the same flow on a lab."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from network.lab.system import LabError
from network.plan import build_plan
from network.review.snapshot import plan_snapshot
from network.rollout import execute, prerender, rollback
from tests.unit.test_review_support import stack_config
from tests.unit.test_rollout import _psk, applied, rollout

Calls = list[tuple[str, str]]


class FakeLab:
    """What the executor touches, recorded: each router apply (with its render source
    and drain), each AWS apply (its stack file), each check evaluation."""

    def __init__(self, fail: set[str] | None = None, rollback_fails: bool = False):
        self.calls: Calls = []
        self.fail = fail or set()  # "<step>.<when>" whose checks fail
        self.rollback_fails = rollback_fails
        self.config = "baseline"

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        def apply_routers(
            rt: Any,
            drained: frozenset[str],
            say: Any,
            crypto: Any = None,
            only: Any = None,
            routers: Any = None,
        ) -> list[str]:
            src = "prerender" if routers is not None else self.config
            self.calls.append(("routers", f"{src} drained={sorted(drained)}"))
            return []

        def aws_side(
            rt: Any,
            stack: str,
            config: Path,
            say: Any,
            destroy: tuple[str, ...] = (),
            targets: tuple[str, ...] = (),
        ) -> Any:
            self.config = config.parent.name
            self.calls.append(("aws", self.config))
            return rt

        def proposed(stack: str, config: Path) -> dict[str, Any]:
            return {"from": config.parent.name}

        def wait_checks(rt: Any, checks: list[dict[str, Any]], timeout: float) -> Any:
            key = f"{checks[0]['step']}.{checks[0]['when']}"
            self.calls.append(("checks", key))
            return ([f"{key} fails"] if key in self.fail else []), 0.0

        def wait_ready(rt: Any, timeout: float) -> dict[str, float]:
            self.calls.append(("ready", self.config))
            if self.rollback_fails:
                raise LabError("tunnel t1: no SA")
            return {}

        monkeypatch.setattr(execute, "apply_routers", apply_routers)
        monkeypatch.setattr(execute, "aws_side", aws_side)
        monkeypatch.setattr(execute, "wait_checks", wait_checks)
        monkeypatch.setattr(execute, "open_lab", lambda stack: object())
        monkeypatch.setattr(prerender, "proposed_routers", proposed)
        monkeypatch.setattr(rollback, "apply_routers", apply_routers)
        monkeypatch.setattr(rollback, "aws_side", aws_side)
        monkeypatch.setattr(rollback, "wait_ready", wait_ready)
        monkeypatch.setattr(rollback, "wait_checks", wait_checks)


def _step(n: int, when: str = "after-aws", drained: tuple[str, ...] = ()) -> dict[str, Any]:
    checks = [
        {"step": n, "when": w, "kind": "bgp-established", "text": f"bgp {n}"}
        for w in ("after-change", "after-restore")
    ]
    if drained:
        checks.append({"step": n, "when": "after-drain", "kind": "ipsec-sa", "text": "sa"})
    return {
        "step": n,
        "title": f"step {n}",
        "changes": [f"change {n}"],
        "drained": list(drained),
        "aws": {"kind": "pulumi-up", "config": f"/r/steps/{n:02d}/Pulumi.dev.yaml", "commands": []},
        "dc": {"when": when, "routers": []},
        "checks": checks,
    }


def _rollout(tmp_path: Path, *steps: dict[str, Any]) -> dict[str, Any]:
    base = tmp_path / "steps" / "00" / "Pulumi.dev.yaml"
    base.parent.mkdir(parents=True)
    base.write_text("config: {}\n")
    return {"steps": list(steps), "baselineConfig": str(base)}


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeLab:
    monkeypatch.setenv("CROSSNET_STATE_DIR", str(tmp_path / "state"))
    return FakeLab()


def test_routers_go_first_when_the_plan_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lab: FakeLab
) -> None:
    lab.install(monkeypatch)
    p = execute.execute("dev", _rollout(tmp_path, _step(1, "before-aws")), print)
    assert lab.calls == [
        ("routers", "prerender drained=[]"),  # the step's own render, before AWS changes
        ("aws", "01"),
        ("routers", "01 drained=[]"),  # from the new outputs: the same render, no change
        ("checks", "1.after-change"),
        ("checks", "1.after-restore"),
    ]
    assert p.events == ["1.routers-first", "1.aws", "1.routers", "1.done"]


def test_aws_goes_first_otherwise_and_drains_wrap_the_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lab: FakeLab
) -> None:
    lab.install(monkeypatch)
    execute.execute("dev", _rollout(tmp_path, _step(1, drained=("c-1",))), print)
    assert lab.calls == [
        ("routers", "baseline drained=['c-1']"),
        ("checks", "1.after-drain"),
        ("aws", "01"),
        ("routers", "01 drained=['c-1']"),
        ("checks", "1.after-change"),
        ("routers", "01 drained=[]"),
        ("checks", "1.after-restore"),
    ]


def test_a_failed_step_without_the_flag_stops_and_says_the_way_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lab: FakeLab
) -> None:
    lab.fail = {"2.after-change"}
    lab.install(monkeypatch)
    r = _rollout(tmp_path, _step(1), _step(2))
    with pytest.raises(execute.RolloutFailedError) as e:
        execute.execute("dev", r, print)
    assert type(e.value) is execute.RolloutFailedError and e.value.exit_code == 3
    assert [c for c in lab.calls if c[0] == "aws"] == [("aws", "01"), ("aws", "02")]
    p = execute.read_progress("dev")
    assert p is not None and p.status == "failed" and p.failed_step == "2"
    assert p.steps == {"1": "done", "2": "aws"}
    way = execute.how_to_go_back("dev", r, p)
    assert "change 1" in way and "change 2" in way and r["baselineConfig"] in way


def test_rollback_undoes_the_steps_in_reverse_to_the_baseline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lab: FakeLab
) -> None:
    lab.fail = {"2.after-change"}
    lab.install(monkeypatch)
    r = _rollout(tmp_path, _step(1), _step(2, drained=("c-2",)))
    with pytest.raises(rollback.RolledBackError) as e:
        execute.execute("dev", r, print, rollback_on_failure=True)
    assert e.value.exit_code == 3 and "rolled back step(s) 2, 1" in str(e.value)
    undo = lab.calls[lab.calls.index(("checks", "2.after-change")) + 1 :]
    assert undo == [
        ("routers", "02 drained=['c-2']"),  # step 2's tunnels off first, as it went
        ("aws", "01"),  # AWS back to the state before step 2: step 1's stack file
        ("routers", "01 drained=['c-2']"),
        ("routers", "01 drained=[]"),
        ("aws", "00"),  # and before step 1: the baseline
        ("routers", "00 drained=[]"),
        ("ready", "00"),  # the checks of the state rolled back to
    ]
    p = execute.read_progress("dev")
    assert p is not None and p.status == "rolled-back"
    assert p.rollback["from"] == "2" and p.rollback["undone"] == [2, 1]
    assert p.rollback["checks"] == [] and "2.after-change fails" in p.rollback["failure"]
    assert p.events[-2:] == ["2.rolled-back", "1.rolled-back"]
    # Rolled back is final: the next run starts the rollout afresh, it does not resume.
    lab.fail = set()
    assert execute.execute("dev", r, print).steps == {"1": "done", "2": "done"}


def test_a_step_that_failed_before_its_aws_side_only_puts_the_routers_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lab: FakeLab
) -> None:
    lab.fail = {"1.after-drain"}
    lab.install(monkeypatch)
    with pytest.raises(rollback.RolledBackError):
        execute.execute(
            "dev", _rollout(tmp_path, _step(1, drained=("c-1",))), print, rollback_on_failure=True
        )
    assert [c for c in lab.calls if c[0] == "aws"] == []
    assert lab.calls[-2:] == [("routers", "baseline drained=[]"), ("ready", "baseline")]


def test_a_rollback_that_does_not_bring_the_lab_back_exits_4_and_is_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lab: FakeLab
) -> None:
    lab.fail, lab.rollback_fails = {"1.after-restore"}, True
    lab.install(monkeypatch)
    r = _rollout(tmp_path, _step(1))
    with pytest.raises(rollback.RollbackFailedError) as e:
        execute.execute("dev", r, print, rollback_on_failure=True)
    assert e.value.exit_code == 4 and "tunnel t1: no SA" in str(e.value)
    p = execute.read_progress("dev")
    assert p is not None and p.status == "rollback-failed"
    # The next run finishes the rollback (each part idempotent) before anything else.
    lab.rollback_fails, lab.calls = False, []
    with pytest.raises(rollback.RolledBackError):
        execute.execute("dev", r, print)
    assert ("aws", "01") not in lab.calls and lab.calls[-1] == ("ready", "00")
    p = execute.read_progress("dev")
    assert p is not None and p.status == "rolled-back"


def test_every_rollout_writes_its_baseline_which_plans_to_the_applied_state() -> None:
    r, _ = rollout("dev", _psk)
    assert r.baseline_config.endswith("/00/Pulumi.dev.yaml")
    doc = yaml.safe_load(r.baseline_text)
    snap, _ = applied("dev", stack_config("dev"))
    assert plan_snapshot(build_plan(doc["config"], "dev", need_secrets=False)) == snap
    assert r.as_json()["baselineConfig"] == r.baseline_config
