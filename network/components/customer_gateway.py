"""CustomerGateway: AWS's record of one datacenter router (public address, ASN)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from network import aws_rules as rules
from network.components.base import child, resource_name, tags, token
from network.model import RouterSpec


@dataclass(frozen=True)
class CustomerGatewayArgs:
    router: RouterSpec
    asn: int
    stack: str
    provider: pulumi.ProviderResource
    ip: str | None = None  # default: the router's public IP
    # A second gateway on an address of the router's: AWS returns the existing customer
    # gateway for an identical request (type, address, ASN) unless the device name differs.
    device_name: str | None = None


class CustomerGateway(pulumi.ComponentResource):
    gateway_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: CustomerGatewayArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__(token("CustomerGateway"), name, None, opts)
        r = args.router
        # ip_address and bgp_asn force a new customer gateway; its VPN
        # connections then move to it in place (ModifyVpnConnection), router by
        # router. `crossnet diff` lists such changes, with the routers to touch.
        # Named after the component (router key, plus the region when it is not
        # the stack's default), so that a router with connections in two
        # regions gets two distinct customer gateways.
        # AWS takes ASNs up to 2147483647 as bgpAsn and larger ones (4-byte
        # private ASNs, 4200000000-4294967294) as bgpAsnExtended; the two conflict.
        extended = rules.customer_asn_field(args.asn) == "bgpAsnExtended"
        cgw = aws.ec2.CustomerGateway(
            resource_name("cgw", name),
            ip_address=args.ip or str(r.public_ip),
            bgp_asn=None if extended else str(args.asn),
            bgp_asn_extended=str(args.asn) if extended else None,
            type="ipsec.1",
            device_name=args.device_name,
            tags=tags(args.stack, "cgw", args.device_name or r.key),
            opts=child(self, args.provider),
        )
        self.gateway_id = cgw.id
        self.register_outputs({"customerGatewayId": self.gateway_id})
