"""Where crossnet keeps per-stack state (pure).

`.crossnet/<stack>/` in the project (or `$CROSSNET_STATE_DIR/<stack>/`), mode 0700:
`outputs.json` (the stack outputs contract, 0600), `state.json` (the offline
stack's state across applies, 0600: see docs/state.md), `applied.json` (what the
last offline apply declared), `configs/` (rendered router configs) and `lab/`.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent


def stack_file(stack: str) -> Path:
    """The stack's config file; `$CROSSNET_STACKS_DIR` points elsewhere (tests, reviews)."""
    root = Path(os.environ.get("CROSSNET_STACKS_DIR", PROJECT_DIR / "stacks"))
    return root / f"Pulumi.{stack}.yaml"


def state_dir(stack: str, create: bool = True) -> Path:
    """The stack's state directory; `create=False` only names it (a command that may
    still fail must not leave an empty one behind)."""
    root = Path(os.environ.get("CROSSNET_STATE_DIR", PROJECT_DIR / ".crossnet"))
    path = root / stack
    if create:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(path, 0o700)
    return path


def outputs_path(stack: str, create: bool = True) -> Path:
    return state_dir(stack, create) / "outputs.json"


def configs_dir(stack: str, create: bool = True) -> Path:
    return state_dir(stack, create) / "configs"


def lab_dir(stack: str) -> Path:
    return state_dir(stack) / "lab"
