"""AWS's own view in the reachability suite: both sides read, AWS's compared.

- the datacenter's view of each tunnel (``dc_tunnel``), read from the router as the
  rest of the suite reads it (its charon's SAs, FRR's BGP summary; a router of another
  platform on real hosts: its device facts, network/devices); a router not in the
  inventory gives ``None`` facts and the plan stands in;
- offline, the lab's AWS side reports each tunnel (IPsec up, BGP established,
  prefixes received: ``lab_reports``) into the emulator rebuilt from the stack's state
  (``network.awsview.offline``), so AWS's ``VgwTelemetry`` follows the lab; on real
  hosts, AWS is read with the user's profile (``real_client``);
- either way the same reader (``network.awsview.read``) and the same comparison.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING, Any

from network.awsview.facts import AwsView, DcTunnel, connections, regions, vpn_ids
from network.awsview.read import read_stack
from network.contract import Connection
from network.lab.probe import bgp_peers, tunnel_up
from network.lab.suite import Env
from network.render import tunnel_key

if TYPE_CHECKING:
    # network.offline.aws imports moto (a second): only when AWS's view is offline.
    from network.offline.aws.telemetry import TunnelReport

# botocore's bounds for the real path: a nightly must never hang on AWS.
AWS_CONNECT_TIMEOUT = 10
AWS_READ_TIMEOUT = 30
AWS_ATTEMPTS = 3


def connection(env: Env, name: str) -> Connection:
    for r in env.outputs.routers.values():
        for c in r.connections:
            if c.name == name:
                return c
    raise KeyError(f"{name} is not in the stack outputs")


def _readable_router(env: Env, c: Connection) -> dict[str, Any] | None:
    key = next(r.key for r in env.outputs.routers.values() if c in r.connections)
    router: dict[str, Any] | None = env.inventory.get("routers", {}).get(key)
    return router


def _bgp(env: Env, target: dict[str, Any], neighbor: str) -> dict[str, Any]:
    data = env.vtysh_json(target["target"], target["vtysh"], "show bgp summary json")
    peer: dict[str, Any] = bgp_peers(data).get(neighbor, {})
    return peer


def dc_tunnel(env: Env, c: Connection, number: int) -> DcTunnel:
    """The datacenter router's view of tunnel ``number`` of connection ``c``."""
    router = _readable_router(env, c)
    if router is None:
        return DcTunnel(c.name, number, None)
    key = next(r.key for r in env.outputs.routers.values() if c in r.connections)
    if env.reads_device(key):
        return _device_tunnel(env, key, c, number)
    sas = env.sas(router, f"{c.name}/{number}")
    ipsec = tunnel_up(sas, tunnel_key(c.name, number)) is None
    if c.routing != "bgp":
        return DcTunnel(c.name, number, ipsec)
    t = c.tunnels[number - 1]
    peer = _bgp(env, router, t.aws_inside_ip)
    established = peer.get("state") == "Established"
    return DcTunnel(c.name, number, ipsec, established, int(peer.get("pfxSnt", 0) or 0))


def _device_tunnel(env: Env, key: str, c: Connection, number: int) -> DcTunnel:
    """The same view from a device's facts (an unreadable device fails the test, saying why)."""
    facts = env.device_facts(key)
    t = c.tunnels[number - 1]
    sa = facts.tunnels.get(t.aws_outside_ip)
    ipsec = bool(sa and sa.ike_up and sa.ipsec_up)
    if c.routing != "bgp":
        return DcTunnel(c.name, number, ipsec)
    n = facts.neighbours.get(t.aws_inside_ip)
    if n is None:
        return DcTunnel(c.name, number, ipsec, False, 0)
    return DcTunnel(c.name, number, ipsec, n.established, n.advertised)


def _received(env: Env, gw: dict[str, Any], neighbor: str) -> tuple[str, ...]:
    command = f"show bgp ipv4 unicast neighbors {neighbor} routes json"
    data = env.vtysh_json(gw["target"], gw["vtysh"], command) or {}
    return tuple(sorted((data.get("routes") or {}).keys()))


