"""A gateway's new static routes entered before frr-reload.py (FRR 8.4), one by one.

frr-reload.py applies its delta as one batched configuration (`vtysh -f`): two
static routes to one new prefix with different distances (AWS's tunnel 1, then tunnel
2: `ip route P NH1 10`, `ip route P NH2 20`) land in one staticd commit, and zebra
keeps only the last path (seen here: the prefix routed over tunnel 2, the standby,
while the running config holds both). Entered one command at a time, as `vtysh -c`
does, zebra keeps both and prefers distance 10.

So each prefix the new config adds static routes to is entered that way *before* the
reload, which then finds those lines in the running config and leaves them alone: the
prefix's routes only ever grow, and it is routed by the preferred tunnel from its first
moment. Entered again after the reload instead (each line removed, then added), the
prefix was first routed by the standby tunnel (170 ms on the static dc-prefix lab case,
its replies still answered), and the removals could leave it unrouted for a moment
after AWS had first routed it (zebra coalesced them into a replace in the runs traced
with `ip monitor route`; nothing guarantees it). Only prefixes new to the config are
touched; the routes of the others are not moved.
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


def added(old: str, new: str) -> dict[str, list[str]]:
    """The prefixes `new` has static routes to and `old` has none, with more than one
    route (one route is one path: the batched commit keeps it), each with its lines."""
    before, after = static_lines(old), static_lines(new)
    return {p: lines for p, lines in after.items() if p not in before and len(lines) > 1}


def preenter(rt: Running, inst: str, old: str, new: str, say: Say) -> list[str]:
    """The static routes of the prefixes `new` adds to `old` entered one command at a
    time, in the config's order (the preferred path first), ahead of the reload of
    `new`. Returns those prefixes."""
    new_routes = added(old, new)
    for lines in new_routes.values():
        rt.vtysh(inst, "configure terminal", *lines)
    if new_routes:
        say(f"  {inst}: static routes of {', '.join(new_routes)} entered one by one")
    return list(new_routes)
