"""After the offline apply: check the emulator's own state, not the program's
intentions. Every check reads AWS's answer through boto3 (describe/get calls)."""

from __future__ import annotations

from typing import Any

from network.offline.aws import AwsEmulator
from network.plan import Plan
from network.vpc_flows import planned_flows


def verify_emulator(
    emu: AwsEmulator, plan: Plan, outputs: dict[str, Any]
) -> tuple[list[str], list[str]]:
    """Return (failures, passed checks) comparing the emulator with the plan."""
    fail: list[str] = []
    ok: list[str] = []
    vpcs_out = outputs["vpcs"]
    gateways = outputs["gateways"]

    clients: dict[str, Any] = {}

    def ec2(region: str) -> Any:
        if region not in clients:
            clients[region] = emu.client("ec2", region)
        return clients[region]

    # One describe per kind and region: every call to the emulator costs
    # milliseconds, and a large stack has thousands of route-table checks.
    tables: dict[str, dict[str, Any]] = {}
    groups: dict[str, dict[str, Any]] = {}
    for region in plan.regions():
        for page in ec2(region).get_paginator("describe_route_tables").paginate():
            tables |= {rt["RouteTableId"]: rt for rt in page["RouteTables"]}
        for page in ec2(region).get_paginator("describe_security_groups").paginate():
            groups |= {g["GroupId"]: g for g in page["SecurityGroups"]}

    # 1. Route tables towards the datacenters: VGW propagation, or TGW routes.
    n_prop = 0
    for vpc, vgw in plan.vgw_propagating().items():
        vgw_id = gateways[vgw]["id"]
        for tier, rt_id in vpcs_out[vpc]["routeTables"].items():
            rt = tables[rt_id]
            if vgw_id not in [p["GatewayId"] for p in rt.get("PropagatingVgws", [])]:
                fail.append(
                    f"route table {vpc}/{tier} ({rt_id}) has no propagation from VGW "
                    f"{vgw} ({vgw_id})"
                )
            else:
                n_prop += 1
    n_routes = 0
    for route in plan.vpc_routes:
        target_id = (
            gateways[route.target]["id"]
            if route.target_kind == "tgw"
            else outputs["peerings"][route.target]["id"]
        )
        key = "TransitGatewayId" if route.target_kind == "tgw" else "VpcPeeringConnectionId"
        for tier, rt_id in vpcs_out[route.vpc]["routeTables"].items():
            rt = tables[rt_id]
            hits = [
                r
                for r in rt["Routes"]
                if r.get("DestinationCidrBlock") == str(route.destination)
                and r.get(key) == target_id
            ]
            if not hits:
                fail.append(
                    f"route table {route.vpc}/{tier} has no route to {route.destination} "
                    f"via {route.target_kind} {route.target} ({target_id})"
                )
            else:
                n_routes += 1
    ok.append(
        f"{n_prop} route tables propagate from their VGW; "
        f"{n_routes} routes via TGW or peering are in place"
    )

    # 2. Transit gateway route tables: associations, propagations, static routes.
    n_tgw = 0
    n_static = 0
    for tp in plan.transit.values():
        region = tp.spec.region
        client = ec2(region)
        atts = client.describe_transit_gateway_attachments(
            Filters=[{"Name": "transit-gateway-id", "Values": [gateways[tp.name]["id"]]}]
        )["TransitGatewayAttachments"]
        ref_of: dict[str, str] = {}
        for a in atts:
            if a["ResourceType"] == "vpc":
                owner = next((v for v, o in vpcs_out.items() if o["id"] == a["ResourceId"]), None)
                if owner:
                    ref_of[a["TransitGatewayAttachmentId"]] = f"vpc:{owner}"
            elif a["ResourceType"] == "vpn":
                conn = _connection_by_vpn_id(outputs, a["ResourceId"])
                if conn:
                    ref_of[a["TransitGatewayAttachmentId"]] = f"vpn:{conn}"
        for table in tp.route_tables:
            rt_id = gateways[tp.name]["routeTables"][table.name]["id"]
            assoc = client.get_transit_gateway_route_table_associations(
                TransitGatewayRouteTableId=rt_id
            )["Associations"]
            prop = client.get_transit_gateway_route_table_propagations(
                TransitGatewayRouteTableId=rt_id
            )["TransitGatewayRouteTablePropagations"]
            got_a = {ref_of.get(a["TransitGatewayAttachmentId"], "?") for a in assoc}
            got_p = {ref_of.get(p["TransitGatewayAttachmentId"], "?") for p in prop}
            for kind, want, got in (
                ("association", set(table.associations), got_a),
                ("propagation", set(table.propagations), got_p),
            ):
                for ref in sorted(want - got):
                    fail.append(f"TGW {tp.name} route table {table.name}: {kind} of {ref} missing")
                for ref in sorted(got - want):
                    fail.append(
                        f"TGW {tp.name} route table {table.name}: unexpected {kind} of {ref}"
                    )
                n_tgw += len(want & got)
            # Static routes (VPN attachments with static routing): the prefix,
            # to that attachment, as an active static route of this table.
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
            for table_name, prefix, ref in tp.static_routes:
                if table_name != table.name:
                    continue
                if (str(prefix), ref) in have:
                    n_static += 1
                else:
                    fail.append(
                        f"TGW {tp.name} route table {table.name}: static route {prefix} "
                        f"via {ref} missing"
                    )
    if plan.transit:
        ok.append(
            f"{n_tgw} TGW route-table associations and propagations, and {n_static} static "
            "routes, as planned"
        )

    # 3. Peering: active, and both sides route to each other (counted above).
    for peer in plan.peerings:
        region = plan.vpcs[peer.requester].spec.region
        pid = outputs["peerings"][peer.name]["id"]
        pcx = ec2(region).describe_vpc_peering_connections(VpcPeeringConnectionIds=[pid])[
            "VpcPeeringConnections"
        ][0]
        if pcx["Status"]["Code"] != "active":
            fail.append(f"peering {peer.name} ({pid}) is {pcx['Status']['Code']}, not active")
    if plan.peerings:
        ok.append(f"{len(plan.peerings)} peering connection(s) active")

    # 4. VPN connections: what AWS holds is what the routers will be given.
    psks = outputs["presharedKeys"]
    n_tun = 0
    for router in outputs["routers"].values():
        for conn in router["connections"]:
            c = next(x for x in plan.connections if x.name == conn["name"])
            got = ec2(c.region).describe_vpn_connections(
                VpnConnectionIds=[conn["vpnConnectionId"]]
            )["VpnConnections"][0]
            opts = got["Options"]
            if bool(opts.get("StaticRoutesOnly")) != (c.spec.routing == "static"):
                fail.append(
                    f"{c.name}: StaticRoutesOnly={opts.get('StaticRoutesOnly')} but "
                    f"routing is {c.spec.routing}"
                )
            tunnels = opts["TunnelOptions"]
            if (
                len(tunnels) != 2
                or tunnels[0]["OutsideIpAddress"] == tunnels[1]["OutsideIpAddress"]
            ):
                fail.append(f"{c.name}: AWS must hold two tunnels on two outside addresses")
                continue
            for t, aws_t in zip(conn["tunnels"], tunnels):
                where = f"{c.name} tunnel {t['number']}"
                checks = {
                    "outside address": (t["awsOutsideIp"], aws_t["OutsideIpAddress"]),
                    "inside CIDR": (t["insideCidr"], aws_t["TunnelInsideCidr"]),
                    "phase 1 encryption": (
                        conn["crypto"]["phase1"]["encryption"],
                        [v["Value"] for v in aws_t["Phase1EncryptionAlgorithms"]],
                    ),
                    "phase 2 lifetime": (
                        conn["crypto"]["phase2"]["lifetimeSeconds"],
                        aws_t["Phase2LifetimeSeconds"],
                    ),
                    "DPD action": (conn["crypto"]["dpd"]["action"], aws_t["DpdTimeoutAction"]),
                    "IKE versions": (
                        conn["crypto"]["ikeVersions"],
                        [v["Value"] for v in aws_t["IkeVersions"]],
                    ),
                }
                for what, (want, have) in checks.items():
                    if want != have:
                        fail.append(f"{where}: {what} is {have!r} in AWS, {want!r} in the outputs")
                if psks.get(t["presharedKeyRef"]) != aws_t["PreSharedKey"]:
                    fail.append(f"{where}: the pre-shared key in the outputs is not AWS's")
                n_tun += 1
            if c.spec.routing == "static" and c.gateway_type == "vgw":
                have_routes = {r["DestinationCidrBlock"] for r in got.get("Routes", [])}
                for prefix in c.announce:
                    if str(prefix) not in have_routes:
                        fail.append(f"{c.name}: static route {prefix} missing on the connection")
    ok.append(f"{n_tun} tunnels match AWS (outside and inside addresses, crypto, keys)")

    # 5. Security groups admit exactly the planned flows from the datacenters.
    n_sg = 0
    for name in plan.vpcs:
        vp = plan.vpcs[name]
        for tier, sg_id in vpcs_out[name]["securityGroups"].items():
            sg = groups[sg_id]
            flows: set[tuple[str, str, int, int]] = set()
            for perm in sg["IpPermissions"]:
                for r in perm.get("IpRanges", []):
                    flows.add(
                        (
                            r["CidrIp"],
                            perm["IpProtocol"],
                            int(perm.get("FromPort", -1)),
                            int(perm.get("ToPort", -1)),
                        )
                    )
            planned = set(planned_flows(vp.spec.ingress, tier))
            if any(c == "0.0.0.0/0" for c, *_ in flows):
                fail.append(f"security group {name}/{tier} admits 0.0.0.0/0")
            for flow in sorted(planned - flows):
                fail.append(f"security group {name}/{tier} lacks planned flow {flow}")
            for flow in sorted(flows - planned):
                fail.append(f"security group {name}/{tier} admits unplanned flow {flow}")
            n_sg += 1
    ok.append(f"{n_sg} security groups admit exactly the planned datacenter flows")
    return fail, ok


def _connection_by_vpn_id(outputs: dict[str, Any], vpn_id: str) -> str | None:
    for router in outputs["routers"].values():
        for conn in router["connections"]:
            if conn["vpnConnectionId"] == vpn_id:
                return str(conn["name"])
    return None