def lab_reports(env: Env, c: Connection) -> list[TunnelReport]:
    """What the lab's AWS side saw on each tunnel of ``c``: its charon's SAs, its BGP
    session with the customer's inside address, the prefixes received over it (every
    read at once: each is a daemon's own command)."""
    from network.offline.aws.telemetry import TunnelReport

    reads: dict[tuple[int, str], Callable[[], Any]] = {}
    for t in c.tunnels:
        tunnel = f"{c.name}/{t.number}"
        gw = next(g for g in env.inventory["aws"].values() if tunnel in g["tunnels"])
        reads[(t.number, "sas")] = partial(env.sas, gw, tunnel)
        if c.routing == "bgp":
            reads[(t.number, "bgp")] = partial(_bgp, env, gw, t.customer_inside_ip)
            reads[(t.number, "received")] = partial(_received, env, gw, t.customer_inside_ip)
    with ThreadPoolExecutor(max_workers=len(reads), thread_name_prefix="aws-report") as pool:
        futures = {key: pool.submit(read) for key, read in reads.items()}
        got = {key: f.result() for key, f in futures.items()}
    reports: list[TunnelReport] = []
    for t in c.tunnels:
        ipsec = tunnel_up(got[(t.number, "sas")], tunnel_key(c.name, t.number)) is None
        if c.routing != "bgp":
            reports.append(TunnelReport(ipsec_up=ipsec))
            continue
        established = got[(t.number, "bgp")].get("state") == "Established"
        prefixes = got[(t.number, "received")] if established else ()
        reports.append(TunnelReport(ipsec, established, prefixes))
    return reports


def real_client(profile: str | None = None) -> Callable[[str], Any]:
    """EC2 clients of the user's profile (``--aws-profile`` / ``AWS_PROFILE``), one per
    region, every call bounded (connect, read, retries)."""
    import boto3
    from botocore.config import Config

    session = boto3.Session(profile_name=profile or os.environ.get("AWS_PROFILE") or None)
    config = Config(
        connect_timeout=AWS_CONNECT_TIMEOUT,
        read_timeout=AWS_READ_TIMEOUT,
        retries={"max_attempts": AWS_ATTEMPTS, "mode": "standard"},
    )
    clients: dict[str, Any] = {}

    def client(region: str) -> Any:
        if region not in clients:
            clients[region] = session.client("ec2", region_name=region, config=config)
        return clients[region]

    return client


def describe(e: Exception) -> str:
    """One line for an AWS or credentials failure (no traceback in the matrix)."""
    response = getattr(e, "response", None) or {}
    err = response.get("Error") or {}
    if err:
        return f"AWS said {err.get('Code')}: {err.get('Message')}"
    return f"{type(e).__name__}: {str(e)[:200]}"


class AwsSide:
    """Where the suite reads AWS's view: the emulator following the lab, or AWS.

    ``view()`` is read once and kept; ``view(refresh=True)`` reads again (offline: the
    lab's AWS side reports first, so what AWS shows is what the lab runs now).
    """

    def __init__(self, env: Env, client: Callable[[str], Any], offline: bool) -> None:
        self.env = env
        self.client = client
        self.offline = offline
        self._view: AwsView | None = None

    def report_lab(self) -> None:
        from network.offline.aws.telemetry import report_connection

        ids, where = vpn_ids(self.env.outputs), regions(self.env.outputs)
        for c in connections(self.env.outputs):
            report_connection(self.client(where[c.name]), ids[c.name], lab_reports(self.env, c))

    def view(self, refresh: bool = False) -> AwsView:
        if self._view is None or refresh:
            if self.offline:
                self.report_lab()
            self._view = read_stack(self.env.outputs, self.client)
        return self._view

    def vpn_id(self, c: Connection) -> str:
        return vpn_ids(self.env.outputs)[c.name]
