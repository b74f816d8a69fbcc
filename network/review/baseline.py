"""The two sides of `crossnet diff`: the applied plan snapshot and stack outputs, as read
from files (the proposed side is built from the stack file).

A baseline is a plan snapshot (`network.review.snapshot`): an offline apply's
`applied.json` (key `"plan"`), a snapshot alone, or the `crossnetPlan` a real
stack exports among its outputs (docs/contract.md). Everything here raises
`ConfigError` on a file that is there but unreadable.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from network.errors import ConfigError, Problem
from network.review.snapshot import SNAPSHOT_VERSION

EMPTY_SNAPSHOT: dict[str, Any] = {
    "snapshotVersion": SNAPSHOT_VERSION,
    "stack": "",
    "defaultRegion": "",
    "addressSpace": {"aws": [], "datacenters": []},
    "vpcs": {},
    "datacenters": {},
    "vpnGateways": {},
    "transitGateways": {},
    "connections": {},
    "peerings": {},
    "vpcRoutes": {},
    "vgwPropagation": {},
}

# The stack output a crossnet program exports its plan snapshot as
# (`pulumi stack output crossnetPlan`); see docs/contract.md.
PLAN_OUTPUT = "crossnetPlan"
# What a baseline read from stack outputs cannot show.
OUTPUTS_CAVEAT = (
    "Baseline: the plan snapshot the stack exported ({where}). The resources are inferred "
    "from the two plans with crossnet's own model, not read from the stack's state: drift, "
    "changes made outside crossnet, and what the provider computes at plan time show only in "
    "`pulumi preview`; run it before `pulumi up`."
)


def check_snapshot(snap: Any, source: str, field: str) -> dict[str, Any]:
    """A plan snapshot as read from a file, checked. Raises ConfigError."""
    if not isinstance(snap, dict):
        raise ConfigError(source, [Problem(field, "missing", "no plan snapshot")])
    if snap.get("snapshotVersion") != SNAPSHOT_VERSION:
        raise ConfigError(
            source,
            [
                Problem(
                    f"{field}.snapshotVersion",
                    str(snap.get("snapshotVersion")),
                    f"this crossnet reads version {SNAPSHOT_VERSION}",
                )
            ],
        )
    missing = [k for k in EMPTY_SNAPSHOT if k not in snap]
    if missing:
        raise ConfigError(
            source, [Problem(f"{field}.{k}", "missing", "part of a plan snapshot") for k in missing]
        )
    return snap


def load_applied(path: Path) -> dict[str, Any] | None:
    """The plan snapshot of the last apply, or None when nothing was applied yet.

    The file is an offline apply's applied.json (the snapshot under "plan"), or a
    snapshot alone, as `pulumi stack output crossnetPlan --json` prints it.
    """
    source = str(path)
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(source, [Problem("(file)", "not JSON", str(e))]) from None
    if isinstance(data, dict) and "snapshotVersion" in data:
        return check_snapshot(data, source, "(snapshot)")
    snap = data.get("plan") if isinstance(data, dict) else None
    if not isinstance(snap, dict):
        raise ConfigError(
            source,
            [
                Problem(
                    "plan",
                    "missing",
                    "the last apply recorded no plan snapshot (an older crossnet?): "
                    "run the apply again, or pass --applied FILE",
                )
            ],
        )
    return check_snapshot(snap, source, "plan")


def load_outputs_raw(path: Path, strict: bool = False) -> dict[str, Any] | None:
    """The applied stack outputs as raw JSON (keys included: never printed), or None.

    `strict` (a file the user named): unreadable JSON is an error, not "none".
    """
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        if strict:
            raise ConfigError(str(path), [Problem("(file)", "not JSON", str(e))]) from None
        return None
    if not isinstance(data, dict):
        if strict:
            raise ConfigError(
                str(path),
                [
                    Problem(
                        "(file)",
                        type(data).__name__,
                        "stack outputs are one JSON object "
                        "(pulumi stack output --json --show-secrets)",
                    )
                ],
            )
        return None
    return data


def outputs_plan(outputs: Mapping[str, Any] | None, source: str) -> dict[str, Any] | None:
    """The plan snapshot a stack exported (`crossnetPlan`), checked; None when it has none."""
    if not outputs or PLAN_OUTPUT not in outputs:
        return None
    return check_snapshot(outputs[PLAN_OUTPUT], source, PLAN_OUTPUT)


def applied_connections(outputs: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Connection name -> its record in the applied outputs (IDs, outside addresses)."""
    out: dict[str, dict[str, Any]] = {}
    routers = (outputs or {}).get("routers")
    for r in routers.values() if isinstance(routers, Mapping) else []:
        for c in r.get("connections") or [] if isinstance(r, Mapping) else []:
            if isinstance(c, Mapping) and "name" in c:
                out[str(c["name"])] = dict(c)
    return out


def output_id(outputs: Mapping[str, Any] | None, section: str, name: str, default: str) -> str:
    """The AWS ID of `section`/`name` in the applied outputs, or `default`."""
    rec = ((outputs or {}).get(section) or {}).get(name)
    return str(rec["id"]) if isinstance(rec, Mapping) and rec.get("id") else default
