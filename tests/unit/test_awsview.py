"""AWS's own view (network/awsview): the pure comparison, and the reader over the
offline emulator rebuilt from an applied stack's state (the code path the real one
takes with the user's profile)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from network.awsview import (
    AwsView,
    DcTunnel,
    TableRoute,
    TunnelTelemetry,
    expected_routes,
    route_problems,
    tunnel_problems,
)
from network.awsview.facts import connections, vpn_ids
from network.awsview.offline import OfflineAws, OfflineAwsError
from network.awsview.read import read_stack
from network.contract import Connection, StackOutputs, load_outputs
from network.offline.apply import offline_up
from network.offline.aws import set_tunnel_status

NOW = datetime(2026, 12, 6, tzinfo=UTC)


def _conn(fake_outputs: Any, stack: str = "dev") -> Connection:
    out: StackOutputs = fake_outputs(stack)[0]
    return connections(out)[0]


def _aws(status: str, accepted: int = 0, message: str = "") -> TunnelTelemetry:
    return TunnelTelemetry("vpn-1", "198.51.100.10", status, message, accepted, NOW)


@pytest.fixture(scope="module")
def applied(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dev and prod applied once (the emulator is rebuilt from dev's state per test)."""
    root = tmp_path_factory.mktemp("awsview")
    mp = pytest.MonkeyPatch()
    mp.setenv("CROSSNET_STATE_DIR", str(root))
    try:
        offline_up("dev")
        offline_up("prod")
    finally:
        mp.undo()
    return root


# ------------------------------------------------------------ the comparison (pure)
def test_dc_established_but_aws_down_is_reported(fake_outputs: Any) -> None:
    c = _conn(fake_outputs)
    dc = DcTunnel(c.name, 1, ipsec_up=True, bgp_established=True, announced=1)
    [problem] = tunnel_problems(dc, _aws("DOWN", 0, "IPSEC IS UP"), c)
    assert "BGP Established" in problem and "AWS says DOWN, 'IPSEC IS UP'" in problem
    assert problem.startswith(f"{c.name}/1: ")


def test_aws_accepting_fewer_routes_than_announced_is_reported(fake_outputs: Any) -> None:
    c = _conn(fake_outputs)
    dc = DcTunnel(c.name, 1, True, True, announced=3)
    assert tunnel_problems(dc, _aws("UP", 2), c) == [
        f"{c.name}/1: AWS accepted 2 routes, the DC router announces 3"
    ]
    many = DcTunnel(c.name, 1, True, True, announced=101)
    assert "at most 100" in tunnel_problems(many, _aws("UP", 0), c)[0]
    assert "more than" in tunnel_problems(DcTunnel(c.name, 1, True, True, 1), _aws("UP", 4), c)[0]


def test_agreement_is_no_problem_either_way(fake_outputs: Any) -> None:
    c = _conn(fake_outputs)
    assert tunnel_problems(DcTunnel(c.name, 1, True, True, 1), _aws("UP", 1), c) == []
    assert tunnel_problems(DcTunnel(c.name, 2, False, False, 0), _aws("DOWN"), c) == []
    # IPsec up but BGP down at the DC: AWS's DOWN / IPSEC IS UP agrees
    assert tunnel_problems(DcTunnel(c.name, 2, True, False, 0), _aws("DOWN", 0, "x"), c) == []


def test_aws_up_while_the_dc_says_down_is_reported(fake_outputs: Any) -> None:
    c = _conn(fake_outputs)
    [problem] = tunnel_problems(DcTunnel(c.name, 2, False, False), _aws("UP", 1), c)
    assert "IPsec down" in problem and "AWS says UP" in problem


def test_dc_not_read_compares_aws_with_the_plan(fake_outputs: Any) -> None:
    c = _conn(fake_outputs)
    unread = DcTunnel(c.name, 1, None)
    assert "the plan has it up" in tunnel_problems(unread, _aws("DOWN"), c)[0]
    assert tunnel_problems(unread, _aws("UP", len(c.announce)), c) == []
    assert "the plan announces" in tunnel_problems(unread, _aws("UP", 0), c)[0]
    assert "no telemetry" in tunnel_problems(unread, None, c)[0]


