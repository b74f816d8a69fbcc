"""A static VGW connection's routes deleted before it moves to a transit gateway
(`rollout --lab`): AWS refuses ModifyVpnConnection VGW -> TGW while the connection has
static routes (`IncorrectState`), so the planner's gateway-move step begins with
`aws ec2 delete-vpn-connection-route` per prefix and `pulumi refresh`.

Offline, as for ModifyVpnTunnelOptions (`network.rollout.aws_actions`): the stack's
state re-created in the emulator, each DeleteVpnConnectionRoute sent through boto3,
then the refresh (the VpnConnectionRoute resources leave the state: AWS no longer has
them), written atomically; on the lab, the AWS gateway's static routes to those
prefixes over the connection's tunnels removed from its FRR (vtysh `no ip route`).
From then on the datacenter prefixes are not routed to the connection: with no other
path, the move's outage starts here (the step states it). Idempotent: a route already
gone is not deleted again (a resumed step).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from network.errors import aws_said
from network.lab.runtime import Running
from network.lab.system import LabError

Say = Callable[[str], None]
ROUTE = "aws:ec2/vpnConnectionRoute:VpnConnectionRoute"
DELETE = re.compile(
    r"^aws ec2 delete-vpn-connection-route --vpn-connection-id (\S+) "
    r"--destination-cidr-block (\S+)$"
)


class StaticRouteError(LabError):
    exit_code = 3


def deletions(aws: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(connection ID, prefix) of each `delete-vpn-connection-route` a step's AWS side
    names, in order."""
    return [(m[1], m[2]) for c in aws.get("commands", []) if (m := DELETE.match(c))]


def delete_and_refresh(stack: str, routes: Iterable[tuple[str, str]], say: Say) -> list[str]:
    """DeleteVpnConnectionRoute for each route the state still has, then the refresh.
    Returns the prefixes deleted."""
    from botocore.exceptions import ClientError

    from network.offline.aws import AwsEmulator
    from network.offline.lifecycle import Lifecycle
    from network.offline.mocks import MotoMocks
    from network.offline.stack_state import load_state, stack_lock, state_path, write_atomic
    from network.state import state_dir

    want = set(routes)
    sfile = state_path(state_dir(stack, create=False))
    with stack_lock(sfile.parent):
        prior = load_state(sfile, stack)
        if prior is None:
            raise StaticRouteError(f"{sfile}: no applied state")
        gone = [
            r
            for r in prior.resources
            if r.type == ROUTE
            and (r.inputs.get("vpnConnectionId"), r.inputs.get("destinationCidrBlock")) in want
        ]
        if not gone:
            return []
        with AwsEmulator() as emu:
            mocks = MotoMocks(emu, default_region=gone[0].region)
            Lifecycle(mocks, prior).restore()
            for r in gone:
                try:
                    mocks.ec2(r.region).delete_vpn_connection_route(
                        VpnConnectionId=r.inputs["vpnConnectionId"],
                        DestinationCidrBlock=r.inputs["destinationCidrBlock"],
                    )
                except ClientError as e:
                    raise StaticRouteError(
                        f"DeleteVpnConnectionRoute {r.inputs['destinationCidrBlock']}: "
                        + aws_said(e)
                    ) from None
        prior.resources = [r for r in prior.resources if r not in gone]  # pulumi refresh
        write_atomic(sfile, prior.to_text())
    prefixes = [str(r.inputs["destinationCidrBlock"]) for r in gone]
    say(f"  AWS: DeleteVpnConnectionRoute {', '.join(prefixes)}; refreshed into {sfile}")
    return prefixes


def unroute(rt: Running, vpn_id: str, prefixes: Iterable[str], say: Say) -> None:
    """The lab's AWS gateway of the connection stops routing `prefixes` to it (its static
    routes via the connection's datacenter inside addresses)."""
    conn = next(
        (c for _r, c in rt.lab.connections() if c.raw.get("vpnConnectionId") == vpn_id), None
    )
    if conn is None:
        raise StaticRouteError(f"the running lab has no connection {vpn_id}")
    gw = next(g for g in rt.lab.gateways if conn.name in {c.name for c in g.connections})
    inst = rt.gateway_instance(gw)
    hops = {t.customer_inside_ip for t in conn.tunnels}
    lines = [
        line.strip()
        for line in rt.vtysh(inst, "show running-config").splitlines()
        for p in prefixes
        if line.strip().startswith(f"ip route {p} ") and line.split()[3] in hops
    ]
    if not lines:
        return
    rt.vtysh(inst, "configure terminal", *(f"no {x}" for x in lines))
    say(f"  AWS gateway {gw.name}: {'; '.join(f'no {x}' for x in lines)}")


def before_move(rt: Running, stack: str, aws: Mapping[str, Any], say: Say) -> None:
    """A step's static routes deleted (emulator, refresh, lab) before its apply."""
    routes = deletions(aws)
    if not routes:
        return
    delete_and_refresh(stack, routes, say)
    for vpn in dict.fromkeys(v for v, _ in routes):
        unroute(rt, vpn, [p for v, p in routes if v == vpn], say)
