"""The Pulumi program: plan first, then declare, then export the contract.

`__main__.py` calls `run()`; the offline apply runs that same `__main__.py`
under Pulumi's mock runtime. Nothing here differs between the two paths.

How the CLI hands over the config: every value is a string (PULUMI_CONFIG),
a structured one (a mapping or a list in the stack file) as JSON text, a
plain one as itself. `read_config` decodes what is JSON and keeps the rest as
the string it is, so that any shape reaches `build_plan`, which reports it as
a problem: a malformed config ends in one clean screen, never a traceback.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

import pulumi
import pulumi_aws as aws

from network.components.customer_gateway import CustomerGateway, CustomerGatewayArgs
from network.components.peering import PeeringSide, VpcPeering, VpcPeeringArgs
from network.components.routing import Routing, RoutingArgs
from network.components.site_to_site_vpn import SiteToSiteVpn, SiteToSiteVpnArgs
from network.components.transit_hub import TransitHub, TransitHubArgs
from network.components.vpc import Vpc, VpcArgs
from network.components.vpn_gateway import VpnGateway, VpnGatewayArgs
from network.config import NETWORK_KEY, psk_config_keys
from network.contract import (
    CONTRACT_VERSION,
    connection_record,
    datacenter_records,
    router_records,
)
from network.errors import ConfigError, CrossnetError, Problem
from network.naming import tunnel_id
from network.plan import Plan, build_plan, customer_gateway_name, customer_ip
from network.review.snapshot import plan_snapshot

# The stack output holding the plan snapshot (`network.review.snapshot`): what
# `crossnet diff` compares a change with on the real path. It holds no secret.
PLAN_OUTPUT = "crossnetPlan"


def _decode(raw: Any) -> Any:
    """A config value as the CLI passes it: JSON text when structured, else itself."""
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw  # a plain string (`crossnet:network: hello`): the plan says so


def read_config() -> dict[str, Any]:
    """The stack config as a plain mapping, read through Pulumi's own config API."""
    cfg: dict[str, Any] = {"aws:region": pulumi.runtime.get_config("aws:region")}
    cfg[NETWORK_KEY] = _decode(pulumi.runtime.get_config(NETWORK_KEY))
    # The keys named by presharedKeySecret are read the same way (the engine
    # hands them to the program decrypted, as plain strings: never decoded);
    # they stay Secret objects from here on.
    for key in psk_config_keys(cfg[NETWORK_KEY]):
        cfg[key] = pulumi.runtime.get_config(key)
    return cfg


