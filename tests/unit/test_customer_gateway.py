"""The CustomerGateway component under Pulumi mocks: AWS's field for the ASN
is chosen by its range (bgpAsn up to 2147483647, bgpAsnExtended above)."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest
from netaddr import IPAddress

from network.model import RouterSpec


class _Mocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.inputs: list[dict[str, Any]] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if args.typ == "aws:ec2/customerGateway:CustomerGateway":
            self.inputs.append(dict(args.inputs))
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
        return {}, None


def _declare(asn: int) -> dict[str, Any]:
    from pulumi.runtime import settings
    from pulumi.runtime.stack import wait_for_rpcs
    from pulumi.runtime.sync_await import _sync_await

    mocks = _Mocks()
    settings.set_root_resource(None)  # type: ignore[arg-type]
    pulumi.runtime.set_mocks(mocks, project="crossnet", stack="t", preview=False)
    # imported after set_mocks, as in the real runtime
    from network.components.customer_gateway import CustomerGateway, CustomerGatewayArgs

    provider = pulumi.ProviderResource("aws", "aws-us-east-1")
    router = RouterSpec("dc1", "edge1", IPAddress("192.0.2.10"), "linux")
    CustomerGateway("dc1-edge1", CustomerGatewayArgs(router, asn, "t", provider))
    _sync_await(wait_for_rpcs())
    (inputs,) = mocks.inputs
    return inputs


@pytest.mark.parametrize(
    ("asn", "field", "other"),
    [
        (65010, "bgpAsn", "bgpAsnExtended"),
        (2147483647, "bgpAsn", "bgpAsnExtended"),
        (2147483648, "bgpAsnExtended", "bgpAsn"),
        (4200000001, "bgpAsnExtended", "bgpAsn"),
    ],
)
def test_asn_field_by_range(asn: int, field: str, other: str) -> None:
    inputs = _declare(asn)
    assert inputs[field] == str(asn)
    assert other not in inputs  # the two conflict in the provider
    assert inputs["ipAddress"] == "192.0.2.10" and inputs["type"] == "ipsec.1"
