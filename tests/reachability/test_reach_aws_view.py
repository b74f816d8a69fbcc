"""AWS's own view of the tunnels, compared with the datacenter's (issue 10 §4).

AWS is read with ``DescribeVpnConnections`` (``VgwTelemetry``), ``DescribeRouteTables``
and ``SearchTransitGatewayRoutes`` (network/awsview). Offline, the lab's AWS side
reports what it runs into the emulator rebuilt from the stack's state, so AWS's view
follows the lab; on real hosts, AWS is read with the user's profile (``--aws-profile``
or ``AWS_PROFILE``; read-only, docs/awsview.md). An inventory with ``aws_view: false``
skips this module, saying so; ``aws_view: offline`` (the lab's inventory over SSH) reads
the emulator following the lab.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from network.awsview import AwsView, expected_routes, route_problems, tunnel_problems
from network.awsview.facts import vpn_ids
from network.errors import CrossnetError
from network.lab.awscheck import AwsSide, connection, dc_tunnel, describe, real_client
from network.lab.readiness import carries_traffic, wait_ready
from network.lab.suite import BGP, IPSEC, LAB, Env, poll, prefetch
from network.lab.system import LabError
from network.lab.vici import ViciError


def _offline(env: Env) -> bool:
    return bool(env.is_lab or env.inventory.get("aws_view") == "offline")


def _start_offline(env: Env) -> tuple[Any, AwsSide]:
    """The emulator following the lab, built (moto's import and the stack's state: about
    a second); the first test that asks reads AWS's view (the lab's AWS side reports)."""
    from network.awsview.offline import OfflineAws

    offline = OfflineAws(env.stack).start()
    return offline, AwsSide(env, offline.client, offline=True)


# Building the emulator reads nothing of the lab: a test changing the lab need not wait.
@prefetch("aws view", reads=frozenset())
def _prefetch_aws(env: Env, session: pytest.Session) -> tuple[Any, AwsSide] | None:
    # The local lab's (over SSH, the lab's routers are read by the tests, as before),
    # and only when some test wants it: from the session's start.
    if not env.is_lab or not any("aws" in getattr(i, "fixturenames", ()) for i in session.items):
        return None
    return _start_offline(env)


@pytest.fixture(scope="module")
def aws(env: Env) -> Iterator[AwsSide]:
    if _offline(env):
        # the lab (its own inventory, or over SSH): the emulator following the lab
        try:
            offline, side = env.prefetched("aws view") or _start_offline(env)
        except CrossnetError as e:
            pytest.fail(f"AWS's view: {e}")
        try:
            yield side
        finally:
            offline.stop()
        return
    if env.inventory.get("aws_view") is False:
        pytest.skip("aws_view: false in the inventory")
    try:
        client = real_client()
    except Exception as e:  # botocore: a profile that does not exist, say
        pytest.fail(f"AWS's view: {describe(e)} (--aws-profile / AWS_PROFILE)")
    yield AwsSide(env, client, offline=False)


def _view(aws: AwsSide, refresh: bool = False) -> AwsView:
    try:
        return aws.view(refresh)
    except (CrossnetError, LabError) as e:
        pytest.fail(f"AWS's view could not be read: {e}")
    except Exception as e:  # botocore: credentials, throttling, endpoint; one line
        pytest.fail(f"AWS's view could not be read: {describe(e)}")


def _tunnel_problems(env: Env, aws: AwsSide, tunnel: str, refresh: bool) -> list[str]:
    name, number = tunnel.rsplit("/", 1)
    c = connection(env, name)
    t = c.tunnels[int(number) - 1]
    dc = dc_tunnel(env, c, t.number)
    return tunnel_problems(dc, _view(aws, refresh).tunnel(aws.vpn_id(c), t.aws_outside_ip), c)


def test_aws_telemetry_agrees_with_the_datacenter(env: Env, aws: AwsSide, tunnel: str) -> None:
    """AWS's VgwTelemetry for the tunnel says what its datacenter router says: both up
    (IPsec, and BGP on a BGP connection) or both down, and AWS accepted every route
    the router announces (no router read: AWS against the plan)."""
    if not _tunnel_problems(env, aws, tunnel, refresh=False):
        return
    # the two sides are read a moment apart: a disagreement must persist to count
    poll(lambda: _tunnel_problems(env, aws, tunnel, refresh=True), [], seconds=10, wait=1.0)


def test_aws_route_tables_hold_the_datacenter_prefixes(
    env: Env, aws: AwsSide, gateway_name: str
) -> None:
    """Every VPC route table behind the gateway, and every TGW route table the VPN
    attachments propagate into, holds each DC prefix, from the right VGW or attachment."""
    expected = [e for e in expected_routes(env.outputs) if e.gateway == gateway_name]
    ids = vpn_ids(env.outputs)
    if route_problems(expected, _view(aws), ids):
        poll(
            lambda: route_problems(expected, _view(aws, refresh=True), ids),
            [],
            seconds=10,
            wait=1.0,
        )


def _first_connection(env: Env) -> Any:
    return next(c for r in env.outputs.routers.values() for c in r.connections)


def test_aws_view_follows_a_tunnel_taken_down(env: Env, aws: AwsSide) -> None:
    """The datacenter router closes one tunnel: AWS's view shows it DOWN with no routes,
    in agreement with the router; the router's earlier claim (up) is reported as a
    disagreement; the other tunnel and the route tables carry on; it comes back."""
    c = _first_connection(env)
    t = c.tunnels[-1]
    tunnel, vpn = f"{c.name}/{t.number}", aws.vpn_id(c)
    # A standby tunnel (active/standby) carries none of the hosts' probes.
    moves = env.is_lab and carries_traffic(env.lab.lab, tunnel)
    rt = env.changes_lab("takes a tunnel down", LAB if moves else frozenset({BGP, IPSEC}))
    before_dc = dc_tunnel(env, c, t.number)
    before = _view(aws, refresh=True).tunnel(vpn, t.aws_outside_ip)
    assert before is not None and before.status == "UP", f"{tunnel} before: {before}"
    end = rt.lab.end("dc", tunnel)
    try:
        rt.vici(end, "terminate", {"ike": end.conn_name, "timeout": "5000"})
        down_dc = poll(
            lambda: dc_tunnel(env, c, t.number),
            lambda d: None if d.ipsec_up is False else f"the router still has {tunnel} up",
            seconds=15,
            wait=env.poll_wait,
        )
        after = poll(
            lambda: _view(aws, refresh=True).tunnel(vpn, t.aws_outside_ip),
            lambda a: None if a is not None and a.status == "DOWN" else f"AWS says {a}",
            seconds=15,
            wait=env.poll_wait,
        )
        assert after.accepted_route_count == 0
        assert after.last_status_change and before.last_status_change
        # AWS reports LastStatusChange to the second: DOWN may come in the same second.
        assert after.last_status_change >= before.last_status_change
        assert tunnel_problems(down_dc, after, c) == []
        [stale] = tunnel_problems(before_dc, after, c)
        assert "AWS says DOWN" in stale, stale
        other = _view(aws).tunnel(vpn, c.tunnels[0].aws_outside_ip)
        assert other is not None and other.status == "UP", f"the other tunnel: {other}"
        expected = [e for e in expected_routes(env.outputs) if e.gateway == c.gateway["name"]]
        assert route_problems(expected, _view(aws), vpn_ids(env.outputs)) == []
    finally:
        with contextlib.suppress(ViciError, OSError):  # wait_ready says what is wrong
            rt.vici(end, "initiate", {"child": end.conn_name, "ike": end.conn_name})
        try:
            wait_ready(rt, 60)
        except LabError as e:
            pytest.fail(f"{tunnel} did not come back: {e}")
    back = _view(aws, refresh=True).tunnel(vpn, t.aws_outside_ip)
    assert back is not None and back.status == "UP", f"{tunnel} after: {back}"
