"""crossnet's guardrails as pure functions (standard library only).

The same rules run in three places, with the same names and severities:

* `pulumi preview --policy-pack policy`: the CrossGuard pack in `policy/` wraps
  these functions (see policy/crossnet_policies.py);
* the offline apply, on the resources it declared;
* `crossnet guardrails --stack <env>`, on the resources a plan implies.

A resource is a dict: `type` (Pulumi type token), `name`, `inputs` (camelCase,
as Pulumi sees them), and optionally `urn`, `secret_inputs` (names of inputs
whose value comes from a secret source: a secret config value or a generated
secret) and `sources` (input name -> Pulumi types of the resources its value
is derived from, e.g. `{"tunnel1PresharedKey": ["random:index/randomPassword:RandomPassword"]}`).
A value not known yet (during a preview) is `UNKNOWN`; a rule that needs it
does not guess.

No message ever contains a pre-shared key.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

VPN_CONNECTION = "aws:ec2/vpnConnection:VpnConnection"
VPN_CONNECTION_ROUTE = "aws:ec2/vpnConnectionRoute:VpnConnectionRoute"
VPN_GATEWAY = "aws:ec2/vpnGateway:VpnGateway"
VPC_ROUTE = "aws:ec2/route:Route"
TGW = "aws:ec2transitgateway/transitGateway:TransitGateway"
TGW_ROUTE = "aws:ec2transitgateway/route:Route"
STACK = "pulumi:pulumi:Stack"

# This module is standard library only (the policy pack runs it on its own), so
# these two AWS rules are copied here from aws_rules; a unit test keeps them equal.
MAX_PREFIXES = 100  # AWS takes at most 100 prefixes per connection from the customer side
DEFAULT_PROD_STACKS = ("prod",)
DPD_MIN_SECONDS = 30
DPD_ACTIONS_OK = ("clear", "restart")

# The options each tunnel must set explicitly: left out, AWS allows all of its
# defaults, IKEv1, SHA1 and DH group 2 among them.
TUNNEL_OPTIONS = (
    "IkeVersions",
    "Phase1EncryptionAlgorithms",
    "Phase1IntegrityAlgorithms",
    "Phase1DhGroupNumbers",
    "Phase2EncryptionAlgorithms",
    "Phase2IntegrityAlgorithms",
    "Phase2DhGroupNumbers",
)
# Options compared between the two tunnels of a connection.
TUNNEL_MATCHED = (
    *TUNNEL_OPTIONS,
    "Phase1LifetimeSeconds",
    "Phase2LifetimeSeconds",
    "DpdTimeoutSeconds",
    "DpdTimeoutAction",
    "StartupAction",
)


class _Unknown:
    """A value Pulumi does not know yet (a preview of a resource not yet created)."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()


@dataclass(frozen=True)
class PolicyInfo:
    """One guardrail: its CrossGuard name, severity, where it runs, what it enforces."""

    name: str
    severity: str  # "advisory" | "mandatory"
    scope: str  # "resource": one resource at a time; "stack": needs the whole stack
    description: str


