"""`crossnet rollout --lab` without a lab: bad input (no applied state, a corrupted state
or progress file, an edit that fails validation) exits 2 with nothing written; the
swanctl.conf reader that feeds vici; progress.json's record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from network.lab.live import parse_swanctl
from network.rollout import execute
from tests.unit.test_rollout import _cli, _edited, _psk, _state


@pytest.mark.parametrize("case", ["no-state", "corrupt-state", "corrupt-progress", "invalid-edit"])
def test_lab_rollout_bad_input_exit_2_nothing_written(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CROSSNET_STATE_DIR", str(tmp_path / "state"))
    cfg = _edited(tmp_path, _psk)
    if case != "no-state":
        d = _state(tmp_path, monkeypatch)
        if case == "corrupt-state":
            (d / "applied.json").write_text('{"plan": {"snapshotVer')
        elif case == "corrupt-progress":
            (d / "rollout").mkdir()
            (d / "rollout" / "progress.json").write_text('{"stack": "dev", "steps": ')
        else:
            cfg = _edited(tmp_path, lambda c, net: net["vpcs"]["app"].update(cidr="10.16.0.0/33"))
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    code, _, err = _cli(
        ["rollout", "--stack", "dev", "--config", str(cfg), "--lab"], monkeypatch, capsys
    )
    assert code == 2 and "Traceback" not in err
    assert {
        "no-state": "no applied state",
        "corrupt-state": "not JSON",
        "corrupt-progress": "progress.json",
        "invalid-edit": "10.16.0.0/33",
    }[case] in err
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before


def test_progress_is_private_and_round_trips(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CROSSNET_STATE_DIR", str(tmp_path / "state"))
    p = execute.Progress("dev", "abc", steps={"1": "done", "2": "aws"}, status="failed")
    execute.write_progress(p)
    path = execute.progress_path("dev")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    back = execute.read_progress("dev")
    assert back is not None and back.steps == {"1": "done", "2": "aws"}
    assert back.status == "failed"
    plan = {"steps": [{"step": 1, "changes": ["key A"]}, {"step": 2, "changes": ["key B"]}]}
    text = execute.how_to_go_back("dev", plan, back)
    assert "step 2" in text and "key A" in text and "key B" in text
    assert json.loads(path.read_text())["progressVersion"] == 1


def test_swanctl_conf_becomes_the_vici_messages_swanctl_would_send() -> None:
    conf = parse_swanctl(
        """connections {
    c-1 {
        version = 2
        local_addrs = 192.0.2.10
        proposals = aes256-sha256-ecp384, aes128-sha256-modp2048
        # a comment { with braces }
        children {
            c-1 {
                local_ts = 0.0.0.0/0
                start_action = start
            }
        }
    }
}
secrets {
    ike-c-1 {
        id = 198.51.100.10
        secret = "Key.With_Chars0"
    }
}
"""
    )
    c = conf["connections"]["c-1"]
    assert c["version"] == "2" and c["local_addrs"] == ["192.0.2.10"]
    assert c["proposals"] == ["aes256-sha256-ecp384", "aes128-sha256-modp2048"]
    assert c["children"]["c-1"] == {"local_ts": ["0.0.0.0/0"], "start_action": "start"}
    assert conf["secrets"]["ike-c-1"] == {"id": "198.51.100.10", "secret": "Key.With_Chars0"}
    with pytest.raises(ValueError):
        parse_swanctl("connections {\n  a = b\n")


def test_a_resumed_destroy_first_step_is_not_destroyed_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rollout killed after a destroy-first step's apply, before its progress was
    written: the applied plan is that step's, so the resumed apply destroys nothing."""
    _state(tmp_path, monkeypatch)
    (tmp_path / "a").mkdir()
    same = _edited(tmp_path / "a", lambda cfg, net: None)
    (tmp_path / "b").mkdir()
    other = _edited(tmp_path / "b", _psk)
    assert execute._applied("dev", same)
    assert not execute._applied("dev", other)


@pytest.mark.parametrize("extra", [[], ["--json"], ["--force"]])
def test_rollback_on_failure_without_lab_is_bad_input_and_writes_nothing(
    extra: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Without --lab nothing is executed, so the flag could never act: not silently
    ignored, but exit 2 naming the flag and the rule, with no plan printed or written."""
    monkeypatch.setenv("CROSSNET_STATE_DIR", str(tmp_path / "state"))
    _state(tmp_path, monkeypatch)
    cfg = _edited(tmp_path, _psk)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    argv = ["rollout", "--stack", "dev", "--config", str(cfg), "--rollback-on-failure", *extra]
    code, out, err = _cli(argv, monkeypatch, capsys)
    assert code == 2 and "Traceback" not in err and out == ""
    assert "--rollback-on-failure: given without --lab" in err
    assert "add --lab" in err and "pulumi up --config-file" in err
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
    # With --lab the flag is accepted (here: no lab is running, a LabError, exit 3).
    code, _, err = _cli([*argv, "--lab"], monkeypatch, capsys)
    assert code != 2 and "given without --lab" not in err
