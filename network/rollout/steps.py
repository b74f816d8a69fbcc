"""The safe order of each change class: its sub-steps, drains, checks and impact (pure).

A handler gets the snapshots before and after its config transition and returns
the sub-steps that carry it out. A sub-step says which routers move to the
new rendered config, which tunnels are drained around it, what AWS does, which
checks must pass and what the traffic loses. Where the stack config cannot
split a change finely enough (a connection's tunnel options are one setting for
both tunnels), the AWS side is an AWS CLI call per tunnel followed by
`pulumi refresh`, so that the stack's state catches up without a second change.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from network.errors import ConfigError
from network.plan import Plan, build_plan
from network.render.context import DRAINED_PREPEND
from network.render.names import tunnel_key
from network.review.snapshot import plan_snapshot
from network.rollout.model import AwsAction, Change, Check, Impact

Snapshot = Mapping[str, Any]

# AWS's BGP hold time on a VPN tunnel (s): a session on a tunnel that dies without a
# drain is declared down after this, and its routes go with it.
BGP_HOLD = 30


NO_MOVE = Impact("0", "no traffic moves")


@dataclass(frozen=True)
class Override:
    """A sub-step that applies a stack config of its own (make-before-break's temporary
    connection), already planned."""

    config: dict[str, Any]
    plan: Plan
    snap: dict[str, Any]
    path: str
    renewed: tuple[str, ...] = ()  # connections whose AWS values are new from this apply


@dataclass(frozen=True)
class Sub:
    """One sub-step of a change: rendered and numbered by the planner."""

    title: str
    why: str
    aws: AwsAction
    routers: tuple[str, ...] = ()  # routers that take the new config in this sub-step
    drained: frozenset[str] = frozenset()
    dc_when: str = "after-aws"
    checks: tuple[Check, ...] = ()
    impact: Impact = NO_MOVE
    render_after_apply: bool = False
    crypto_union: tuple[str, ...] = ()  # connections rendered with old + new proposals
    target: str = "next"  # "next": the step's target state; "prev": stay (drain-only)
    override: Override | None = None
    renews: tuple[str, ...] = ()  # connections that get new AWS values (outside addresses) here


@dataclass(frozen=True)
class Ctx:
    stack: str
    prev: Snapshot  # the plan before this change
    next: Snapshot  # the plan after it
    config: str  # the step's stack file, relative to the rollout directory
    ids: Mapping[str, Mapping[str, Any]]  # connection -> its applied outputs record
    upstream_in_place: bool = True  # the provider changes inside CIDRs in place
    prev_config: Mapping[str, Any] = field(default_factory=dict)  # the stack config before
    next_config: Mapping[str, Any] = field(default_factory=dict)  # and after this change

    def up(self, *operations: str, target: str = "", path: str = "") -> AwsAction:
        path = path or self.config
        cmd = f"pulumi up --stack {self.stack} --config-file {path}"
        if target:
            cmd += f" --target '{target}' --target-dependents"
        offline = f"CROSSNET_STACKS_DIR={path.rsplit('/', 1)[0]} crossnet up --stack {self.stack}"
        return AwsAction("pulumi-up", (cmd, f"offline: {offline}"), operations, path)

    def alt(self, suffix: str) -> str:
        """Another stack file of the same step: steps/03a/Pulumi.<stack>.yaml."""
        d, f = self.config.rsplit("/", 1)
        return f"{d}{suffix}/{f}"


def keys(s: Snapshot, conns: Iterable[str], tunnel: int = 0) -> frozenset[str]:
    """The tunnel keys of connections (one tunnel of each when `tunnel`)."""
    return frozenset(
        tunnel_key(c, int(n))
        for c in conns
        if c in s["connections"]
        for n in s["connections"][c]["tunnels"]
        if not tunnel or int(n) == tunnel
    )


def carriers(s: Snapshot, drained: frozenset[str], conns: Iterable[str]) -> list[str]:
    """Tunnels that still reach the gateways of `conns` from the same datacenters while
    `drained` is drained: the other tunnel, or another router's connection."""
    want = {
        (s["connections"][c]["datacenter"], s["connections"][c]["gateway"])
        for c in conns
        if c in s["connections"]
    }
    out = []
    for name, c in sorted(s["connections"].items()):
        if (c["datacenter"], c["gateway"]) in want:
            out += [
                k for n in sorted(c["tunnels"]) if (k := tunnel_key(name, int(n))) not in drained
            ]
    return out


