"""Per-tunnel classes: a key, the inside CIDR, the tunnel options (pure).

AWS changes these with ModifyVpnTunnelOptions, one tunnel per request, that
tunnel down meanwhile: each tunnel is drained, changed, checked and restored
in turn while the other carries the traffic.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from network.review.resources import tunnel_option_inputs
from network.rollout.checks import carriers, drain_checks, keys, probe, static_caveat, tunnel_checks
from network.rollout.model import AwsAction, Change, Check, Impact
from network.rollout.substep import Ctx, Sub
from network.rollout.substep import zero as _zero


def _tunnel_step(ctx: Ctx, ch: Change, operation: str, why: str, aws: AwsAction) -> list[Sub]:
    conn, n = ch.connections[0], ch.tunnel
    drained = keys(ctx.prev, [conn], n)
    checks = [
        *drain_checks(ctx.prev, drained, [conn]),
        *tunnel_checks(ctx.next, conn, n),
        *probe(ctx.next, [conn]),
    ]
    impact = _zero(
        f"{operation}: AWS takes tunnel {n} of {conn} down while it provisions the change "
        f"(the modified tunnel is unavailable during the update); the drain moved its traffic "
        f"onto {', '.join(carriers(ctx.prev, drained, [conn]))} first"
    )
    if not carriers(ctx.prev, drained, [conn]):
        impact = Impact("outage", f"{conn} has no other tunnel up", "until the tunnel is back")
    impact = static_caveat(ctx.prev, [conn], impact)
    return [
        Sub(
            f"{ch.kind} {ch.subject}",
            why,
            aws,
            tuple(ch.routers),
            drained,
            checks=tuple(checks),
            impact=impact,
        )
    ]


def vpn_id(ctx: Ctx, conn: str) -> tuple[str, dict[int, str]]:
    rec = ctx.ids.get(conn) or {}
    outside = {
        int(t.get("number", 0)): str(t.get("awsOutsideIp", f"<tunnel {t.get('number')} address>"))
        for t in rec.get("tunnels") or []
    }
    return str(rec.get("vpnConnectionId", "<vpn id>")), outside


def psk(ctx: Ctx, ch: Change) -> list[Sub]:
    return _tunnel_step(
        ctx,
        ch,
        "ModifyVpnTunnelOptions (PreSharedKey)",
        "a key changes one tunnel per apply, AWS first and the router right after: the "
        "other tunnel carries the traffic meanwhile",
        ctx.up(f"ModifyVpnTunnelOptions {ch.connections[0]} tunnel {ch.tunnel}: PreSharedKey"),
    )


def inside_cidr(ctx: Ctx, ch: Change) -> list[Sub]:
    conn, n = ch.connections[0], ch.tunnel
    cidr = ctx.next["connections"][conn]["tunnels"][str(n)]["insideCidr"]
    op = f"ModifyVpnTunnelOptions {conn} tunnel {n}: TunnelInsideCidr {cidr}"
    if ctx.upstream_in_place:
        aws = ctx.up(op)
    else:
        vpn, outside = vpn_id(ctx, conn)
        aws = AwsAction(
            "aws-api",
            (
                f"aws ec2 modify-vpn-tunnel-options --vpn-connection-id {vpn} "
                f"--vpn-tunnel-outside-ip-address {outside.get(n, f'<tunnel {n} address>')} "
                f"--tunnel-options TunnelInsideCidr={cidr}",
                f"pulumi refresh --stack {ctx.stack} --yes",
                f"pulumi preview --stack {ctx.stack} --config-file {ctx.config} "
                "(must show no replacement of the connection)",
            ),
            (op,),
            ctx.config,
        )
    return _tunnel_step(
        ctx,
        ch,
        "ModifyVpnTunnelOptions (TunnelInsideCidr)",
        "one tunnel per apply: the router moves that tunnel to its new inside addresses "
        "(a new BGP neighbour) while the other tunnel carries the traffic",
        aws,
    )


def _options_cli(ctx: Ctx, conn: str) -> str:
    c = ctx.next["connections"][conn]["crypto"]

    def vals(items: Iterable[Any], name: str) -> str:
        return ",".join(f"{{Value={v}}}" for v in items) and (
            f"{name}=[" + ",".join(f"{{Value={v}}}" for v in items) + "]"
        )

    parts = [
        vals(c["ikeVersions"], "IKEVersions"),
        vals(c["phase1"]["encryption"], "Phase1EncryptionAlgorithms"),
        vals(c["phase1"]["integrity"], "Phase1IntegrityAlgorithms"),
        vals(c["phase1"]["dhGroups"], "Phase1DHGroupNumbers"),
        vals(c["phase2"]["encryption"], "Phase2EncryptionAlgorithms"),
        vals(c["phase2"]["integrity"], "Phase2IntegrityAlgorithms"),
        vals(c["phase2"]["dhGroups"], "Phase2DHGroupNumbers"),
        f"Phase1LifetimeSeconds={c['phase1']['lifetimeSeconds']}",
        f"Phase2LifetimeSeconds={c['phase2']['lifetimeSeconds']}",
        f"RekeyMarginTimeSeconds={c['rekeyMarginSeconds']}",
        f"RekeyFuzzPercentage={c['rekeyFuzzPercentage']}",
        f"ReplayWindowSize={c['replayWindowSize']}",
        f"DPDTimeoutSeconds={c['dpd']['timeoutSeconds']}",
        f"DPDTimeoutAction={c['dpd']['action']}",
        f"StartupAction={c['startupAction']}",
    ]
    return ",".join(p for p in parts if p)


def _options_request(
    ctx: Ctx, conn: str, n: int, vpn: str, outside: dict[int, str]
) -> dict[str, Any]:
    """ModifyVpnTunnelOptions of tunnel `n` as data: the new options of the connection."""
    crypto = ctx.next["connections"][conn]["crypto"]
    return {
        "operation": "ModifyVpnTunnelOptions",
        "connection": conn,
        "tunnel": n,
        "vpnConnectionId": vpn,
        "outsideIp": outside.get(n, ""),
        "inputs": tunnel_option_inputs(crypto, f"tunnel{n}"),
        "crypto": crypto,
    }


def tunnel_options(ctx: Ctx, ch: Change) -> list[Sub]:
    """Routers accept old and new proposals; AWS changes tunnel 1, then 2; then clean up."""
    conn = ch.connections[0]
    vpn, outside = vpn_id(ctx, conn)
    subs = [
        Sub(
            f"{conn}: routers accept the old and the new proposals",
            "AWS changes one tunnel at a time, so for a while each tunnel runs other settings: "
            f"the routers first accept both. {ROLLING_WHY}",
            AwsAction("none"),
            tuple(ch.routers),
            dc_when="before-aws",
            checks=(
                *_rolling_checks(ctx.prev, conn),
                *(
                    x
                    for n in sorted(ctx.prev["connections"][conn]["tunnels"])
                    for x in tunnel_checks(ctx.prev, conn, int(n))
                    if x.kind in ("ipsec-sa", "bgp-established")
                ),
            ),
            impact=_zero(
                "each tunnel's SA is negotiated again with the wider proposals while it is "
                "drained; the other tunnel carries the traffic"
            ),
            crypto_union=(conn,),
            target="prev",
            rolling=tuple(sorted(keys(ctx.prev, [conn]))),
        )
    ]
    for n in sorted(int(x) for x in ctx.next["connections"][conn]["tunnels"]):
        drained = keys(ctx.prev, [conn], n)
        op = f"ModifyVpnTunnelOptions {conn} tunnel {n}: {', '.join(ch.detail)}"
        subs.append(
            Sub(
                f"{conn} tunnel {n}: AWS takes the new options",
                "ModifyVpnTunnelOptions changes one tunnel per request and that tunnel is down "
                "meanwhile: drained first, the other tunnel carries the traffic",
                AwsAction(
                    "aws-api",
                    (
                        f"aws ec2 modify-vpn-tunnel-options --vpn-connection-id {vpn} "
                        "--vpn-tunnel-outside-ip-address "
                        f"{outside.get(n, f'<tunnel {n} address>')} "
                        f"--tunnel-options '{_options_cli(ctx, conn)}'",
                        f"aws ec2 describe-vpn-connections --vpn-connection-ids {vpn} "
                        "(wait: State available, VgwTelemetry of this tunnel UP)",
                    ),
                    (op,),
                    requests=(_options_request(ctx, conn, n, vpn, outside),),
                ),
                (),
                drained,
                checks=tuple(
                    [
                        *drain_checks(ctx.prev, drained, [conn]),
                        *tunnel_checks(ctx.next, conn, n),
                        *probe(ctx.next, [conn]),
                    ]
                ),
                impact=_zero(
                    f"AWS takes tunnel {n} down during the update; its traffic was drained "
                    f"onto {', '.join(carriers(ctx.prev, drained, [conn])) or 'nothing'}"
                ),
                crypto_union=(conn,),
                target="prev",
            )
        )
    subs.append(
        Sub(
            f"{conn}: the stack catches up, the routers drop the old proposals",
            "pulumi refresh reads the options AWS now has, so the apply changes nothing on AWS; "
            f"the routers then keep only the new proposals. {ROLLING_WHY}",
            AwsAction(
                "pulumi-up",
                (
                    f"pulumi refresh --stack {ctx.stack} --yes",
                    f"pulumi up --stack {ctx.stack} --config-file {ctx.config} "
                    f"(preview first: no change to {conn})",
                    f"offline: CROSSNET_STACKS_DIR={ctx.config.rsplit('/', 1)[0]} crossnet up "
                    f"--stack {ctx.stack}",
                ),
                ("none on the tunnels: the options are already in place",),
                ctx.config,
            ),
            tuple(ch.routers),
            checks=(
                *_rolling_checks(ctx.next, conn),
                *(
                    x
                    for n in sorted(ctx.next["connections"][conn]["tunnels"])
                    for x in tunnel_checks(ctx.next, conn, int(n))
                ),
            ),
            impact=_zero(
                "each tunnel's SA is negotiated again with the new proposals only while it is "
                "drained; the other tunnel carries the traffic"
            ),
            rolling=tuple(sorted(keys(ctx.next, [conn]))),
        )
    )
    return subs


ROLLING_WHY = (
    "A router re-establishes a tunnel whose proposals change (strongSwan's load-conn, "
    "Junos and FortiOS alike), so the change goes in tunnel by tunnel: drain it, apply "
    "that tunnel's part, check it, restore, then the next"
)


def _rolling_checks(s: Any, conn: str) -> list[Check]:
    """Per tunnel of a rolling step: its drain's checks, then its own SA and BGP."""
    out: list[Check] = []
    for k in sorted(keys(s, [conn])):
        n = int(k.rsplit("-", 1)[1])
        out += [
            replace(x, when=f"rolling-drain:{k}") for x in drain_checks(s, frozenset({k}), [conn])
        ]
        out += [
            replace(x, when=f"rolling-change:{k}")
            for x in tunnel_checks(s, conn, n)
            if x.kind in ("ipsec-sa", "bgp-established")
        ]
    return out