POLICIES: dict[str, PolicyInfo] = {
    p.name: p
    for p in (
        PolicyInfo(
            "vpn-both-tunnels-configured",
            "mandatory",
            "resource",
            "Both tunnels of a VPN connection set their IKE versions, algorithms and DH "
            "groups; a tunnel left out runs on AWS's weak defaults.",
        ),
        PolicyInfo(
            "vpn-tunnels-match",
            "advisory",
            "resource",
            "Both tunnels of a VPN connection use the same options, so a failover does "
            "not change the crypto or the timers.",
        ),
        PolicyInfo(
            "vpn-no-weak-crypto-in-prod",
            "mandatory",
            "resource",
            "In production stacks no tunnel allows IKEv1, SHA1 or DH group 2.",
        ),
        PolicyInfo(
            "vpn-weak-crypto",
            "advisory",
            "resource",
            "Outside production, a tunnel that allows IKEv1, SHA1 or DH group 2 is reported.",
        ),
        PolicyInfo(
            "vpn-dpd-set",
            "mandatory",
            "resource",
            "Every tunnel sets dead peer detection: a timeout of at least 30 s and the "
            "action clear or restart.",
        ),
        PolicyInfo(
            "vpn-psk-from-secrets",
            "mandatory",
            "stack",
            "A tunnel's pre-shared key is left to AWS, generated as a secret, or read from "
            "a secret; never a literal in the program or a plain config value.",
        ),
        PolicyInfo(
            "no-default-route-to-datacenter",
            "mandatory",
            "stack",
            "No 0.0.0.0/0 (or ::/0) route points at a VGW, TGW or VPN connection, and no "
            "router announces it.",
        ),
        PolicyInfo(
            "max-100-prefixes-announced",
            "mandatory",
            "stack",
            "A router announces at most 100 prefixes per VPN connection (AWS drops what is over).",
        ),
    )
}


@dataclass(frozen=True, order=True)
class Violation:
    """A broken guardrail: which policy, how severe, which resource, what is wrong."""

    policy: str
    severity: str
    resource: str
    message: str


def is_prod(stack: str, prod_stacks: Iterable[str] = DEFAULT_PROD_STACKS) -> bool:
    """True for a production stack (`org/project/prod` counts as `prod`)."""
    return stack.rsplit("/", 1)[-1] in set(prod_stacks)


def _known(v: Any) -> bool:
    return v is not None and v is not UNKNOWN


def _list(v: Any) -> list[Any] | None:
    """A list input as a list; None when absent or unknown."""
    if not _known(v):
        return None
    return list(v) if isinstance(v, list | tuple | set | frozenset) else [v]


def _default_route(cidr: Any) -> bool:
    if not isinstance(cidr, str):
        return False
    try:
        return ipaddress.ip_network(cidr, strict=False).prefixlen == 0
    except ValueError:
        return False


