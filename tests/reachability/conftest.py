"""The reachability suite: stack outputs + an inventory in, testinfra checks out.

Two ways to run it:

- against the local lab (the default): `pytest tests/reachability -m lab`
  uses the running lab of `--crossnet-stack` (default dev), or brings one up
  for the session and takes it down again. It needs root, strongSwan and FRR,
  and skips with the reason when they are missing;
- against real hosts: `--crossnet-inventory inventory/prod.yaml` (SSH
  targets). Tests that break things on purpose (failover, leaked prefixes) or
  read the AWS side run only in the lab and are skipped there, saying so.

Tests are parametrized at collection time from the stack's plan (so the ids
are known before anything runs): datacenter -> VPC pairs, tunnels, routers.
Each test of a pair records it, for `crossnet check`'s matrix.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from network.contract import load_outputs
from network.lab.suite import MEASURES, PREFETCH, READS, Background, Env
from network.lab.topology import planned_pairs
from network.plan import Plan, build_plan
from network.stack_file import read_stack_config
from network.state import outputs_path

HERE = Path(__file__).resolve().parent


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("crossnet reachability")
    g.addoption(
        "--crossnet-stack",
        default=os.environ.get("CROSSNET_STACK", "dev"),
        help="stack whose outputs and plan drive the suite (default dev)",
    )
    g.addoption(
        "--crossnet-inventory",
        default=None,
        help="inventory of real hosts (SSH); default: the local lab",
    )
    g.addoption(
        "--crossnet-outputs",
        default=None,
        help="stack outputs file (default: .crossnet/<stack>/outputs.json)",
    )
    g.addoption(
        "--crossnet-keep-lab",
        action="store_true",
        help="leave a lab the suite brought up running afterwards",
    )
    g.addoption(
        "--crossnet-no-lab-up",
        action="store_true",
        help="fail instead of bringing the lab up when it is not running",
    )


# Modules that run first, each whole and its tests in order, the rest as collected: the
# control plane's BGP-only changes (the rogue prefixes) then overlap the start of AWS's
# view (the emulator) and the hosts' probes, which AWS's view's tunnel taken down (a
# change of everything) waits for.
FIRST = ("test_reach_control_plane.py",)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=lambda i: Path(str(i.fspath)).name not in FIRST)  # stable: order kept
    for item in items:
        # What needs the lab (or real hosts) is what uses `env`; pure tests do not.
        if HERE in Path(str(item.fspath)).parents and "env" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.lab)


# ---------------------------------------------------------------- collection
_plans: dict[str, Plan] = {}


def stack_plan(config: pytest.Config) -> Plan:
    stack = config.getoption("--crossnet-stack")
    if stack not in _plans:
        _plans[stack] = build_plan(read_stack_config(stack), stack)
    return _plans[stack]


def _inventory_file(config: pytest.Config) -> dict[str, Any] | None:
    path = config.getoption("--crossnet-inventory")
    return yaml.safe_load(Path(path).read_text()) if path else None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    names = set(metafunc.fixturenames) & {"pair", "tunnel", "router_key", "gateway_name"}
    if not names:
        return
    plan = stack_plan(metafunc.config)
    inv = _inventory_file(metafunc.config)
    if "pair" in names:
        pairs = planned_pairs(plan)
        if inv is not None:
            pairs = [
                (d, v)
                for d, v in pairs
                if d in inv.get("datacenter_hosts", {}) and v in inv.get("vpc_hosts", {})
            ]
        metafunc.parametrize("pair", pairs, ids=[f"{d}->{v}" for d, v in pairs])
    if "tunnel" in names:
        tunnels = [f"{c.name}/{t.number}" for c in plan.connections for t in c.tunnels]
        metafunc.parametrize("tunnel", tunnels)
    if "router_key" in names:
        keys = sorted({c.router.key for c in plan.connections})
        metafunc.parametrize("router_key", keys)
    if "gateway_name" in names:
        gws = sorted({c.spec.gateway for c in plan.connections})
        metafunc.parametrize("gateway_name", gws)


def _reason_lab_cannot_run() -> str | None:
    from network.lab.system import missing_requirements

    missing = missing_requirements()
    return "; ".join(missing) if missing else None


@pytest.fixture(scope="session")
def env(request: pytest.FixtureRequest) -> Any:
    config = request.config
    stack = config.getoption("--crossnet-stack")
    plan = stack_plan(config)
    inv = _inventory_file(config)
    out_file = Path(config.getoption("--crossnet-outputs") or outputs_path(stack))
    if inv is not None:
        if not out_file.exists():
            pytest.skip(
                f"no stack outputs at {out_file}: export them with `pulumi stack "
                "output --json --show-secrets` and pass --crossnet-outputs"
            )
        yield from _with_background(request, Env(stack, plan, load_outputs(out_file), inv))
        return

    from network.lab import control
    from network.lab.inventory import inventory
    from network.lab.runtime import open_lab, read_state

    reason = _reason_lab_cannot_run()
    if reason:
        pytest.skip(f"the local lab cannot run here: {reason}")
    state = read_state(stack)
    started = False
    if state is None or not state.ready:
        if config.getoption("--crossnet-no-lab-up"):
            pytest.fail(f"the lab of stack {stack} is not up: `crossnet lab up --stack {stack}`")
        if state is not None:
            control.down(stack)
        # The lab runs the outputs of the stack's last offline apply, and AWS's view
        # offline reads that apply's state: an outputs file left by an older crossnet
        # (no state.json beside it) is applied again first.
        own = out_file == outputs_path(stack, create=False)
        if not out_file.exists() or (own and not (out_file.parent / "state.json").exists()):
            from network.offline.apply import offline_up

            offline_up(stack)
        control.up(stack, outputs=out_file)
        started = True
    rt = open_lab(stack)
    try:
        env = Env(stack, plan, load_outputs(Path(rt.state.outputs)), inventory(rt), lab=rt)
        yield from _with_background(request, env)
    finally:
        if started and not config.getoption("--crossnet-keep-lab"):
            control.down(stack)


def _with_background(request: pytest.FixtureRequest, env: Env) -> Any:
    """The session's env, with the registered read-only work started in the background
    (network.lab.suite.Background), and finished before the session ends."""
    env.background = Background(PREFETCH, READS)
    env.background.start(env, request.session)
    try:
        yield env
    finally:
        env.background.stop()


@pytest.fixture(scope="session")
def listeners(env: Env) -> Any:
    """Real VPC hosts marked `listeners: suite` get the agent's listeners for the session."""
    started = {v: env.start_listeners(v) for v in env.inventory.get("vpc_hosts", {})}
    yield started
    for vpc, pid in started.items():
        if pid:
            env.stop_listeners(vpc, pid)


# ---------------------------------------------------------------- reporting


def pytest_configure(config: pytest.Config) -> None:
    config.stash[MEASURES] = []


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    rows = config.stash.get(MEASURES, [])
    if rows:
        terminalreporter.section("crossnet measurements")
        for test, name, value, unit in rows:
            shown = f"{value:.2f}" if isinstance(value, float) else str(value)
            terminalreporter.write_line(f"{name:<28} {shown:>10} {unit:<4} {test}")
