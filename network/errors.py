"""Errors that reach the user as one screen: every problem, no traceback."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# One screen: a message lists at most this many problems (the count says how
# many there are in all), and no single rule runs on past a few lines.
MAX_PROBLEMS_SHOWN = 30
MAX_RULE_CHARS = 360


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the input: where, what was found, which rule it breaks."""

    field: str
    value: str
    rule: str

    def line(self) -> str:
        return f"  - {self.field}: {self.value} ({self.rule})"


def show(value: Any) -> str:
    """A short, printable form of an offending value."""
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def some(items: Iterable[Any], limit: int = 5) -> str:
    """`a, b, c` for a short list, `a, b, c, d, e (+96 more)` for a long one."""
    seq = [str(x) for x in items]
    head = ", ".join(seq[:limit])
    return head + (f" (+{len(seq) - limit} more)" if len(seq) > limit else "")


class CrossnetError(Exception):
    """Base class for errors crossnet reports without a traceback."""

    exit_code = 1

    def render(self) -> str:
        return f"error: {self}"


class ConfigError(CrossnetError):
    """The stack config (or another input file) breaks one or more rules."""

    exit_code = 2

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = sorted(set(problems))
        super().__init__(f"{source}: {len(self.problems)} problem(s)")

    def render(self) -> str:
        head = f"error: {self.source} is invalid: {len(self.problems)} problem(s)"
        shown = [p.line() for p in self.problems[:MAX_PROBLEMS_SHOWN]]
        rest = len(self.problems) - len(shown)
        if rest:
            shown.append(f"  ... and {rest} more problem(s) of the same kinds: fix these first")
        return "\n".join([head, *shown, "nothing was declared or written."])


class Problems:
    """Collects problems so that validation can report all of them at once."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, field: str, value: Any, rule: str) -> None:
        if len(rule) > MAX_RULE_CHARS:
            rule = rule[: MAX_RULE_CHARS - 3] + "..."
        self.items.append(Problem(field, show(value), rule))

    def __bool__(self) -> bool:
        return bool(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def raise_if_any(self, source: str) -> None:
        if self.items:
            raise ConfigError(source, self.items)


def aws_said(e: Exception) -> str:
    """One line for an error AWS (or the emulator's API) answered: botocore's
    ClientError (`response['Error']`) or moto's ServiceException (`code`, `message`);
    anything else as itself."""
    err = (getattr(e, "response", None) or {}).get("Error") or {}
    if err:
        return f"AWS said {err.get('Code')}: {err.get('Message')}"
    code, message = getattr(e, "code", None), getattr(e, "message", None)
    if isinstance(code, str) and isinstance(message, str):
        return f"AWS said {code}: {message}"
    return str(e)
