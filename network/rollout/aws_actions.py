"""A rollout's AWS actions that are not a `pulumi up`, carried out offline (`rollout --lab`).

On the real path the engineer runs the step's `aws ec2 modify-vpn-tunnel-options`
and `pulumi refresh`. Offline, the AWS side is the emulator of the stateful apply,
and the lab's AWS ends are its tunnels:

1. **ModifyVpnTunnelOptions** through the emulator's own API path: the stack's state
   re-created in the emulator (same IDs and addresses, as `crossnet up` does), the
   request sent through boto3 (one tunnel per request, refused while another is being
   provisioned; the tunnel DOWN meanwhile), then settled (AWS has provisioned it);
2. **`pulumi refresh`**: the VPN connection's state takes what AWS now holds (its
   outputs read back, the tunnel's option inputs as the request set them), written
   atomically, so that the step that follows (`pulumi up` of the edited file) finds
   the connection unchanged and AWS is not called again;
3. **the lab's AWS end** of that tunnel gets its new `swanctl.conf` (rendered as `lab up`
   renders it, with the new options) through vici and drops its SA: AWS's modified
   tunnel restarts with its new options, and the datacenter side negotiates again.

`crypto_for(stack, step)`: the crypto records the routers render a step with (a step
whose routers accept the old and the new proposals says `cryptoUnion`); `rolling`: a
step's router change applied tunnel by tunnel, each drained (`step["rolling"]`).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from network.contract import write_private
from network.errors import CrossnetError, aws_said
from network.lab import aws as lab_aws
from network.lab.configs import config_files
from network.lab.live import Charon
from network.lab.runtime import Running, end_instance
from network.lab.system import LabError
from network.lab.topology import Lab
from network.naming import resource_name
from network.plan import build_plan
from network.render import linux_tunnel_file
from network.review.snapshot import plan_snapshot
from network.rollout.planner import union_crypto
from network.stack_file import read_stack_config
from network.state import state_dir

Say = Callable[[str], None]
VPN = "aws:ec2/vpnConnection:VpnConnection"


class AwsActionError(LabError):
    exit_code = 3


# ---------------------------------------------------------------- the routers' proposals
def step_unions(step: Mapping[str, Any]) -> list[str]:
    """The connections a step's routers render with the old and the new proposals."""
    renders = [
        *(r["render"] for r in step.get("drain", [])),
        *(r["render"] for r in step.get("dc", {}).get("routers", [])),
        *(r["render"] for r in step.get("restore", [])),
    ]
    return sorted({c for r in renders for c in r.get("cryptoUnion", [])})


