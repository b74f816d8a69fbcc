"""A VPC host's security groups as nftables rules (pure).

AWS security groups are stateful allow-lists: inbound traffic is admitted when
some rule matches its source, protocol and port, replies to admitted traffic
always pass, and everything else is dropped silently (counted: all drops in the
counter `dropped`, per IPv4 source in the set `dropped_from`). Outbound is open. The
rules come from the same plan the Pulumi program builds its security groups
from (`VpcSpec.ingress`), restricted to the tier the host lives in.
"""

from __future__ import annotations

from network.lab.topology import Host
from network.model import IngressRule

TABLE = "crossnet_sg"


def ruleset(host: Host) -> str:
    lines = [
        f"table inet {TABLE}",
        f"delete table inet {TABLE}",
        f"table inet {TABLE} {{",
        "    counter admitted {}",
        "    counter dropped {}",
        # The drops per source address: a probe from one source is seen as dropped
        # whatever other sources are dropped meanwhile.
        "    set dropped_from { type ipv4_addr; size 65535; flags dynamic; counter; }",
        "    chain input {",
        "        type filter hook input priority filter; policy drop;",
        "        iif lo accept",
        "        ct state established,related accept",
        "        ct state invalid drop",
    ]
    for i, rule in enumerate(host.ingress):
        lines.append(f"        # {host.name} ingress rule for tier {host.tier} (#{i})")
        lines += [f"        {line} counter name admitted accept" for line in _rule(rule)]
    lines += [
        "        meta nfproto ipv4 update @dropped_from { ip saddr }",
        "        counter name dropped drop",
        "    }",
        "}",
        "",
    ]
    return "\n".join(lines)


def _rule(rule: IngressRule) -> list[str]:
    sources = "{ " + ", ".join(str(s) for s in rule.sources) + " }"
    out = []
    if rule.icmp:
        out.append(f"ip saddr {sources} meta l4proto icmp")
    for proto, ranges in (("tcp", rule.tcp), ("udp", rule.udp)):
        if ranges:
            ports = "{ " + ", ".join(str(r) for r in ranges) + " }"
            out.append(f"ip saddr {sources} {proto} dport {ports}")
    return out
