"""What `bench/lab_bench.py` prints: its figures as rich tables (pure: results in,
text out), apart from the measuring. Every figure is the median (min-max) of the
runs; the targets are issue 11's."""

from __future__ import annotations

import statistics
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

TARGETS = {
    "time to green": "<= 8 s dev, <= 20 s prod",
    "check": "",
    "full check": "<= 15 s dev, <= 30 s prod",
    "apply": "<= 2 s dev",
    "silent failover": "<= 35 s (BGP); static ~40 s",
    "IKE DELETE": "<= 1 s",
    "memory": "PSS <= 120 MiB dev, <= 350 MiB prod",
}

ROWS = [
    "time to green",
    "apply",
    "render",
    "lab up",
    "check",
    "phases' sum",
    "lab up -> green",
    "full check",
    "lab down",
    "memory",
    "memory RSS",
    "throughput",
    "silent failover",
    "silent: routes moved",
    "silent: routes back after restore",
    "silent failback",
    "IKE DELETE",
    "IKE DELETE failback",
]
UNITS = {"memory": "MiB", "memory RSS": "MiB", "throughput": "Mb/s"}

SCALE_COLUMNS = [
    ("tunnels", "tunnels", ""),
    ("processes", "procs", ""),
    ("namespaces", "netns", ""),
    ("apply", "apply", "s"),
    ("lab up", "lab up", "s"),
    ("check", "check", "s"),
    ("time to green", "to green", "s"),
    ("memory", "PSS", "MiB"),
    ("memory RSS", "RSS", "MiB"),
]


def _console() -> Console:
    # Wide enough for a stack and its baseline side by side, piped or not.
    return Console(width=160, highlight=False, soft_wrap=False)


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def cell(vals: list[Any], unit: str) -> str:
    """The median of the runs' figures, their range, the unit."""
    nums = [v for v in vals if _number(v)]
    if not nums:
        return "n/a" if not vals or vals[0] is None else "see below"
    med = f"{statistics.median(nums):.2f}"
    if len(nums) > 1:
        return f"{med} ({min(nums):.1f}-{max(nums):.1f}) {unit}"
    return f"{med} {unit}"


def _row_values(run: dict[str, Any], row: str) -> Any:
    return run.get("memory", {}).get("total") if row == "memory" else run.get(row)


def summary_table(results: dict[str, list[dict[str, Any]]]) -> Table:
    """One row per figure any run has, one column per stack (and its baseline)."""
    t = Table(title="median (min-max) of the runs", title_justify="left")
    t.add_column("figure", no_wrap=True)
    for label in results:  # a stack's name and "baseline"
        t.add_column(label, justify="right", no_wrap=True)
    t.add_column("target")
    for row in ROWS:
        vals_by = {s: [_row_values(r, row) for r in runs] for s, runs in results.items()}
        if all(all(v is None for v in vs) for vs in vals_by.values()):
            continue
        cells = [cell(vals_by[s], UNITS.get(row, "s")) for s in results]
        t.add_row(row, *cells, TARGETS.get(row, ""))
    return t


def medians(dicts: list[dict[str, Any]]) -> dict[str, float]:
    """Key by key, the median of the dicts that have a number for it (first-seen order)."""
    keys = list(dict.fromkeys(k for d in dicts for k in d))
    out = {}
    for k in keys:
        nums = [d[k] for d in dicts if _number(d.get(k))]
        if nums:
            out[k] = statistics.median(nums)
    return out


def _timeline(items: list[tuple[str, float]]) -> Table:
    t = Table(show_header=False, box=None, pad_edge=False)
    t.add_column("s", justify="right")
    t.add_column("what")
    for what, v in items:
        t.add_row(f"{v:.2f}", Text(what))  # a test's id has brackets: not markup
    return t


def breakdown_tables(label: str, runs: list[dict[str, Any]]) -> list[tuple[str, Table]]:
    """Inside `lab up` and `check`, median of the runs."""
    bds = [r.get("breakdown", {}) for r in runs]
    up: list[tuple[str, float]] = []
    for k, v in medians([b.get("lab up steps", {}) for b in bds]).items():
        name = f"{k.removesuffix('_ready')} ready, s after the wait began"
        up.append((name if k.endswith("_ready") else f"step: {k}", v))
    timeline = medians([b.get("lab up timeline", {}) for b in bds])
    up += sorted(timeline.items(), key=lambda kv: kv[1])
    quick = medians([b.get("checks", {}) for b in bds])
    tables = [
        (
            f"{label}: inside `lab up` (s after its bring-up began; median of {len(runs)})"
            + ("" if timeline else " (no timeline: this code's `lab up` writes no timeline.json)"),
            up,
        ),
        (f"{label}: each check of `check --quick` (s)", list(quick.items())),
    ]
    full = medians([r.get("full check breakdown", {}) for r in runs])
    if full:
        tables.append((f"{label}: each check of the full `check` (s)", list(full.items())))
    return [(heading, _timeline(items)) for heading, items in tables]


