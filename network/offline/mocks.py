"""Pulumi mocks backed by the in-process AWS emulator.

Every resource the program registers is created in moto, and the state
handed back to the program is what moto (with crossnet's VPN extensions)
answers, not what the program asked for. Property names in `args.inputs` and
in the returned state are camelCase, as the engine uses.

Two ways into moto. The bulk of a network (VPCs, subnets, route tables and
their associations, routes, security groups and their rules, TGW route-table
associations and propagations: nine resources in ten of a large topology) is
created through moto's EC2 backend methods, the very
calls moto's API layer makes, without the round trip through botocore and
moto's HTTP serializers (about 8 ms a call, most of an apply's time).
Gateways, VPN connections, peering and the transit gateway go through the EC2
API with boto3, where crossnet's extensions read their requests. Either way
the resource exists in the emulator, and the checks after the run
(`network.offline.verify`) read it all back through the EC2 API.

Two things the real engine does that Pulumi's MockMonitor does not, done here:
outputs named in `additional_secret_outputs` (pulumi-aws marks a VPN
connection's `tunnelNPresharedKey` and `customerGatewayConfiguration`,
pulumi-random a password's `result`) and outputs whose input was secret come
back secret; and a second resource with an existing URN is refused.
"""

from __future__ import annotations

import hashlib
import random
import secrets
import string
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi
from botocore.exceptions import ClientError
from google.protobuf import struct_pb2
from moto.core.exceptions import ServiceException
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ec2.models import ec2_backends
from moto.ec2.responses.security_groups import parse_sg_attributes_from_dict
from pulumi.runtime.mocks import MockMonitor

from network.errors import aws_said
from network.offline.aws import AwsEmulator, tunnel_attachment_id
from network.offline.aws_changes import TUNNEL_OPTION_MAP
from network.offline.lifecycle import Lifecycle, LifecycleError, Options

# The RPC layer wraps secret inputs in this sentinel dict.
_SECRET_SIG = "4dabf18193072939515e22adb298388d"
_SECRET_VAL = "1b47061264138c4ac30d75fd1eb44270"


class OfflineApplyError(Exception):
    """AWS (the emulator) rejected a resource, or the type is not emulated."""


def unwrap(value: Any) -> tuple[Any, bool]:
    """Strip the RPC secret sentinel from a value; report whether any was secret."""
    if isinstance(value, dict):
        if value.get(_SECRET_SIG) == _SECRET_VAL:
            inner, _ = unwrap(value.get("value"))
            return inner, True
        out, secret = {}, False
        for k, v in value.items():
            out[k], s = unwrap(v)
            secret = secret or s
        return out, secret
    if isinstance(value, list):
        items = [unwrap(v) for v in value]
        return [v for v, _ in items], any(s for _, s in items)
    if isinstance(value, float) and value.is_integer():
        return int(value), False  # the RPC layer turns every number into a float
    return value, False


@dataclass
class Registration:
    """One resource as the offline apply saw it (inputs with secrets masked)."""

    urn: str
    type: str
    name: str
    parent: str
    id: str
    inputs: dict[str, Any]
    secret_inputs: list[str] = field(default_factory=list)


def secret_wrapped(value: struct_pb2.Value) -> struct_pb2.Value:
    """A property value wrapped in the RPC secret sentinel, as the engine sends it."""
    wrapped = struct_pb2.Value()
    fields = wrapped.struct_value.fields
    fields[_SECRET_SIG].string_value = _SECRET_VAL
    fields["value"].CopyFrom(value)
    return wrapped


def _is_wrapped(value: struct_pb2.Value) -> bool:
    if value.WhichOneof("kind") != "struct_value":
        return False
    marker: str = value.struct_value.fields.get(_SECRET_SIG, struct_pb2.Value()).string_value
    return marker == _SECRET_VAL


