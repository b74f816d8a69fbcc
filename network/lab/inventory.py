"""The suite's inventory of a running lab: the same shape as a real hosts' file.

`lab up` writes it to `<lab>/inventory.yaml`; the reachability suite reads it
(or `inventory()` directly) and reaches every target as
`netns://<namespace>`, with the commands that talk to the lab's own daemons.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from network.lab.runtime import Running, frr_instance
from network.lab.topology import TunnelEnd
from network.state import lab_dir


def inventory(rt: Running) -> dict[str, Any]:
    """The suite's inventory for this lab: the same shape as a real hosts' file."""
    lab = rt.lab

    def swanctl(e: TunnelEnd) -> dict[str, str]:
        # swanctl takes --uri after the command word: the suite appends it.
        return {
            "interface": e.ifname,
            "swanctl": f"env STRONGSWAN_CONF={rt.swanctl_conf(e)} swanctl",
            "uri": f"unix://{rt.vici_socket(e)}",
        }

    return {
        "stack": lab.stack,
        "kind": "lab",
        "timers": rt.state.timers,
        "datacenter_hosts": {
            h.name: {
                "target": f"netns://{h.ns}",
                "address": h.address,
                "unplanned_source": h.unplanned_source,
                "listen_port": h.tcp_ports[0],
            }
            for h in lab.dc_hosts()
        },
        "vpc_hosts": {
            h.name: {
                "target": f"netns://{h.ns}",
                "address": h.address,
                "tier": h.tier,
                "listeners": "lab",
            }
            for h in lab.vpc_hosts()
        },
        "routers": {
            r.key: {
                "target": f"netns://{r.ns}",
                "vtysh": f"vtysh --vty_socket {rt.frr_dir(frr_instance(r.key))}",
                "tunnels": {
                    e.tunnel: swanctl(e) for e in lab.ends if e.side == "dc" and e.router_ns == r.ns
                },
            }
            for r in lab.routers
        },
        "aws": {
            g.name: {
                "target": f"netns://{g.ns}",
                "vtysh": f"vtysh --vty_socket {rt.frr_dir(rt.gateway_instance(g))}",
                "tunnels": {
                    e.tunnel: swanctl(e)
                    for e in lab.ends
                    if e.side == "aws" and e.router_ns == g.ns
                },
            }
            for g in lab.gateways
        },
    }


def inventory_path(stack: str) -> Path:
    return lab_dir(stack) / "inventory.yaml"


def write_inventory(rt: Running) -> Path:
    path = inventory_path(rt.stack)
    text = (
        "# crossnet reachability inventory, written by `crossnet lab up` "
        "(targets are network namespaces)\n" + yaml.safe_dump(inventory(rt), sort_keys=False)
    )
    path.write_text(text)
    return path
