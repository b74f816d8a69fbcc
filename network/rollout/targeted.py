"""A targeted step on the lab (`pulumi up --target <urn of R-cgw> --target-dependents`).

The step's offline apply changes only the targeted resources; the rest keeps its state.
The outputs' router records take a router's ASN from the datacenter's config, which a
targeted step has already changed for every router of the datacenter; a router whose
customer gateway was not targeted still peers with AWS under the AS its gateway holds.
So the lab reads each router's ASN (and its tunnels' customer ASN) from the customer
gateway the state holds for it: each router is rendered as AWS sees it after the step.
"""

from __future__ import annotations

import copy
from typing import Any

from network.offline.stack_state import StackState, load_state, state_path
from network.state import state_dir

CGW = "aws:ec2/customerGateway:CustomerGateway"


def cgw_asns(state: StackState | None) -> dict[str, int]:
    """Each customer gateway's ID -> the ASN it holds (bgpAsn, or bgpAsnExtended)."""
    out: dict[str, int] = {}
    for r in state.resources if state else []:
        if r.type == CGW:
            asn = r.inputs.get("bgpAsn") or r.inputs.get("bgpAsnExtended")
            if asn not in (None, ""):
                out[r.id] = int(str(asn))
    return out


def as_gateways_hold(outputs: dict[str, Any], asns: dict[str, int]) -> dict[str, Any]:
    """The outputs with each router's ASN as its customer gateways hold it (a router whose
    connections' gateways agree on one ASN); everything else as it is."""
    out = copy.deepcopy(outputs)
    for record in (out.get("routers") or {}).values():
        conns = record.get("connections") or []
        held = {asns.get(str(c.get("customerGatewayId"))) for c in conns}
        if any(c.get("routing") != "bgp" for c in conns) or len(held) != 1 or None in held:
            continue
        [asn] = held
        record["asn"] = asn
        for c in conns:
            for t in c.get("tunnels") or []:
                t["customerAsn"] = asn
    return out


def targeted_urns(stack: str, names: tuple[str, ...]) -> list[str]:
    """The URNs of the named resources, as the stack's state records them (a name the state
    does not hold is passed on as it is: the apply refuses it, naming it)."""
    state = load_state(state_path(state_dir(stack, create=False)), stack)
    by_name = {r.name: r.urn for r in (state.resources if state else [])}
    return [by_name.get(n, n) for n in names]


def held_asns(stack: str) -> dict[str, int]:
    return cgw_asns(load_state(state_path(state_dir(stack, create=False)), stack))