def declare(plan: Plan) -> dict[str, Any]:
    """Declare every resource of the plan; return the stack outputs (the contract)."""
    stack = plan.stack
    providers: dict[str, pulumi.ProviderResource] = {
        region: aws.Provider(f"aws-{region}", region=region) for region in plan.regions()
    }
    vpcs = {
        name: Vpc(name, VpcArgs(p, stack, providers[p.spec.region]))
        for name, p in sorted(plan.vpcs.items())
    }
    vgws = {
        g.name: VpnGateway(
            g.name,
            VpnGatewayArgs(
                g,
                stack,
                vpcs[g.vpc].vpc_id,
                vpcs[g.vpc].route_table_ids,
                providers[plan.vpcs[g.vpc].spec.region],
            ),
        )
        for g in plan.vpn_gateways.values()
    }
    hubs = {}
    for tp in plan.transit.values():
        subnets = {
            vpc: [vpcs[vpc].subnet_ids[(tier, s.az)] for s in plan.vpcs[vpc].tier_subnets(tier)]
            for vpc, tier in tp.spec.attachments
        }
        hubs[tp.name] = TransitHub(
            tp.name,
            TransitHubArgs(
                tp,
                stack,
                {v: vpcs[v].vpc_id for v, _ in tp.spec.attachments},
                subnets,
                providers[tp.spec.region],
            ),
        )
    # One customer gateway per router and region: AWS's record of the router.
    cgws: dict[str, CustomerGateway] = {}
    for c in plan.connections:
        if customer_gateway_name(plan, c) not in cgws:
            cgws[customer_gateway_name(plan, c)] = CustomerGateway(
                customer_gateway_name(plan, c),
                CustomerGatewayArgs(
                    c.router,
                    c.datacenter.asn,
                    stack,
                    providers[c.region],
                    ip=str(customer_ip(c)),
                    device_name=c.name if c.spec.public_ip is not None else None,
                ),
            )
    vpns: dict[str, SiteToSiteVpn] = {}
    records: dict[str, pulumi.Output[dict[str, Any]]] = {}
    psks: dict[str, pulumi.Output[str]] = {}
    for c in plan.connections:
        cgw_name = customer_gateway_name(plan, c)
        gw_id = (
            vgws[c.spec.gateway].gateway_id
            if c.gateway_type == "vgw"
            else (hubs[c.spec.gateway].gateway_id)
        )
        vpn = SiteToSiteVpn(
            c.name,
            SiteToSiteVpnArgs(c, stack, cgws[cgw_name].gateway_id, gw_id, providers[c.region]),
        )
        vpns[c.name] = vpn
        records[c.name] = vpn.aws_values(cgws[cgw_name].gateway_id, gw_id).apply(
            partial(connection_record, c)
        )
        for n, key in vpn.preshared_keys.items():
            psks[tunnel_id(c.name, n)] = key
    peerings = {}
    for peer in plan.peerings:
        sides = []
        for vpc in (peer.requester, peer.accepter):
            vp = plan.vpcs[vpc].spec
            sides.append(
                PeeringSide(
                    vpc,
                    vp.region,
                    str(vp.cidr),
                    vpcs[vpc].vpc_id,
                    vpcs[vpc].route_table_ids,
                    providers[vp.region],
                )
            )
        peerings[peer.name] = VpcPeering(peer.name, VpcPeeringArgs(peer, stack, *sides))
    Routing(
        "routing",
        RoutingArgs(
            plan=plan,
            route_table_ids={n: v.route_table_ids for n, v in vpcs.items()},
            tgw_ids={n: h.gateway_id for n, h in hubs.items()},
            tgw_route_table_ids={n: h.route_table_ids for n, h in hubs.items()},
            vpn_attachment_ids={
                c.name: vpns[c.name].connection.transit_gateway_attachment_id
                for c in plan.connections
                if c.gateway_type == "tgw"
            },
            providers=providers,
            depends_on=list(hubs.values()),
        ),
    )
    return {
        "crossnet": {
            "contractVersion": CONTRACT_VERSION,
            "project": pulumi.get_project(),
            "stack": stack,
        },
        "datacenters": datacenter_records(plan),
        "vpcs": {
            name: {
                "region": p.spec.region,
                "id": vpcs[name].vpc_id,
                "cidr": str(p.spec.cidr),
                "azs": list(p.spec.azs),
                "subnets": {
                    s.tier + "/" + s.az: {
                        "cidr": str(s.cidr),
                        "id": vpcs[name].subnet_ids[(s.tier, s.az)],
                    }
                    for s in p.subnets
                },
                "routeTables": dict(vpcs[name].route_table_ids),
                "securityGroups": dict(vpcs[name].security_group_ids),
                "ingress": [
                    {
                        "from": [str(x) for x in r.sources],
                        "tiers": list(r.tiers),
                        "icmp": r.icmp,
                        "tcp": [str(x) for x in r.tcp],
                        "udp": [str(x) for x in r.udp],
                    }
                    for r in p.spec.ingress
                ],
            }
            for name, p in sorted(plan.vpcs.items())
        },
        "gateways": {
            **{
                g.name: {
                    "type": "vgw",
                    "id": vgws[g.name].gateway_id,
                    "asn": g.asn,
                    "vpc": g.vpc,
                    "region": plan.vpcs[g.vpc].spec.region,
                }
                for g in plan.vpn_gateways.values()
            },
            **{
                t.name: {
                    "type": "tgw",
                    "id": hubs[t.name].gateway_id,
                    "asn": t.spec.asn,
                    "region": t.spec.region,
                    "ecmp": t.spec.ecmp,
                    "routeTables": {
                        rt.name: {
                            "id": hubs[t.name].route_table_ids[rt.name],
                            "associations": list(rt.associations),
                            "propagations": list(rt.propagations),
                        }
                        for rt in t.route_tables
                    },
                }
                for t in plan.transit.values()
            },
        },
        "peerings": {
            name: {
                "id": pc.peering_id,
                "requester": peer.requester,
                "accepter": peer.accepter,
                "dnsResolution": peer.dns_resolution,
            }
            for peer in plan.peerings
            for name, pc in [(peer.name, peerings[peer.name])]
        },
        "routers": pulumi.Output.all(**records).apply(lambda recs: router_records(plan, recs)),
        "presharedKeys": pulumi.Output.secret(pulumi.Output.all(**psks)),
        # Secret-free (a tunnel records where its key comes from, never the key):
        # `pulumi stack output crossnetPlan` is the applied plan of a real stack.
        PLAN_OUTPUT: plan_snapshot(plan),
    }


def _unread_secrets(plan: Plan) -> ConfigError | None:
    """A plan whose secret keys were not read must not be declared: generating a
    key in place of the user's would go unnoticed until the tunnel stays down."""
    unread = [
        Problem(
            f"{NETWORK_KEY}.connections.{c.name}.tunnel{t.number}.presharedKeySecret",
            repr(t.psk_source),
            "the secret's value was not read (need_secrets=False): plan it with the value",
        )
        for c in plan.connections
        for t in c.spec.tunnels
        if t.psk is None and t.psk_source
    ]
    return ConfigError(f"stack config of {plan.stack!r}", unread) if unread else None


def run() -> None:
    """Entry point of the Pulumi program."""
    try:
        plan = build_plan(read_config(), pulumi.get_stack())
        refused = _unread_secrets(plan)
        if refused is not None:
            raise refused
    except CrossnetError as e:
        # RunError is reported by the engine without a stack trace.
        raise pulumi.RunError(e.render()) from None
    for w in plan.warnings:
        pulumi.log.warn(f"{w.field}: {w.value} ({w.rule})")
    for name, value in declare(plan).items():
        pulumi.export(name, value)
