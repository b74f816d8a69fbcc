"""`show` output to rows: ntc-templates first, crossnet's own TextFSM templates where
ntc-templates ships none (network/devices/templates/, listed in docs/devices.md).

textfsm and ntc_templates are imported on first use, never at start-up.
"""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

# Output a device prints instead of an answer: a daemon down, a command refused.
_ERRORS: dict[str, tuple[str, ...]] = {
    "iosxe": (r"^\s*% ",),
    "junos": (r"^\s*error: ", r"subsystem is not running"),
    "vyos": (r"^\s*% ", r"^Exiting: ", r"[Nn]ot running", r"Invalid command"),
    "fortios": (r"^Command fail", r"^Unknown action", r"^command parse error"),
    "linux": (r"^Exiting: failed to connect", r"^connecting to '.*' failed", r"^\S+: not found"),
}


class CommandError(Exception):
    """A command answered with an error, or with output no template reads."""

    def __init__(self, command: str, message: str) -> None:
        super().__init__(f"{command}: {message}")
        self.command = command
        self.message = message


def device_error(platform: str, command: str, text: str) -> None:
    """Raise CommandError when `text` is the device's error message, not an answer."""
    for line in text.splitlines():
        if any(re.search(p, line) for p in _ERRORS.get(platform, ())):
            raise CommandError(command, line.strip()[:200])


def ntc(platform: str, command: str, text: str) -> list[dict[str, str]]:
    """Rows from the template ntc-templates ships for (platform, command)."""
    from ntc_templates.parse import parse_output

    try:
        rows: list[dict[str, str]] = parse_output(platform=platform, command=command, data=text)
    except Exception as e:  # textfsm's TextFSMError/CliTableError: the output is not readable
        raise CommandError(command, f"output not understood ({type(e).__name__}: {e})") from None
    return rows


def own(template: str, command: str, text: str) -> list[dict[str, str]]:
    """Rows from crossnet's own template network/devices/templates/<template>.textfsm."""
    source = resources.files("network.devices").joinpath("templates", f"{template}.textfsm")
    return _textfsm_rows(source, command, text)


def ntc_file(template: str, command: str, text: str) -> list[dict[str, str]]:
    """Rows from one named ntc-templates template, for a platform whose output has the
    same shape as another's (FRR and FortiOS print IOS's BGP route tables)."""
    import ntc_templates

    path = resources.files(ntc_templates).joinpath("templates", f"{template}.textfsm")
    return _textfsm_rows(path, command, text)


def _textfsm_rows(template: Any, command: str, text: str) -> list[dict[str, str]]:
    """`text` parsed by one TextFSM template (a Traversable), rows keyed by lower-case
    header; CommandError when the output does not fit."""
    import textfsm

    with template.open() as fh:
        fsm = textfsm.TextFSM(fh)
    try:
        rows: list[list[Any]] = fsm.ParseText(text)
    except textfsm.TextFSMError as e:
        raise CommandError(command, f"output not understood ({e})") from None
    return [{k.lower(): v for k, v in zip(fsm.header, row)} for row in rows]
