"""`crossnet estimate`: sizes with units, the price table, cost, bandwidth and advice."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from network.errors import ConfigError
from network.review.estimate import (
    DEFAULT_PRICES,
    GIB,
    capacities,
    dto_internet,
    estimate,
    human_duration,
    load_prices,
    parse_size,
    size_label,
)
from tests.unit.test_review_support import STACKS, plan_of, run_cli


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20PB", 20 * 10**15),
        ("20 pB", 20 * 10**15),
        ("1.5TiB", int(1.5 * 2**40)),
        ("500GB", 500 * 10**9),
        ("1 GiB", 2**30),
        ("7B", 7),
        ("2EB", 2 * 10**18),
    ],
)
def test_parse_size(text: str, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("20", "with a unit"),
        ("20Pb", "bits"),
        ("lots", "with a unit"),
        ("-3TB", "with a unit"),
        ("0TB", "at least one byte"),
        ("1iB", "with a unit"),
        ("20 PBs", "with a unit"),
    ],
)
def test_bad_sizes_are_clean_errors(text: str, rule: str) -> None:
    with pytest.raises(ConfigError) as e:
        parse_size(text)
    assert rule in e.value.render()
    assert "--data" in e.value.render()


def test_price_table_is_dated_and_sourced() -> None:
    p = load_prices()
    assert p.date and p.region == "us-east-1" and p.currency == "USD"
    assert all(url.startswith("https://aws.amazon.com/") for url in p.sources.values())
    assert p.vpn_connection_hour == 0.05 and p.tgw_attachment_hour == 0.05
    assert p.tgw_processing_gb == 0.02


def test_broken_price_table_names_every_bad_field(tmp_path: Path) -> None:
    doc = yaml.safe_load(DEFAULT_PRICES.read_text())
    del doc["date"]
    doc["prices"]["vpnConnectionHour"] = "cheap"
    bad = tmp_path / "p.yaml"
    bad.write_text(yaml.safe_dump(doc))
    with pytest.raises(ConfigError) as e:
        load_prices(bad)
    text = e.value.render()
    assert "date" in text and "prices.vpnConnectionHour" in text
    with pytest.raises(ConfigError):
        load_prices(tmp_path / "missing.yaml")


def test_dto_tiers_and_free_allowance() -> None:
    p = load_prices()
    assert dto_internet(100, p) == 0
    assert dto_internet(1100, p) == pytest.approx(1000 * 0.09)
    # 100 GB free, 10240 GB at 0.09, the next 40960 GB at 0.085, then 0.07
    assert dto_internet(100 + 10240 + 40960 + 1000, p) == pytest.approx(
        10240 * 0.09 + 40960 * 0.085 + 1000 * 0.07
    )
    assert dto_internet(10**7, p) == pytest.approx(
        10240 * 0.09 + 40960 * 0.085 + 102400 * 0.07 + (10**7 - 100 - 153600) * 0.05
    )


def test_prod_ecmp_bandwidth_and_monthly_cost() -> None:
    e = estimate(plan_of("prod"), load_prices(), parse_size("20PB"))
    # 4 BGP connections over a TGW with ECMP: 8 tunnels x 1.25 Gbps
    assert e.bps == pytest.approx(10e9)
    assert e.seconds is not None
    assert e.seconds / 86400 == pytest.approx(20e15 * 8 / 10e9 / 86400)
    assert human_duration(e.seconds) == "185.2 days"
    # 4 VPN connections + 8 TGW attachments (4 VPC + 4 VPN), 730 h at 0.05
    assert e.monthly_total == pytest.approx(12 * 730 * 0.05)
    processing = next(c for c in e.transfer if c.item == "TGW data processing")
    assert processing.amount == pytest.approx(20e15 / GIB * 0.02)
    names = [o.name for o in e.options]
    assert any("Direct Connect" in n for n in names)
    assert any("Large tunnels" in n for n in names)
    assert any("regional quota" in n for n in names)


def test_vgw_uses_one_tunnel_however_many_connections() -> None:
    [path] = capacities(plan_of("dev"))
    assert (path.kind, path.active_tunnels, path.bps) == ("vgw", 1, 1.25e9)
    e = estimate(plan_of("dev"), load_prices(), parse_size("1PB"))
    assert any("VGW uses one tunnel" in a for a in e.advice)


def test_no_advice_when_the_tunnels_are_fast_enough() -> None:
    e = estimate(plan_of("dev"), load_prices(), parse_size("100GB"))
    assert e.options == [] and e.seconds is not None and e.seconds < 3600


def test_from_aws_pays_data_transfer_out() -> None:
    e = estimate(plan_of("staging"), load_prices(), parse_size("20TB"), "from-aws")
    dto = next(c for c in e.transfer if "transfer out" in c.item)
    assert dto.amount > 0
    assert any("eu-west-1" in w for w in e.warnings)


@pytest.mark.parametrize("stack", STACKS)
def test_estimate_command_on_example_stacks(
    stack: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run_cli(["estimate", "--stack", stack, "--data", "20PB"], capsys, monkeypatch)
    assert code == 0, err
    assert "Monthly cost" in out and "Moving 20 PB" in out
    assert "as of" in out


def test_estimate_without_data_shows_only_the_monthly_cost(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run_cli(
        ["estimate", "--stack", "prod", "--format", "markdown"], capsys, monkeypatch
    )
    assert code == 0
    assert "| total |" in out and "Moving" not in out


@pytest.mark.parametrize(
    "argv",
    [
        ["--data", "20Pb"],
        ["--data", "twenty"],
        ["--data", "1TB", "--deadline-days", "0"],
    ],
)
def test_bad_input_is_one_clean_screen(
    argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run_cli(["estimate", "--stack", "prod", *argv], capsys, monkeypatch)
    assert code == 2
    assert out == "" and "Traceback" not in err and err.startswith("error:")


def test_duration_format() -> None:
    assert human_duration(math.inf).startswith("never")
    assert human_duration(90) == "1.5 minutes"


def test_steady_monthly_traffic_adds_processing_and_transfer_out() -> None:
    p = load_prices()
    e = estimate(plan_of("prod"), p, monthly_in=parse_size("1TiB"), monthly_out=parse_size("2TiB"))
    lines = {c.item: c.amount for c in e.monthly}
    assert lines["TGW data processing (monthly traffic)"] == pytest.approx(3 * 1024 * 0.02)
    assert lines["data transfer out to the datacenters"] == pytest.approx(dto_internet(2048, p))
    assert e.monthly_total == pytest.approx(438 + 3 * 1024 * 0.02 + dto_internet(2048, p))
    dev = estimate(plan_of("dev"), p, monthly_in=parse_size("1TiB"))
    assert all("processing" not in c.item for c in dev.monthly)  # a VGW processes for free


def test_monthly_traffic_options(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run_cli(
        ["estimate", "--stack", "prod", "--monthly-out", "5TB"], capsys, monkeypatch
    )
    assert code == 0 and "data transfer out to the datacenters" in out
    code, _, err = run_cli(
        ["estimate", "--stack", "prod", "--monthly-in", "5"], capsys, monkeypatch
    )
    assert code == 2 and "--monthly-in" in err


def test_one_off_transfer_out_does_not_count_the_free_allowance_twice() -> None:
    p = load_prices()
    plan = plan_of("staging")  # a VGW: no TGW processing, only data transfer out
    steady, once = parse_size("50GB"), parse_size("1.5TiB")
    e = estimate(plan, p, once, "from-aws", monthly_out=steady)
    [monthly_dto] = [c for c in e.monthly if "transfer out" in c.item]
    [one_off] = [c for c in e.transfer if "transfer out" in c.item]
    # the steady 50 GB a month uses part of the 100 GB free; the one-off pays for the
    # rest of the month's traffic only, so together they are what the month costs
    assert monthly_dto.amount == 0
    assert monthly_dto.amount + one_off.amount == pytest.approx(
        dto_internet((steady + once) / GIB, p)
    )
    assert one_off.amount == pytest.approx(((steady + once) / GIB - 100) * 0.09)


def test_long_transfer_out_is_tiered_month_by_month() -> None:
    p = load_prices()
    e = estimate(plan_of("prod"), p, parse_size("20PB"), "from-aws")
    [dto] = [c for c in e.transfer if "transfer out" in c.item]
    assert e.seconds is not None
    months = math.ceil(e.seconds / (730 * 3600))
    assert months == 7 and "over 7 months" in dto.quantity
    gb = 20e15 / GIB
    assert dto.amount == pytest.approx(months * dto_internet(gb / months, p))


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("1.5TiB", "1.5 TiB (1.65 TB)"),
        ("20PB", "20 PB"),
        ("500 gB", "500 GB"),
        ("3KiB", "3 KiB (3.07 kB)"),
    ],
)
def test_sizes_print_in_the_unit_given(text: str, label: str) -> None:
    assert size_label(text, parse_size(text)) == label


def test_estimate_heading_keeps_the_unit(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run_cli(["estimate", "--stack", "dev", "--data", "1.5TiB"], capsys, monkeypatch)
    assert code == 0 and "Moving 1.5 TiB (1.65 TB)" in out and "1.64927" not in out
