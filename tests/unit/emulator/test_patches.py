"""The offline AWS emulator's patches to moto: stop() leaves moto exactly as it was, and
every patch is registered once.

Pre-shared keys are compared, never printed: assertions on them go through booleans
so a failure cannot show a key.
"""

from __future__ import annotations

import os

import pytest
from moto import mock_aws
from moto.ec2.models.customer_gateways import CustomerGateway, CustomerGatewayBackend
from moto.ec2.models.route_tables import RouteBackend, RouteTable
from moto.ec2.models.transit_gateway_route_tables import TransitGatewayRouteTableBackend
from moto.ec2.models.vpn_connections import VPNConnection, VPNConnectionBackend
from moto.ec2.models.vpn_gateway import VpnGatewayBackend
from moto.ec2.responses.customer_gateways import CustomerGateways
from moto.ec2.responses.route_tables import RouteTables
from moto.ec2.responses.vpn_connections import VPNConnections

from network.offline.aws import (
    AwsEmulator,
    area_patch_tables,
    boto3_session,
    extensions_installed,
    patching,
    uninstall_extensions,
)
from tests.unit.emulator.env import REGION

# ---------------------------------------------------- lifecycle: stop()


PATCHED = [
    (TransitGatewayRouteTableBackend, "create_transit_gateway_route"),
    (TransitGatewayRouteTableBackend, "search_transit_gateway_routes"),
    (CustomerGatewayBackend, "create_customer_gateway"),
    (CustomerGateways, "create_customer_gateway"),
    (VpnGatewayBackend, "create_vpn_gateway"),
    (VPNConnectionBackend, "create_vpn_connection"),
    (VPNConnection, "customer_gateway_configuration"),
    (RouteTable, "routes"),
    (VPNConnections, "create_vpn_connection"),
]
ADDED = [
    (CustomerGateway, "bgp_asn_extended"),
    (VPNConnectionBackend, "create_vpn_connection_route"),
    (RouteBackend, "enable_vgw_route_propagation"),
    (VPNConnection, "vgw_telemetry"),
    (RouteTable, "propagating_vgws"),
    (VPNConnections, "create_vpn_connection_route"),
    (RouteTables, "enable_vgw_route_propagation"),
]


def test_stop_leaves_moto_exactly_as_it_was(
    unstarted: AwsEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    uninstall_extensions()
    originals = {(owner, name): owner.__dict__[name] for owner, name in PATCHED}
    assert all(name not in owner.__dict__ for owner, name in ADDED)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "outside-value")
    monkeypatch.setenv("AWS_PROFILE", "someone")

    unstarted.start()
    assert extensions_installed()
    assert all(owner.__dict__[name] is not originals[(owner, name)] for owner, name in PATCHED)
    assert os.environ["AWS_ACCESS_KEY_ID"] == "testing" and "AWS_PROFILE" not in os.environ
    unstarted.stop()

    assert not extensions_installed()
    assert all(owner.__dict__[name] is originals[(owner, name)] for owner, name in PATCHED)
    assert all(name not in owner.__dict__ for owner, name in ADDED)
    assert os.environ["AWS_ACCESS_KEY_ID"] == "outside-value"
    assert os.environ["AWS_PROFILE"] == "someone"
    # Plain moto again: its gaps are back.
    monkeypatch.delenv("AWS_PROFILE")
    with mock_aws():
        client = boto3_session().client("ec2", region_name=REGION)
        with pytest.raises(NotImplementedError):
            client.create_vpn_connection_route(
                VpnConnectionId="vpn-0", DestinationCidrBlock="10.0.0.0/16"
            )


def test_every_patch_is_registered_once_and_a_clash_is_refused() -> None:
    """Each area module's table is installed; two tables patching one attribute are an error."""
    patches = [(owner, name) for table in area_patch_tables() for owner, name, _ in table]
    assert len(patches) == len(set(patches))
    assert set(PATCHED) | set(ADDED) <= set(patches)
    uninstall_extensions()
    clash = [(RouteTable, "routes", None)]
    with pytest.raises(patching.PatchConflictError, match=r"RouteTable\.routes"):
        patching.install([*area_patch_tables(), clash])
    assert not extensions_installed()
