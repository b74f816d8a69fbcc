"""VpcPeering: requester and accepter (same or cross region), DNS resolution
on both sides, and routes to the other side's CIDR in every route table."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from network.components.base import child, resource_name, tags, token
from network.model import PeeringSpec


@dataclass(frozen=True)
class PeeringSide:
    vpc: str
    region: str
    cidr: str
    vpc_id: pulumi.Output[str]
    route_table_ids: dict[str, pulumi.Output[str]]
    provider: pulumi.ProviderResource


@dataclass(frozen=True)
class VpcPeeringArgs:
    spec: PeeringSpec
    stack: str
    requester: PeeringSide
    accepter: PeeringSide


class VpcPeering(pulumi.ComponentResource):
    peering_id: pulumi.Output[str]

    def __init__(self, name: str, args: VpcPeeringArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(token("VpcPeering"), name, None, opts)
        s, req, acc, stack = args.spec, args.requester, args.accepter, args.stack
        cross = req.region != acc.region
        pcx = aws.ec2.VpcPeeringConnection(
            resource_name("pcx", s.name),
            vpc_id=req.vpc_id,
            peer_vpc_id=acc.vpc_id,
            peer_region=acc.region if cross else None,
            auto_accept=not cross,
            tags=tags(stack, "pcx", s.name),
            opts=child(self, req.provider),
        )
        self.peering_id = pcx.id
        ready: list[pulumi.Resource] = [pcx]
        if cross:
            # Cross-region peering is accepted from the accepter's region.
            accepter = aws.ec2.VpcPeeringConnectionAccepter(
                resource_name("pcx-accept", s.name),
                vpc_peering_connection_id=pcx.id,
                auto_accept=True,
                tags=tags(stack, "pcx", s.name),
                opts=child(self, acc.provider),
            )
            ready = [accepter]
        if s.dns_resolution:
            for side, who in (("requester", req), ("accepter", acc)):
                aws.ec2.PeeringConnectionOptions(  # type: ignore[call-overload]
                    resource_name("pcx-dns", s.name, side),
                    vpc_peering_connection_id=pcx.id,
                    **{side: {"allow_remote_vpc_dns_resolution": True}},
                    opts=child(self, who.provider, depends_on=ready),
                )
        for here, there in ((req, acc), (acc, req)):
            for tier, rt_id in sorted(here.route_table_ids.items()):
                aws.ec2.Route(
                    resource_name("route", here.vpc, tier, "pcx", s.name),
                    route_table_id=rt_id,
                    destination_cidr_block=there.cidr,
                    vpc_peering_connection_id=pcx.id,
                    opts=child(self, here.provider, depends_on=ready),
                )
        self.register_outputs({"peeringId": self.peering_id})