class _Checker:
    def __init__(self, stack: str, prod_stacks: Iterable[str]):
        self.prod = is_prod(stack, prod_stacks)
        self.out: list[Violation] = []

    def add(self, policy: str, resource: Mapping[str, Any], message: str) -> None:
        self.out.append(
            Violation(
                policy,
                POLICIES[policy].severity,
                str(resource.get("urn") or resource.get("name")),
                message,
            )
        )

    # ------------------------------------------------ one VPN connection
    def vpn_connection(self, r: Mapping[str, Any]) -> None:
        inputs: Mapping[str, Any] = r.get("inputs") or {}
        missing = {
            n: [k for k in TUNNEL_OPTIONS if inputs.get(f"tunnel{n}{k}") is None] for n in (1, 2)
        }
        for n in (1, 2):
            if len(missing[n]) == len(TUNNEL_OPTIONS):
                self.add(
                    "vpn-both-tunnels-configured",
                    r,
                    f"tunnel {n} has no options: AWS gives it its defaults, which allow "
                    "IKEv1, SHA1 and DH group 2",
                )
            elif missing[n]:
                names = ", ".join(f"tunnel{n}{k}" for k in missing[n])
                self.add(
                    "vpn-both-tunnels-configured", r, f"tunnel {n} leaves {names} to AWS's defaults"
                )
        differ = [
            k
            for k in TUNNEL_MATCHED
            if _known(inputs.get(f"tunnel1{k}"))
            and _known(inputs.get(f"tunnel2{k}"))
            and _norm(inputs[f"tunnel1{k}"]) != _norm(inputs[f"tunnel2{k}"])
        ]
        if differ:
            self.add(
                "vpn-tunnels-match",
                r,
                "the tunnels differ in "
                + ", ".join(differ)
                + ": a failover would change the crypto or the timers",
            )
        for n in (1, 2):
            self._crypto(r, inputs, n)
            self._dpd(r, inputs, n)

    def _crypto(self, r: Mapping[str, Any], inputs: Mapping[str, Any], n: int) -> None:
        weak: list[str] = []
        ike = inputs.get(f"tunnel{n}IkeVersions")
        if ike is None:
            weak.append("IKEv1 (IKE versions not set)")
        elif "ikev1" in (_list(ike) or []):
            weak.append("IKEv1")
        for phase in (1, 2):
            integ = inputs.get(f"tunnel{n}Phase{phase}IntegrityAlgorithms")
            if integ is None:
                weak.append(f"SHA1 in phase {phase} (integrity not set)")
            elif "SHA1" in (_list(integ) or []):
                weak.append(f"SHA1 in phase {phase}")
            dh = inputs.get(f"tunnel{n}Phase{phase}DhGroupNumbers")
            if dh is None:
                weak.append(f"DH group 2 in phase {phase} (DH groups not set)")
            elif 2 in {int(str(g)) for g in (_list(dh) or []) if str(g).isdigit()}:
                weak.append(f"DH group 2 in phase {phase}")
        if weak:
            policy = "vpn-no-weak-crypto-in-prod" if self.prod else "vpn-weak-crypto"
            self.add(policy, r, f"tunnel {n} allows " + ", ".join(weak))

    def _dpd(self, r: Mapping[str, Any], inputs: Mapping[str, Any], n: int) -> None:
        timeout = inputs.get(f"tunnel{n}DpdTimeoutSeconds")
        action = inputs.get(f"tunnel{n}DpdTimeoutAction")
        if timeout is None or action is None:
            unset = [
                k
                for k, v in (("DpdTimeoutSeconds", timeout), ("DpdTimeoutAction", action))
                if v is None
            ]
            self.add(
                "vpn-dpd-set",
                r,
                f"tunnel {n} does not set " + ", ".join(f"tunnel{n}{k}" for k in unset),
            )
        if _known(timeout) and (not isinstance(timeout, int | float) or timeout < DPD_MIN_SECONDS):
            self.add(
                "vpn-dpd-set", r, f"tunnel {n} DPD timeout {timeout!r} is below {DPD_MIN_SECONDS} s"
            )
        if _known(action) and action not in DPD_ACTIONS_OK:
            self.add(
                "vpn-dpd-set",
                r,
                f"tunnel {n} DPD action {action!r}: a dead peer would "
                "never be cleared; use clear or restart",
            )

    # ------------------------------------------------ pre-shared keys
    def psk(self, r: Mapping[str, Any]) -> None:
        inputs: Mapping[str, Any] = r.get("inputs") or {}
        secret = set(r.get("secret_inputs") or ())
        sources: Mapping[str, Any] = r.get("sources") or {}
        for n in (1, 2):
            prop = f"tunnel{n}PresharedKey"
            value = inputs.get(prop)
            if value is None or value is UNKNOWN or prop in secret or sources.get(prop):
                continue
            # The value stays out of the message: only where it should come from.
            self.add(
                "vpn-psk-from-secrets",
                r,
                f"tunnel {n}'s pre-shared key is a plain value: generate it (leave it "
                "out, or use a random secret) or read it from a secret config value "
                "(pulumi config set --secret)",
            )

    # ------------------------------------------------ routes and prefixes
    def routes(self, resources: Sequence[Mapping[str, Any]]) -> None:
        vpn_attachments = {
            (r.get("inputs") or {}).get("transitGatewayAttachmentId")
            for r in resources
            if r.get("type") == VPN_CONNECTION
        } - {None, UNKNOWN}
        per_conn: dict[str, int] = defaultdict(int)
        for r in resources:
            t, inputs = r.get("type"), r.get("inputs") or {}
            sources: Mapping[str, Any] = r.get("sources") or {}
            if t == VPC_ROUTE:
                dest = inputs.get("destinationCidrBlock") or inputs.get("destinationIpv6CidrBlock")
                if _default_route(dest) and _towards_datacenter(inputs, sources):
                    self.add(
                        "no-default-route-to-datacenter",
                        r,
                        f"route {dest} points at the datacenters (VGW or TGW): the VPC "
                        "would send all its traffic, internet included, over the VPN",
                    )
            elif t == VPN_CONNECTION_ROUTE:
                dest = inputs.get("destinationCidrBlock")
                if _default_route(dest):
                    self.add(
                        "no-default-route-to-datacenter",
                        r,
                        f"static VPN route {dest} sends everything to the datacenter",
                    )
                conn = inputs.get("vpnConnectionId")
                per_conn[str(conn) if _known(conn) else f"parent {r.get('parent', '?')}"] += 1
            elif t == TGW_ROUTE and not inputs.get("blackhole"):
                dest = inputs.get("destinationCidrBlock")
                att = inputs.get("transitGatewayAttachmentId")
                to_vpn = VPN_CONNECTION in (sources.get("transitGatewayAttachmentId") or []) or (
                    _known(att) and att in vpn_attachments
                )
                if _default_route(dest) and to_vpn:
                    self.add(
                        "no-default-route-to-datacenter",
                        r,
                        f"transit gateway route {dest} points at a VPN attachment",
                    )
            elif t == STACK:
                self._announced(r, inputs)
        for conn, count in sorted(per_conn.items()):
            if count > MAX_PREFIXES:
                self.out.append(
                    Violation(
                        "max-100-prefixes-announced",
                        "mandatory",
                        conn,
                        f"{count} static routes on one VPN connection; AWS "
                        f"takes at most {MAX_PREFIXES}",
                    )
                )

    def _announced(self, r: Mapping[str, Any], outputs: Mapping[str, Any]) -> None:
        routers = outputs.get("routers")
        if not isinstance(routers, Mapping):
            return
        for key, router in sorted(routers.items()):
            conns = router.get("connections") if isinstance(router, Mapping) else None
            for c in conns if isinstance(conns, list) else []:
                announce = c.get("announce") if isinstance(c, Mapping) else None
                if not isinstance(announce, list):
                    continue
                where = f"router {key}, connection {c.get('name', '?')}"
                if len(announce) > MAX_PREFIXES:
                    self.add(
                        "max-100-prefixes-announced",
                        r,
                        f"{where} announces {len(announce)} prefixes; AWS takes at most "
                        f"{MAX_PREFIXES} and drops the session or the excess",
                    )
                if any(_default_route(p) for p in announce):
                    self.add(
                        "no-default-route-to-datacenter",
                        r,
                        f"{where} announces a default route: AWS would send every "
                        "VPC's traffic to the datacenter",
                    )


