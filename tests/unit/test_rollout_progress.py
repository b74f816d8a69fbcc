"""`crossnet rollout --lab`'s progress: the step and its phase live on a terminal; on a
pipe or under CI the same output lines as before, and nothing else."""

from __future__ import annotations

import argparse
import io
import re
from typing import Any

import pytest
from rich.console import Console

from network.rollout import cli as rollout_cli
from network.rollout import execute as ex

PLAN = {
    "steps": [
        {"step": 1, "title": "drain tunnel 1, rotate its key"},
        {"step": 2, "title": "add VPC media"},
    ]
}


@pytest.fixture
def fake_execute(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """execute() as the real one reports: its lines through `say`, each phase as it starts."""
    phases: list[str] = []

    def execute(stack: str, plan: dict[str, Any], say: Any, **kw: Any) -> ex.Progress:
        phase = kw["phase"]
        for step in ("1", "2"):
            say(f"step {step}: {PLAN['steps'][int(step) - 1]['title']}")
            for name in ("drain", "checks after drain", "apply: the AWS side", "routers"):
                phase(step, name)
                phases.append(f"{step} {name}")
            say("  after-change: 3 checks hold (1.5 s)")
        p = ex.Progress(stack, "0" * 64, status="done")
        p.timings["total"] = 12.0
        return p

    monkeypatch.setattr(ex, "execute", execute)
    monkeypatch.delenv("CI", raising=False)
    return phases


def _args(no_progress: bool = False) -> argparse.Namespace:
    return argparse.Namespace(
        stack="dev", no_progress=no_progress, check_timeout=90.0, rollback_on_failure=False
    )


LINES = [
    "step 1: drain tunnel 1, rotate its key",
    "  after-change: 3 checks hold (1.5 s)",
    "step 2: add VPC media",
    "  after-change: 3 checks hold (1.5 s)",
    "rollout of stack dev: 2 step(s) done on the lab in 12 s",
]


def test_piped_the_lines_are_unchanged(
    fake_execute: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert rollout_cli.run_lab(_args(), PLAN) == 0
    out = capsys.readouterr()
    assert out.err.splitlines() == LINES  # no phase line, no control sequence
    assert out.out == ""
    assert len(fake_execute) == 8  # the phases were reported, and shown nowhere


def test_no_progress_keeps_the_lines(
    fake_execute: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stderr.isatty", lambda: True, raising=False)
    assert rollout_cli.run_lab(_args(no_progress=True), PLAN) == 0
    assert capsys.readouterr().err.splitlines() == LINES


def test_on_a_terminal_the_step_and_phase_under_way(
    fake_execute: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, width=120, markup=False)
    assert rollout_cli.run_lab(_args(), PLAN, console=console) == 0
    screen = buf.getvalue()
    assert "\x1b[" in screen
    # the live status: the step (of how many, its title) and the phase under way
    assert "crossnet rollout --stack dev --lab: step 1/2 (drain tunnel 1, rotate its key): " in (
        screen
    )
    # (a live status shows the latest: a phase replaced before a refresh is never drawn)
    assert "step 2/2 (add VPC media): routers" in screen
    shown = re.findall(r"--lab: (step \d/2 \([^)]*\): [a-z :A-Z]+?)(?:\r|\n|\x1b)", screen)
    expected = {
        f"step {n}/2 ({PLAN['steps'][n - 1]['title']}): {name}"
        for n in (1, 2)
        for name in ("drain", "checks after drain", "apply: the AWS side", "routers")
    }
    assert shown and set(shown) <= expected, shown
    # the output lines, printed above the status rather than through it
    for line in LINES[:4]:
        assert line in screen
    assert capsys.readouterr().err.splitlines() == LINES[4:]  # the closing line, after it
