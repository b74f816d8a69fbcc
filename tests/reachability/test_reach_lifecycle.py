"""The lab's own life cycle, on its own stack and state directory (root only).

up waits for convergence and refuses a second up; status reads the daemons;
down stops exactly what up started and is safe twice, and after a crash that
lost lab.json. It runs on `staging` (a VGW with static routing, the smallest
example), with outputs built from the plan and fake AWS values.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from network.contract import StackOutputs
from network.lab import control
from network.lab.runtime import read_state, state_path
from network.lab.system import alive, missing_requirements, namespaces, pids_in_namespace
from network.lab.topology import ns_prefix
from network.plan import Plan

STACK = "staging"


@pytest.fixture
def outputs(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    fake_outputs: Callable[[str], tuple[StackOutputs, Plan]],
) -> Path:
    missing = missing_requirements()
    if missing:
        pytest.skip("the local lab cannot run here: " + "; ".join(missing))
    if request.config.getoption("--crossnet-stack") == STACK:
        pytest.skip(f"the session's own lab is {STACK}")
    if any(n.startswith(ns_prefix(STACK)) for n in namespaces()):
        pytest.skip(f"a lab of {STACK} is running already")
    monkeypatch.setenv("CROSSNET_STATE_DIR", str(tmp_path / "state"))
    out, _plan = fake_outputs(STACK)
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(out.raw))
    return path


@pytest.mark.lab
def test_up_twice_status_down_twice(outputs: Path) -> None:
    rt = control.up(STACK, outputs=outputs, wait=60)
    try:
        with pytest.raises(control.AlreadyUpError, match="already up"):
            control.up(STACK, outputs=outputs)
        s = control.status(STACK)
        assert s["ready"] and all(p["running"] for p in s["processes"])
        assert {t["dc"]["child"] for t in s["tunnels"]} == {"INSTALLED"}
        assert s["bgp"] == []  # static routing: no BGP anywhere
        procs = list(rt.state.procs)
        names = rt.lab.namespaces()
    finally:
        done = control.down(STACK)
    assert any("stopped" in line for line in done)
    assert not [p for p in procs if alive(p)]
    assert not set(names) & namespaces()
    assert not state_path(STACK).exists()
    assert control.down(STACK) == [f"the lab of stack {STACK!r} is not up: nothing to do"]


@pytest.mark.lab
def test_down_after_a_crash_that_lost_the_state(outputs: Path) -> None:
    rt = control.up(STACK, outputs=outputs, wait=60)
    procs = list(rt.state.procs)
    names = rt.lab.namespaces()
    state_path(STACK).unlink()  # as if `up` died before writing it
    assert read_state(STACK) is None
    done = control.down(STACK)
    # The processes were found inside the lab's namespaces, and stopped.
    assert any("found inside lab namespaces" in line for line in done)
    assert not [p for p in procs if alive(p)]
    assert not set(names) & namespaces()
    assert not any(pids_in_namespace(n) for n in names)
