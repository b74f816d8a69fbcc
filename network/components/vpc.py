"""Vpc: the VPC, a subnet per tier and AZ, a route table per tier and a
security group per tier admitting exactly the planned datacenter flows."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from network.components.base import child, resource_name, tags, token
from network.naming import flow_key
from network.plan import VpcPlan
from network.vpc_flows import planned_flows


@dataclass(frozen=True)
class VpcArgs:
    plan: VpcPlan
    stack: str
    provider: pulumi.ProviderResource


class Vpc(pulumi.ComponentResource):
    """One VPC with its subnets, route tables and security groups."""

    vpc_id: pulumi.Output[str]
    subnet_ids: dict[tuple[str, str], pulumi.Output[str]]
    route_table_ids: dict[str, pulumi.Output[str]]
    security_group_ids: dict[str, pulumi.Output[str]]

    def __init__(self, name: str, args: VpcArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(token("Vpc"), name, None, opts)
        p, stack, prov = args.plan, args.stack, args.provider
        v = p.spec
        vpc = aws.ec2.Vpc(
            resource_name("vpc", v.name),
            cidr_block=str(v.cidr),
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags=tags(stack, "vpc", v.name),
            opts=child(self, prov),
        )
        self.vpc_id = vpc.id
        self.route_table_ids = {}
        self.security_group_ids = {}
        self.subnet_ids = {}
        for tier in v.tiers:
            rt = aws.ec2.RouteTable(
                resource_name("rt", v.name, tier.name),
                vpc_id=vpc.id,
                tags=tags(stack, "rt", v.name, tier.name),
                opts=child(self, prov),
            )
            self.route_table_ids[tier.name] = rt.id
            for s in p.tier_subnets(tier.name):
                sub = aws.ec2.Subnet(
                    resource_name("subnet", v.name, tier.name, s.az),
                    vpc_id=vpc.id,
                    cidr_block=str(s.cidr),
                    availability_zone=s.az,
                    tags=tags(stack, "subnet", v.name, tier.name, s.az),
                    opts=child(self, prov),
                )
                self.subnet_ids[(tier.name, s.az)] = sub.id
                aws.ec2.RouteTableAssociation(
                    resource_name("rta", v.name, tier.name, s.az),
                    subnet_id=sub.id,
                    route_table_id=rt.id,
                    opts=child(self, prov),
                )
            sg = aws.ec2.SecurityGroup(
                resource_name("sg", v.name, tier.name),
                vpc_id=vpc.id,
                description=f"crossnet {v.name}/{tier.name}: planned datacenter flows only",
                tags=tags(stack, "sg", v.name, tier.name),
                opts=child(self, prov),
            )
            self.security_group_ids[tier.name] = sg.id
            # Members of a tier talk to each other; from the datacenter side
            # only the planned flows come in. There is never a 0.0.0.0/0 rule.
            aws.vpc.SecurityGroupIngressRule(
                resource_name("sgr", v.name, tier.name, "self"),
                security_group_id=sg.id,
                referenced_security_group_id=sg.id,
                ip_protocol="-1",
                description="same tier",
                opts=child(self, prov),
            )
            for cidr, proto, first, last in planned_flows(v.ingress, tier.name):
                aws.vpc.SecurityGroupIngressRule(
                    resource_name("sgr", v.name, tier.name, flow_key(cidr, proto, first, last)),
                    security_group_id=sg.id,
                    cidr_ipv4=cidr,
                    ip_protocol=proto,
                    from_port=first,
                    to_port=last,
                    description=f"datacenter {proto} from {cidr}",
                    opts=child(self, prov),
                )
            aws.vpc.SecurityGroupEgressRule(
                resource_name("sge", v.name, tier.name, "all"),
                security_group_id=sg.id,
                cidr_ipv4="0.0.0.0/0",
                ip_protocol="-1",
                description="replies and egress",
                opts=child(self, prov),
            )
        self.register_outputs({"vpcId": self.vpc_id})
