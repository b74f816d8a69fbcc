"""Offline AWS for crossnet: moto's EC2 backend with a realistic Site-to-Site VPN.

The package is laid out the way moto splits ``ec2/models/``, one module per concern:

- ``tunnel_options``: CreateVpnConnection's ``Options``, validated (request rules);
- ``cgw_config``: the connection's customer-gateway configuration XML;
- ``customer_gateways``, ``vpn_gateways``, ``vpn_connections``, ``transit_gateways``,
  ``route_tables``: the backend operations per AWS area;
- ``responses``: the query-API handlers (table-driven);
- ``telemetry``: AWS's view of the tunnels, driven by the lab or a test;
- ``model``: what the emulator keeps about a connection beyond moto's model;
- ``patching`` / ``install``: the patches and their installation;
- ``emulator``: :class:`AwsEmulator`, the entry point.

docs/emulator.md lists which AWS behaviours each module fills in for moto, with sources.
"""

from __future__ import annotations

# First: moto's EC2 models, read with one botocore data loader (see botodata).
from network.offline.aws import botodata  # noqa: F401
from network.offline.aws.emulator import AwsEmulator, boto3_session
from network.offline.aws.install import (
    area_patch_tables,
    extensions_installed,
    install_extensions,
    uninstall_extensions,
)
from network.offline.aws.telemetry import (
    TunnelReport,
    report_connection,
    report_tunnel,
    set_tunnel_status,
    tunnel_attachment_id,
)

__all__ = [
    "AwsEmulator",
    "TunnelReport",
    "area_patch_tables",
    "boto3_session",
    "extensions_installed",
    "install_extensions",
    "report_connection",
    "report_tunnel",
    "set_tunnel_status",
    "tunnel_attachment_id",
    "uninstall_extensions",
]