def crypto_for(rt: Running, stack: str, step: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Connection -> the crypto record its routers render with in `step`: the union of
    what runs (the applied outputs) and the edited stack file's options."""
    conns = step_unions(step)
    if not conns:
        return {}
    new = plan_snapshot(build_plan(read_stack_config(stack), stack, need_secrets=False))
    running = {c.name: c.crypto for _r, c in rt.lab.connections()}
    return {c: union_crypto(running[c], new["connections"][c]["crypto"]) for c in conns}


def with_crypto(lab: Lab, crypto: Mapping[str, Mapping[str, Any]]) -> Lab:
    """The lab's layout with these connections' crypto records replaced."""
    if not crypto:
        return lab
    routers = tuple(
        replace(
            r,
            router=replace(
                r.router,
                connections=tuple(
                    replace(c, crypto=dict(crypto[c.name])) if c.name in crypto else c
                    for c in r.router.connections
                ),
            ),
        )
        for r in lab.routers
    )
    return replace(lab, routers=routers)


# ---------------------------------------------------------------- ModifyVpnTunnelOptions
def _ec2_options(req: Mapping[str, Any]) -> dict[str, Any]:
    """The request's pulumi-aws inputs as EC2 TunnelOptions (the offline apply's own map)."""
    from network.offline.aws_changes import TUNNEL_OPTION_MAP

    props = dict(TUNNEL_OPTION_MAP)
    prefix = f"tunnel{int(req['tunnel'])}"
    out: dict[str, Any] = {}
    for key, value in req["inputs"].items():
        dst = props[key.removeprefix(prefix)]
        lists = dst.endswith(("Algorithms", "Numbers")) or dst == "IKEVersions"
        out[dst] = [{"Value": v} for v in value] if lists else value
    return out


def modify_and_refresh(stack: str, req: Mapping[str, Any], say: Say) -> str:
    """ModifyVpnTunnelOptions in the emulator, settled, then the stack's state refreshed.
    Returns what AWS showed for the tunnel while it was being modified."""
    from botocore.exceptions import ClientError

    from network.offline.aws import AwsEmulator, modify
    from network.offline.lifecycle import Lifecycle
    from network.offline.mocks import MotoMocks
    from network.offline.stack_state import load_state, stack_lock, state_path, write_atomic

    sfile = state_path(state_dir(stack, create=False))
    name = resource_name("vpn", str(req["connection"]))
    with stack_lock(sfile.parent):
        prior = load_state(sfile, stack)
        vpn = (
            next((r for r in prior.resources if (r.type, r.name) == (VPN, name)), None)
            if prior
            else None
        )
        if prior is None or vpn is None:
            raise AwsActionError(f"{sfile}: no VPN connection {name} in the stack's state")
        if vpn.id != req["vpnConnectionId"]:
            raise AwsActionError(
                f"the plan names {req['vpnConnectionId']} for {name}, the state {vpn.id}: "
                "plan the rollout again"
            )
        outside = vpn.outputs[f"tunnel{int(req['tunnel'])}Address"]
        with AwsEmulator() as emu:
            mocks = MotoMocks(emu, default_region=vpn.region)
            Lifecycle(mocks, prior).restore()
            ec2 = mocks.ec2(vpn.region)
            try:
                ec2.modify_vpn_tunnel_options(
                    VpnConnectionId=vpn.id,
                    VpnTunnelOutsideIpAddress=outside,
                    TunnelOptions=_ec2_options(req),
                )
            except ClientError as e:
                raise AwsActionError(
                    f"ModifyVpnTunnelOptions {name} tunnel {req['tunnel']}: {aws_said(e)}"
                ) from None
            seen = _telemetry(ec2, vpn.id, outside)
            modify.settle(mocks.backend(vpn.region), vpn.id)  # AWS has provisioned it
            # pulumi refresh: the connection's state is what AWS now holds.
            vpn.inputs |= dict(req["inputs"])
            vpn.outputs |= mocks.vpn_state(vpn.region, vpn.id, vpn.inputs)
        write_atomic(sfile, prior.to_text())
    say(
        f"  AWS: ModifyVpnTunnelOptions {vpn.id} tunnel {req['tunnel']} ({outside}): {seen}; "
        f"settled; refreshed into {sfile}"
    )
    return seen


def _telemetry(ec2: Any, vpn_id: str, outside: str) -> str:
    got = ec2.describe_vpn_connections(VpnConnectionIds=[vpn_id])["VpnConnections"][0]
    t = next(t for t in got.get("VgwTelemetry", []) if t["OutsideIpAddress"] == outside)
    return f"{t['Status']} ({t.get('StatusMessage') or '-'})"


# ---------------------------------------------------------------- the lab's AWS end
def restart_aws_end(rt: Running, req: Mapping[str, Any], say: Say) -> None:
    """The lab's AWS end of the request's tunnel restarted with its new options."""
    conn, n = str(req["connection"]), int(req["tunnel"])
    e = next((e for e in rt.lab.ends if (e.side, e.connection, e.number) == ("aws", conn, n)), None)
    if e is None:
        raise AwsActionError(f"the running lab has no AWS end of {conn} tunnel {n}")
    lab = with_crypto(rt.lab, {conn: req["crypto"]})
    with_d = frozenset(
        r.key for r in lab.routers if (rt.router_dir(r.key) / "strongswan.d").is_dir()
    )
    files = config_files(
        lab, lab_aws.TIMERS[rt.state.timers], rt.paths, with_d, shutil.which("ip") or "ip"
    )
    path = rt.config_dir(end_instance(e)) / "swanctl.conf"
    write_private(path, files[f"{end_instance(e)}/swanctl.conf"].text)
    Charon(rt.vici_socket(e)).load(path.read_text())
    Charon(rt.vici_socket(e)).restart_sa(e.conn_name, None)
    say(f"  AWS end of {e.conn_name} restarted with its new options")


def run_api(rt: Running, stack: str, requests: Iterable[Mapping[str, Any]], say: Say) -> None:
    """A step's AWS API requests, one after the other, each on the emulator then the lab."""
    for req in requests:
        if req.get("operation") != "ModifyVpnTunnelOptions":
            raise AwsActionError(f"AWS operation {req.get('operation')!r} is not executed offline")
        try:
            modify_and_refresh(stack, req, say)
        except CrossnetError as e:
            raise AwsActionError(str(e)) from None
        restart_aws_end(rt, req, say)


# ---------------------------------------------------------------- a rolling router change
def rolling(
    rt: Running,
    step: Mapping[str, Any],
    say: Say,
    crypto: dict[str, Any],
    apply_routers: Callable[..., list[str]],
    check: Callable[[str], None],
    ready: Callable[[str], None] | None = None,
) -> None:
    """A step's router change applied tunnel by tunnel (`step["rolling"]`): drain the
    tunnel (FRR only), apply that tunnel's file (its SA is negotiated again), check its
    SA and BGP, restore; then the next. The files common to the tunnels follow after.
    `ready(k)`: waited for before tunnel k is drained (a rollback: the carriers back)."""
    for k in step["rolling"]:
        say(f"  rolling: {k}")
        if ready is not None:
            ready(k)
        apply_routers(rt, frozenset({k}), say, crypto, frozenset({"frr.conf"}))
        check(f"rolling-drain:{k}")
        conn, n = k.rsplit("-", 1)
        tunnel = linux_tunnel_file(conn, int(n))
        apply_routers(rt, frozenset({k}), say, crypto, frozenset({"frr.conf", tunnel}))
        check(f"rolling-change:{k}")
        apply_routers(rt, frozenset(), say, crypto, frozenset({"frr.conf"}))
