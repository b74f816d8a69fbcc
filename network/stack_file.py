"""Reading `stacks/Pulumi.<stack>.yaml` the way the Pulumi CLI does (pure).

The CLI hands the program these values; the offline apply reads the same
file itself. Keys without a namespace belong to the project (`crossnet:`).

Two things the CLI does that a plain `yaml.safe_load` does not: it refuses a
mapping that holds one key twice (YAML's last-one-wins would silently drop a
VPC), and it decrypts `secure:` values. Offline there is no CLI to decrypt
them: `offline_secrets` takes such a value from `CROSSNET_SECRET_<NAME>`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from network.errors import ConfigError, Problem
from network.naming import PROJECT
from network.state import project_dir, stack_file

SECRET_ENV_PREFIX = "CROSSNET_SECRET_"


class StackConfig(dict[str, Any]):
    """A stack's config mapping that remembers the file it was read from."""

    source: str = ""

    def __init__(self, items: Mapping[str, Any] | None = None, source: str = ""):
        super().__init__(items or {})
        self.source = source


def display_path(path: Path) -> str:
    """A file name for messages: relative to the project when inside it."""
    try:
        return str(path.resolve().relative_to(project_dir()))
    except ValueError:
        return str(path)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that records every key a mapping holds twice, with its line."""

    duplicates: list[tuple[str, int, int]]

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<: *anchor` merges; explicit keys may override it
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                continue  # reported by the base class
            if key in seen:
                self.duplicates.append((str(key), key_node.start_mark.line + 1, seen[key]))
            else:
                seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _StrictLoader.construct_mapping
)


def load_yaml(text: str, source: str) -> Any:
    """Parse YAML, refusing duplicate keys (every one, with its line). Raises ConfigError."""
    loader = _StrictLoader(text)
    loader.duplicates = []
    try:
        doc = loader.get_single_data()
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "?"
        raise ConfigError(
            source, [Problem(f"(YAML at {where})", "unparseable", str(getattr(e, "problem", e)))]
        ) from None
    finally:
        loader.dispose()
    if loader.duplicates:
        raise ConfigError(
            source,
            [
                Problem(
                    f"(YAML at line {line})",
                    repr(key),
                    f"key given twice in one mapping (first at line {first}); "
                    "YAML would silently keep only the last one",
                )
                for key, line, first in loader.duplicates
            ],
        )
    return doc


def read_text_file(path: Path, source: str) -> str:
    """A config file's text: UTF-8 without NUL bytes, as YAML 1.2 wants. Raises ConfigError.

    YAML's own reader would end in `ReaderError` (NUL) and `read_text` in
    `UnicodeDecodeError` (other encodings), neither naming the file.
    """
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ConfigError(
            source, [Problem("(file)", source, f"cannot be read: {e.strerror or e}")]
        ) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        column = e.start - data.rfind(b"\n", 0, e.start)
        raise ConfigError(
            source,
            [
                Problem(
                    f"(file at line {line}, column {column})",
                    f"byte 0x{data[e.start]:02x}",
                    "not UTF-8 text: a stack file is UTF-8 YAML (was it saved in another "
                    "encoding, or is it not a stack file?)",
                )
            ],
        ) from None
    if "\x00" in text:
        at = text.index("\x00")
        raise ConfigError(
            source,
            [
                Problem(
                    f"(file at line {text.count(chr(10), 0, at) + 1}, column "
                    f"{at - text.rfind(chr(10), 0, at)})",
                    "NUL byte",
                    "not text: a stack file is UTF-8 YAML and holds no NUL bytes "
                    "(is it a binary file, or saved as UTF-16?)",
                )
            ],
        )
    return text


def read_stack_config(stack: str, path: Path | None = None) -> StackConfig:
    """The stack's config mapping, keys fully qualified. Raises ConfigError.

    The result remembers its file (`.source`), so that `build_plan` names the
    file that was really read in its messages.
    """
    path = path or stack_file(stack)
    source = display_path(path)
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
    doc = load_yaml(read_text_file(path, source), source)
    if not isinstance(doc, dict) or not isinstance(doc.get("config"), dict):
        raise ConfigError(
            source,
            [Problem("config", "missing", "a stack file is a mapping with a 'config:' mapping")],
        )
    out = StackConfig(source=source)
    for key, value in doc["config"].items():
        full = str(key) if ":" in str(key) else f"{PROJECT}:{key}"
        out[full] = value
    return out


def is_secure(value: Any) -> bool:
    """True for a `secure:` value (`pulumi config set --secret`), still encrypted."""
    return isinstance(value, Mapping) and set(value) == {"secure"}


def secret_keys(config: Mapping[str, Any]) -> list[str]:
    """Keys whose value is a `secure:` value in the stack file."""
    return [k for k, v in config.items() if is_secure(v)]


def secret_env_var(key: str) -> str:
    """Where the offline apply reads the value of secret config key `key`.

    `crossnet:dc1-edge1-t2` -> `CROSSNET_SECRET_DC1_EDGE1_T2`; a key of another
    namespace keeps it (`other:k` -> `CROSSNET_SECRET_OTHER_K`).
    """
    name = key[len(PROJECT) + 1 :] if key.startswith(f"{PROJECT}:") else key
    return SECRET_ENV_PREFIX + re.sub(r"[^A-Z0-9]", "_", name.upper())


def offline_secrets(
    config: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> tuple[StackConfig, list[str]]:
    """The config with every `secure:` value that has a `CROSSNET_SECRET_<NAME>`
    in the environment replaced by that value, and the keys that are secret.

    A `secure:` value without its variable stays as it is: `build_plan`
    (need_secrets=True) then says which variable to set. Values are never
    printed or logged.
    """
    env = os.environ if environ is None else environ
    out = StackConfig(config, source=getattr(config, "source", ""))
    secret = secret_keys(config)
    for key in secret:
        value = env.get(secret_env_var(key))
        if value is not None:
            out[key] = value
    return out, secret
