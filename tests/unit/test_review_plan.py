"""`crossnet plan`: address tables, free space, formats and the error screen."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from netaddr import IPNetwork, IPSet

from network.review.report import plan_tables, supernet_usage, vpc_free_space
from network.review.snapshot import plan_snapshot
from network.review.tables import Table, render_markdown, render_text
from tests.unit.test_review_support import STACKS, plan_of, run_cli, stack_config, write_stack_file


@pytest.mark.parametrize("stack", STACKS)
def test_free_space_partitions_each_supernet(stack: str) -> None:
    plan = plan_of(stack)
    usage = supernet_usage(plan)
    assert usage, "every example stack declares an addressSpace"
    for u in usage:
        used, free = IPSet(c for _, c in u.used), IPSet(u.free)
        assert not (used & free)
        assert used | free == IPSet([u.supernet])


@pytest.mark.parametrize("stack", STACKS)
def test_free_space_in_each_vpc_is_what_no_subnet_uses(stack: str) -> None:
    plan = plan_of(stack)
    for name, free in vpc_free_space(plan).items():
        vpc = plan.vpcs[name]
        subnets = IPSet(s.cidr for s in vpc.subnets)
        assert not (subnets & IPSet(free))
        assert subnets | IPSet(free) == IPSet([vpc.spec.cidr])


def test_prod_free_space_figures() -> None:
    usage = {str(u.supernet): u for u in supernet_usage(plan_of("prod"))}
    aws = usage["10.0.0.0/12"]
    assert [str(n) for n in aws.free] == [
        "10.4.0.0/14",
        "10.9.0.0/16",
        "10.10.0.0/15",
        "10.12.0.0/14",
    ]
    assert aws.largest_free == IPNetwork("10.4.0.0/14")
    assert usage["172.20.0.0/14"].free_addresses == 3 * 65536


@pytest.mark.parametrize("stack", STACKS)
def test_tables_name_every_vpc_subnet_router_and_tunnel(stack: str) -> None:
    plan = plan_of(stack)
    text = render_text(plan_tables(plan))
    for v in plan.vpcs.values():
        assert str(v.spec.cidr) in text
        for s in v.subnets:
            assert str(s.cidr) in text
    for c in plan.connections:
        assert c.router.key in text
        for t in c.tunnels:
            assert str(t.inside_cidr) in text
        assert str(c.aws_asn) in text or c.spec.routing == "static"


def test_markdown_rendering_escapes_pipes() -> None:
    t = Table.of("T", ("a", "b"), [("x|y", None)])
    md = render_markdown([t], "h")
    assert "| x\\|y |   |" in md
    assert md.startswith("## h")


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_plan_command_on_example_stacks(
    stack: str, fmt: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run_cli(["plan", "--stack", stack, "--format", fmt], capsys, monkeypatch)
    assert code == 0, err
    assert "Tunnel inside CIDRs per router" in out
    if fmt == "markdown":
        assert "| router | connection |" in out


def test_plan_never_prints_a_psk(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = stack_config("dev")
    key = "Sup3rSecretKey_42"
    config["crossnet:dc1Psk1"] = key
    config["crossnet:network"]["connections"]["dc1-edge1-app"]["tunnel1"] = {
        "presharedKeySecret": "dc1Psk1"
    }
    path = write_stack_file(tmp_path, "dev", config)
    code, out, err = run_cli(["plan", "--stack", "dev", "--config", str(path)], capsys, monkeypatch)
    assert code == 0, err
    assert key not in out + err
    assert "config crossnet:dc1Psk1" in out
    assert key not in json.dumps(plan_snapshot(plan_of("dev", config)))


def test_invalid_config_gives_the_error_screen(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = stack_config("dev")
    config["crossnet:network"]["vpcs"]["app"]["cidr"] = "10.16.0.1/16"
    config["crossnet:network"]["datacenters"]["dc1"]["asn"] = "x"
    path = write_stack_file(tmp_path, "dev", config)
    code, out, err = run_cli(["plan", "--stack", "dev", "--config", str(path)], capsys, monkeypatch)
    assert code == 2
    assert out == ""
    assert "2 problem(s)" in err and "Traceback" not in err
    assert "crossnet:network.vpcs.app.cidr" in err


def test_unknown_stack_is_a_clean_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = run_cli(["plan", "--stack", "nope"], capsys, monkeypatch)
    assert code == 2
    assert "no such stack file" in err


@pytest.mark.parametrize("stack", STACKS)
def test_snapshot_is_json_and_stable(stack: str) -> None:
    a, b = plan_snapshot(plan_of(stack)), plan_snapshot(plan_of(stack))
    assert json.loads(json.dumps(a, sort_keys=True)) == b
    assert a["snapshotVersion"] == 1
    assert set(a["connections"]) == {c.name for c in plan_of(stack).connections}


def _vpc_row(tables: list[Table], vpc: str) -> dict[str, str]:
    [t] = [t for t in tables if t.title == "VPCs"]
    [row] = [r for r in t.rows if r[0] == vpc]
    return dict(zip(t.columns, row))


def test_largest_free_block_per_vpc_even_when_the_list_is_cut() -> None:
    # prod's app VPC has 11 free fragments; in address order the /18 comes last
    plan = plan_of("prod")
    free = vpc_free_space(plan)["app"]
    biggest = max(free, key=lambda n: n.size)
    assert len(free) > 6 and free[-1] == biggest
    row = _vpc_row(plan_tables(plan), "app")
    assert row["largest free"] == str(biggest) == "10.1.192.0/18"
    assert str(biggest) not in row["free CIDRs"] and "(+5 more)" in row["free CIDRs"]
    # for a change request every free CIDR is listed
    full = _vpc_row(plan_tables(plan, list_all=True), "app")
    assert full["free CIDRs"].split(", ") == [str(n) for n in free]


def test_markdown_plan_lists_every_free_cidr(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, text, _ = run_cli(["plan", "--stack", "prod"], capsys, monkeypatch)
    assert code == 0 and "more)" in text and "`--format markdown` lists them all" in text
    code, md, _ = run_cli(["plan", "--stack", "prod", "--format", "markdown"], capsys, monkeypatch)
    assert code == 0 and "more)" not in md
    for free in vpc_free_space(plan_of("prod")).values():
        for n in free:
            assert str(n) in md
