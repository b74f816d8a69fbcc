"""Reading `stacks/Pulumi.<stack>.yaml` the way the Pulumi CLI does (pure).

The CLI hands the program these values; the offline apply reads the same
file itself. Keys without a namespace belong to the project (`crossnet:`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from network.errors import ConfigError, Problem
from network.naming import PROJECT
from network.state import stack_file


def read_stack_config(stack: str, path: Path | None = None) -> dict[str, Any]:
    """The stack's config mapping, keys fully qualified. Raises ConfigError."""
    path = path or stack_file(stack)
    source = str(path)
    if not path.exists():
        known = sorted(
            p.name[len("Pulumi.") : -len(".yaml")] for p in path.parent.glob("Pulumi.*.yaml")
        )
        raise ConfigError(
            source,
            [
                Problem(
                    "--stack",
                    repr(stack),
                    "no such stack file; known stacks: " + (", ".join(known) or "none"),
                )
            ],
        )
    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "?"
        raise ConfigError(
            source, [Problem(f"(YAML at {where})", "unparseable", str(getattr(e, "problem", e)))]
        ) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("config"), dict):
        raise ConfigError(
            source,
            [Problem("config", "missing", "a stack file is a mapping with a 'config:' mapping")],
        )
    out: dict[str, Any] = {}
    for key, value in doc["config"].items():
        full = str(key) if ":" in str(key) else f"{PROJECT}:{key}"
        out[full] = value
    return out


def secret_keys(config: dict[str, Any]) -> list[str]:
    """Keys whose value is a `secure:` value in the stack file."""
    return [k for k, v in config.items() if isinstance(v, dict) and set(v) == {"secure"}]