def tunnel_checks(s: Snapshot, conn: str, n: int, when: str = "after-change") -> list[Check]:
    """IPsec, BGP and prefixes of one tunnel, named concretely."""
    c = s["connections"][conn]
    t = c["tunnels"][str(n)]
    key, router = tunnel_key(conn, n), c["router"]
    out = [
        Check(
            "ipsec-sa",
            router,
            f"{router}: IKE SA and CHILD SA of {key} established (inside {t['insideCidr']})",
            key,
            {"ike": "ESTABLISHED", "child": "INSTALLED", "insideCidr": t["insideCidr"]},
            when,
        )
    ]
    if c["routing"] == "bgp":
        nb = t["awsInside"]
        out += [
            Check(
                "bgp-established",
                router,
                f"{router}: BGP with {nb} (AS {c['awsAsn']}) Established, local AS "
                f"{c['customerAsn']}",
                key,
                {"neighbor": nb, "remoteAs": c["awsAsn"], "localAs": c["customerAsn"]},
                when,
            ),
            Check(
                "prefixes-received",
                router,
                f"{router}: {nb} sends {', '.join(c['accept'])}",
                key,
                {"neighbor": nb, "prefixes": list(c["accept"])},
                when,
            ),
            Check(
                "prefixes-advertised",
                router,
                f"{router}: {nb} is sent {', '.join(c['announce'])}",
                key,
                {"neighbor": nb, "prefixes": list(c["announce"])},
                when,
            ),
        ]
    return out


def drain_checks(s: Snapshot, drained: frozenset[str], conns: Iterable[str]) -> list[Check]:
    """After a drain: the carriers are up and no best route uses a drained tunnel."""
    out: list[Check] = []
    for k in carriers(s, drained, conns):
        conn, n = k.rsplit("-", 1)
        out += [
            x
            for x in tunnel_checks(s, conn, int(n), "after-drain")
            if x.kind != "prefixes-advertised"
        ]
    for k in sorted(drained):
        conn, n = k.rsplit("-", 1)
        c = s["connections"].get(conn)
        if c is None:
            continue
        t = c["tunnels"][n]
        via = t["awsInside"]
        out.append(
            Check(
                "route-avoids",
                c["router"],
                f"{c['router']}: the best routes to {', '.join(c['accept'])} avoid {k} "
                f"(next hop {via})",
                k,
                {"nextHop": via, "prefixes": list(c["accept"])},
                "after-drain",
            )
        )
        if c["routing"] == "bgp":  # what AWS is told: the drained path is the longest
            length = 1 + DRAINED_PREPEND
            out.append(
                Check(
                    "advertised-prepend",
                    c["router"],
                    f"{c['router']}: {via} is sent {', '.join(c['announce'])} with AS path "
                    f"{' '.join([str(c['customerAsn'])] * length)}",
                    k,
                    {"neighbor": via, "prefixes": list(c["announce"]), "asPathLength": length},
                    "after-drain",
                )
            )
    return out


def static_caveat(s: Snapshot, conns: Iterable[str], impact: Impact) -> Impact:
    """Static routing steers only the datacenter's side: say what AWS's side may lose."""
    static = sorted(c for c in conns if s["connections"].get(c, {}).get("routing") == "static")
    if impact.loss != "0" or not static:
        return impact
    return Impact(
        "aws-side",
        impact.text + f"; datacenter to AWS: 0 loss (route distance); AWS to datacenter over "
        f"{', '.join(static)}: static routing gives the router no way to steer AWS, which "
        "leaves the tunnel only when it takes it down itself",
        "what AWS has in flight on the tunnel when it goes down (AWS gives no figure); with "
        "BGP the drain moves both directions first",
    )


def probe(s: Snapshot, conns: Iterable[str], when: str = "after-restore") -> list[Check]:
    """A probe from each datacenter of `conns` to each AWS prefix it reaches over them."""
    out = []
    seen = set()
    for name in conns:
        c = s["connections"].get(name)
        if c is None:
            continue
        dc = s["datacenters"][c["datacenter"]]
        for dst in c["accept"]:
            if (c["datacenter"], dst) in seen or not dc["prefixes"]:
                continue
            seen.add((c["datacenter"], dst))
            out.append(
                Check(
                    "probe",
                    c["router"],
                    f"probe from {c['datacenter']} ({dc['prefixes'][0]}) to {dst}: 0 loss",
                    expect={"from": dc["prefixes"][0], "to": dst, "loss": 0},
                    when=when,
                )
            )
    return out