def test_route_problems_name_table_prefix_and_target(applied: Path) -> None:
    out = load_outputs(applied / "prod" / "outputs.json")
    exp = expected_routes(out)
    tgw = next(e for e in exp if e.kind == "tgw")
    vpc = next(e for e in exp if e.kind == "vpc")
    ids = vpn_ids(out)
    att = {ids[tgw.connection]: "tgw-attach-right"}
    right = TableRoute(tgw.table_id, tgw.destination, ("tgw-attach-right",), "propagated", "active")
    wrong = TableRoute(tgw.table_id, tgw.destination, ("tgw-attach-other",), "propagated", "active")
    ok = AwsView(attachments=att, routes={tgw.table_id: (right,)})
    assert route_problems([tgw], ok, ids) == []
    bad = AwsView(attachments=att, routes={tgw.table_id: (wrong,)})
    [p] = route_problems([tgw], bad, ids)
    assert "tgw-attach-other (propagated)" in p and "tgw-attach-right" in p
    [p] = route_problems([vpc], AwsView(routes={vpc.table_id: ()}), ids)
    assert f"no route to {vpc.destination}" in p
    [p] = route_problems([vpc], AwsView(), ids)
    assert "does not know the table" in p


def test_expected_routes_cover_every_propagating_table(applied: Path) -> None:
    out = load_outputs(applied / "prod" / "outputs.json")
    exp = expected_routes(out)
    tgw_tables = {e.table for e in exp if e.kind == "tgw"}
    # prod's TGW: the VPN attachments propagate into "shared" and "spokes", not "onprem"
    assert tgw_tables == {"tgw hub/shared", "tgw hub/spokes"}
    announced = {p for c in connections(out) for p in c.announce}
    assert {e.destination for e in exp} == announced


# ------------------------------------------------------------ over the emulator
def test_the_reader_sees_what_was_reported(applied: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CROSSNET_STATE_DIR", str(applied))
    out = load_outputs(applied / "dev" / "outputs.json")
    c = connections(out)[0]
    vpn = vpn_ids(out)[c.name]
    with OfflineAws("dev") as aws:
        ec2 = aws.client("us-east-1")
        before = read_stack(out, aws.client)
        assert {t.status for t in before.telemetry[vpn]} == {"DOWN"}  # nobody reported
        assert route_problems(expected_routes(out), before, vpn_ids(out))  # nothing propagated
        set_tunnel_status(ec2, vpn, 1, up=True, bgp_prefixes=c.announce)
        set_tunnel_status(ec2, vpn, 2, up=True, bgp_established=False)
        view = read_stack(out, aws.client)
    t1 = view.tunnel(vpn, c.tunnels[0].aws_outside_ip)
    t2 = view.tunnel(vpn, c.tunnels[1].aws_outside_ip)
    assert t1 is not None and (t1.status, t1.accepted_route_count) == ("UP", len(c.announce))
    assert t2 is not None and (t2.status, t2.status_message) == ("DOWN", "IPSEC IS UP")
    assert route_problems(expected_routes(out), view, vpn_ids(out)) == []
    # the DC router claiming tunnel 2's BGP is up is exactly the disagreement reported
    dc2 = DcTunnel(c.name, 2, True, True, len(c.announce))
    assert "AWS says DOWN" in tunnel_problems(dc2, t2, c)[0]


def test_no_state_is_a_clean_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CROSSNET_STATE_DIR", str(tmp_path))
    with pytest.raises(OfflineAwsError, match="crossnet up --stack dev"):
        OfflineAws("dev").start()


def test_the_real_client_is_bounded_and_a_bad_profile_is_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from network.lab.awscheck import AWS_CONNECT_TIMEOUT, AWS_READ_TIMEOUT, describe, real_client

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    ec2 = real_client()("eu-west-1")
    assert ec2.meta.region_name == "eu-west-1"
    assert ec2.meta.config.connect_timeout == AWS_CONNECT_TIMEOUT
    assert ec2.meta.config.read_timeout == AWS_READ_TIMEOUT
    with pytest.raises(Exception) as err:
        real_client("crossnet-no-such-profile")
    assert "crossnet-no-such-profile" in describe(err.value)
    assert "\n" not in describe(err.value)
