"""AWS's own view of a stack's VPN, read back and compared with the datacenter's.

- ``facts``: typed facts (AWS's ``VgwTelemetry`` per tunnel, VPC and TGW routes; the
  datacenter router's view of each tunnel) and what the stack outputs expect;
- ``read``: the reader, over any boto3 EC2 client (the user's profile, or the offline
  emulator): read-only calls only (docs/awsview.md lists the IAM policy);
- ``compare``: pure: where AWS and the datacenter disagree, and which DC prefixes the
  route tables lack or hold from the wrong attachment;
- ``offline``: the emulator rebuilt from the stack's state, for the lab to report into.
"""

from __future__ import annotations

from network.awsview.compare import route_problems, tunnel_problems
from network.awsview.facts import (
    AwsView,
    DcTunnel,
    RouteExpectation,
    TableRoute,
    TunnelTelemetry,
    expected_routes,
)
from network.awsview.read import read_view

__all__ = [
    "AwsView",
    "DcTunnel",
    "RouteExpectation",
    "TableRoute",
    "TunnelTelemetry",
    "expected_routes",
    "read_view",
    "route_problems",
    "tunnel_problems",
]
