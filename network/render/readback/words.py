"""Words of `set`-style config lines (Junos, VyOS, FortiOS), quotes honoured (pure).

A hand tokeniser on purpose: ciscoconfparse2 reads Junos text too, but took about
28 ms per router config here against 0.07 ms for these lines (bench/render_bench.py
renders and reads back 500 routers in about a second), and the configs are our own
output, with no escapes or continuation lines.
"""

from __future__ import annotations

import re

# A word, or a quoted string ('...' or "...", no escapes: what these configs hold). Much
# faster than shlex, which dominated the check's time on VyOS and Junos.
_TOKEN = r"""'[^']*'|"[^"]*"|[^\s'"]+"""
_TOKENS = re.compile(_TOKEN)
_LINE = re.compile(rf"(?:\s*(?:{_TOKEN}))*\s*")

Lines = list[list[str]]


def words(line: str) -> list[str]:
    """A config line split into words, quotes removed (shlex.split for these configs)."""
    if "'" not in line and '"' not in line:
        return line.split()
    if not _LINE.fullmatch(line):
        raise ValueError(f"unbalanced quotes: {line}")
    return [t[1:-1] if t[0] in "'\"" else t for t in _TOKENS.findall(line)]


def set_lines(text: str) -> Lines:
    """`set ...` lines as word lists (quotes honoured), the `set` dropped."""
    return [w[1:] for line in text.splitlines() if line.startswith("set ") and (w := words(line))]


def under(lines: Lines, *prefix: str) -> dict[str, Lines]:
    """Lines below `prefix <name>`, grouped by name, each without prefix and name."""
    n = len(prefix)
    out: dict[str, Lines] = {}
    for w in lines:
        if tuple(w[:n]) == prefix and len(w) > n:
            out.setdefault(w[n], []).append(w[n + 1 :])
    return out


def get(rest: Lines, *key: str) -> str | None:
    """The value after `key` on the first line that has one."""
    n = len(key)
    return next((" ".join(w[n:]) for w in rest if tuple(w[:n]) == key and len(w) > n), None)


def get_int(rest: Lines, *key: str) -> int | None:
    """get() as a number; None where absent (or zero)."""
    return int(get(rest, *key) or 0) or None


def every(rest: Lines, *key: str) -> list[str]:
    """The values after `key` on every line that has one."""
    n = len(key)
    return [" ".join(w[n:]) for w in rest if tuple(w[:n]) == key and len(w) > n]
