"""The address plan (pure): `build_plan` validates the stack config and
allocates every address; the Pulumi components take the `Plan` it returns.

One module per concept over a shared `Problems`: `types` (what a plan holds),
`vpcs` (subnets), `checks` (whole-network rules), `connections` (tunnels and
their inside CIDRs), `transit` (TGW route tables), `routes` (VPC routes),
`resources` (the resource names a plan implies) and `warnings`; `build` runs
them in order.
"""

from network.plan.build import build_plan
from network.plan.resources import (
    PlannedResource,
    customer_gateway_name,
    customer_ip,
    planned_resources,
)
from network.plan.types import (
    ConnectionPlan,
    Plan,
    SpecIndex,
    SubnetPlan,
    TransitPlan,
    TunnelPlan,
    VpcPlan,
    VpcRoute,
)

__all__ = [
    "ConnectionPlan",
    "Plan",
    "PlannedResource",
    "SpecIndex",
    "SubnetPlan",
    "TransitPlan",
    "TunnelPlan",
    "VpcPlan",
    "VpcRoute",
    "build_plan",
    "customer_gateway_name",
    "customer_ip",
    "planned_resources",
]
