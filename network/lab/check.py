"""`crossnet check`: run the reachability suite, print the datacenter x VPC matrix.

The suite (tests/reachability) runs in-process under pytest, against the
running lab or, with an inventory, against real hosts. JUnit XML and a short
summary go to the report directory; the exit code is pytest's (0: all green).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from network.console import progress_wanted
from network.lab.runtime import read_state
from network.lab.system import LabError
from network.state import PROJECT_DIR, state_dir

SUITE = PROJECT_DIR / "tests" / "reachability"
DESTRUCTIVE = SUITE / "test_reach_failover.py"
# The lab tool's own tests (pure units, its life cycle): not about the network.
NOT_CHECKS = (
    SUITE / "test_reach_units.py",
    SUITE / "test_reach_lifecycle.py",
    SUITE / "test_reach_ssh_nightly.py",  # runs `crossnet check` itself
)


@dataclass
class Result:
    test: str
    outcome: str  # passed | failed | skipped | error
    pair: str | None
    seconds: float
    message: str = ""
    module: str = ""


@dataclass
class Collector:
    """A pytest plugin that keeps each test's outcome, pair and measurements."""

    results: list[Result] = field(default_factory=list)
    measures: list[tuple[str, str, Any]] = field(default_factory=list)

    def pytest_runtest_logreport(self, report: Any) -> None:
        props = dict(report.user_properties)
        pair = props.get("pair")
        name = report.nodeid.split("::", 1)[-1]
        failed = report.outcome == "failed"
        if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
            outcome = "error" if failed and report.when == "setup" else report.outcome
            message = ""
            if failed:
                tail = str(getattr(report, "longreprtext", "")).strip().splitlines()[-1:]
                message = tail[0] if tail else ""
            elif report.outcome == "skipped" and isinstance(report.longrepr, tuple):
                message = str(report.longrepr[2])
            self.results.append(
                Result(name, outcome, pair, report.duration, message, report.nodeid.split("::")[0])
            )
            if report.when == "call":
                self.measures += [(name, k, v) for k, v in report.user_properties if k != "pair"]
        elif report.when == "teardown" and failed:
            self.results.append(
                Result(
                    name + " (teardown)",
                    "error",
                    pair,
                    report.duration,
                    str(report.longreprtext).strip()[-200:],
                    report.nodeid.split("::")[0],
                )
            )


def check(
    stack: str,
    inventory: Path | None = None,
    outputs: Path | None = None,
    report_dir: Path | None = None,
    quick: bool = False,
    extra: list[str] | None = None,
    no_progress: bool = False,
    console: Any = None,
) -> int:
    """Run the suite; print and write the matrix. Returns pytest's exit code.

    On a terminal (or with `console`, a rich Console) the tests show on a live
    progress bar and pytest's own output goes to `pytest.txt` in the report
    directory; otherwise (CI, a pipe, `no_progress`) pytest prints as it always has."""
    missing = [m for m in ("pytest", "testinfra") if importlib.util.find_spec(m) is None]
    if missing:
        raise LabError(
            f"crossnet check needs pytest and pytest-testinfra ({', '.join(missing)} "
            "missing): pip install -r requirements-dev.txt"
        )
    import pytest

    if inventory is None:
        state = read_state(stack)
        if state is None or not state.ready:
            raise LabError(
                f"the lab of stack {stack!r} is not up: `crossnet lab up --stack "
                f"{stack}` first, or pass --inventory for real hosts"
            )
    elif not inventory.exists():
        raise LabError(f"inventory {inventory} does not exist (example: inventory/prod.yaml)")
    report_dir = report_dir or state_dir(stack) / "check"
    report_dir.mkdir(parents=True, exist_ok=True)
    junit = report_dir / "junit.xml"
    # The suite uses no hypothesis; its plugin alone takes a second to import.
    args = [
        str(SUITE),
        "-q",
        "-rfE",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:hypothesispytest",
        "-p",
        "no:typeguard",
        # Its full garbage collection at the end (moto's heap: a tenth of a second or
        # more) only looks for errors in finalizers, which no check is about.
        "-p",
        "no:unraisableexception",
        "--crossnet-stack",
        stack,
        f"--junitxml={junit}",
        "-o",
        "junit_suite_name=crossnet-reachability",
        "--crossnet-no-lab-up",
        *(f"--ignore={p}" for p in NOT_CHECKS),
    ]
    if inventory is not None:
        args += ["--crossnet-inventory", str(inventory)]
    if outputs is not None:
        args += ["--crossnet-outputs", str(outputs)]
    if quick:
        args += [f"--ignore={DESTRUCTIVE}"]
    args += list(extra or [])
    collector = Collector()
    t0 = time.monotonic()
    if console is not None or progress_wanted(no_progress):
        code = _run_live(args, collector, console, stack, report_dir)
    else:
        code = int(pytest.main(args, plugins=[collector]))
    elapsed = time.monotonic() - t0
    target = f"inventory {inventory}" if inventory else "the local lab"
    text = summary(stack, target, collector, elapsed)
    print("\n" + text)
    (report_dir / "summary.txt").write_text(text + "\n")
    print(f"junit:   {junit}\nsummary: {report_dir / 'summary.txt'}")
    # (the heap is frozen before the process exits by network.cli.main, only when this is
    # the process's own command: a test calling this in-process keeps its collector)
    return code