def _zero(what: str) -> Impact:
    return Impact("0", what)


def _no_carrier_outage(s: Snapshot, conns: Iterable[str], why: str, bound: str) -> Impact | None:
    if carriers(s, keys(s, conns), conns):
        return None
    return Impact("outage", why, bound)


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


def _vpn_id(ctx: Ctx, conn: str) -> tuple[str, dict[int, str]]:
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
        vpn, outside = _vpn_id(ctx, conn)
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


def tunnel_options(ctx: Ctx, ch: Change) -> list[Sub]:
    """Routers accept old and new proposals; AWS changes tunnel 1, then 2; then clean up."""
    conn = ch.connections[0]
    vpn, outside = _vpn_id(ctx, conn)
    subs = [
        Sub(
            f"{conn}: routers accept the old and the new proposals",
            "AWS changes one tunnel at a time, so for a while each tunnel runs other settings: "
            "the routers first accept both (no SA is renegotiated by this change)",
            AwsAction("none"),
            tuple(ch.routers),
            dc_when="before-aws",
            checks=tuple(
                x
                for n in sorted(ctx.prev["connections"][conn]["tunnels"])
                for x in tunnel_checks(ctx.prev, conn, int(n))
                if x.kind in ("ipsec-sa", "bgp-established")
            ),
            impact=_zero("no SA is renegotiated: the routers only learn to accept more"),
            crypto_union=(conn,),
            target="prev",
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
            "the routers then keep only the new proposals",
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
            checks=tuple(
                x
                for n in sorted(ctx.next["connections"][conn]["tunnels"])
                for x in tunnel_checks(ctx.next, conn, int(n))
            ),
            impact=_zero("nothing is renegotiated until the next rekey, which both sides agree on"),
        )
    )
    return subs


def _whole(
    ctx: Ctx,
    ch: Change,
    conns: Iterable[str],
    aws: AwsAction,
    why: str,
    zero: str,
    outage: tuple[str, str],
    renew: bool = False,
    now: Snapshot | None = None,
    renews: tuple[str, ...] = (),
) -> list[Sub]:
    """Drain every tunnel of `conns`, change them, check, restore.

    `now`: the plan the other routers are in during the drain (default: before the change).
    """
    conns = list(conns)
    drained = keys(ctx.prev, conns)
    after = [c for c in conns if c in ctx.next["connections"]]
    checks = [
        *drain_checks(now or ctx.prev, drained, conns),
        *(
            x
            for c in after
            for n in sorted(ctx.next["connections"][c]["tunnels"])
            for x in tunnel_checks(ctx.next, c, int(n))
        ),
        *probe(ctx.next, after or conns),
    ]
    impact = static_caveat(
        ctx.prev, conns, _no_carrier_outage(ctx.prev, conns, *outage) or _zero(zero)
    )
    return [
        Sub(
            f"{ch.kind} {ch.subject}",
            why,
            aws,
            tuple(ch.routers),
            drained | keys(ctx.next, after),
            checks=tuple(checks),
            impact=impact,
            render_after_apply=renew,
            renews=renews,
        )
    ]


def add(ctx: Ctx, ch: Change) -> list[Sub]:
    """New connections come up drained, are checked, then take traffic."""
    conns = list(ch.connections)
    drained = keys(ctx.next, conns)
    checks = [
        *(
            x
            for c in conns
            for n in sorted(ctx.next["connections"][c]["tunnels"])
            for x in tunnel_checks(ctx.next, c, int(n))
        ),
        *probe(ctx.next, conns),
    ]
    what = {
        "vpc-add": f"creates vpc {ch.subject} and its routes",
        "router-add": f"creates the customer gateway of {ch.subject} and its connections",
        "connection-add": f"creates {ch.subject}",
    }[ch.kind]
    return [
        Sub(
            f"{ch.kind} {ch.subject}",
            f"the apply {what}; the routers accept the new VPC prefixes and bring the new "
            "tunnels up drained, so they take traffic only once they pass their checks",
            ctx.up(*(f"CreateVpnConnection {c}" for c in conns), f"{ch.kind} {ch.subject}"),
            tuple(ch.routers) or _dc_routers(ctx.next, ch),
            drained,
            checks=tuple(checks),
            impact=_zero("adds paths; no existing flow changes its path before the restore"),
            render_after_apply=bool(conns),
        )
    ]


