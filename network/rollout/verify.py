"""`crossnet rollout --stack S --inventory F --verify-step N`: one step's checks on real routers.

On the real path an engineer runs each step by hand; this reads step N's checks from
the written rollout.json (`.crossnet/S/rollout/`), reads each router they name once
(network.devices.remote.read_router: its SAs, BGP neighbours and prefix counts) and
judges every check the device layer can read. A check it cannot read (a best route,
an AS path, a probe) is reported as such with the platform's command to verify it by
hand, never passed. Exit 0: every readable check holds; 1: a check failed or a router
could not be read; 2: bad input (nothing read from any router, nothing written).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from network.contract import Router, StackOutputs
from network.devices.facts import RouterFacts
from network.errors import ConfigError, Problem
from network.state import state_dir

READABLE = ("ipsec-sa", "bgp-established", "prefixes-received", "prefixes-advertised")
DRAIN_PHASES = ("after-drain", "rolling-drain:")  # hold only while the step's drain is on

# What the device layer does not read, per platform: the command that shows it.
_ROUTE = {
    "iosxe": "show ip route {p}",
    "junos": "show route {p}",
    "vyos": "show ip route {p}",
    "fortios": "get router info routing-table details {p}",
    "linux": "vtysh -c 'show ip route {p}'",
}
_ADVERTISED = {
    "iosxe": "show ip bgp neighbors {n} advertised-routes",
    "junos": "show route advertising-protocol bgp {n} detail",
    "vyos": "show ip bgp neighbors {n} advertised-routes",
    "fortios": "get router info bgp neighbors {n} advertised-routes",
    "linux": "vtysh -c 'show bgp ipv4 neighbors {n} advertised-routes'",
}


@dataclass(frozen=True)
class Result:
    check: Mapping[str, Any]
    status: str  # "pass" | "FAIL" | "by hand"
    detail: str


def load_step(stack: str, out_dir: Path | None, number: int) -> dict[str, Any]:
    """Step `number` of the written rollout.json. Raises ConfigError (exit 2)."""
    path = (out_dir or state_dir(stack, create=False) / "rollout") / "rollout.json"
    try:
        data = json.loads(path.read_text())
    except OSError:
        raise ConfigError(
            str(path),
            [Problem("rollout.json", "missing", f"run `crossnet rollout --stack {stack}` first")],
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(str(path), [Problem("(file)", "not JSON", str(e))]) from None
    steps = data.get("steps") if isinstance(data, dict) else None
    if not isinstance(steps, list):
        raise ConfigError(str(path), [Problem("steps", "missing", "a rollout holds its steps")])
    for s in steps:
        if isinstance(s, dict) and s.get("step") == number:
            return {**s, "before": _before(data, number)}
    raise ConfigError(
        str(path),
        [Problem("--verify-step", str(number), f"the rollout has steps 1..{len(steps)}")],
    )


def _before(data: Mapping[str, Any], number: int) -> str:
    """The stack file AWS held before step `number`: the previous step's, or the baseline."""
    prev = [s for s in data["steps"] if isinstance(s, dict) and s.get("step") == number - 1]
    config = (prev[0].get("aws") or {}).get("config") if prev else data.get("baselineConfig")
    return str(config or "")


def selected(step: Mapping[str, Any], when: str | None) -> list[dict[str, Any]]:
    """The step's checks of phase `when` (a prefix: `rolling-drain:` matches each tunnel's);
    by default those that hold once the step is done (not the drain's)."""
    checks = [c for c in step.get("checks", []) if isinstance(c, dict)]
    if when:
        return [c for c in checks if str(c.get("when", "")).startswith(when)]
    return [c for c in checks if not str(c.get("when", "")).startswith(DRAIN_PHASES)]


def by_hand(check: Mapping[str, Any], platform: str) -> str:
    e = check.get("expect", {})
    if check["kind"] == "route-avoids":
        cmd = "; ".join(_ROUTE[platform].format(p=p) for p in e.get("prefixes", []))
    elif check["kind"] in ("advertised-prepend", "prefixes-advertised"):
        cmd = _ADVERTISED[platform].format(n=e.get("neighbor", ""))
    else:  # a probe: from a host of the datacenter prefix
        cmd = f"ping from a host in {e.get('from')} to an address in {e.get('to')}"
    return f"not readable from {platform} over SSH: verify by hand: {cmd}"


def _outside(router: Router, tunnel: str) -> str | None:
    for c in router.connections:
        for t in c.tunnels:
            if f"{c.name}-{t.number}" == tunnel:
                return t.aws_outside_ip
    return None


def _unread(facts: RouterFacts, area: str) -> str | None:
    return next((e for e in facts.errors if e.startswith(area)), None)


def _sa(check: Mapping[str, Any], router: Router, facts: RouterFacts) -> tuple[bool, str]:
    peer = _outside(router, str(check.get("tunnel", "")))
    if peer is None:
        return False, f"tunnel {check.get('tunnel')} is not in the stack outputs"
    if err := _unread(facts, "tunnels not read"):
        return False, err
    t = facts.tunnels.get(peer)
    if t is None:
        return False, f"no SA towards {peer}"
    up = t.ike_up and t.ipsec_up
    ike, ipsec = ("up" if x else "down" for x in (t.ike_up, t.ipsec_up))
    word = "up" if up else f"not up ({t.detail or 'down'})"
    return up, f"IKE {ike}, IPsec {ipsec} towards {peer}: {word}"


