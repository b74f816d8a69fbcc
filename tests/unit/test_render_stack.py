"""render_stack and `crossnet render`: all or nothing on disk, 0600 keys, one error screen."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from network.cli import main
from network.contract import parse_outputs
from network.errors import ConfigError
from network.render import render_stack

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


def raw(case: str, platform: str = "linux") -> dict[str, Any]:
    return json.loads((GOLDEN / platform / case / "outputs.json").read_text())


def keys_of(data: dict[str, Any]) -> list[str]:
    return list(data["presharedKeys"].values())


def files_under(d: Path) -> dict[str, int]:
    return {
        str(p.relative_to(d)): stat.S_IMODE(p.stat().st_mode)
        for p in sorted(d.rglob("*"))
        if p.is_file()
    }


def test_render_stack_writes_one_directory_per_router(tmp_path: Path) -> None:
    data = raw("prod")
    done = render_stack(parse_outputs(data, "t"), tmp_path / "out")
    assert [r.key for r in done] == ["ash-edge1", "ash-edge2", "fra-edge1", "fra-edge2"]
    assert all((r.tunnels, r.neighbours) == (2, 2) for r in done)
    modes = files_under(tmp_path / "out")
    for name, mode in modes.items():
        text = (tmp_path / "out" / name).read_text()
        holds_key = any(k in text for k in keys_of(data))
        assert mode == (0o600 if holds_key else 0o755 if name.endswith(".sh") else 0o644), name
    assert sum(name.endswith(".conf") and "conf.d/" in name for name in modes) == 8
    assert stat.S_IMODE((tmp_path / "out" / "ash-edge1").stat().st_mode) == 0o700


def test_redact_masks_every_key_on_disk(tmp_path: Path) -> None:
    data = raw("mixed")
    done = render_stack(parse_outputs(data, "t"), tmp_path, redact=True)
    text = "".join(p.read_text() for p in tmp_path.rglob("*") if p.is_file())
    assert done[0].redacted and "REDACTED" in text
    assert not any(k in text for k in keys_of(data))


def test_rerender_leaves_no_stale_file(tmp_path: Path) -> None:
    render_stack(parse_outputs(raw("mixed"), "t"), tmp_path)
    (tmp_path / "lon-core1" / "conf.d" / "old-tunnel-1.conf").write_text("stale")
    render_stack(parse_outputs(raw("mixed"), "t"), tmp_path)
    assert not (tmp_path / "lon-core1" / "conf.d" / "old-tunnel-1.conf").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_one_bad_router_means_nothing_is_written(tmp_path: Path) -> None:
    data = raw("prod")
    data["routers"]["fra-edge2"]["platform"] = "pan-os"
    data["routers"]["ash-edge1"]["connections"][0]["tunnels"][0]["insideCidr"] = "10.0.0.0/30"
    with pytest.raises(ConfigError) as e:
        render_stack(parse_outputs(data, "t"), tmp_path / "out")
    text = e.value.render()
    assert "unknown platform" in text and "insideCidr" in text  # every problem, one screen
    assert not (tmp_path / "out").exists()


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["render", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_prints_the_table(
    tmp_path: Path, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "outputs.json"
    data = raw("mixed")
    data["crossnet"]["stack"] = "dev"
    src.write_text(json.dumps(data))
    code, out, err = _cli(["--stack", "dev", "--outputs", str(src)], capsys)
    assert code == 0, err
    header = out.splitlines()[0].split()
    assert header == ["router", "platform", "tunnels", "neighbours", "file"]
    row = out.splitlines()[2].split()
    assert row[:4] == ["lon-core1", "linux", "6", "4"]
    assert (state_dir / "dev" / "configs" / "lon-core1" / "frr.conf").exists()
    assert not any(k in out + err for k in keys_of(data))


def test_cli_prints_what_the_platform_cannot_do(
    tmp_path: Path, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "outputs.json"
    data = raw("mixed", "vyos")
    data["crossnet"]["stack"] = "dev"
    src.write_text(json.dumps(data))
    code, out, _ = _cli(["--stack", "dev", "--outputs", str(src)], capsys)
    assert code == 0
    notes = out.split("notes (", 1)[1]
    assert "lon-core1 lon-core1-core: DPD gives up about 175 s" in notes


def _bad_outputs(kind: str, data: dict[str, Any]) -> str:
    if kind == "malformed":
        return "{not json"
    if kind == "missing key":
        data["presharedKeys"].pop(next(iter(data["presharedKeys"])))
    elif kind == "unknown platform":
        data["routers"]["lon-core1"]["platform"] = "pan-os"
    elif kind == "no tunnels":
        data["routers"]["lon-core1"]["connections"] = []
    elif kind == "missing output":
        del data["routers"]
    return json.dumps(data)


@pytest.mark.parametrize(
    ("kind", "needle"),
    [
        ("missing file", "not found"),
        ("malformed", "not valid JSON"),
        ("missing key", "presharedKeys.lon-core1-"),
        ("unknown platform", "unknown platform"),
        ("no tunnels", "no tunnels"),
        ("missing output", "routers"),
    ],
)
def test_cli_errors_are_one_screen_and_write_nothing(
    kind: str, needle: str, tmp_path: Path, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = raw("mixed")
    data["crossnet"]["stack"] = "dev"
    src = tmp_path / "outputs.json"
    if kind != "missing file":
        src.write_text(_bad_outputs(kind, data))
    out_dir = tmp_path / "configs"
    code, out, err = _cli(["--stack", "dev", "--outputs", str(src), "--out", str(out_dir)], capsys)
    assert code == 2 and not out
    assert err.startswith("error: ") and needle in err and "Traceback" not in err
    assert not out_dir.exists()
    assert not any(k in err for k in keys_of(raw("mixed")))


def test_cli_refuses_another_stacks_outputs(
    tmp_path: Path, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _cli(
        ["--stack", "prod", "--outputs", str(GOLDEN / "linux" / "dev" / "outputs.json")], capsys
    )
    assert code == 2 and "pass --stack dev" in err
    assert not os.path.exists(state_dir / "prod" / "configs")


# ------------------------------------------------------------ writing: all or nothing


def _snapshot(d: Path) -> dict[str, str]:
    return {str(p.relative_to(d)): p.read_text() for p in sorted(d.rglob("*")) if p.is_file()}


def test_leftovers_of_an_interrupted_render_are_cleared(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / ".ash-edge2.new").write_text("a file where a directory goes")
    (out / ".ash-edge1.old").mkdir()
    render_stack(parse_outputs(raw("prod"), "t"), out)
    assert sorted(p.name for p in out.iterdir()) == [
        "ash-edge1",
        "ash-edge2",
        "fra-edge1",
        "fra-edge2",
    ]


def test_a_write_failing_midway_leaves_the_last_render_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from network.render import engine

    out = tmp_path / "out"
    render_stack(parse_outputs(raw("prod"), "t"), out)
    before = _snapshot(out)
    data = raw("prod")
    data["routers"]["ash-edge1"]["name"] = "renamed"  # any change: a new render differs
    real, calls = engine.write_private, []  # type: ignore[attr-defined]

    def failing(path: Path, text: str) -> None:
        calls.append(path)
        if "ash-edge2" in str(path):
            raise OSError(28, "No space left on device", str(path))
        real(path, text)

    monkeypatch.setattr(engine, "write_private", failing)
    with pytest.raises(ConfigError) as e:
        render_stack(parse_outputs(data, "t"), out)
    assert "No space left on device" in e.value.render()
    assert any("ash-edge1" in str(p) for p in calls)  # ash-edge1 was staged before it failed
    assert _snapshot(out) == before  # ash-edge1 not half-replaced
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_a_failed_swap_puts_the_earlier_routers_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    render_stack(parse_outputs(raw("prod"), "t"), out)
    before = _snapshot(out)
    real = Path.rename

    def rename(self: Path, target: Any) -> Any:
        if self.name == ".fra-edge1.new":  # the third swap fails
            raise OSError(13, "Permission denied", str(target))
        return real(self, target)

    monkeypatch.setattr(Path, "rename", rename)
    data = raw("prod")
    data["routers"]["ash-edge1"]["name"] = "renamed"
    with pytest.raises(ConfigError, match="problem"):
        render_stack(parse_outputs(data, "t"), out)
    assert _snapshot(out) == before
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_cli_out_naming_a_file_is_one_screen(
    tmp_path: Path, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "outputs.json"
    data = raw("mixed")
    data["crossnet"]["stack"] = "dev"
    src.write_text(json.dumps(data))
    target = tmp_path / "a-file"
    target.write_text("x")
    code, out, err = _cli(["--stack", "dev", "--outputs", str(src), "--out", str(target)], capsys)
    assert code == 2 and not out
    assert err.startswith("error: ") and "Not a directory" in err and "Traceback" not in err
    assert target.read_text() == "x"


def test_cli_failing_leaves_no_state_dir(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _cli(["--stack", "nosuch"], capsys)
    assert code == 2 and "not found" in err
    assert not (state_dir / "nosuch").exists()


def test_cli_default_out_is_private(
    tmp_path: Path, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "outputs.json"
    data = raw("dev")
    src.write_text(json.dumps(data))
    code, _, err = _cli(["--stack", "dev", "--outputs", str(src)], capsys)
    assert code == 0, err
    for d in (state_dir / "dev", state_dir / "dev" / "configs"):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700, d
