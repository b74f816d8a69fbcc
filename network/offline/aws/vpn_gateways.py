"""Virtual private gateways: AWS's Amazon-side ASN default and rule.

moto keeps ``AmazonSideAsn`` but leaves it empty by default; AWS uses 64512 and accepts
only private ASNs (EC2 API reference, CreateVpnGateway).
"""

from __future__ import annotations

from typing import Any

from moto.ec2.models.vpn_gateway import VpnGatewayBackend

from network.aws_rules import AMAZON_SIDE_ASN_RANGES, AWS_DEFAULT_ASN
from network.offline.aws.patching import PatchTable, original
from network.offline.aws.tunnel_options import as_int, bad


def _create_vpn_gateway(
    self: Any,
    gateway_type: str = "ipsec.1",
    amazon_side_asn: Any = None,
    availability_zone: str | None = None,
    tags: dict[str, str] | None = None,
) -> Any:
    """CreateVpnGateway with AWS's default ASN and its private-ASN rule."""
    if amazon_side_asn is None or amazon_side_asn == "":
        asn = AWS_DEFAULT_ASN
    else:
        asn = as_int(amazon_side_asn, "AmazonSideAsn")
        if not any(low <= asn <= high for low, high in AMAZON_SIDE_ASN_RANGES):
            ranges = " or ".join(f"{low}-{high}" for low, high in AMAZON_SIDE_ASN_RANGES)
            raise bad(f"AmazonSideAsn {asn} is not a private ASN ({ranges})")
    return original(VpnGatewayBackend, "create_vpn_gateway")(
        self, gateway_type, asn, availability_zone, tags
    )


def patches() -> PatchTable:
    """This area's patches (see ``install.area_patch_tables``)."""
    return [(VpnGatewayBackend, "create_vpn_gateway", _create_vpn_gateway)]
