"""Rollout benchmark: per change class, the safe order and the naive one, side by side.

    sudo .venv/bin/python bench/rollout_bench.py [--mbps 16] [--mib 50]

One dev lab (a private state directory, `--timers fast`), brought up once. Per class,
the change is made twice, each time while a 20 ms ping and a paced, SHA-256-checked
TCP transfer run between the datacenter host and the VPC host (network.lab.traffic):

- safe:  `crossnet rollout --stack dev --lab` (drain, apply, routers, restore, checks);
- naive: the same kind of change applied at once (`network.rollout.execute.execute_naive`:
  the offline apply of the edited file, the lab's AWS side and the routers changed
  together, no drain, no check).

Printed per row: steps, wall time, probe loss (ms: lost pings x 20 ms), bytes lost, and
whether the transfer arrived intact. A script, not a test: exit 1 only when the lab
cannot be built. Needs root; run it under `flock /tmp/crossnet-lab.lock`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from network import cli  # noqa: E402
from network.lab import control, traffic  # noqa: E402
from network.lab.readiness import wait_ready  # noqa: E402
from network.lab.runtime import open_lab  # noqa: E402
from network.rollout.execute import execute_naive, read_progress  # noqa: E402

STACK = "dev"
NET = "crossnet:network"
Edit = Callable[[dict[str, Any]], None]


def psk(tag: str) -> Edit:
    def edit(cfg: dict[str, Any]) -> None:
        c = cfg[NET]["connections"]["dc1-edge1-app"]
        for n in (1, 2):
            c[f"tunnel{n}"] = {**c.get(f"tunnel{n}", {}), "presharedKeySecret": f"t{n}{tag}"}
            cfg[f"crossnet:t{n}{tag}"] = f"BenchKey{tag}{n}x"

    return edit


def add_vpc(name: str, cidr: str, asn: int) -> Edit:
    def edit(cfg: dict[str, Any]) -> None:
        net = cfg[NET]
        net["vpcs"][name] = {
            "cidr": cidr,
            "azs": ["us-east-1a", "us-east-1b"],
            "tiers": {"private": {"prefixLength": 20}},
            "ingress": [{"from": ["10.128.0.0/16"], "tiers": ["private"], "icmp": True}],
        }
        net["vpnGateways"][f"{name}-vgw"] = {"vpc": name, "asn": asn}
        body = json.loads(json.dumps(net["connections"]["dc1-edge1-app"]))
        body.update(gateway=f"{name}-vgw")
        for n in (1, 2):
            body.pop(f"tunnel{n}", None)
        net["connections"][f"dc1-edge1-{name}"] = body

    return edit


def customer_asn(asn: int) -> Edit:
    def edit(cfg: dict[str, Any]) -> None:
        cfg[NET]["datacenters"]["dc1"]["asn"] = asn

    return edit


def router_ip(ip: str) -> Edit:
    def edit(cfg: dict[str, Any]) -> None:
        cfg[NET]["datacenters"]["dc1"]["routers"]["edge1"]["publicIp"] = ip

    return edit


# customer-asn and router-ip on dev (a VGW, one router): AWS forces the outage, so
# the safe order states it and checks; it cannot lose less (docs/rollout.md).
CLASSES: list[tuple[str, Edit, Edit]] = [
    ("psk", psk("s"), psk("n")),
    ("vpc-add", add_vpc("web", "10.17.0.0/16", 64513), add_vpc("api", "10.18.0.0/16", 64514)),
    ("cust-asn", customer_asn(65011), customer_asn(65012)),
    ("router-ip", router_ip("192.0.2.11"), router_ip("192.0.2.12")),
]


def edit_stack(stacks: Path, edit: Edit) -> Path:
    path = stacks / f"Pulumi.{STACK}.yaml"
    doc = yaml.safe_load(path.read_text())
    edit(doc["config"])
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def quiet(_: str) -> None:
    pass


def measure(run: Callable[[], int], nbytes: int, mbps: float) -> dict[str, Any]:
    t = traffic.start(open_lab(STACK), nbytes, mbps)
    t0 = time.monotonic()
    steps = run()
    wall = time.monotonic() - t0
    m = t.finish()
    wait_ready(open_lab(STACK), 90)  # converged again before the next row
    return {"steps": steps, "wall": round(wall, 1), **m}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mbps", type=float, default=16.0, help="the transfer's pace")
    ap.add_argument("--mib", type=int, default=50, help="the transfer's size")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="crossnet-rollout-bench-"))
    os.environ["CROSSNET_STATE_DIR"] = str(tmp / "state")
    os.environ["CROSSNET_STACKS_DIR"] = str(tmp / "stacks")
    (tmp / "stacks").mkdir()
    shutil.copy(ROOT / "stacks" / f"Pulumi.{STACK}.yaml", tmp / "stacks")
    nbytes = args.mib * traffic.MIB
    rows = []
    try:
        if cli.main(["up", "--stack", STACK]) != 0:
            return 1
        control.up(STACK, timers="fast")
        for name, safe, naive in CLASSES:
            edit_stack(tmp / "stacks", safe)

            def run_safe() -> int:
                if cli.main(["rollout", "--stack", STACK, "--lab"]) != 0:
                    return -1
                p = read_progress(STACK)
                return len(p.steps) if p else 0

            rows.append((name, "safe", measure(run_safe, nbytes, args.mbps)))
            path = edit_stack(tmp / "stacks", naive)

            def run_naive(path: Path = path) -> int:
                execute_naive(STACK, path, quiet)
                return 1

            rows.append((name, "naive", measure(run_naive, nbytes, args.mbps)))
    finally:
        control.down(STACK)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nrollout bench, stack {STACK}, {args.mib} MiB at {args.mbps:g} Mbit/s, ping 20 ms")
    head = f"{'class':<10} {'order':<6} {'steps':>5} {'wall s':>7} {'probe loss ms':>13}"
    print(head + f" {'bytes lost':>10} {'intact':>6}")
    for name, order, m in rows:
        print(
            f"{name:<10} {order:<6} {m['steps']:>5} {m['wall']:>7} {m['lostMs']:>13} "
            f"{m['bytesLost']:>10} {'yes' if m['transfer'].get('ok') else 'NO':>6}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
