"""What a valid choice in the plan trades, said where the plan is reviewed (pure).

Not a warning (nothing is wrong) and not part of the plan's snapshot: `crossnet
plan` and `crossnet diff` print it, in text, Markdown and JSON.
"""

from __future__ import annotations

from network import aws_rules as aws
from network.errors import Problem
from network.plan.common import P
from network.plan.types import ConnectionPlan, Plan

# Where the bound is explained and measured.
STATIC_FAILOVER_SOURCE = "docs/lab.md, static routing's failover; AWS VPN guide, DPD timeout"
# staging's silent failover in the lab with AWS's timers (bench/lab_bench.py, docs/lab.md)
STATIC_FAILOVER_MEASURED_S = 34.3


def static_failover_bound(c: ConnectionPlan) -> int:
    """The longest silent outage of a static connection, in seconds: AWS's DPD probes
    after 10 s without traffic and declares the tunnel dead after its DPD timeout;
    only then does the return path move to the other tunnel."""
    return aws.CGW_CONFIG_DPD_INTERVAL + c.options.dpd_timeout


def static_failover(c: ConnectionPlan) -> Problem:
    bound = static_failover_bound(c)
    return Problem(
        f"{P}.connections.{c.name}.routing",
        "static",
        f"a silent failure moves traffic only when AWS's DPD declares the tunnel dead: "
        f"{aws.CGW_CONFIG_DPD_INTERVAL} s idle + {c.options.dpd_timeout} s DPD timeout, up "
        f"to ~{bound} s of outage (staging's lab: {STATIC_FAILOVER_MEASURED_S} s); BGP "
        f"bounds it by its {aws.BGP_HOLD_TIME} s hold time ({STATIC_FAILOVER_SOURCE})",
    )


def plan_advice(plan: Plan) -> list[Problem]:
    """Every piece of advice for the plan, in connection order."""
    return [static_failover(c) for c in plan.connections if c.spec.routing == "static"]


def advice_json(advice: list[Problem]) -> list[dict[str, str]]:
    return [{"field": a.field, "value": a.value, "advice": a.rule} for a in advice]