def _dc_routers(s: Snapshot, ch: Change) -> tuple[str, ...]:
    """Routers whose accepted prefixes change with a VPC (every router reaching it)."""
    cidr = s["vpcs"].get(ch.subject, {}).get("cidr")
    return tuple(
        sorted({c["router"] for c in s["connections"].values() if cidr and cidr in c["accept"]})
    )


def vpc_remove(ctx: Ctx, ch: Change) -> list[Sub]:
    cidr = ctx.prev["vpcs"][ch.subject]["cidr"]
    routers = tuple(
        sorted({c["router"] for c in ctx.prev["connections"].values() if cidr in c["accept"]})
    )
    return [
        Sub(
            f"vpc-remove {ch.subject}",
            f"the apply deletes vpc {ch.subject} ({cidr}); the routers stop accepting its prefix "
            "afterwards (its traffic ends by intent)",
            ctx.up(f"delete vpc {ch.subject} and its routes"),
            routers,
            checks=tuple(probe(ctx.next, sorted(ctx.next["connections"]))),
            impact=_zero(f"only vpc {ch.subject}'s own traffic ends, by intent"),
        )
    ]


def dc_prefix(ctx: Ctx, ch: Change) -> list[Sub]:
    withdraw = any(d.startswith("withdraw") for d in ch.detail)
    return [
        Sub(
            f"dc-prefix {ch.subject}",
            "AWS first (security group rules, static routes), then the routers announce: "
            "nothing is sent before AWS admits it"
            + ("; a withdrawn prefix leaves the routers first, then AWS" if withdraw else ""),
            ctx.up(f"datacenter {ch.subject} prefixes: {', '.join(ch.detail)}"),
            tuple(ch.routers),
            dc_when="before-aws"
            if withdraw and not any("announce" in d for d in ch.detail)
            else "after-aws",
            checks=tuple(
                [
                    *(
                        x
                        for c in ch.connections
                        for n in sorted(ctx.next["connections"][c]["tunnels"])
                        for x in tunnel_checks(ctx.next, c, int(n))
                        if x.kind in ("prefixes-advertised", "bgp-established")
                    ),
                    *probe(ctx.next, ch.connections),
                ]
            ),
            impact=_zero("a new prefix carries no traffic yet; the existing ones keep their paths"),
        )
    ]


def cgw_move(ctx: Ctx, ch: Change) -> list[Sub]:
    """A new customer gateway (address or ASN): router by router, the others carry."""
    routers = [ch.subject] if ch.kind == "router-ip" else list(ch.routers)
    subs: list[Sub] = []
    for r in routers:
        conns = [c for c, x in ctx.prev["connections"].items() if x["router"] == r]
        target = f"<urn of {r}-cgw>" if ch.kind == "customer-asn" else ""
        aws = ctx.up(
            f"CreateCustomerGateway for {r}",
            *(f"ModifyVpnConnection {c}: the new customer gateway" for c in conns),
            f"DeleteCustomerGateway (the old one of {r})",
            target=target,
        )
        one = Change(ch.kind, r, tuple(conns), (r,), detail=ch.detail)
        subs += _whole(
            ctx,
            one,
            conns,
            aws,
            "ModifyVpnConnection takes both tunnels of each connection down while AWS provisions "
            "the new endpoints: this router is drained first, the others carry the traffic"
            + (
                "; one router per apply (--target), since the ASN is the datacenter's"
                if target
                else ""
            ),
            f"the other routers of the datacenter carry the traffic while {r}'s tunnels are down",
            (
                f"{r} is the only path of its datacenter to these gateways: both tunnels are down "
                "from ModifyVpnConnection until AWS has provisioned the new endpoints and the "
                "router has its new address/ASN",
                "AWS's endpoint provisioning (not documented as a figure; minutes) plus IKE and "
                f"BGP on the router (BGP hold {BGP_HOLD} s): add a second router first to avoid it",
            ),
            renew=True,
            now=ctx.next if subs else None,
        )
    return subs