def _norm(v: Any) -> Any:
    return sorted(map(str, v)) if isinstance(v, list | tuple | set | frozenset) else v


def _towards_datacenter(inputs: Mapping[str, Any], sources: Mapping[str, Any]) -> bool:
    if inputs.get("transitGatewayId") is not None or sources.get("transitGatewayId"):
        return True
    gw = inputs.get("gatewayId")
    return (isinstance(gw, str) and gw.startswith("vgw-")) or VPN_GATEWAY in (
        sources.get("gatewayId") or []
    )


def check_resources(
    resources: list[dict[str, Any]],
    stack: str,
    prod_stacks: Iterable[str] = DEFAULT_PROD_STACKS,
    scope: str | None = None,
) -> list[Violation]:
    """Every guardrail over the declared resources of `stack`; sorted violations.

    `scope="resource"` runs only the rules that judge one resource alone (what
    CrossGuard checks before a resource is created); `"stack"` only the rules
    that need the whole stack; None runs all.
    """
    c = _Checker(stack, prod_stacks)
    for r in resources:
        if r.get("type") == VPN_CONNECTION:
            if scope in (None, "resource"):
                c.vpn_connection(r)
            if scope in (None, "stack"):
                c.psk(r)
    if scope in (None, "stack"):
        c.routes(resources)
    return sorted(set(c.out))


def blocking(violations: Iterable[Violation]) -> list[Violation]:
    """The mandatory violations: what stops an apply."""
    return [v for v in violations if v.severity == "mandatory"]