def _bgp(check: Mapping[str, Any], facts: RouterFacts) -> tuple[bool | None, str]:
    e = check.get("expect", {})
    nb = str(e.get("neighbor", ""))
    if err := _unread(facts, "BGP not read"):
        return False, err
    n = facts.neighbours.get(nb)
    if n is None:
        return False, f"no BGP neighbour {nb} in the device's summary"
    if check["kind"] == "bgp-established":
        ok = n.established and (n.remote_as is None or n.remote_as == int(e.get("remoteAs", 0)))
        return ok, f"{nb} {n.state}" + (f", AS {n.remote_as}" if n.remote_as else "")
    want = len(e.get("prefixes", []))
    got = n.received if check["kind"] == "prefixes-received" else n.advertised
    if got is None:
        if not n.established:
            return False, f"{nb} {n.state}: no prefixes"
        return None, ""  # the platform gives no such count: by hand
    way = "from" if check["kind"] == "prefixes-received" else "to"
    return got == want, f"{got} prefix(es) {way} {nb}, planned {want} (a count)"


def judge(check: Mapping[str, Any], router: Router, facts: RouterFacts) -> Result:
    """One check against the router's facts."""
    if check["kind"] not in READABLE:
        return Result(check, "by hand", by_hand(check, router.platform))
    if check["kind"] == "ipsec-sa":
        ok, detail = _sa(check, router, facts)
    else:
        got, detail = _bgp(check, facts)
        if got is None:
            return Result(check, "by hand", by_hand(check, router.platform))
        ok = got
    return Result(check, "pass" if ok else "FAIL", detail)


def verify(
    checks: Iterable[Mapping[str, Any]],
    routers: Mapping[str, Router],
    read: Callable[[Router], RouterFacts],
) -> list[Result]:
    """Every check judged; each router read once (`read` raises UnreadableError)."""
    from network.devices.remote import UnreadableError

    facts: dict[str, RouterFacts | str] = {}
    out: list[Result] = []
    for c in checks:
        r = routers.get(str(c.get("router")))
        if r is None:
            out.append(Result(c, "FAIL", f"router {c.get('router')} not in the stack outputs"))
            continue
        if c["kind"] not in READABLE:
            out.append(judge(c, r, RouterFacts(r.key, r.platform)))
            continue
        if r.key not in facts:
            try:
                facts[r.key] = read(r)
            except UnreadableError as e:
                facts[r.key] = f"router not read: {e}"
        f = facts[r.key]
        out.append(Result(c, "FAIL", f) if isinstance(f, str) else judge(c, r, f))
    return out


def table(step: Mapping[str, Any], results: list[Result]) -> Any:
    from rich.table import Table

    t = Table(title=f"step {step.get('step')}: {step.get('title', '')}")
    for col in ("result", "when", "kind", "router", "tunnel", "detail"):
        t.add_column(col, overflow="fold")
    style = {"pass": "green", "FAIL": "bold red", "by hand": "yellow"}
    for r in results:
        c = r.check
        t.add_row(
            f"[{style[r.status]}]{r.status}[/]",
            str(c.get("when", "")),
            str(c["kind"]),
            str(c.get("router", "")),
            str(c.get("tunnel", "")),
            f"{c.get('text', '')}\n{r.detail}",
        )
    return t


def run_verify(args: argparse.Namespace, outputs: StackOutputs, inv: Mapping[str, Any]) -> int:
    """Read, judge, print; the exit code. Inputs already checked (exit 2 raised before)."""
    from rich.console import Console

    from network.devices.remote import read_router

    step = load_step(args.stack, args.out, args.verify_step)
    checks = selected(step, args.when)
    missing = sorted({str(c.get("router")) for c in checks} - set(inv.get("routers") or {}))
    if missing:
        raise ConfigError(
            str(args.inventory),
            [Problem(f"routers.{k}", "missing", "a check of the step reads it") for k in missing],
        )
    results = verify(checks, outputs.routers, lambda r: read_router(r, inv))
    console = Console()
    console.print(table(step, results))
    failed = [r for r in results if r.status == "FAIL"]
    hand = sum(r.status == "by hand" for r in results)
    for r in failed:
        console.print(f"FAIL {r.check['kind']} {r.check.get('tunnel', '')}: {r.detail}")
    if failed:
        before = f" (before step {step.get('step')}: {step['before']})" if step["before"] else ""
        console.print(
            f"do not start step {int(step.get('step', 0)) + 1}. To go back by hand, in reverse: "
            f"each step's previous `pulumi up --config-file`{before}, then each router's "
            "previous render"
        )
    console.print(
        f"{len(results) - len(failed) - hand} passed, {len(failed)} failed, {hand} to verify "
        "by hand"
    )
    return 1 if failed else 0


def main(args: argparse.Namespace) -> int:
    """`--verify-step N --inventory F`: bad input raises ConfigError (exit 2) before any read."""

    from network.contract import load_outputs
    from network.state import outputs_path

    if args.verify_step is None or args.inventory is None or getattr(args, "lab", False):
        raise ConfigError(
            "crossnet rollout",
            [
                Problem(
                    "--verify-step/--inventory",
                    f"{args.verify_step}/{args.inventory}",
                    "given together, without --lab: step N's checks on the inventory's routers",
                )
            ],
        )
    load_step(args.stack, args.out, args.verify_step)  # exit 2 before the other files
    from network.devices.remote import read_inventory

    inv = read_inventory(args.inventory)
    if not isinstance(inv.get("routers"), dict):
        raise ConfigError(
            str(args.inventory), [Problem("routers", "missing", "a mapping of router entries")]
        )
    outputs = load_outputs(args.outputs or outputs_path(args.stack, create=False))
    return run_verify(args, outputs, inv)