def gateway_move(ctx: Ctx, ch: Change) -> list[Sub]:
    """AWS's documented VGW -> TGW migration (ModifyVpnConnection)."""
    conn = ch.connections[0]
    o = ctx.prev["connections"][conn]
    vpn, _ = _vpn_id(ctx, conn)
    pre: list[str] = []
    if o["routing"] == "static" and o["gatewayType"] == "vgw":
        pre = [
            f"aws ec2 delete-vpn-connection-route --vpn-connection-id {vpn} "
            f"--destination-cidr-block {p}"
            for p in o["announce"]
        ]
        pre.append(f"pulumi refresh --stack {ctx.stack} --yes")
    aws = ctx.up(
        f"ModifyVpnConnection {conn}: {', '.join(ch.detail)}",
        "then (in the same apply) the TGW route table associations/propagations or static "
        "routes of the VPN attachment, and the VPC routes towards the TGW",
    )
    aws = AwsAction(aws.kind, (*pre, *aws.commands), aws.operations, aws.config)
    return _whole(
        ctx,
        ch,
        [conn],
        aws,
        "AWS's migration: the new gateway exists first (an earlier apply), static routes are "
        "deleted before ModifyVpnConnection and added on the TGW after, the route tables "
        "follow; both tunnels are down while AWS provisions the new endpoints",
        "the datacenter's other connections carry the traffic during the move",
        (
            f"{conn} is its datacenter's only path to these VPCs: AWS takes both tunnels down for "
            "ModifyVpnConnection",
            "AWS's endpoint provisioning plus IKE and BGP on the router; the VPCs' routes move "
            "to the TGW in the same apply",
        ),
        renew=True,
    )


def _recreate(ctx: Ctx, conn: str, path: str = "") -> AwsAction:
    up = ctx.up(path=path)
    return AwsAction(
        "pulumi-up",
        (
            f"pulumi destroy --stack {ctx.stack} --target '<urn of {conn}-vpn>' "
            "--target-dependents",
            *up.commands,
        ),
        (
            f"DeleteVpnConnection {conn} first: the new one has the same inside CIDRs, "
            "unique per gateway, so Pulumi's create-before-delete would be refused",
            f"CreateVpnConnection {conn}: new outside addresses",
        ),
        up.config,
    )


def replace(ctx: Ctx, ch: Change) -> list[Sub]:
    conn = ch.subject
    if not carriers(ctx.prev, keys(ctx.prev, [conn]), [conn]):
        return make_before_break(ctx, ch)
    return _whole(
        ctx,
        ch,
        [conn],
        _recreate(ctx, conn),
        "the connection is replaced: drained first, deleted, created again with new outside "
        "addresses, the router reconfigured from the new outputs, checked, restored",
        "the datacenter's other connections to this gateway carry the traffic",
        ("no other path", "refused"),
        renew=True,
        renews=(conn,),
    )


class NoSafeOrderError(Exception):
    """A change whose safe order cannot be built: the planner refuses it with `reasons`."""

    def __init__(self, reasons: list[str]):
        super().__init__("; ".join(reasons))
        self.reasons = reasons


def _with_temp(ctx: Ctx, config: Mapping[str, Any], conn: str, temp: str, path: str) -> Override:
    """`config` plus a temporary copy of `conn` (the new settings), planned."""
    out = copy.deepcopy(dict(config))
    conns = out["crossnet:network"]["connections"]
    entry = copy.deepcopy(ctx.next_config["crossnet:network"]["connections"][conn])
    for n in (1, 2):  # its own inside CIDRs (from its name) and generated keys
        entry.pop(f"tunnel{n}", None)
    conns[temp] = entry
    try:
        plan = build_plan(out, ctx.stack, need_secrets=False, previous=ctx.prev)
    except ConfigError as e:
        raise NoSafeOrderError(
            [
                f"{conn} is its datacenter's only path to its gateway, and a temporary second "
                f"connection {temp} beside it does not plan: "
                + "; ".join(f"{p.field}: {p.value} ({p.rule})" for p in e.problems)
            ]
        ) from None
    return Override(out, plan, plan_snapshot(plan), path, (temp,))


