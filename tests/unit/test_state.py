"""Where crossnet keeps per-stack state (network.state): private directories."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from network import state


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_projects_crossnet_dir_is_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CROSSNET_STATE_DIR", raising=False)
    monkeypatch.setenv(state.PROJECT_ENV, str(tmp_path))
    root = tmp_path / ".crossnet"
    assert state.state_dir("dev", create=False) == root / "dev" and not root.exists()
    path = state.state_dir("dev")
    assert (_mode(root), _mode(path)) == (0o700, 0o700)
    root.chmod(0o755)  # as an older crossnet left it
    state.state_dir("prod")
    assert (_mode(root), _mode(root / "prod")) == (0o700, 0o700)


def test_a_state_root_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    monkeypatch.setenv("CROSSNET_STATE_DIR", str(shared))
    state.state_dir("dev")
    # an existing directory the user named keeps its mode (it may be /tmp); the stack's is private
    assert (_mode(shared), _mode(shared / "dev")) == (0o755, 0o700)
    fresh = tmp_path / "fresh" / "state"
    monkeypatch.setenv("CROSSNET_STATE_DIR", str(fresh))
    state.state_dir("dev")
    assert (_mode(fresh), _mode(fresh / "dev")) == (0o700, 0o700)
