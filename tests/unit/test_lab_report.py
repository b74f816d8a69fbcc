"""bench/lab_report.py: the lab bench's tables from its raw figures (pure)."""

from __future__ import annotations

from typing import Any

import pytest
from rich.console import Console

from bench.lab_report import cell, fit, medians, scale_lines, show, show_scale, summary_table


def _text(render: Any) -> str:
    console = Console(width=200, record=True, highlight=False)
    render(console)
    return console.export_text()


def _run(green: float, check: float, memory: float | None = None) -> dict[str, Any]:
    r: dict[str, Any] = {"green": True, "time to green": green, "check": check}
    if memory is not None:
        r["memory"] = {"charon": memory / 2, "total": memory}
    return r


def test_cells_are_the_median_and_range_of_the_runs() -> None:
    assert cell([7.0, 6.5, 7.4], "s") == "7.00 (6.5-7.4) s"
    assert cell([3.04], "s") == "3.04 s"
    assert cell([None, None], "s") == "n/a"
    assert cell(["see the log"], "s") == "see below"  # a message, not a figure
    assert medians([{"a": 1, "b": "x"}, {"a": 3}, {"a": 2}]) == {"a": 2}


def test_the_summary_has_each_stack_beside_its_baseline_and_the_targets() -> None:
    results = {
        "dev baseline": [_run(7.9, 4.1), _run(8.9, 4.4), _run(7.8, 3.9)],
        "dev": [_run(6.9, 3.0, 84.9), _run(6.5, 3.6, 86.3), _run(7.4, 3.0, 84.5)],
    }
    text = _text(lambda c: c.print(summary_table(results)))
    green = next(line for line in text.splitlines() if "time to green" in line)
    assert "7.90 (7.8-8.9) s" in green and "6.90 (6.5-7.4) s" in green
    assert "<= 8 s dev, <= 20 s prod" in green
    memory = next(line for line in text.splitlines() if "│ memory " in line)
    assert "n/a" in memory and "84.90 (84.5-86.3) MiB" in memory  # the baseline has none
    assert "throughput" not in text  # no run measured it: no row


def test_show_prints_what_went_into_the_summary() -> None:
    run = _run(6.9, 3.0, 84.9) | {
        "breakdown": {"lab up steps": {"frr": 0.3, "bgp_ready": 1.0}, "checks": {"t[a]": 0.2}},
        "full check output": "1 failed",
    }
    text = _text(lambda c: show({"dev": [run]}, c))
    assert "dev: inside `lab up`" in text and "step: frr" in text and "bgp ready" in text
    assert "dev: each check of `check --quick` (s)" in text and "t[a]" in text
    assert "full check output: 1 failed" in text and "memory by kind: charon 42 MiB" in text


def test_the_scale_sweep_fits_the_growth_per_tunnel_and_names_where_it_stopped() -> None:
    a, b, r2 = fit([4.0, 8.0, 16.0], [3.0, 5.0, 9.0]) or (0.0, 0.0, 0.0)
    assert (a, b, r2) == pytest.approx((1.0, 0.5, 1.0))
    assert fit([4.0, 4.0], [1.0, 2.0]) is None  # one size: no growth to fit

    def size(n: int) -> dict[str, Any]:
        return {
            "green": True,
            "size": {"tunnels": 4 * n, "processes": 10 * n, "namespaces": 6 * n},
            "lab up": 2.0 + 0.5 * 4 * n,
            "memory": {"total": 100.0 + 20 * 4 * n},
        }

    points = [(1, size(1)), (2, size(2)), (4, {"failed": "no memory left"})]
    lines = scale_lines(points)
    assert "largest size that worked: 2 datacenters, 8 tunnels (green True)" in lines
    assert "stopped at 4 datacenters: no memory left" in lines
    text = _text(lambda c: show_scale(points, c))
    assert "failed: no memory left" in text
    growth = next(line for line in text.splitlines() if "memory PSS" in line)
    assert "100.00 MiB" in growth and "20.000 MiB" in growth and "1.000" in growth
