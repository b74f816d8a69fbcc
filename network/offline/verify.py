"""After the offline apply: check the emulator's own state, not the program's
intentions. Every check reads AWS's answer through boto3 (describe/get calls).

One check function per concern, run in the order of :data:`CHECKS`: each appends its
failures and returns its line for the passed checks (or None when it has nothing to
report, e.g. a stack without transit gateways).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from network.offline.aws import AwsEmulator
from network.plan import Plan
from network.vpc_flows import planned_flows


@dataclass
class _Context:
    """What every check reads: the plan, the outputs, and the emulator's answers."""

    emu: AwsEmulator
    plan: Plan
    outputs: dict[str, Any]
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    vpns: dict[str, dict[str, Any]] = field(default_factory=dict)
    peerings: dict[str, dict[str, Any]] = field(default_factory=dict)
    _clients: dict[str, Any] = field(default_factory=dict)

    def ec2(self, region: str) -> Any:
        """One boto3 EC2 client per region."""
        if region not in self._clients:
            self._clients[region] = self.emu.client("ec2", region)
        return self._clients[region]

    def prefetch(self) -> None:
        """One describe per kind and region (route tables, security groups, VPN
        connections, peerings): every call to the emulator costs milliseconds, and a
        large stack has thousands of route-table checks."""
        for region in self.plan.regions():
            ec2 = self.ec2(region)
            for page in ec2.get_paginator("describe_route_tables").paginate():
                self.tables |= {rt["RouteTableId"]: rt for rt in page["RouteTables"]}
            for page in ec2.get_paginator("describe_security_groups").paginate():
                self.groups |= {g["GroupId"]: g for g in page["SecurityGroups"]}
            if any(c.region == region for c in self.plan.connections):
                vpns = ec2.describe_vpn_connections()["VpnConnections"]
                self.vpns |= {v["VpnConnectionId"]: v for v in vpns}
            if any(self.plan.vpcs[p.requester].spec.region == region for p in self.plan.peerings):
                for page in ec2.get_paginator("describe_vpc_peering_connections").paginate():
                    self.peerings |= {
                        p["VpcPeeringConnectionId"]: p for p in page["VpcPeeringConnections"]
                    }


Check = Callable[[_Context, list[str]], str | None]


# ------------------------------------------------ 1. VPC route tables


def _vgw_propagation(ctx: _Context, fail: list[str]) -> int:
    count = 0
    for vpc, vgw in ctx.plan.vgw_propagating().items():
        vgw_id = ctx.outputs["gateways"][vgw]["id"]
        for tier, rt_id in ctx.outputs["vpcs"][vpc]["routeTables"].items():
            rt = ctx.tables[rt_id]
            if vgw_id not in [p["GatewayId"] for p in rt.get("PropagatingVgws", [])]:
                fail.append(
                    f"route table {vpc}/{tier} ({rt_id}) has no propagation from VGW "
                    f"{vgw} ({vgw_id})"
                )
            else:
                count += 1
    return count


def _vpc_routes(ctx: _Context, fail: list[str]) -> int:
    count = 0
    for route in ctx.plan.vpc_routes:
        if route.target_kind == "tgw":
            target_id, key = ctx.outputs["gateways"][route.target]["id"], "TransitGatewayId"
        else:
            target_id = ctx.outputs["peerings"][route.target]["id"]
            key = "VpcPeeringConnectionId"
        for tier, rt_id in ctx.outputs["vpcs"][route.vpc]["routeTables"].items():
            hits = [
                r
                for r in ctx.tables[rt_id]["Routes"]
                if r.get("DestinationCidrBlock") == str(route.destination)
                and r.get(key) == target_id
            ]
            if not hits:
                fail.append(
                    f"route table {route.vpc}/{tier} has no route to {route.destination} "
                    f"via {route.target_kind} {route.target} ({target_id})"
                )
            else:
                count += 1
    return count


def check_route_tables(ctx: _Context, fail: list[str]) -> str | None:
    """Route tables towards the datacenters: VGW propagation, or TGW/peering routes."""
    n_prop = _vgw_propagation(ctx, fail)
    n_routes = _vpc_routes(ctx, fail)
    return (
        f"{n_prop} route tables propagate from their VGW; "
        f"{n_routes} routes via TGW or peering are in place"
    )


# ------------------------------------------------ 2. transit gateway route tables


def _attachment_refs(ctx: _Context, client: Any, tgw_id: str) -> dict[str, str]:
    """TGW attachment id -> the plan's reference (``vpc:NAME`` or ``vpn:CONNECTION``)."""
    atts = client.describe_transit_gateway_attachments(
        Filters=[{"Name": "transit-gateway-id", "Values": [tgw_id]}]
    )["TransitGatewayAttachments"]
    ref_of: dict[str, str] = {}
    for a in atts:
        if a["ResourceType"] == "vpc":
            owner = next(
                (v for v, o in ctx.outputs["vpcs"].items() if o["id"] == a["ResourceId"]), None
            )
            if owner:
                ref_of[a["TransitGatewayAttachmentId"]] = f"vpc:{owner}"
        elif a["ResourceType"] == "vpn":
            conn = _connection_by_vpn_id(ctx.outputs, a["ResourceId"])
            if conn:
                ref_of[a["TransitGatewayAttachmentId"]] = f"vpn:{conn}"
    return ref_of


