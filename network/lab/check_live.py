"""`crossnet check` on a terminal: the suite's tests as they run, on a rich progress bar.

A pytest plugin (`LiveCheck`) counts each test when it ends (its outcome as the
matrix counts it: the call's, or a setup that did not pass, or a failed
teardown), shows the test under way, how many passed, failed and were skipped,
and prints each failure above the bar the moment it happens. It is only used on a
terminal (network.console.progress_wanted); under CI, a pipe or `--no-progress`
pytest's own line-oriented output is printed unchanged.

The bar's console writes to its own duplicate of the terminal's descriptor, so
that pytest's capture of fd 2 during a test never swallows a refresh.
"""

from __future__ import annotations

import os
import sys
import time
from typing import IO, Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

OUTCOMES = ("passed", "failed", "skipped")


def terminal_console() -> tuple[Console, IO[str]]:
    """A console on a duplicate of stderr's descriptor (close the stream when done)."""
    stream = os.fdopen(os.dup(sys.stderr.fileno()), "w", buffering=1)
    return Console(file=stream, highlight=False, markup=False, emoji=False), stream


class LiveCheck:
    """A pytest plugin: a live bar of the suite's tests, failures as they happen.

    Two lines: the bar, `done/total`, the counts and the time so far; then the
    test under way (elided to the terminal's width, never wrapped)."""

    def __init__(self, console: Console, label: str) -> None:
        self.console, self.label = console, label
        self.counts = dict.fromkeys(OUTCOMES, 0)
        self.total = self.done = 0
        self.test = ""
        self._outcome: dict[str, str] = {}
        self._live: Live | None = None
        self._t0 = time.monotonic()

    def _counts(self) -> str:
        return ", ".join(f"{self.counts[k]} {k}" for k in OUTCOMES)

    def __rich__(self) -> RenderableType:
        grid = Table.grid(padding=(0, 1, 0, 0))
        for _ in range(5):
            grid.add_column(no_wrap=True)
        elapsed = int(time.monotonic() - self._t0)
        bar = ProgressBar(total=max(self.total, 1), completed=self.done, width=24)
        grid.add_row(
            Text(self.label),
            bar,
            Text(f"{self.done}/{self.total}"),
            Text(self._counts(), style="red" if self.counts["failed"] else ""),
            Text(f"{elapsed // 60}:{elapsed % 60:02d}"),
        )
        running = Text(f"  {self.test}" if self.test else "", no_wrap=True, overflow="ellipsis")
        return Group(grid, running)

    def pytest_collection_finish(self, session: Any) -> None:
        self.total = len(session.items)
        self._live = Live(
            self,
            console=self.console,
            refresh_per_second=4,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._live.start()

    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:
        self.test = nodeid.split("::", 1)[-1]
        if self._live is not None:
            self._live.refresh()  # every test is shown, however short

    def pytest_runtest_logreport(self, report: Any) -> None:
        name = report.nodeid.split("::", 1)[-1]
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            self._outcome[report.nodeid] = report.outcome
            if report.outcome == "failed":
                self._say_failed(name, report)
        elif report.when == "teardown":
            if report.outcome == "failed":
                self._outcome[report.nodeid] = "failed"
                self._say_failed(f"{name} (teardown)", report)
            self._done(report.nodeid)

    def _say_failed(self, name: str, report: Any) -> None:
        lines = str(getattr(report, "longreprtext", "")).strip().splitlines()
        why = lines[-1] if lines else ""
        self.console.print(Text(f"FAIL {name}: {why[:300]}", style="red"), soft_wrap=True)

    def _done(self, nodeid: str) -> None:
        outcome = self._outcome.pop(nodeid, "passed")
        self.counts[outcome if outcome in self.counts else "failed"] += 1
        self.done += 1

    def pytest_sessionfinish(self, session: Any, exitstatus: int) -> None:
        if self._live is not None:
            self.test = ""
            self._live.refresh()
            self._live.stop()
            self._live = None
