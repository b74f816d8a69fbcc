"""Customer gateways: AWS's ASN rules, and 4-byte ASNs through ``BgpAsnExtended``.

moto reads only ``BgpAsn`` and checks nothing. AWS (EC2 API reference,
CreateCustomerGateway) takes the ASN in exactly one of two parameters: ``BgpAsn``
1-2,147,483,647 or ``BgpAsnExtended`` 2,147,483,648-4,294,967,295, and refuses the ASNs
it reserves for itself (Site-to-Site VPN User Guide, customer gateway options).

A virtual private gateway takes one VPN connection per customer gateway address
(`check_vgw_customer_ip`): a second connection from the same device to a VGW is
refused, on CreateVpnConnection and on ModifyVpnConnection alike. A transit gateway
takes several (AWS's ECMP pattern: more connections from one device for more
bandwidth).
"""

from __future__ import annotations

from typing import Any

from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models.customer_gateways import CustomerGateway, CustomerGatewayBackend

from network.aws_rules import (
    BGP_ASN_EXTENDED_RANGE,
    BGP_ASN_RANGE,
    reserved_customer_asn,
)
from network.offline.aws.patching import PatchTable, original
from network.offline.aws.tunnel_options import as_int, bad


def customer_asn(gateway: Any) -> int | None:
    """A customer gateway's ASN, from whichever parameter carried it."""
    extended = getattr(gateway, "bgp_asn_extended", None)
    raw = extended if extended not in (None, "") else gateway.bgp_asn
    return None if raw in (None, "") else int(raw)


def check_vgw_customer_ip(
    backend: Any, vpn_gateway_id: str | None, gateway: Any, connection_id: str = ""
) -> None:
    """Refuse a second live connection from one customer gateway address to a VGW."""
    if not vpn_gateway_id:
        return
    cgws = backend.customer_gateways
    for c in backend.vpn_connections.values():
        other = cgws.get(c.customer_gateway_id)
        if (
            c.id != connection_id
            and c.state not in ("deleted", "deleting")
            and c.vpn_gateway_id == vpn_gateway_id
            and other is not None
            and other.ip_address == gateway.ip_address
        ):
            raise EC2ClientError(
                "InvalidCustomerGateway.DuplicateIpAddress",
                f"{c.id} already connects customer gateway address {gateway.ip_address} "
                f"({other.id}) to {vpn_gateway_id}: a virtual private gateway takes one VPN "
                "connection per customer gateway address (a transit gateway takes several)",
            )


def _checked_asn(bgp_asn: Any, bgp_asn_extended: Any, region: str) -> tuple[int, bool]:
    """(ASN, given as BgpAsnExtended) after AWS's checks on CreateCustomerGateway."""
    given = [
        (name, value)
        for name, value in (("BgpAsn", bgp_asn), ("BgpAsnExtended", bgp_asn_extended))
        if value not in (None, "")
    ]
    if len(given) == 2:
        raise EC2ClientError(
            "InvalidParameterCombination",
            "The parameters BgpAsn and BgpAsnExtended cannot be specified together",
        )
    if not given:
        raise EC2ClientError(
            "MissingParameter",
            "The request must contain the parameter BgpAsn or BgpAsnExtended",
        )
    name, raw = given[0]
    asn = as_int(raw, name)
    low, high = BGP_ASN_RANGE if name == "BgpAsn" else BGP_ASN_EXTENDED_RANGE
    if not low <= asn <= high:
        hint = " (use BgpAsnExtended above 2147483647)" if name == "BgpAsn" and asn > high else ""
        raise bad(f"Value ({asn}) for parameter {name} is invalid: it must be {low}-{high}{hint}")
    if reserved_customer_asn(asn, region):
        raise bad(
            f"Value ({asn}) for parameter {name} is invalid: AWS reserves ASN {asn} "
            f"for itself in {region}"
        )
    return asn, name == "BgpAsnExtended"


def _create_customer_gateway(
    self: Any,
    gateway_type: str,
    ip_address: str,
    bgp_asn: Any = None,
    tags: dict[str, str] | None = None,
    bgp_asn_extended: Any = None,
) -> CustomerGateway:
    """CreateCustomerGateway with the ASN checked and a 4-byte ASN kept where AWS shows it."""
    asn, extended = _checked_asn(bgp_asn, bgp_asn_extended, self.region_name)
    create = original(CustomerGatewayBackend, "create_customer_gateway")
    gateway: CustomerGateway = create(
        self, gateway_type, ip_address, None if extended else str(asn), tags=tags
    )
    if extended:
        gateway.bgp_asn_extended = str(asn)  # type: ignore[attr-defined]
    return gateway


def patches() -> PatchTable:
    """This area's patches (see ``install.area_patch_tables``)."""
    return [
        (CustomerGatewayBackend, "create_customer_gateway", _create_customer_gateway),
        # Read by moto's serializer for DescribeCustomerGateways' BgpAsnExtended member.
        (CustomerGateway, "bgp_asn_extended", None),
    ]
