"""`crossnet diff` computed: the proposed plan against the last applied one (pure, except
rendering the router configs).

`diff_snapshots` compares two plan snapshots into a `DiffReport`: the
address-plan changes and resource changes (`network.review.changes`) and what
they mean for the routers (`network.review.impacts`). `router_config_diffs`
adds a unified diff of every affected router's rendered config, keys redacted
(needs the applied stack outputs and `network.render`). Presenting a report is
`network.review.diff`'s job; `rollout` reuses this module.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from network.contract import CONTRACT_VERSION, connection_record, parse_outputs, router_records
from network.errors import CrossnetError
from network.naming import tunnel_id
from network.plan import Plan
from network.review.baseline import EMPTY_SNAPSHOT, applied_connections
from network.review.changes import FactChange, ResourceChange, address_changes, resource_changes
from network.review.impacts import Impact, impacts
from network.review.replacements import CHECKED_UPSTREAM

# A syntactically valid stand-in for every key: configs are rendered redacted anyway.
_DUMMY_PSK = "RedactedKeyNeverUsed"
# What a tunnel's AWS outside address reads as before AWS has assigned it.
PLACEHOLDER_NOTE = (
    "0.0.0.N stands for an AWS outside address that exists only after the "
    "apply; REDACTED stands for every pre-shared key"
)


# ------------------------------------------------------------------ the report
@dataclass(frozen=True)
class DiffReport:
    """Everything `crossnet diff` found; `changed` decides its exit status."""

    stack: str
    baseline: str
    facts: list[FactChange]
    resources: list[ResourceChange]
    impacts: list[Impact]
    router_diffs: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    upstream: str | None = CHECKED_UPSTREAM  # the provider the replace rules were read for
    caveats: list[str] = field(default_factory=list)  # what this baseline cannot show
    # what the proposed plan's choices trade (network.plan.advice), one line each
    advice: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.facts or self.resources)

    @property
    def routers(self) -> list[str]:
        return sorted({r for i in self.impacts for r in i.routers})


def diff_snapshots(
    old: Mapping[str, Any] | None,
    new: Mapping[str, Any],
    baseline: str,
    outputs: Mapping[str, Any] | None = None,
    upstream: str | None = CHECKED_UPSTREAM,
    caveats: Iterable[str] = (),
) -> DiffReport:
    """Compare two plan snapshots (None: nothing applied yet). Pure.

    `upstream`: the terraform-provider-aws the replace rules apply to (see
    `replacements.provider_upstream`; None: older or unknown, read the
    replacing way).
    """
    before = old if old is not None else {**EMPTY_SNAPSHOT, "stack": new["stack"]}
    changes = resource_changes(before, new, upstream)
    return DiffReport(
        str(new["stack"]),
        baseline,
        address_changes(before, new),
        changes,
        impacts(before, new, changes, outputs, upstream),
        upstream=upstream,
        caveats=list(caveats),
    )


def renewed_connections(report: DiffReport) -> set[str]:
    """Connections that are new or replaced: their AWS values are not known yet.

    A replacement the safe order avoids (inside CIDRs changed one tunnel at a
    time in place) keeps its outside addresses, so it is not renewed; nor is a
    connection whose inside CIDRs the provider changes in place.
    """
    return {
        i.subject
        for i in report.impacts
        if i.kind == "add" or (i.kind == "replace-vpn" and not i.avoidable)
    }


# ------------------------------------------------------------------ router configs
def _masked(outputs: Mapping[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(dict(outputs))
    keys = out.get("presharedKeys")
    if isinstance(keys, Mapping):
        out["presharedKeys"] = {k: _DUMMY_PSK for k in keys}
    return out


def proposed_outputs(
    plan: Plan, applied: Mapping[str, Any] | None, renewed: Iterable[str] = ()
) -> dict[str, Any]:
    """Stack outputs as the proposed plan would produce them, keys masked.

    Connections that stay keep AWS's values from the applied outputs; new or
    replaced ones get placeholder outside addresses (0.0.0.N), which AWS only
    assigns at the apply.
    """
    recs = applied_connections(applied)
    fresh = set(renewed)
    records: dict[str, dict[str, Any]] = {}
    k = 0
    for c in plan.connections:
        rec = recs.get(c.name) if c.name not in fresh else None
        tun = {int(t.get("number", 0)): t for t in (rec or {}).get("tunnels") or []}
        values: dict[str, Any] = {
            "id": (rec or {}).get("vpnConnectionId", "(created at apply)"),
            "customerGatewayId": (rec or {}).get("customerGatewayId", "(created at apply)"),
            "gatewayId": ((rec or {}).get("gateway") or {}).get("id", "(at apply)"),
        }
        for t in c.tunnels:
            n = t.number
            k += 1
            values.update(
                {
                    f"tunnel{n}Address": tun.get(n, {}).get("awsOutsideIp", f"0.0.0.{k}"),
                    f"tunnel{n}InsideCidr": str(t.inside_cidr),
                    f"tunnel{n}VgwInsideAddress": str(t.aws_inside),
                    f"tunnel{n}CgwInsideAddress": str(t.customer_inside),
                    f"tunnel{n}BgpAsn": str(c.aws_asn),
                    f"tunnel{n}BgpHoldtime": tun.get(n, {}).get("bgpHoldTime", 30),
                }
            )
        records[c.name] = connection_record(c, values)
    return {
        "crossnet": {"contractVersion": CONTRACT_VERSION, "stack": plan.stack},
        "datacenters": {},
        "vpcs": {},
        "gateways": {},
        "peerings": {},
        "routers": router_records(plan, records),
        "presharedKeys": {
            tunnel_id(c.name, t.number): _DUMMY_PSK for c in plan.connections for t in c.tunnels
        },
    }


def router_config_diffs(
    applied: Mapping[str, Any] | None,
    plan: Plan,
    routers: Iterable[str],
    renewed: Iterable[str] = (),
) -> tuple[dict[str, str], list[str]]:
    """Unified diffs of each router's rendered config (keys redacted), and notes."""
    try:
        from network.render import render_router
    except ImportError:
        return {}, ["router config diffs need network.render, which is not installed here"]
    notes: list[str] = []
    old_routers: dict[str, Any] = {}
    if applied is None:
        notes.append("no applied stack outputs: every router config is shown as new")
    else:
        try:
            old_routers = parse_outputs(_masked(applied), "applied outputs").routers
        except CrossnetError as e:
            notes.append(f"the applied outputs do not parse ({e}): configs shown as new")
    try:
        new_routers = parse_outputs(
            proposed_outputs(plan, applied, renewed), "proposed outputs"
        ).routers
    except CrossnetError as e:
        return {}, [*notes, f"cannot build the proposed outputs: {e}"]
    diffs: dict[str, str] = {}
    for key in sorted(set(routers)):
        try:
            before = render_router(old_routers[key], redact=True) if key in old_routers else {}
            after = render_router(new_routers[key], redact=True) if key in new_routers else {}
        except Exception as e:  # the renderer is another module's: report, do not crash
            notes.append(f"router {key}: not rendered ({type(e).__name__}: {e})")
            continue
        text: list[str] = []
        for fname in sorted(set(before) | set(after)):
            text += difflib.unified_diff(
                before.get(fname, "").splitlines(keepends=True),
                after.get(fname, "").splitlines(keepends=True),
                fromfile=f"applied/{key}/{fname}",
                tofile=f"proposed/{key}/{fname}",
            )
        if text:
            diffs[key] = "".join(t if t.endswith("\n") else t + "\n" for t in text)
    return diffs, notes
