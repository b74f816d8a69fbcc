"""The datacenter routers rendered for a step's stack file before its AWS apply.

A step whose routers go first (`dc.when = before-aws`: a withdrawn datacenter
prefix leaves the routers before AWS stops admitting it; a VPC's prefix accepted
before the transit gateway sends it) needs the routers' new config while the
stack outputs are still the old ones. AWS assigns nothing in such a step (no new
connection, no new key), so the new router records are what the step's plan
gives over the current outputs (`network.review.compare.proposed_outputs`, which
keeps every standing connection's AWS values), with the real keys of the current
outputs put back. After the apply the routers render the same from the new
outputs, so the step's routers phase then changes nothing.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from network.contract import Router, parse_outputs
from network.lab.system import LabError
from network.lab.topology import LAB_PLATFORM
from network.plan import build_plan
from network.review.baseline import load_outputs_raw
from network.review.compare import proposed_outputs
from network.stack_file import read_stack_config
from network.state import outputs_path


def proposed_routers(stack: str, config: Path) -> dict[str, Router]:
    """Each router as the plan of `config` makes it over the current outputs, with the
    current outputs' keys (as the lab runs it: rendered as linux). LabError when the
    step needs a value only its apply assigns (a new tunnel's key)."""
    raw = load_outputs_raw(outputs_path(stack), strict=True)
    if raw is None:
        raise LabError(f"{outputs_path(stack)} is missing: no applied state to render from")
    plan = build_plan(read_stack_config(stack, config), stack)
    proposed = proposed_outputs(plan, raw)
    keys: dict[str, Any] = dict(raw.get("presharedKeys") or {})
    missing = sorted(k for k in proposed["presharedKeys"] if k not in keys)
    if missing:
        raise LabError(
            f"{config}: the routers cannot go before the AWS apply, tunnels "
            f"{', '.join(missing)} get their keys from it"
        )
    proposed["presharedKeys"] = {k: keys[k] for k in proposed["presharedKeys"]}
    routers = parse_outputs(proposed, f"{config} over {outputs_path(stack)}").routers
    return {k: replace(r, platform=LAB_PLATFORM) for k, r in routers.items()}