def make_before_break(ctx: Ctx, ch: Change) -> list[Sub]:
    """A replaced connection with no other path, on a transit gateway: a temporary second
    connection carries the traffic while the connection is deleted and created again."""
    conn = ch.subject
    temp = f"{conn}-mbb"
    a = _with_temp(ctx, ctx.prev_config, conn, temp, ctx.alt("a"))
    b = _with_temp(ctx, ctx.next_config, conn, temp, ctx.alt("b"))
    b = Override(b.config, b.plan, b.snap, b.path, (conn,))
    router = ctx.next["connections"][conn]["router"]
    temp_keys = keys(a.snap, [temp])
    old_keys = keys(ctx.prev, [conn])
    temp_checks = [
        *(
            x
            for n in sorted(a.snap["connections"][temp]["tunnels"])
            for x in tunnel_checks(a.snap, temp, int(n))
        ),
    ]
    return [
        Sub(
            f"{conn}: a temporary connection {temp} with the new settings, beside it",
            "make before break: a transit gateway takes several connections from one customer "
            "gateway (AWS's own ECMP pattern); it comes up drained and is checked first",
            ctx.up(f"CreateVpnConnection {temp} (temporary)", path=a.path),
            (router,),
            temp_keys,
            checks=tuple(temp_checks),
            impact=_zero("adds a path; nothing moves before its checks pass"),
            render_after_apply=True,
            override=a,
        ),
        Sub(
            f"{conn}: deleted and created again while {temp} carries the traffic",
            "the connection is drained onto the temporary one, deleted first (same inside "
            "CIDRs), created with new outside addresses, configured, checked, restored",
            _recreate(ctx, conn, b.path),
            (router,),
            old_keys,
            checks=tuple(
                [
                    *drain_checks(a.snap, old_keys, [conn]),
                    *(
                        x
                        for n in sorted(b.snap["connections"][conn]["tunnels"])
                        for x in tunnel_checks(b.snap, conn, int(n))
                    ),
                    *probe(b.snap, [conn]),
                ]
            ),
            impact=_zero(f"{', '.join(sorted(temp_keys))} carry the traffic meanwhile"),
            render_after_apply=True,
            override=b,
        ),
        Sub(
            f"{conn}: the temporary connection {temp} goes",
            "drained first, then deleted: the replaced connection carries the traffic",
            ctx.up(f"DeleteVpnConnection {temp} (temporary)"),
            (router,),
            keys(b.snap, [temp]),
            checks=tuple(
                [*drain_checks(b.snap, keys(b.snap, [temp]), [temp]), *probe(ctx.next, [conn])]
            ),
            impact=_zero(f"{conn} carries the traffic"),
        ),
    ]


def remove(ctx: Ctx, ch: Change) -> list[Sub]:
    conns = list(ch.connections)
    return _whole(
        ctx,
        ch,
        conns,
        ctx.up(*(f"DeleteVpnConnection {c}" for c in conns), f"{ch.kind} {ch.subject}"),
        "drained first so that the other paths carry the traffic, then deleted",
        "the remaining connections carry the traffic",
        (
            f"nothing else reaches these gateways from the datacenter: its traffic ends with "
            f"{ch.subject}, by intent",
            "by intent",
        ),
    )


def other(ctx: Ctx, ch: Change) -> list[Sub]:
    return [
        Sub(
            "changes outside the rollout classes",
            "applied first, as one apply: they move no tunnel (review them with crossnet diff)",
            ctx.up(*ch.detail),
            tuple(ch.routers),
            checks=tuple(probe(ctx.next, sorted(ctx.next["connections"]))),
            impact=_zero("no tunnel is modified by these changes"),
        )
    ]


HANDLERS: dict[str, Callable[[Ctx, Change], list[Sub]]] = {
    "vpc-remove": vpc_remove,
    "vpc-add": add,
    "router-add": add,
    "connection-add": add,
    "dc-prefix": dc_prefix,
    "psk": psk,
    "tunnel-options": tunnel_options,
    "inside-cidr": inside_cidr,
    "gateway-move": gateway_move,
    "customer-asn": cgw_move,
    "router-ip": cgw_move,
    "connection-replace": replace,
    "connection-remove": remove,
    "router-remove": remove,
    "other": other,
}
