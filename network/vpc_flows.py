"""The datacenter flows a VPC tier admits (pure): one source for the security
groups, the emulator check and the lab's nftables rules."""

from __future__ import annotations

from network.model import IngressRule


def planned_flows(rules: tuple[IngressRule, ...], tier: str) -> list[tuple[str, str, int, int]]:
    """(source CIDR, protocol, first port, last port) for every flow a tier admits.

    ICMP is every type and code, written as ports -1/-1 the way EC2 does.
    """
    flows: set[tuple[str, str, int, int]] = set()
    for rule in rules:
        if tier not in rule.tiers:
            continue
        for src in rule.sources:
            if rule.icmp:
                flows.add((str(src), "icmp", -1, -1))
            for proto, ports in (("tcp", rule.tcp), ("udp", rule.udp)):
                for pr in ports:
                    flows.add((str(src), proto, pr.first, pr.last))
    return sorted(flows)