class RecordingMonitor(MockMonitor):
    """The mock monitor, also recording each registration with its parent, and
    behaving like the engine for secret outputs and duplicate URNs."""

    def __init__(self, mocks: MotoMocks):
        super().__init__(mocks)
        self.moto_mocks = mocks
        self.parents: dict[str, str] = {}
        self._claimed: set[str] = set()
        self._claim_lock = threading.Lock()

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC name)
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type != "pulumi:pulumi:Stack":
            with self._claim_lock:
                duplicate = urn in self._claimed
                self._claimed.add(urn)
            if duplicate:
                # The engine's own words: nothing is created for the second one.
                msg = f"Duplicate resource URN '{urn}'; try giving it a unique name"
                self.moto_mocks.errors.append(msg)
                raise OfflineApplyError(msg)
        self.moto_mocks.options[(request.type, request.name)] = Options(
            bool(request.deleteBeforeReplace), tuple(request.replaceOnChanges)
        )
        resp = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        self.parents[resp.urn] = request.parent
        secret = set(request.additionalSecretOutputs) | self.moto_mocks.secret_outputs.pop(
            (request.type, request.name), set()
        )
        for key in sorted(secret):
            if key in resp.object.fields and not _is_wrapped(resp.object.fields[key]):
                resp.object.fields[key].CopyFrom(secret_wrapped(resp.object.fields[key]))
        return resp


