"""Terminal output of the review commands: it fits the width, keeps every row, colours
only a terminal, and `--json` is one document; optional dependencies stay optional."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from network.console import FitTable, console, progress, to_text
from network.naming import resource_name
from network.package_data import DATA, data_dir
from network.review.compare import diff_snapshots
from network.review.diff import render_diff
from network.review.snapshot import plan_snapshot
from network.state import PROJECT_ENV, project_dir
from tests.unit.test_review_support import ROOT, STACKS, plan_of, run_cli, stack_config, table_rows

NET = "crossnet:network"
ESC = "\x1b["


def _widest(text: str) -> int:
    return max(len(line) for line in text.splitlines())


def _changed_prod() -> dict[str, object]:
    """prod with a replaced customer gateway, a new TGW ASN and a new datacenter prefix."""
    config = stack_config("prod")
    net = config[NET]
    net["datacenters"]["ash"]["routers"]["edge1"]["publicIp"] = "192.0.2.111"
    net["transitGateways"]["hub"]["asn"] = 64601
    net["datacenters"]["fra"]["prefixes"] = ["172.20.0.0/16", "172.21.0.0/16"]
    return config


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("columns", [60, 80, 132])
def test_plan_fits_the_terminal_and_keeps_every_tunnel(
    stack: str,
    columns: int,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, out, err = run_cli(["plan", "--stack", stack], capsys, monkeypatch, columns=columns)
    assert code == 0, err
    assert _widest(out) <= columns
    assert ESC not in out  # piped: no colour
    plan = plan_of(stack)
    rows = table_rows(out, "Tunnel inside CIDRs per router")
    # one row per tunnel, whether printed as columns or as one block per row
    assert len(rows) == sum(len(c.tunnels) for c in plan.connections)
    planned = {str(t.inside_cidr) for c in plan.connections for t in c.tunnels}
    assert {cell for r in rows for cell in r} >= planned


@pytest.mark.parametrize("columns", [80, 100])
def test_diff_fits_the_terminal_and_lists_every_resource(
    columns: int, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = plan_snapshot(plan_of("prod")), plan_snapshot(plan_of("prod", _changed_prod()))
    report = diff_snapshots(old, new, "the test")
    text = render_diff(report, width=columns)
    assert _widest(text) <= columns
    rows = table_rows(text, "Resources")
    assert [(r[0].lower(), r[2]) for r in rows] == [(c.action, c.name) for c in report.resources]
    # a resource name is never broken across lines
    assert resource_name("cgw", "ash-edge1") in {r[2] for r in rows}
    assert len(table_rows(text, "Address-plan changes")) == len(report.facts)
    # the banners wrap too, and say everything
    flat = " ".join(text.split())
    for impact in report.impacts:
        if impact.loud:
            assert f"!! {impact.title} !!" in text
            assert " ".join(impact.consequence.split()) in flat


def test_diff_command_at_80_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    applied = tmp_path / "applied.json"
    applied.write_text(json.dumps({"plan": plan_snapshot(plan_of("prod"))}))
    config = tmp_path / "Pulumi.prod.yaml"
    import yaml

    config.write_text(yaml.safe_dump({"config": _changed_prod()}))
    argv = ["diff", "--stack", "prod", "--applied", str(applied), "--config", str(config)]
    code, out, err = run_cli([*argv, "--no-configs"], capsys, monkeypatch, columns=80)
    assert code == 1, err
    assert _widest(out) <= 80
    assert ESC not in out
    code, out, _ = run_cli([*argv, "--json"], capsys, monkeypatch)
    doc = json.loads(out)
    assert code == 1 and doc["changed"] is True
    assert {"replace"} <= {r["action"] for r in doc["resources"]}
    assert any(i["kind"] == "replace-cgw" for i in doc["impacts"])


@pytest.mark.parametrize(
    "argv",
    [
        ["plan", "--stack", "prod"],
        ["estimate", "--stack", "prod", "--data", "20TB"],
        ["guardrails", "--stack", "prod"],
    ],
)
def test_json_is_one_document_with_every_table(
    argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, text, _ = run_cli(argv, capsys, monkeypatch)
    assert code == 0
    code, out, err = run_cli([*argv, "--json"], capsys, monkeypatch)
    assert code == 0, err
    doc = json.loads(out)
    assert doc["stack"] == "prod" and doc["data"]
    for t in doc["tables"]:
        assert t["title"] in text  # the same tables as the text
        assert all(set(r) == set(t["columns"]) for r in t["rows"])


def test_colour_only_on_a_terminal() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    t = FitTable("T", ("a", "b"), [("x", "y")])
    tty, pipe = Tty(), io.StringIO()
    console(tty, width=80).print(t)
    console(pipe).print(t)
    assert ESC in tty.getvalue()  # bold headers on a terminal
    assert ESC not in pipe.getvalue()
    assert "x" in to_text([t]) and ESC not in to_text([t])


def test_a_table_too_wide_for_the_terminal_becomes_one_block_per_row() -> None:
    cols = [f"column{i}" for i in range(8)]
    rows = [[f"row{r}-value{i}-{'x' * 12}" for i in range(8)] for r in range(3)]
    text = to_text([FitTable("Wide", cols, rows)], width=60)
    assert _widest(text) <= 60
    assert table_rows(text, "Wide") == [tuple(r) for r in rows]
    # wide enough: columns
    wide = to_text([FitTable("Wide", cols, rows)], width=300)
    assert "─" in wide and table_rows(wide, "Wide") == [tuple(r) for r in rows]


def test_progress_is_line_oriented_when_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    with progress("crossnet x", enabled=False) as steps:
        steps.step("one")
        steps.step("two")
    err = capsys.readouterr().err
    assert err.splitlines() == ["crossnet x: one", "crossnet x: two"]
    with progress("crossnet x", enabled=False, quiet=True) as steps:
        steps.step("one")
    assert capsys.readouterr().err == ""


def test_no_optional_dependency_is_imported_at_start_up() -> None:
    code = (
        "import sys; from network import cli; cli.build_parser(); "
        "print(sorted(m for m in ('graphviz', 'pulumi', 'moto', 'boto3') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_diagram_without_the_graphviz_package_says_so_in_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "graphviz", None)  # import graphviz -> ImportError
    code, out, err = run_cli(["diagram", "--stack", "dev"], capsys, monkeypatch)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "graphviz" in err and "Traceback" not in err


def test_diagram_without_dot_says_so_in_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    pytest.importorskip("graphviz")
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` on it
    code, out, err = run_cli(["diagram", "--stack", "dev"], capsys, monkeypatch)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "dot" in err and "apt-get install graphviz" in err


def test_the_project_is_found_from_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # `--project-dir` sets the variable for the process: make sure it is undone afterwards
    monkeypatch.setenv(PROJECT_ENV, "")
    monkeypatch.delenv(PROJECT_ENV)
    monkeypatch.delenv("CROSSNET_STACKS_DIR", raising=False)
    project = tmp_path / "site"
    (project / "stacks").mkdir(parents=True)
    (project / "stacks" / "Pulumi.lab.yaml").write_text(
        (ROOT / "stacks" / "Pulumi.dev.yaml").read_text()
    )
    (project / "deep" / "er").mkdir(parents=True)
    monkeypatch.chdir(project / "deep" / "er")
    assert project_dir() == project.resolve()
    code, out, err = run_cli(["plan", "--stack", "lab", "--json"], capsys, monkeypatch)
    assert code == 0, err and json.loads(out)["stack"] == "lab"
    # --project-dir from elsewhere
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(
        ["--project-dir", str(project), "plan", "--stack", "lab", "--json"], capsys, monkeypatch
    )
    assert code == 0, err
    code, _, err = run_cli(
        ["--project-dir", str(tmp_path / "nope"), "plan", "--stack", "lab"], capsys, monkeypatch
    )
    assert code == 2 and "no such directory" in err


@pytest.mark.parametrize("name", sorted(DATA))
def test_package_data_is_the_checkouts_directory(name: str) -> None:
    # in a checkout: the top-level directories (scripts/check_install.sh proves the
    # installed copy, read through importlib.resources)
    assert data_dir(name) == ROOT / DATA[name][1]
    assert any(data_dir(name).iterdir())
