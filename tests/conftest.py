"""Shared fixtures: example stack configs, an isolated state directory."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_STACKS = ("dev", "staging", "prod")


def load_stack(name: str) -> dict[str, Any]:
    """A stack file's config mapping, keys as Pulumi qualifies them."""
    doc = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{name}.yaml").read_text())
    return copy.deepcopy(doc["config"])


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point crossnet's per-stack state at a temporary directory."""
    d = tmp_path / "state"
    monkeypatch.setenv("CROSSNET_STATE_DIR", str(d))
    return d
