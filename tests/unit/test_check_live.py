"""`crossnet check`'s progress: a live bar on a terminal, pytest's own lines otherwise."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from network.lab import check as check_mod
from network.lab.check_live import LiveCheck


@dataclass
class Report:
    nodeid: str
    when: str
    outcome: str
    longreprtext: str = ""
    duration: float = 0.01
    user_properties: list[Any] = field(default_factory=list)
    longrepr: Any = None


@dataclass
class Session:
    items: list[str]


def _terminal() -> tuple[Console, io.StringIO]:
    buf = io.StringIO()
    return Console(file=buf, force_terminal=True, width=120, color_system="standard"), buf


def _run(plugin: Any, tests: dict[str, tuple[str, str]]) -> None:
    """Each test: its setup, call (or a setup that did not pass) and teardown reports."""
    plugin.pytest_collection_finish(Session(list(tests)))
    for name, (when, outcome) in tests.items():
        nodeid = f"tests/reachability/test_x.py::{name}"
        plugin.pytest_runtest_logstart(nodeid, None)
        why = "E   Failed: dc1-edge1 (iosxe): dc1-edge1-app/2: neighbour 169.254.0.1 Idle"
        if when == "setup":
            plugin.pytest_runtest_logreport(Report(nodeid, "setup", outcome, why))
        else:
            plugin.pytest_runtest_logreport(Report(nodeid, "setup", "passed"))
            plugin.pytest_runtest_logreport(Report(nodeid, "call", outcome, why))
        plugin.pytest_runtest_logreport(Report(nodeid, "teardown", "passed"))
    plugin.pytest_sessionfinish(None, 1)


def test_the_bar_counts_each_test_and_prints_each_failure_as_it_happens() -> None:
    console, buf = _terminal()
    live = LiveCheck(console, "crossnet check --stack dev")
    _run(
        live,
        {
            "test_ike_and_child_sa_established[dc1-edge1-app/1]": ("call", "passed"),
            "test_bgp_sessions_established[dc1-edge1]": ("call", "failed"),
            "test_ping_datacenter_to_vpc[dc1->app]": ("setup", "skipped"),
            "test_tcp[dc1->app]": ("setup", "failed"),
        },
    )
    screen = buf.getvalue()
    assert "\x1b[" in screen  # a terminal's: colour and cursor movement
    assert live.counts == {"passed": 1, "failed": 2, "skipped": 1}
    assert "4/4" in screen and "1 passed, 2 failed, 1 skipped" in screen
    assert (
        "FAIL test_bgp_sessions_established[dc1-edge1]: E   Failed: dc1-edge1 (iosxe): "
        "dc1-edge1-app/2: neighbour 169.254.0.1 Idle" in screen
    )
    assert "FAIL test_tcp[dc1->app]" in screen  # a setup that failed: an error, counted
    # every test is shown while it runs, with its parameters (not read as markup)
    assert "test_ike_and_child_sa_established[dc1-edge1-app/1]" in screen


def test_a_failed_teardown_counts_as_a_failure() -> None:
    console, buf = _terminal()
    live = LiveCheck(console, "check")
    live.pytest_collection_finish(Session(["a"]))
    live.pytest_runtest_logreport(Report("m.py::a", "call", "passed"))
    live.pytest_runtest_logreport(Report("m.py::a", "teardown", "failed", "E   boom"))
    live.pytest_sessionfinish(None, 1)
    assert live.counts == {"passed": 0, "failed": 1, "skipped": 0}
    assert "FAIL a (teardown): E   boom" in buf.getvalue()


@pytest.fixture
def fake_pytest(monkeypatch: pytest.MonkeyPatch) -> list[list[Any]]:
    """pytest.main recorded (its plugins) and printing as pytest does."""
    calls: list[list[Any]] = []

    def main(args: list[str], plugins: list[Any]) -> int:
        calls.append(plugins)
        print("....F.                                 [100%]")
        print("1 failed, 5 passed in 1.00s")
        return 1

    monkeypatch.setattr(pytest, "main", main)
    monkeypatch.delenv("CI", raising=False)
    return calls


def _inventory(tmp_path: Path) -> Path:
    inv = tmp_path / "inv.yaml"
    inv.write_text("routers: {}\n")
    return inv


def test_piped_pytests_own_lines_and_no_bar(
    tmp_path: Path, fake_pytest: list[list[Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    code = check_mod.check("dev", inventory=_inventory(tmp_path), report_dir=tmp_path / "r")
    assert code == 1
    (plugins,) = fake_pytest
    assert [type(p).__name__ for p in plugins] == ["Collector"]
    out = capsys.readouterr()
    assert "1 failed, 5 passed in 1.00s" in out.out  # pytest's lines, unchanged
    assert "\x1b[" not in out.out + out.err
    assert not (tmp_path / "r" / "pytest.txt").exists()


def test_on_a_terminal_the_bar_and_pytests_lines_in_a_file(
    tmp_path: Path, fake_pytest: list[list[Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    console, _ = _terminal()
    code = check_mod.check(
        "dev", inventory=_inventory(tmp_path), report_dir=tmp_path / "r", console=console
    )
    assert code == 1
    (plugins,) = fake_pytest
    assert [type(p).__name__ for p in plugins] == ["Collector", "LiveCheck"]
    out = capsys.readouterr().out
    assert "1 failed, 5 passed in 1.00s" not in out
    assert f"pytest:  {tmp_path / 'r' / 'pytest.txt'}" in out
    assert "1 failed, 5 passed" in (tmp_path / "r" / "pytest.txt").read_text()


def test_no_progress_wins_over_a_terminal(
    tmp_path: Path, fake_pytest: list[list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stderr.isatty", lambda: True, raising=False)
    check_mod.check(
        "dev", inventory=_inventory(tmp_path), report_dir=tmp_path / "r", no_progress=True
    )
    (plugins,) = fake_pytest
    assert [type(p).__name__ for p in plugins] == ["Collector"]