def _relations(
    tgw: str, table: Any, client: Any, rt_id: str, ref_of: dict[str, str], fail: list[str]
) -> int:
    """Associations and propagations of one TGW route table, against the plan."""
    assoc = client.get_transit_gateway_route_table_associations(TransitGatewayRouteTableId=rt_id)[
        "Associations"
    ]
    prop = client.get_transit_gateway_route_table_propagations(TransitGatewayRouteTableId=rt_id)[
        "TransitGatewayRouteTablePropagations"
    ]
    got_a = {ref_of.get(a["TransitGatewayAttachmentId"], "?") for a in assoc}
    got_p = {ref_of.get(p["TransitGatewayAttachmentId"], "?") for p in prop}
    count = 0
    for kind, want, got in (
        ("association", set(table.associations), got_a),
        ("propagation", set(table.propagations), got_p),
    ):
        for ref in sorted(want - got):
            fail.append(f"TGW {tgw} route table {table.name}: {kind} of {ref} missing")
        for ref in sorted(got - want):
            fail.append(f"TGW {tgw} route table {table.name}: unexpected {kind} of {ref}")
        count += len(want & got)
    return count


def _static_routes(
    tp: Any, table: Any, client: Any, rt_id: str, ref_of: dict[str, str], fail: list[str]
) -> int:
    """Static routes (VPN attachments with static routing): the prefix, to that
    attachment, as an active static route of this table."""
    routes = client.search_transit_gateway_routes(
        TransitGatewayRouteTableId=rt_id,
        Filters=[{"Name": "type", "Values": ["static"]}],
    )["Routes"]
    have = {
        (r.get("DestinationCidrBlock"), ref_of.get(a.get("TransitGatewayAttachmentId")))
        for r in routes
        if r.get("State") == "active"
        for a in r.get("TransitGatewayAttachments", [])
    }
    count = 0
    for table_name, prefix, ref in tp.static_routes:
        if table_name != table.name:
            continue
        if (str(prefix), ref) in have:
            count += 1
        else:
            fail.append(
                f"TGW {tp.name} route table {table.name}: static route {prefix} via {ref} missing"
            )
    return count


def check_transit_gateways(ctx: _Context, fail: list[str]) -> str | None:
    """Transit gateway route tables: associations, propagations, static routes."""
    n_tgw = n_static = 0
    for tp in ctx.plan.transit.values():
        client = ctx.ec2(tp.spec.region)
        gateway = ctx.outputs["gateways"][tp.name]
        ref_of = _attachment_refs(ctx, client, gateway["id"])
        for table in tp.route_tables:
            rt_id = gateway["routeTables"][table.name]["id"]
            n_tgw += _relations(tp.name, table, client, rt_id, ref_of, fail)
            n_static += _static_routes(tp, table, client, rt_id, ref_of, fail)
    if not ctx.plan.transit:
        return None
    return (
        f"{n_tgw} TGW route-table associations and propagations, and {n_static} static "
        "routes, as planned"
    )


# ------------------------------------------------ 3. peering


def check_peerings(ctx: _Context, fail: list[str]) -> str | None:
    """Peering: active (both sides' routes are counted with the route tables)."""
    for peer in ctx.plan.peerings:
        pid = ctx.outputs["peerings"][peer.name]["id"]
        pcx = ctx.peerings.get(pid)
        if pcx is None:
            fail.append(f"peering {peer.name} ({pid}) is not in AWS")
        elif pcx["Status"]["Code"] != "active":
            fail.append(f"peering {peer.name} ({pid}) is {pcx['Status']['Code']}, not active")
    if not ctx.plan.peerings:
        return None
    return f"{len(ctx.plan.peerings)} peering connection(s) active"


# ------------------------------------------------ 4. VPN tunnels


def _tunnel_mismatches(
    conn: dict[str, Any], t: dict[str, Any], aws_t: dict[str, Any]
) -> dict[str, tuple[Any, Any]]:
    """(what the outputs say, what AWS holds) per tunnel property compared."""
    crypto = conn["crypto"]
    return {
        "outside address": (t["awsOutsideIp"], aws_t["OutsideIpAddress"]),
        "inside CIDR": (t["insideCidr"], aws_t["TunnelInsideCidr"]),
        "phase 1 encryption": (
            crypto["phase1"]["encryption"],
            [v["Value"] for v in aws_t["Phase1EncryptionAlgorithms"]],
        ),
        "phase 2 lifetime": (crypto["phase2"]["lifetimeSeconds"], aws_t["Phase2LifetimeSeconds"]),
        "DPD action": (crypto["dpd"]["action"], aws_t["DpdTimeoutAction"]),
        "IKE versions": (crypto["ikeVersions"], [v["Value"] for v in aws_t["IkeVersions"]]),
    }


