"""SiteToSiteVpn: one VPN connection (both tunnels, their options and keys)
from a customer gateway to a VGW or a TGW, with its static routes."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from network import aws_rules as rules
from network.components.base import child, resource_name, tags, token
from network.naming import slug
from network.plan import ConnectionPlan

# The VpnConnection outputs that the contract is built from.
TUNNEL_OUTPUTS = (
    "address",
    "inside_cidr",
    "cgw_inside_address",
    "vgw_inside_address",
    "bgp_asn",
    "bgp_holdtime",
)


@dataclass(frozen=True)
class SiteToSiteVpnArgs:
    plan: ConnectionPlan
    stack: str
    customer_gateway_id: pulumi.Input[str]
    gateway_id: pulumi.Input[str]
    provider: pulumi.ProviderResource


def _generated_psk(
    name: str, parent: pulumi.Resource, provider: pulumi.ProviderResource | None
) -> pulumi.Output[str]:
    # AWS: 8-64 of letters, digits, '.', '_', never starting with '0'. Letters
    # only keeps every draw valid (32 letters carry about 182 bits).
    pw = random.RandomPassword(
        name,
        length=rules.GENERATED_PSK_LENGTH,
        special=False,
        numeric=False,
        upper=True,
        lower=True,
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return pulumi.Output.secret(pw.result)


class SiteToSiteVpn(pulumi.ComponentResource):
    connection: aws.ec2.VpnConnection
    preshared_keys: dict[int, pulumi.Output[str]]

    def __init__(
        self, name: str, args: SiteToSiteVpnArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__(token("SiteToSiteVpn"), name, None, opts)
        c, prov = args.plan, args.provider
        o = c.options
        unread = [s.number for s in c.spec.tunnels if s.psk is None and s.psk_source]
        if unread:
            # A plan built with need_secrets=False: generating a key here would
            # silently replace the user's own.
            raise ValueError(
                f"{c.name}: the pre-shared key of tunnel(s) {unread} comes from a secret "
                "config value that was not read (need_secrets=False): not declarable"
            )
        self.preshared_keys = {}
        for t in c.tunnels:
            if t.psk is not None:
                self.preshared_keys[t.number] = pulumi.Output.secret(t.psk.reveal())
            else:
                self.preshared_keys[t.number] = _generated_psk(
                    resource_name("psk", c.name, t.number), self, None
                )
        per_tunnel: dict[str, object] = {}
        for t in c.tunnels:
            n = t.number
            per_tunnel |= {
                f"tunnel{n}_inside_cidr": str(t.inside_cidr),
                f"tunnel{n}_preshared_key": self.preshared_keys[n],
                f"tunnel{n}_ike_versions": list(o.ike_versions),
                f"tunnel{n}_phase1_encryption_algorithms": list(o.phase1.encryption),
                f"tunnel{n}_phase1_integrity_algorithms": list(o.phase1.integrity),
                f"tunnel{n}_phase1_dh_group_numbers": list(o.phase1.dh_groups),
                f"tunnel{n}_phase1_lifetime_seconds": o.phase1.lifetime,
                f"tunnel{n}_phase2_encryption_algorithms": list(o.phase2.encryption),
                f"tunnel{n}_phase2_integrity_algorithms": list(o.phase2.integrity),
                f"tunnel{n}_phase2_dh_group_numbers": list(o.phase2.dh_groups),
                f"tunnel{n}_phase2_lifetime_seconds": o.phase2.lifetime,
                f"tunnel{n}_rekey_margin_time_seconds": o.rekey_margin,
                f"tunnel{n}_rekey_fuzz_percentage": o.rekey_fuzz,
                f"tunnel{n}_replay_window_size": o.replay_window,
                f"tunnel{n}_dpd_timeout_seconds": o.dpd_timeout,
                f"tunnel{n}_dpd_timeout_action": o.dpd_action,
                f"tunnel{n}_startup_action": o.startup_action,
            }
            # IPv6 inside CIDRs never get here: the plan refuses them (they would
            # need tunnel_inside_ip_version "ipv6", which carries IPv6 traffic only).
        gateway = (
            {"vpn_gateway_id": args.gateway_id}
            if c.gateway_type == "vgw"
            else {"transit_gateway_id": args.gateway_id}
        )
        self.connection = aws.ec2.VpnConnection(  # type: ignore[call-overload]
            resource_name("vpn", c.name),
            customer_gateway_id=args.customer_gateway_id,
            type="ipsec.1",
            static_routes_only=c.spec.routing == "static",
            # Unset when off (no input, the provider's default), so an existing connection's
            # inputs do not change; ForceNew either way.
            enable_acceleration=True if c.spec.acceleration else None,
            tags=tags(args.stack, "vpn", c.name),
            opts=child(
                self,
                prov,
                additional_secret_outputs=[
                    "tunnel1PresharedKey",
                    "tunnel2PresharedKey",
                    "customerGatewayConfiguration",
                ],
            ),
            **gateway,
            **per_tunnel,
        )
        # With static routing AWS learns the datacenter prefixes from these
        # routes (on a VGW); a TGW gets static routes in its route tables instead.
        if c.spec.routing == "static" and c.gateway_type == "vgw":
            for prefix in c.announce:
                aws.ec2.VpnConnectionRoute(
                    resource_name("vpn-route", c.name, slug(prefix)),
                    vpn_connection_id=self.connection.id,
                    destination_cidr_block=str(prefix),
                    opts=child(self, prov),
                )
        self.register_outputs({"vpnConnectionId": self.connection.id})

    def aws_values(
        self, customer_gateway_id: pulumi.Input[str], gateway_id: pulumi.Input[str]
    ) -> pulumi.Output[dict[str, object]]:
        """What AWS returned for this connection, keyed as the contract expects."""
        vpn = self.connection
        fields: dict[str, pulumi.Input[object]] = {
            "id": vpn.id,
            "customerGatewayId": customer_gateway_id,
            "gatewayId": gateway_id,
        }
        for n in (1, 2):
            for attr in TUNNEL_OUTPUTS:
                camel = "".join(w.capitalize() for w in attr.split("_"))
                fields[f"tunnel{n}{camel}"] = getattr(vpn, f"tunnel{n}_{attr}")
        return pulumi.Output.all(**fields)