def _run_live(
    args: list[str], collector: Collector, console: Any, stack: str, report_dir: Path
) -> int:
    """pytest with the live bar (network/lab/check_live.py); its own output to a file."""
    import pytest

    from network.lab.check_live import LiveCheck, terminal_console

    stream = None
    if console is None:
        console, stream = terminal_console()
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            live = LiveCheck(console, f"crossnet check --stack {stack}")
            code = int(pytest.main(args, plugins=[collector, live]))
    finally:
        if stream is not None:
            stream.close()
    log = report_dir / "pytest.txt"
    log.write_text(out.getvalue())
    if code not in (0, 1, 5):  # interrupted, internal or usage error: pytest's own words
        print(out.getvalue().rstrip("\n"))
    print(f"pytest:  {log}")
    return code


def summary(stack: str, target: str, c: Collector, elapsed: float) -> str:
    """The human-readable report: counts, the matrix, other areas, measurements, as
    tables that fit the terminal (network.console)."""
    from network.console import table, to_text

    counts = {
        k: sum(r.outcome == k for r in c.results) for k in ("passed", "failed", "error", "skipped")
    }
    head = (
        f"crossnet check --stack {stack} against {target}: {counts['passed']} passed, "
        f"{counts['failed'] + counts['error']} failed, {counts['skipped']} skipped "
        f"in {elapsed:.1f} s"
    )
    parts: list[Any] = [head, ""]
    pairs = [r for r in c.results if r.pair]
    if pairs:
        dcs = sorted({str(r.pair).split("|")[0] for r in pairs})
        vpcs = sorted({str(r.pair).split("|")[1] for r in pairs})
        rows = [
            [d, *(_cell([r for r in pairs if r.pair == f"{d}|{v}"]) for v in vpcs)] for d in dcs
        ]
        parts.append(
            table(
                "reachability: datacenter host -> VPC host",
                ["datacenter", *vpcs],
                rows,
                note="each cell: ping, TCP, UDP, return path, MTU/MSS, unplanned source; "
                "allowed exactly as planned",
                overflow="ellipsis",
            )
        )
    areas: dict[str, list[Result]] = {}
    for r in c.results:
        if not r.pair:
            areas.setdefault(_area(r), []).append(r)
    if areas:
        parts.append(
            table("other areas", ["area", "result"], [[a, _cell(rs)] for a, rs in areas.items()])
        )
    bad = [r for r in c.results if r.outcome in ("failed", "error")]
    if bad:
        parts.append(
            table("failures", ["test", "message"], [[r.test, r.message[:400]] for r in bad])
        )
    if c.measures:
        parts.append(
            table(
                "measurements",
                ["measure", "value", "test"],
                [
                    [name, f"{value:.2f}" if isinstance(value, float) else str(value), test]
                    for test, name, value in c.measures
                ],
            )
        )
    spaced: list[Any] = []
    for part in parts:
        spaced += [part, ""] if not isinstance(part, str) else [part]
    return to_text(spaced).rstrip("\n")


def _area(r: Result) -> str:
    name = r.test.split("[")[0]
    if r.module.endswith("failover.py"):
        return "failover"
    if r.module.endswith("aws_view.py"):
        return "aws view"
    if "prefix" in name or "learns" in name:
        return "routes"
    if "bgp" in name:
        return "bgp"
    if "_sa_" in name:
        return "tunnels"
    if "rendered" in name:
        return "configs"
    return "other"


def _cell(rs: list[Result]) -> str:
    if not rs:
        return "-"
    bad = sum(r.outcome in ("failed", "error") for r in rs)
    ran = sum(r.outcome != "skipped" for r in rs)
    if bad:
        return f"FAIL ({bad}/{ran})"
    if not ran:
        return "skipped"
    return f"pass ({ran}/{ran})"
