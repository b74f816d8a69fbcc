"""A gateway's new static routes made to hold after frr-reload.py (FRR 8.4).

frr-reload.py applies its delta as one batched configuration (`vtysh -f`): two
static routes to one new prefix with different distances (AWS's tunnel 1, then tunnel
2: `ip route P NH1 10`, `ip route P NH2 20`) land in one staticd commit, and zebra
keeps only the last path (seen here: the prefix routed over tunnel 2, the standby,
while the running config holds both). Entered one command at a time, as `vtysh -c`
does, zebra keeps both and prefers distance 10. So each prefix whose static routes the
reload added is entered again that way: its lines removed, then added in order. Only
prefixes new to the config are touched; the routes of the others are not moved.
"""

from __future__ import annotations

from collections.abc import Callable

from network.lab.runtime import Running

Say = Callable[[str], None]


def static_lines(text: str) -> dict[str, list[str]]:
    """prefix -> its `ip route` lines, in the config's order."""
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 4 and words[:2] == ["ip", "route"]:
            out.setdefault(words[2], []).append(line.strip())
    return out


def reassert(rt: Running, inst: str, old: str, new: str, say: Say) -> list[str]:
    """The static routes of prefixes `new` adds to `old`, entered again one by one.
    Returns those prefixes."""
    before, after = static_lines(old), static_lines(new)
    added = [p for p in after if p not in before and len(after[p]) > 1]
    for p in added:
        lines = after[p]
        rt.vtysh(inst, "configure terminal", *(f"no {x}" for x in lines), *lines)
    if added:
        say(f"  {inst}: static routes of {', '.join(added)} entered one by one")
    return added