class MotoMocks(pulumi.runtime.Mocks):
    """Creates every declared resource in the AWS emulator."""

    def __init__(self, emulator: AwsEmulator, default_region: str, seed: int | None = None):
        self.emu = emulator
        self.default_region = default_region
        self.seed = seed
        self.provider_regions: dict[str, str] = {}
        self.lock = threading.Lock()
        self.registrations: dict[tuple[str, str], Registration] = {}
        # (type, name) -> output names whose input was secret: the monitor
        # returns them secret, as the engine does.
        self.secret_outputs: dict[tuple[str, str], set[str]] = {}
        self.errors: list[str] = []
        # The engine's view of the stack's previous state (None: create everything),
        # and the resource options it reads (filled by the monitor).
        self.lifecycle: Lifecycle | None = None
        self.options: dict[tuple[str, str], Options] = {}
        self._clients: dict[str, Any] = {}
        self.closed = False
        self.handlers: dict[
            str, Callable[[dict[str, Any], str, str], tuple[str, dict[str, Any]]]
        ] = {
            "aws:ec2/vpc:Vpc": self._vpc,
            "aws:ec2/subnet:Subnet": self._subnet,
            "aws:ec2/routeTable:RouteTable": self._route_table,
            "aws:ec2/routeTableAssociation:RouteTableAssociation": self._rt_assoc,
            "aws:ec2/securityGroup:SecurityGroup": self._sg,
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": self._sg_ingress,
            "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": self._sg_egress,
            "aws:ec2/vpnGateway:VpnGateway": self._vgw,
            "aws:ec2/vpnGatewayRoutePropagation:VpnGatewayRoutePropagation": self._vgw_prop,
            "aws:ec2/customerGateway:CustomerGateway": self._cgw,
            "aws:ec2/vpnConnection:VpnConnection": self._vpn,
            "aws:ec2/vpnConnectionRoute:VpnConnectionRoute": self._vpn_route,
            "aws:ec2/route:Route": self._route,
            "aws:ec2/vpcPeeringConnection:VpcPeeringConnection": self._pcx,
            "aws:ec2/vpcPeeringConnectionAccepter:VpcPeeringConnectionAccepter": self._pcx_accept,
            "aws:ec2/peeringConnectionOptions:PeeringConnectionOptions": self._pcx_options,
            "aws:ec2transitgateway/transitGateway:TransitGateway": self._tgw,
            "aws:ec2transitgateway/vpcAttachment:VpcAttachment": self._tgw_vpc_att,
            "aws:ec2transitgateway/routeTable:RouteTable": self._tgw_rt,
            "aws:ec2transitgateway/routeTableAssociation:RouteTableAssociation": self._tgw_assoc,
            "aws:ec2transitgateway/routeTablePropagation:RouteTablePropagation": self._tgw_prop,
            "aws:ec2transitgateway/route:Route": self._tgw_route,
            "random:index/randomPassword:RandomPassword": self._password,
        }

    # ------------------------------------------------------------ engine hooks
    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
        raise OfflineApplyError(f"the offline AWS answers no data-source call ({args.token})")

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        inputs: dict[str, Any] = {}
        secret_keys: list[str] = []
        for key, value in args.inputs.items():  # each input unwrapped once
            inputs[key], secret = unwrap(value)
            if secret:
                secret_keys.append(key)
        if args.typ.startswith("pulumi:providers:"):
            region = inputs.get("region") or self.default_region
            pid = f"{args.name}-provider-id"
            self.provider_regions[pid] = region
            return pid, inputs
        if not args.custom:  # a component: nothing to create
            return "", {}
        if self.closed:
            # A registration left over from a run that has ended must never
            # reach the emulator of a later run.
            raise OfflineApplyError(f"{args.typ} '{args.name}': the offline run has ended")
        handler = self.handlers.get(args.typ)
        if handler is None:
            msg = f"{args.typ} '{args.name}': not emulated by the offline AWS"
            self.errors.append(msg)
            raise OfflineApplyError(msg)
        region = self._region(args.provider or "")
        try:
            with self.lock:
                if self.lifecycle is None:
                    rid, state = handler(inputs, region, args.name)
                else:
                    self.lifecycle.options = self.options
                    rid, state = self.lifecycle.step(args.typ, args.name, inputs, region, handler)
        except (ClientError, ServiceException) as e:  # a backend call: the API's error
            msg = f"{args.typ} '{args.name}': {aws_said(e)}"
            self.errors.append(msg)
            raise OfflineApplyError(msg) from None
        except LifecycleError as e:
            msg = f"{args.typ} '{args.name}': {e}"
            self.errors.append(msg)
            raise OfflineApplyError(msg) from None
        masked = {k: ("[secret]" if k in secret_keys else v) for k, v in inputs.items()}
        self.secret_outputs[(args.typ, args.name)] = set(secret_keys)
        self.registrations[(args.typ, args.name)] = Registration(
            "", args.typ, args.name, "", rid, masked, sorted(secret_keys)
        )
        return rid, {**inputs, **state}

    def close(self) -> None:
        """Refuse every later registration; wait for one in flight to finish."""
        with self.lock:
            self.closed = True

    def _region(self, provider_ref: str) -> str:
        pid = provider_ref.rsplit("::", 1)[-1] if provider_ref else ""
        return self.provider_regions.get(pid, self.default_region)

    def ec2(self, region: str) -> Any:
        # A boto3 client costs tens of milliseconds to build: one per region.
        if region not in self._clients:
            self._clients[region] = self.emu.client("ec2", region)
        return self._clients[region]

    def backend(self, region: str) -> Any:
        """moto's EC2 backend of the region (the account boto3's dummy credentials map to)."""
        return ec2_backends[DEFAULT_ACCOUNT_ID][region]

    # ------------------------------------------------------------ VPC
    def _vpc(self, i: dict[str, Any], region: str, name: str) -> tuple[str, dict[str, Any]]:
        b = self.backend(region)
        vpc = b.create_vpc(
            i["cidrBlock"],
            "default",
            tags=_tag_list(i),
            ipv6_cidr_block_network_border_group=region,
        )
        for key, attr in (
            ("enableDnsSupport", "enable_dns_support"),
            ("enableDnsHostnames", "enable_dns_hostnames"),
        ):
            if i.get(key):
                b.modify_vpc_attribute(vpc.id, attr, True)
        # The VPC's main route table, without moto's filters over every table (quadratic).
        tables = b.route_tables.values()
        main = next((t.id for t in tables if t.vpc_id == vpc.id and t.main_association_id), "")
        return vpc.id, {
            "arn": f"arn:aws:ec2:{region}:123456789012:vpc/{vpc.id}",
            "defaultRouteTableId": main,
            "mainRouteTableId": main,
            "ownerId": DEFAULT_ACCOUNT_ID,
        }

    def _subnet(self, i: dict[str, Any], region: str, name: str) -> tuple[str, dict[str, Any]]:
        s = self.backend(region).create_subnet(
            i["vpcId"],
            i["cidrBlock"],
            availability_zone=i["availabilityZone"],
            tags={"subnet": _tag_dict(i)} if i.get("tags") else {},
        )
        return s.id, {"arn": s.arn}

    def _route_table(self, i: dict[str, Any], region: str, name: str) -> tuple[str, dict[str, Any]]:
        rt = self.backend(region).create_route_table(i["vpcId"], _tag_list(i))
        return rt.id, {}

    def _rt_assoc(self, i: dict[str, Any], region: str, name: str) -> tuple[str, dict[str, Any]]:
        rid = self.backend(region).associate_route_table(
            i["routeTableId"], gateway_id=None, subnet_id=i["subnetId"]
        )
        return rid, {}

    def _sg(self, i: dict[str, Any], region: str, name: str) -> tuple[str, dict[str, Any]]:
        b = self.backend(region)
        sg = b.create_security_group(
            i.get("name") or name,
            i.get("description") or name,
            vpc_id=i["vpcId"],
            tags=_tag_dict(i),
        )
        # Like the AWS provider, drop the default allow-all egress rule: egress
        # is declared explicitly.
        b.revoke_security_group_egress(sg.id, "-1", None, None, [{"CidrIp": "0.0.0.0/0"}])
        return sg.id, {"arn": f"arn:aws:ec2:{region}:123456789012:security-group/{sg.id}"}

    def _perm(self, i: dict[str, Any]) -> dict[str, Any]:
        perm: dict[str, Any] = {"IpProtocol": i["ipProtocol"]}
        if i["ipProtocol"] not in ("-1",):
            perm["FromPort"] = int(i.get("fromPort", -1))
            perm["ToPort"] = int(i.get("toPort", -1))
        if i.get("cidrIpv4"):
            perm["IpRanges"] = [{"CidrIp": i["cidrIpv4"], "Description": i.get("description", "")}]
        if i.get("referencedSecurityGroupId"):
            perm["UserIdGroupPairs"] = [{"GroupId": i["referencedSecurityGroupId"]}]
        return perm

    def _sg_ingress(self, i: dict[str, Any], region: str, name: str) -> tuple[str, dict[str, Any]]:
        rules, _ = self.backend(region).authorize_security_group_ingress(**self._rule(i))
        return (rules[0].id if rules else f"sgr-{_h(name)}"), {}

    def _sg_egress(self, i: dict[str, Any], region: str, name: str) -> tuple[str, dict[str, Any]]:
        rules, _ = self.backend(region).authorize_security_group_egress(**self._rule(i))
        return (rules[0].id if rules else f"sgr-{_h(name)}"), {}

    def _rule(self, i: dict[str, Any]) -> dict[str, Any]:
        """A rule's arguments, as moto's API layer reads them from IpPermissions."""
        protocol, from_port, to_port, ranges, groups, prefix_lists = parse_sg_attributes_from_dict(
            self._perm(i)
        )
        return {
            "group_name_or_id": i["securityGroupId"],
            "ip_protocol": protocol,
            "from_port": from_port,
            "to_port": to_port,
            "ip_ranges": ranges,
            "sgrule_tags": {},
            "source_groups": groups,
            "prefix_list_ids": prefix_lists,
            "security_rule_ids": [],
        }

    # ------------------------------------------------------------ VPN
    def _vgw(self, i: dict[str, Any], region: str, name: str) -> tuple[str, dict[str, Any]]:
        ec2 = self.ec2(region)
        g = ec2.create_vpn_gateway(
            Type="ipsec.1",
            AmazonSideAsn=int(i["amazonSideAsn"]),
            TagSpecifications=_tags("vpn-gateway", i),
        )["VpnGateway"]
        if i.get("vpcId"):
            ec2.attach_vpn_gateway(VpcId=i["vpcId"], VpnGatewayId=g["VpnGatewayId"])
        return g["VpnGatewayId"], {"amazonSideAsn": str(g.get("AmazonSideAsn", i["amazonSideAsn"]))}

    def _vgw_prop(self, i: dict[str, Any], region: str, name: str) -> tuple[str, dict[str, Any]]:
        self.ec2(region).enable_vgw_route_propagation(
            GatewayId=i["vpnGatewayId"], RouteTableId=i["routeTableId"]
        )
        return f"{i['routeTableId']}_{i['vpnGatewayId']}", {}

    def _cgw(self, i: dict[str, Any], region: str, name: str) -> tuple[str, dict[str, Any]]:
        # pulumi-aws takes a 4-byte ASN (above 2147483647) as bgpAsnExtended instead.
        asn = (
            {"BgpAsnExtended": int(i["bgpAsnExtended"])}
            if i.get("bgpAsnExtended")
            else {"BgpAsn": int(i["bgpAsn"])}
        )
        g = self.ec2(region).create_customer_gateway(
            Type=i.get("type", "ipsec.1"),
            PublicIp=i["ipAddress"],
            TagSpecifications=_tags("customer-gateway", i),
            **({"DeviceName": i["deviceName"]} if i.get("deviceName") else {}),
            **asn,
        )["CustomerGateway"]
        return g["CustomerGatewayId"], {}

    def _vpn(self, i: dict[str, Any], region: str, name: str) -> tuple[str, dict[str, Any]]:
        ec2 = self.ec2(region)
        tunnels = []
        for n in (1, 2):
            t: dict[str, Any] = {}
            for src, dst in TUNNEL_OPTION_MAP:
                value = i.get(f"tunnel{n}{src}")
                if value is None:
                    continue
                if dst.endswith("Algorithms") or dst.endswith("Numbers") or dst == "IKEVersions":
                    key = {"IKEVersions": "Value"}.get(dst, "Value")
                    value = [{key: v} for v in value]
                t[dst] = value
            tunnels.append(t)
        kwargs: dict[str, Any] = {
            "CustomerGatewayId": i["customerGatewayId"],
            "Type": i.get("type", "ipsec.1"),
            "Options": {
                "StaticRoutesOnly": bool(i.get("staticRoutesOnly")),
                "EnableAcceleration": bool(i.get("enableAcceleration")),
                "TunnelOptions": tunnels,
            },
            "TagSpecifications": _tags("vpn-connection", i),
        }
        if i.get("vpnGatewayId"):
            kwargs["VpnGatewayId"] = i["vpnGatewayId"]
        if i.get("transitGatewayId"):
            kwargs["TransitGatewayId"] = i["transitGatewayId"]
        vpn = ec2.create_vpn_connection(**kwargs)["VpnConnection"]
        # The answer has DescribeVpnConnections' VpnConnection shape: no read-back.
        return vpn["VpnConnectionId"], self.vpn_state(region, vpn["VpnConnectionId"], i, vpn)

    def vpn_state(
        self, region: str, vid: str, i: dict[str, Any], got: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """A VPN connection's outputs, as pulumi-aws reads them back from AWS (`got`:
        AWS's answer about the connection, when the caller has it already)."""
        ec2 = self.ec2(region)
        if got is None:
            got = ec2.describe_vpn_connections(VpnConnectionIds=[vid])["VpnConnections"][0]
        # The gateway's ASN from the emulator's model (what its describe answers).
        b = self.backend(region)
        if i.get("vpnGatewayId"):
            aws_asn = str(b.vpn_gateways[i["vpnGatewayId"]].amazon_side_asn)
        else:
            aws_asn = str(b.transit_gateways[i["transitGatewayId"]].options["AmazonSideAsn"])
        state: dict[str, Any] = {
            "customerGatewayConfiguration": got.get("CustomerGatewayConfiguration", ""),
            "transitGatewayAttachmentId": tunnel_attachment_id(ec2, vid) or "",
            "arn": f"arn:aws:ec2:{region}:123456789012:vpn-connection/{vid}",
        }
        # pulumi-aws numbers tunnels in the order AWS reports them.
        for n, opt in enumerate(got["Options"]["TunnelOptions"], start=1):
            cidr = opt["TunnelInsideCidr"]
            base = cidr.split("/")[0].rsplit(".", 1)
            last = int(base[1])
            state |= {
                f"tunnel{n}Address": opt["OutsideIpAddress"],
                f"tunnel{n}InsideCidr": cidr,
                f"tunnel{n}VgwInsideAddress": f"{base[0]}.{last + 1}",
                f"tunnel{n}CgwInsideAddress": f"{base[0]}.{last + 2}",
                f"tunnel{n}BgpAsn": aws_asn,
                f"tunnel{n}BgpHoldtime": 30,
                f"tunnel{n}PresharedKey": opt["PreSharedKey"],
            }
        return state

    def _vpn_route(self, i: dict[str, Any], region: str, name: str) -> tuple[str, dict[str, Any]]:
        self.ec2(region).create_vpn_connection_route(
            VpnConnectionId=i["vpnConnectionId"], DestinationCidrBlock=i["destinationCidrBlock"]
        )
        return f"{i['destinationCidrBlock']}:{i['vpnConnectionId']}", {}

    def _route(self, i: dict[str, Any], region: str, name: str) -> tuple[str, dict[str, Any]]:
        self.backend(region).create_route(
            i["routeTableId"],
            i["destinationCidrBlock"],
            gateway_id=i.get("gatewayId"),
            transit_gateway_id=i.get("transitGatewayId"),
            vpc_peering_connection_id=i.get("vpcPeeringConnectionId"),
        )
        return f"r-{i['routeTableId']}{_h(i['destinationCidrBlock'])}", {"origin": "CreateRoute"}

    def _pcx(self, i: dict[str, Any], region: str, name: str) -> tuple[str, dict[str, Any]]:
        ec2 = self.ec2(region)
        kw: dict[str, Any] = {
            "VpcId": i["vpcId"],
            "PeerVpcId": i["peerVpcId"],
            "TagSpecifications": _tags("vpc-peering-connection", i),
        }
        if i.get("peerRegion"):
            kw["PeerRegion"] = i["peerRegion"]
        pcx = ec2.create_vpc_peering_connection(**kw)["VpcPeeringConnection"]
        pid = pcx["VpcPeeringConnectionId"]
        status = pcx["Status"]["Code"]
        if i.get("autoAccept"):
            status = ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pid)[
                "VpcPeeringConnection"
            ]["Status"]["Code"]
        return pid, {"acceptStatus": status}

    def _pcx_accept(self, i: dict[str, Any], region: str, name: str) -> tuple[str, dict[str, Any]]:
        pid = i["vpcPeeringConnectionId"]
        r = self.ec2(region).accept_vpc_peering_connection(VpcPeeringConnectionId=pid)
        return pid, {"acceptStatus": r["VpcPeeringConnection"]["Status"]["Code"]}

    def _pcx_options(self, i: dict[str, Any], region: str, name: str) -> tuple[str, dict[str, Any]]:
        kw: dict[str, Any] = {"VpcPeeringConnectionId": i["vpcPeeringConnectionId"]}
        for side in ("requester", "accepter"):
            if i.get(side):
                kw[f"{side.capitalize()}PeeringConnectionOptions"] = {
                    "AllowDnsResolutionFromRemoteVpc": bool(
                        i[side].get("allowRemoteVpcDnsResolution")
                    )
                }
        self.ec2(region).modify_vpc_peering_connection_options(**kw)
        return i["vpcPeeringConnectionId"], {}

    # ------------------------------------------------------------ transit gateway
    def _tgw(self, i: dict[str, Any], region: str, name: str) -> tuple[str, dict[str, Any]]:
        opts = {
            "AmazonSideAsn": int(i.get("amazonSideAsn", 64512)),
            "VpnEcmpSupport": i.get("vpnEcmpSupport", "enable"),
            "DefaultRouteTableAssociation": i.get("defaultRouteTableAssociation", "enable"),
            "DefaultRouteTablePropagation": i.get("defaultRouteTablePropagation", "enable"),
            "DnsSupport": i.get("dnsSupport", "enable"),
        }
        t = self.ec2(region).create_transit_gateway(
            Description=i.get("description", ""),
            Options=opts,
            TagSpecifications=_tags("transit-gateway", i),
        )["TransitGateway"]
        return t["TransitGatewayId"], {
            "arn": t.get("TransitGatewayArn", ""),
            "associationDefaultRouteTableId": t["Options"].get(
                "AssociationDefaultRouteTableId", ""
            ),
        }

    def _tgw_vpc_att(self, i: dict[str, Any], region: str, name: str) -> tuple[str, dict[str, Any]]:
        a = self.ec2(region).create_transit_gateway_vpc_attachment(
            TransitGatewayId=i["transitGatewayId"],
            VpcId=i["vpcId"],
            SubnetIds=i["subnetIds"],
            TagSpecifications=_tags("transit-gateway-attachment", i),
        )["TransitGatewayVpcAttachment"]
        return a["TransitGatewayAttachmentId"], {}

    def _tgw_rt(self, i: dict[str, Any], region: str, name: str) -> tuple[str, dict[str, Any]]:
        rt = self.ec2(region).create_transit_gateway_route_table(
            TransitGatewayId=i["transitGatewayId"],
            TagSpecifications=_tags("transit-gateway-route-table", i),
        )["TransitGatewayRouteTable"]
        return rt["TransitGatewayRouteTableId"], {}

    def _tgw_assoc(self, i: dict[str, Any], region: str, name: str) -> tuple[str, dict[str, Any]]:
        # The backend call moto's AssociateTransitGatewayRouteTable handler makes, as is.
        self.backend(region).associate_transit_gateway_route_table(
            transit_gateway_attachment_id=i["transitGatewayAttachmentId"],
            transit_gateway_route_table_id=i["transitGatewayRouteTableId"],
        )
        return f"{i['transitGatewayRouteTableId']}_{i['transitGatewayAttachmentId']}", {}

    def _tgw_prop(self, i: dict[str, Any], region: str, name: str) -> tuple[str, dict[str, Any]]:
        self.backend(region).enable_transit_gateway_route_table_propagation(
            transit_gateway_attachment_id=i["transitGatewayAttachmentId"],
            transit_gateway_route_table_id=i["transitGatewayRouteTableId"],
        )
        return f"{i['transitGatewayRouteTableId']}_{i['transitGatewayAttachmentId']}", {}

    def _tgw_route(self, i: dict[str, Any], region: str, name: str) -> tuple[str, dict[str, Any]]:
        self.ec2(region).create_transit_gateway_route(
            DestinationCidrBlock=i["destinationCidrBlock"],
            TransitGatewayRouteTableId=i["transitGatewayRouteTableId"],
            TransitGatewayAttachmentId=i["transitGatewayAttachmentId"],
        )
        return f"{i['transitGatewayRouteTableId']}_{_h(i['destinationCidrBlock'])}", {}

    # ------------------------------------------------------------ random
    def _password(self, i: dict[str, Any], region: str, name: str) -> tuple[str, dict[str, Any]]:
        alphabet = ""
        if i.get("lower", True):
            alphabet += string.ascii_lowercase
        if i.get("upper", True):
            alphabet += string.ascii_uppercase
        if i.get("numeric", i.get("number", True)):
            alphabet += string.digits
        if i.get("special", True):
            alphabet += i.get("overrideSpecial") or "!@#$%&*()-_=+[]{}<>:?"
        length = int(i.get("length", 16))
        if self.seed is None:
            value = "".join(secrets.choice(alphabet) for _ in range(length))
        else:  # a seeded run is reproducible (tests, golden files)
            rng = random.Random(f"{self.seed}/{name}")
            value = "".join(rng.choice(alphabet) for _ in range(length))
        return "none", {"result": value, "bcryptHash": ""}


def _tag_dict(i: dict[str, Any]) -> dict[str, str]:
    """A resource's tags, values as strings."""
    return {k: str(v) for k, v in sorted((i.get("tags") or {}).items())}


def _tag_list(i: dict[str, Any]) -> list[dict[str, str]]:
    """Tags as the EC2 API lists them (and some of moto's backend methods take them)."""
    return [{"Key": k, "Value": v} for k, v in _tag_dict(i).items()]


def _tags(resource_type: str, i: dict[str, Any]) -> list[dict[str, Any]]:
    """The EC2 API's TagSpecifications for a new resource."""
    tags = _tag_list(i)
    return [{"ResourceType": resource_type, "Tags": tags}] if tags else []


def _h(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]