def run_lines(label: str, runs: list[dict[str, Any]]) -> list[str]:
    """Each run's context (flow, timers, routing, green), its memory and its messages."""
    out: list[str] = []
    for i, r in enumerate(runs):
        out.append(
            f"{label} run {i + 1}: flow {r.get('flow')}, timers {r.get('timers')}, "
            f"routing {r.get('routing')}, green {r.get('green')}"
        )
        mem = r.get("memory", {})
        if mem:
            out.append("  memory by kind: " + ", ".join(f"{k} {v:.0f} MiB" for k, v in mem.items()))
        for k, v in r.items():
            if isinstance(v, str) and k not in ("flow", "timers", "routing"):
                out.append(f"  {k}: {v}")
    return out


def show(results: dict[str, list[dict[str, Any]]], console: Console | None = None) -> None:
    """The summary, then per stack what went into it."""
    console = console or _console()
    console.print()
    console.print(summary_table(results))
    for label, runs in results.items():
        for heading, t in breakdown_tables(label, runs):
            console.print()
            console.print(heading, markup=False)
            console.print(t)
        console.print()
        for line in run_lines(label, runs):
            console.print(line, markup=False)


# ================================================================= scale
def fit(xs: list[float], ys: list[float]) -> tuple[float, float, float] | None:
    """Least squares y = a + b x: (a, b, r^2); None with fewer than 2 sizes."""
    if len(set(xs)) < 2:
        return None
    b, a = statistics.linear_regression(xs, ys)
    r2 = statistics.correlation(xs, ys) ** 2 if len(set(ys)) > 1 else 1.0
    return a, b, r2


def scale_value(r: dict[str, Any], key: str) -> float | None:
    if key in r.get("size", {}):
        return float(r["size"][key])
    v = r.get("memory", {}).get("total") if key == "memory" else r.get(key)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def scale_table(points: list[tuple[int, dict[str, Any]]]) -> Table:
    t = Table(
        title="scale: the bench topology (40 VPCs, 30 behind a TGW with ECMP) by datacenters",
        title_justify="left",
    )
    t.add_column("DCs", justify="right")
    for _k, label, unit in SCALE_COLUMNS:
        t.add_column(f"{label} {unit}".strip(), justify="right")
    t.add_column("green")
    for n, r in points:
        if "failed" in r:
            t.add_row(str(n), Text(f"failed: {r['failed']}"), *[""] * len(SCALE_COLUMNS))
            continue
        cells = [(scale_value(r, k), 1 if u else 0) for k, _l, u in SCALE_COLUMNS]
        t.add_row(
            str(n),
            *("n/a" if c is None else f"{c:.{d}f}" for c, d in cells),
            str(r.get("green")),
        )
    return t


def growth_table(points: list[tuple[int, dict[str, Any]]]) -> Table | None:
    """Each figure's growth per tunnel over the sizes that worked (a + b x tunnels)."""
    ok = [r for _n, r in points if "failed" not in r]
    xs = [scale_value(r, "tunnels") for r in ok]
    t = Table(
        title="growth per tunnel (least squares over the sizes that worked: a + b x tunnels)",
        title_justify="left",
    )
    for col in ("figure", "a", "b per tunnel", "r^2"):
        t.add_column(col, justify="left" if col == "figure" else "right")
    for key, _label, unit in SCALE_COLUMNS[1:]:
        pairs = [(x, scale_value(r, key)) for x, r in zip(xs, ok, strict=True)]
        pts = [(x, y) for x, y in pairs if x is not None and y is not None]
        f = fit([x for x, _y in pts], [y for _x, y in pts])
        if f is not None:
            a, b, r2 = f
            name = {"memory": "memory PSS"}.get(key, key)
            t.add_row(name, f"{a:.2f} {unit}".strip(), f"{b:.3f} {unit}".strip(), f"{r2:.3f}")
    return t if t.row_count else None


def scale_lines(points: list[tuple[int, dict[str, Any]]]) -> list[str]:
    """Per size that worked, `lab up`'s steps and PSS per process; the largest that
    worked, and where the sweep stopped."""
    ok = [(n, r) for n, r in points if "failed" not in r]
    out: list[str] = []
    for n, r in ok:
        steps = r.get("breakdown", {}).get("lab up steps", {})
        out.append(
            f"{n} DCs, lab up (s after its bring-up began): "
            + ", ".join(f"{k.removesuffix('_ready')} {v}" for k, v in steps.items())
        )
        each = r.get("memory per process", {})
        per = ", ".join(f"{k} {v}" for k, v in each.items())
        out.append(f"{n} DCs, PSS per process (MiB): {per}")
    if ok:
        n, r = ok[-1]
        out.append(
            f"largest size that worked: {n} datacenters, "
            f"{r.get('size', {}).get('tunnels')} tunnels (green {r.get('green')})"
        )
    failed = [(n, r) for n, r in points if "failed" in r]
    if failed:
        out.append(f"stopped at {failed[0][0]} datacenters: {failed[0][1]['failed']}")
    return out


def show_scale(points: list[tuple[int, dict[str, Any]]], console: Console | None = None) -> None:
    """The sweep's table, what each size's lab was made of, and the growth per tunnel."""
    console = console or _console()
    console.print()
    console.print(scale_table(points))
    for line in scale_lines(points):
        console.print(line, markup=False)
    growth = growth_table(points)
    if growth is not None:
        console.print(growth)