def _check_connection(ctx: _Context, conn: dict[str, Any], fail: list[str]) -> int:
    """One VPN connection: what AWS holds is what the routers will be given."""
    c = next(x for x in ctx.plan.connections if x.name == conn["name"])
    got = ctx.vpns.get(conn["vpnConnectionId"])
    if got is None:
        fail.append(f"{c.name}: VPN connection {conn['vpnConnectionId']} is not in AWS")
        return 0
    opts = got["Options"]
    if bool(opts.get("StaticRoutesOnly")) != (c.spec.routing == "static"):
        fail.append(
            f"{c.name}: StaticRoutesOnly={opts.get('StaticRoutesOnly')} but "
            f"routing is {c.spec.routing}"
        )
    if bool(opts.get("EnableAcceleration")) != c.spec.acceleration:
        fail.append(
            f"{c.name}: EnableAcceleration={opts.get('EnableAcceleration')} but acceleration is "
            f"{str(c.spec.acceleration).lower()}"
        )
    tunnels = opts["TunnelOptions"]
    if len(tunnels) != 2 or tunnels[0]["OutsideIpAddress"] == tunnels[1]["OutsideIpAddress"]:
        fail.append(f"{c.name}: AWS must hold two tunnels on two outside addresses")
        return 0
    count = 0
    for t, aws_t in zip(conn["tunnels"], tunnels):
        where = f"{c.name} tunnel {t['number']}"
        for what, (want, have) in _tunnel_mismatches(conn, t, aws_t).items():
            if want != have:
                fail.append(f"{where}: {what} is {have!r} in AWS, {want!r} in the outputs")
        if ctx.outputs["presharedKeys"].get(t["presharedKeyRef"]) != aws_t["PreSharedKey"]:
            fail.append(f"{where}: the pre-shared key in the outputs is not AWS's")
        count += 1
    if c.spec.routing == "static" and c.gateway_type == "vgw":
        have_routes = {r["DestinationCidrBlock"] for r in got.get("Routes", [])}
        for prefix in c.announce:
            if str(prefix) not in have_routes:
                fail.append(f"{c.name}: static route {prefix} missing on the connection")
    return count


def check_tunnels(ctx: _Context, fail: list[str]) -> str | None:
    """VPN connections: two tunnels each, matching the outputs (addresses, crypto, keys)."""
    n_tun = sum(
        _check_connection(ctx, conn, fail)
        for router in ctx.outputs["routers"].values()
        for conn in router["connections"]
    )
    return f"{n_tun} tunnels match AWS (outside and inside addresses, crypto, keys)"


# ------------------------------------------------ 5. security groups


def _sg_flows(sg: dict[str, Any]) -> set[tuple[str, str, int, int]]:
    return {
        (
            r["CidrIp"],
            perm["IpProtocol"],
            int(perm.get("FromPort", -1)),
            int(perm.get("ToPort", -1)),
        )
        for perm in sg["IpPermissions"]
        for r in perm.get("IpRanges", [])
    }


def check_security_groups(ctx: _Context, fail: list[str]) -> str | None:
    """Security groups admit exactly the planned flows from the datacenters."""
    n_sg = 0
    for name, vp in ctx.plan.vpcs.items():
        for tier, sg_id in ctx.outputs["vpcs"][name]["securityGroups"].items():
            flows = _sg_flows(ctx.groups[sg_id])
            planned = set(planned_flows(vp.spec.ingress, tier))
            if any(c == "0.0.0.0/0" for c, *_ in flows):
                fail.append(f"security group {name}/{tier} admits 0.0.0.0/0")
            for flow in sorted(planned - flows):
                fail.append(f"security group {name}/{tier} lacks planned flow {flow}")
            for flow in sorted(flows - planned):
                fail.append(f"security group {name}/{tier} admits unplanned flow {flow}")
            n_sg += 1
    return f"{n_sg} security groups admit exactly the planned datacenter flows"


CHECKS: tuple[Check, ...] = (
    check_route_tables,
    check_transit_gateways,
    check_peerings,
    check_tunnels,
    check_security_groups,
)


def verify_emulator(
    emu: AwsEmulator, plan: Plan, outputs: dict[str, Any]
) -> tuple[list[str], list[str]]:
    """Return (failures, passed checks) comparing the emulator with the plan."""
    ctx = _Context(emu, plan, outputs)
    ctx.prefetch()
    fail: list[str] = []
    ok: list[str] = []
    for check in CHECKS:
        line = check(ctx, fail)
        if line is not None:
            ok.append(line)
    return fail, ok


def _connection_by_vpn_id(outputs: dict[str, Any], vpn_id: str) -> str | None:
    for router in outputs["routers"].values():
        for conn in router["connections"]:
            if conn["vpnConnectionId"] == vpn_id:
                return str(conn["name"])
    return None
