"""`crossnet demo`: the whole story on the embedded default, one step at a time.

offline apply -> render -> lab up -> check -> lab down. Each step is the
same sub-command a user would run by hand; the lab is always taken down.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from typing import Any

from network.cli_options import add_stack

STEPS = ("up", "render", "lab up", "check", "lab down")


def register(sub: Any) -> None:
    p = sub.add_parser(
        "demo",
        help="run the whole story: up, render, lab up, check, lab down",
        description="The main job on the embedded default: offline apply, "
        "render the router configs, bring the local lab up, check "
        "reachability end to end, take the lab down.",
    )
    add_stack(p, default="dev")
    p.set_defaults(func=run)


def lab_possible() -> str | None:
    """Why the local lab cannot run here, or None."""
    if os.geteuid() != 0:
        return "the lab needs root (network namespaces)"
    for tool in ("charon", "swanctl", "vtysh", "ip", "nft"):
        if shutil.which(tool) is None and not os.path.exists(f"/usr/lib/ipsec/{tool}"):
            return f"{tool} is not installed (run scripts/setup.sh as root)"
    return None


def run(args: argparse.Namespace) -> int:
    from network.cli import main as crossnet

    stack = args.stack
    results: list[tuple[str, str, float]] = []
    reason = lab_possible()

    def step(name: str, argv: list[str]) -> bool:
        n = len(results) + 1
        print(f"\n==> [{n}/{len(STEPS)}] crossnet {' '.join(argv)}", flush=True)
        t0 = time.monotonic()
        code = crossnet(argv)
        dt = time.monotonic() - t0
        results.append((name, "ok" if code == 0 else f"FAILED (exit {code})", dt))
        return code == 0

    ok = step("up", ["up", "--stack", stack]) and step("render", ["render", "--stack", stack])
    if ok and reason is not None:
        results.append(("lab", f"NOT RUN: {reason}", 0.0))
        ok = False
    elif ok:
        try:
            ok = step("lab up", ["lab", "up", "--stack", stack]) and step(
                "check", ["check", "--stack", stack]
            )
        finally:
            down = step("lab down", ["lab", "down", "--stack", stack])
            ok = ok and down
    print(f"\n==> crossnet demo --stack {stack}: summary")
    for name, status, dt in results:
        print(f"  {name:<9} {status:<40} {dt:6.1f} s")
    total = sum(dt for *_, dt in results)
    print(f"  {'total':<9} {'ok' if ok else 'FAILED':<40} {total:6.1f} s")
    return 0 if ok else 1
