"""Where crossnet keeps per-stack state (pure).

The project is the user's directory holding `stacks/Pulumi.<stack>.yaml` (and
usually `Pulumi.yaml`): `--project-dir` / `$CROSSNET_PROJECT_DIR`, else the
current directory or the nearest parent holding `Pulumi.yaml` or `stacks/`, else
the current directory. It is never derived from where crossnet is installed.

`.crossnet/<stack>/` in the project (or `$CROSSNET_STATE_DIR/<stack>/`), both mode 0700:
`outputs.json` (the stack outputs contract, 0600), `state.json` (the offline
stack's state across applies, 0600: see docs/state.md), `applied.json` (what the
last offline apply declared), `configs/` (rendered router configs) and `lab/`.
"""

from __future__ import annotations

import os
from pathlib import Path

# The source tree crossnet runs from (its tests, the lab's suite); not the user's project.
PROJECT_DIR = Path(__file__).resolve().parent.parent
PROJECT_ENV = "CROSSNET_PROJECT_DIR"


def project_dir() -> Path:
    """The user's project directory (see the module docstring)."""
    named = os.environ.get(PROJECT_ENV)
    if named:
        return Path(named).resolve()
    here = Path.cwd().resolve()
    for d in (here, *here.parents):
        if (d / "Pulumi.yaml").is_file() or (d / "stacks").is_dir():
            return d
    # crossnet run from its own checkout, outside any project: the checkout's stacks
    return PROJECT_DIR if (PROJECT_DIR / "Pulumi.yaml").is_file() else here


def stack_file(stack: str) -> Path:
    """The stack's config file; `$CROSSNET_STACKS_DIR` points elsewhere (tests, reviews)."""
    root = Path(os.environ.get("CROSSNET_STACKS_DIR", project_dir() / "stacks"))
    return root / f"Pulumi.{stack}.yaml"


def state_dir(stack: str, create: bool = True) -> Path:
    """The stack's state directory; `create=False` only names it (a command that may
    still fail must not leave an empty one behind)."""
    env = os.environ.get("CROSSNET_STATE_DIR")
    root = Path(env) if env else project_dir() / ".crossnet"
    path = root / stack
    if create:
        # The project's own `.crossnet/` is made private even when an older
        # crossnet created it 0755; a root named by $CROSSNET_STATE_DIR is made
        # private only when crossnet creates it (it may be a shared directory
        # such as /tmp, which must keep its mode).
        _private_dir(root, fix_existing=not env)
        _private_dir(path, fix_existing=True)
    return path


def _private_dir(path: Path, fix_existing: bool) -> None:
    """Create `path` (and its parents) mode 0700; with `fix_existing`, also make
    an existing one 0700.

    mkdir's mode is masked by the umask, hence the chmod. The stack
    directories hold the keys (outputs.json) and configs with keys in them.
    """
    existed = path.is_dir()
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if fix_existing or not existed:
        os.chmod(path, 0o700)


def outputs_path(stack: str, create: bool = True) -> Path:
    return state_dir(stack, create) / "outputs.json"


def configs_dir(stack: str, create: bool = True) -> Path:
    return state_dir(stack, create) / "configs"


def lab_dir(stack: str) -> Path:
    return state_dir(stack) / "lab"
