"""A large, valid stack config for benchmarks (pure): 40 VPCs over two regions,
a transit gateway hub, 6 datacenters with 2 routers each on BGP, and peering."""

from __future__ import annotations

from typing import Any


def large_config(vpcs: int = 40, datacenters: int = 6, routers: int = 2) -> dict[str, Any]:
    """The config mapping of a large stack (as read from a stack file)."""
    east = (vpcs * 3) // 4
    vpc_cfg: dict[str, Any] = {}
    attachments: dict[str, Any] = {}
    peerings: dict[str, Any] = {}
    dc_prefixes = [f"10.{128 + i}.0.0/16" for i in range(datacenters)]
    for i in range(vpcs):
        region = "us-east-1" if i < east else "us-west-2"
        name = f"vpc{i:02d}"
        vpc_cfg[name] = {
            "region": region,
            "cidr": f"10.{i}.0.0/16",
            "azs": [f"{region}a", f"{region}b", f"{region}c"],
            "tiers": {
                "private": {"prefixLength": 20},
                "data": {"prefixLength": 22},
                "transit": {"prefixLength": 28},
            },
            "ingress": [
                {"from": dc_prefixes[:3], "tiers": ["private"], "icmp": True, "tcp": [22, 443]},
                {"from": [dc_prefixes[i % datacenters]], "tiers": ["data"], "tcp": [5432]},
            ],
        }
        if region == "us-east-1":
            attachments[name] = {"tier": "transit"}
        else:
            peerings[f"p{i:02d}"] = {"requester": "vpc00", "accepter": name}
    dcs = {
        f"dc{d}": {
            "asn": 65100 + d,
            "prefixes": [dc_prefixes[d]],
            "routers": {
                f"edge{r}": {
                    "publicIp": f"192.0.2.{10 + d * 10 + r}",
                    "platform": ("linux", "iosxe", "junos", "vyos")[r % 4],
                }
                for r in range(routers)
            },
        }
        for d in range(datacenters)
    }
    conns = {
        f"dc{d}-edge{r}-hub": {
            "router": f"dc{d}/edge{r}",
            "gateway": "hub",
            "routing": "bgp",
            "tunnelOptions": {
                "dpd": {"timeoutSeconds": 30, "action": "restart"},
                "startupAction": "start",
            },
        }
        for d in range(datacenters)
        for r in range(routers)
    }
    return {
        "aws:region": "us-east-1",
        "crossnet:network": {
            "vpcs": vpc_cfg,
            "datacenters": dcs,
            "transitGateways": {"hub": {"asn": 64600, "ecmp": True, "attachments": attachments}},
            "connections": conns,
            "peerings": peerings,
        },
    }
