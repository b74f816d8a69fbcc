"""Customer-gateway ASN rules that the emulator enforces before they reach aws_rules.

# moves to aws_rules at merge
(the `plan` helper adds RESERVED_CUSTOMER_ASNS and reserved_customer_asn to
network/aws_rules.py on its branch; this module keeps the emulator's branch working
until the merge, and is then replaced by an import from aws_rules.)

Sources:
- AWS Site-to-Site VPN User Guide, "Customer gateway options for your Site-to-Site VPN
  connection" (https://docs.aws.amazon.com/vpn/latest/s2svpn/cgw-options.html):
  ASNs 1-4,294,967,295 are supported except 7224 (reserved in all Regions), 9059
  (eu-west-1), 10124 (ap-northeast-1) and 17943 (ap-southeast-1).
- EC2 API reference, CreateCustomerGateway: ``BgpAsn`` takes 1-2,147,483,647,
  ``BgpAsnExtended`` 2,147,483,648-4,294,967,295; one of the two must be given, never
  both. (Older API references reserved only 7224 in us-east-1 and 9059 in
  eu-west-1; the current guide is stricter, and the stricter rule is kept.)
"""

from __future__ import annotations

from collections.abc import Mapping

# moves to aws_rules at merge
# Region -> customer-gateway ASNs AWS reserves there; "*" is every Region.
RESERVED_CUSTOMER_ASNS: Mapping[str, frozenset[int]] = {
    "*": frozenset({7224}),
    "eu-west-1": frozenset({9059}),
    "ap-northeast-1": frozenset({10124}),
    "ap-southeast-1": frozenset({17943}),
}

# CreateCustomerGateway's two ASN parameters and the range each one takes.
BGP_ASN_RANGE = (1, 2147483647)
BGP_ASN_EXTENDED_RANGE = (2147483648, 4294967295)


def reserved_customer_asn(asn: int, region: str) -> bool:
    """True when AWS refuses ``asn`` for a customer gateway in ``region``."""
    return asn in RESERVED_CUSTOMER_ASNS["*"] or asn in RESERVED_CUSTOMER_ASNS.get(
        region, frozenset()
    )
