"""`crossnet plan` and `crossnet diff` say what static routing trades: its failover bound."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from network.plan.advice import plan_advice, static_failover_bound
from tests.unit.test_review_support import plan_of, run_cli, stack_config, write_stack_file

FIELD = "crossnet:network.connections.dc1-edge1-web.routing"


def test_a_static_connection_gets_its_dpd_bound_and_a_bgp_one_none() -> None:
    advice = plan_advice(plan_of("staging"))
    assert [(a.field, a.value) for a in advice] == [(FIELD, "static")]
    # AWS's DPD: 10 s idle, then staging's 30 s timeout; the lab measured 34.3 s.
    assert "10 s idle + 30 s DPD timeout, up to ~40 s" in advice[0].rule
    assert "34.3 s" in advice[0].rule and "docs/lab.md" in advice[0].rule
    assert plan_advice(plan_of("dev")) == [] and plan_advice(plan_of("prod")) == []


def test_the_bound_follows_the_connections_dpd_timeout() -> None:
    cfg = stack_config("staging")
    conn = cfg["crossnet:network"]["connections"]["dc1-edge1-web"]
    conn["tunnelOptions"]["dpd"]["timeoutSeconds"] = 60
    plan = plan_of("staging", cfg)
    assert static_failover_bound(plan.connections[0]) == 70
    assert "up to ~70 s" in plan_advice(plan)[0].rule
    del conn["tunnelOptions"]["dpd"]  # AWS's default DPD timeout: 40 s
    assert static_failover_bound(plan_of("staging", cfg).connections[0]) == 50


def test_plan_prints_the_advice_in_text_and_json(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run_cli(["plan", "--stack", "staging"], capsys, monkeypatch)
    assert code == 0 and "Advice" in out and "up to ~40 s of outage" in out
    code, out, _ = run_cli(["plan", "--stack", "staging", "--json"], capsys, monkeypatch)
    doc = json.loads(out)
    assert [(a["field"], a["value"]) for a in doc["advice"]] == [(FIELD, "static")]
    assert "DPD" in doc["advice"][0]["advice"]
    code, out, _ = run_cli(["plan", "--stack", "dev", "--json"], capsys, monkeypatch)
    assert json.loads(out)["advice"] == []


def test_diff_prints_the_advice_in_text_markdown_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CROSSNET_STATE_DIR", str(tmp_path / "state"))
    base = ["diff", "--stack", "staging", "--no-configs"]
    code, out, _ = run_cli(base, capsys, monkeypatch)
    assert code == 1 and f"advice: {FIELD}: static: a silent failure" in " ".join(out.split())
    code, out, _ = run_cli([*base, "--format", "markdown"], capsys, monkeypatch)
    assert f"> advice: {FIELD}: static:" in out
    code, out, _ = run_cli([*base, "--json"], capsys, monkeypatch)
    (line,) = json.loads(out)["advice"]
    assert line.startswith(f"{FIELD}: static: ") and "~40 s" in line
    # A BGP-only stack gets none.
    cfg = stack_config("staging")
    cfg["crossnet:network"]["connections"]["dc1-edge1-web"]["routing"] = "bgp"
    path = write_stack_file(tmp_path, "staging", cfg)
    code, out, _ = run_cli([*base, "--config", str(path), "--json"], capsys, monkeypatch)
    assert json.loads(out)["advice"] == []
