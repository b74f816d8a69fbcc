"""Drift: a router's running config against what `crossnet render` produces now.

hier_config computes the remediation (the lines to remove and to add, in the
device's own syntax) for IOS-XE (`ios`), Junos and VyOS (`junos`, `vyos`:
set commands), and for FRR's running config on Linux (`ios`: FRR's syntax is
IOS's). hier_config 2.3 has no FortiOS driver (ciscoconfparse2 pins it to
2.3.1; FortiOS arrives in 3.x): its tree is loaded with the indentation-based
`ios` style and the remediation is written back as FortiOS `config/edit/set/
unset/delete/next/end` (see `_fortios_text`). strongSwan's loaded connections
are compared by name (`swanctl --list-conns --raw`).

Only what crossnet manages is compared: a running line is in scope when its
top-level section is one crossnet renders, or it names one of the router's
crossnet objects (connection names, tunnel interfaces, AWS addresses). Keys
are never compared or printed: devices keep them encrypted (IOS type 6,
Junos $9$, FortiOS ENC), and the render's own cross-check verifies them.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from network.contract import Router
from network.devices.parsing import device_error
from network.lab.probe import parse_swanctl_raw
from network.render import interface_name, render_router, tunnel_key, tunnel_number

Run = Callable[[str], str]

RUNNING: dict[str, str] = {
    "iosxe": "show running-config",
    "junos": "show configuration | display set",
    "vyos": "show configuration commands",
    "fortios": "show",
}
RENDERED_FILE = {
    "iosxe": "router.cfg",
    "junos": "router.set",
    "vyos": "router.cfg",
    "fortios": "router.conf",
}
_STYLE = {"iosxe": "ios", "junos": "junos", "vyos": "vyos", "fortios": "ios", "frr": "ios"}
_COMMENT = {"iosxe": "!", "frr": "!", "junos": "#", "vyos": "#", "fortios": "#"}
_KEYS = {
    "iosxe": r"(pre-shared-key(?: local| remote)?(?: [067])?) \S+",
    "junos": r"(pre-shared-key ascii-text) \S+",
    "vyos": r"(secret) \S+",
    "fortios": r"(set psksecret) .+",
    "frr": r"(password) \S+",
}
_REMOVE = ("no ", "delete ", "unset ")
# Lines that close a section: syntax, not a change.
_CLOSERS = ("exit-address-family", "exit", "exit-vrf", "end", "next")


@dataclass(frozen=True)
class Drift:
    """What it takes to bring one router back to the rendering."""

    router: str
    platform: str
    remediation: tuple[str, ...]  # device syntax, in order, indented as the device wants
    add: tuple[str, ...]
    remove: tuple[str, ...]

    @property
    def clean(self) -> bool:
        return not self.remediation

    def as_dict(self) -> dict[str, Any]:
        return {
            "router": self.router,
            "platform": self.platform,
            "clean": self.clean,
            "add": list(self.add),
            "remove": list(self.remove),
            "remediation": list(self.remediation),
        }


def crossnet_names(router: Router) -> set[str]:
    """Words that mark a config line as one of crossnet's objects on this router."""
    names: set[str] = set()
    for c in router.connections:
        names.add(c.name)
        for t in c.tunnels:
            names |= {t.aws_outside_ip, t.aws_inside_ip, tunnel_key(c.name, t.number)}
            names.add(interface_name(router.platform, t.inside_cidr))
            names.add(f"aws{tunnel_number(t.inside_cidr)}")
    return names


def _names_re(names: set[str]) -> re.Pattern[str]:
    alts = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    return re.compile(rf"(?<![\w.])(?:{alts})(?![\w]|\.\d)")


def mask_keys(kind: str, text: str) -> str:
    return re.sub(_KEYS[kind], r"\1 REDACTED", text)


def _clean(kind: str, text: str) -> str:
    """Comments, blank lines and FortiOS's `next`/`end` go: hier_config reads structure."""
    if kind == "frr":
        text = _frr_defaults(text)
    lines = []
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith(_COMMENT[kind]):
            continue
        if kind == "fortios" and (s in ("next", "end") or s.startswith("unset ")):
            continue  # FortiOS's `show` never prints an `unset` (a default): nor compare it
        if kind in ("junos", "vyos") and not s.startswith("set "):
            continue
        lines.append(line.rstrip())
    return "\n".join(lines) + "\n"


def _frr_defaults(text: str) -> str:
    """What FRR's running config never shows, dropped from both sides (seen in the lab,
    FRR 8.4): `neighbor X activate` under IPv4 unicast while `bgp default ipv4-unicast`
    is on (FRR's default), the `frr version` line (8.4 rendered, 8.4.4 running), the
    `Building configuration...` header, and `hostname` (the system's unless set:
    the router's name is the site's, not a tunnel setting)."""
    keep_activate = "no bgp default ipv4-unicast" in text
    out: list[str] = []
    family = ""
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("address-family "):
            family = s
        elif s in ("exit-address-family", "exit"):
            family = ""
        if s.startswith(("frr version ", "hostname ", "Building configuration", "Current conf")):
            continue
        if (
            not keep_activate
            and family == "address-family ipv4 unicast"
            and re.fullmatch(r"neighbor \S+ activate", s)
        ):
            continue
        out.append(line)
    return "\n".join(out) + "\n"


def config_drift(
    router: str, kind: str, rendered: str, running: str, names: set[str], mask: bool = True
) -> Drift:
    """The remediation from `running` to `rendered`, scoped to crossnet's objects
    (`mask=False`: the caller masked the keys it does not compare)."""
    from hier_config import Host

    style = _STYLE[kind]
    rendered_text = _clean(kind, mask_keys(kind, rendered) if mask else rendered)
    running_text = _clean(kind, mask_keys(kind, running) if mask else running)
    pattern = _names_re(names) if names else None
    host = Host(router, style)
    if kind == "fortios":
        scoped = _fortios_scope(rendered_text, running_text, pattern)
        rendered_text += _absent_tables(rendered_text, scoped)
    else:
        scoped = _scope(style, rendered_text, running_text, pattern)
    host.load_generated_config(rendered_text)
    host.load_running_config(scoped)
    rem = host.remediation_config()
    if kind == "fortios":
        lines = _fortios_text(rem)
    else:
        lines = [
            (" " * (c.depth() - 1)) + c.text if style == "ios" else c.cisco_style_text()
            for c in rem.all_children_sorted()
        ]
    leaves = [ln.strip() for ln in lines if _is_leaf(lines, ln) and ln.strip() not in _CLOSERS]
    remove = tuple(x for x in leaves if x.startswith(_REMOVE))
    add = tuple(x for x in leaves if not x.startswith(_REMOVE))
    return Drift(router, kind, tuple(lines), add, remove)


def _is_leaf(lines: list[str], line: str) -> bool:
    """A line that changes something (not only a section header leading to changes)."""
    i = lines.index(line)
    depth = len(line) - len(line.lstrip())
    nxt = lines[i + 1] if i + 1 < len(lines) else ""
    return not nxt or len(nxt) - len(nxt.lstrip()) <= depth


def _scope(style: str, rendered: str, running: str, pattern: re.Pattern[str] | None) -> str:
    """The running config, reduced to the sections and lines crossnet manages."""
    rendered_lines = set(rendered.splitlines())
    if style in ("junos", "vyos"):
        keep = [
            ln
            for ln in running.splitlines()
            if ln in rendered_lines or (pattern is not None and pattern.search(ln))
        ]
        return "\n".join(keep) + "\n"
    tops = {ln for ln in rendered_lines if ln and not ln[0].isspace()}
    out: list[str] = []
    keeping = False
    for ln in running.splitlines():
        if ln and not ln[0].isspace():
            keeping = ln in tops or bool(pattern and pattern.search(ln))
        if keeping:
            out.append(ln)
    return "\n".join(out) + "\n"


def _fortios_scope(rendered: str, running: str, pattern: re.Pattern[str] | None) -> str:
    """FortiOS's running config reduced to what crossnet manages: of each table, the
    entries the render holds or that name crossnet's objects (`edit "aws14045-in"` of
    `config router route-map`, left by a drain the restore removes), never the site's
    own entries beside them; a rendered table's settings and sub-tables whole."""
    lines = set(rendered.splitlines())
    tops = {ln for ln in lines if ln and not ln[0].isspace()}

    def ours(entry: list[str], table_rendered: bool) -> bool:
        if not entry[0].lstrip().startswith("edit "):
            return table_rendered  # a table's own settings and sub-tables (bgp's neighbor)
        if entry[0] in lines or '"crossnet-' in entry[0]:  # its firewall addresses' names
            return True
        return bool(pattern and pattern.search(entry[0]))

    out: list[str] = []
    for block in _blocks(running.splitlines(), 0):
        head, body = block[0], block[1:]
        if pattern and pattern.search(head):
            out += block
            continue
        entries = [e for e in _blocks(body, 4) if ours(e, head in tops)]
        if entries or head in tops:
            out += [head, *(ln for e in entries for ln in e)]
    return "\n".join(out) + "\n"


def _blocks(lines: Sequence[str], depth: int) -> list[list[str]]:
    """`lines` cut into the blocks that start at indentation `depth`."""
    out: list[list[str]] = []
    for ln in lines:
        if len(ln) - len(ln.lstrip()) == depth:
            out.append([ln])
        elif out:
            out[-1].append(ln)
    return out


def _absent_tables(rendered: str, running: str) -> str:
    """The tables the running config holds crossnet entries of and the render has none
    of, as empty tables: hier_config then deletes those entries one by one (a FortiOS
    table itself is never deleted)."""
    tops = {ln for ln in rendered.splitlines() if ln and not ln[0].isspace()}
    gone = [ln for ln in running.splitlines() if ln.startswith("config ") and ln not in tops]
    return "".join(f"{ln}\n" for ln in gone)


def _fortios_text(rem: Any) -> list[str]:
    """hier_config's IOS-style remediation tree written as FortiOS CLI."""
    out: list[str] = []

    def walk(node: Any, depth: int) -> None:
        pad = "    " * depth
        # A `set` replaces the old value: no `unset` before it.
        setting = {c.text.split()[1] for c in node.children if c.text.startswith("set ")}
        for c in node.children:
            text: str = c.text
            negated = text.startswith("no ")
            body = text[3:] if negated else text
            if negated and body.startswith("set "):
                if body.split()[1] not in setting:
                    out.append(f"{pad}unset {body.split()[1]}")
            elif negated and body.startswith("edit "):
                out.append(f"{pad}delete {body[5:]}")
            elif negated:
                out.append(f"{pad}# remove by hand: {body}")
            elif body.startswith(("config ", "edit ")):
                out.append(pad + body)
                walk(c, depth + 1)
                out.append(pad + ("end" if body.startswith("config ") else "next"))
            else:
                out.append(pad + body)

    walk(rem, 0)
    return out


def running_config(platform: str, run: Run) -> str:
    cmd = RUNNING[platform]
    text = run(cmd)
    device_error(platform, cmd, text)
    return text


def router_drift(
    router: Router,
    run: Run,
    options: Mapping[str, str] | None = None,
    charons: Sequence[str] = (),
) -> list[Drift]:
    """Fetch the router's running config over `run` and compare it with the rendering.

    Linux: `charons` are the swanctl commands of each charon (the lab runs one per
    tunnel, `swanctl --uri`); by default the router's one `swanctl`."""
    files = render_router(router)
    names = crossnet_names(router)
    opts = options or {}
    if router.platform != "linux":
        running = running_config(router.platform, run)
        return [
            config_drift(
                router.key, router.platform, files[RENDERED_FILE[router.platform]], running, names
            )
        ]
    vtysh = opts.get("vtysh", "vtysh")
    cmd = f"{vtysh} -c {shlex.quote('show running-config')}"
    frr = run(cmd)
    device_error("linux", cmd, frr)
    swanctl = list(charons) or [f"{opts.get('swanctl', 'swanctl')} --list-conns --raw"]
    return [
        config_drift(router.key, "frr", files["frr.conf"], frr, names),
        _swanctl(router, run, swanctl),
    ]


def _swanctl(router: Router, run: Run, commands: Sequence[str]) -> Drift:
    """strongSwan: the loaded connections against the rendered conf.d files, by name."""
    loaded: set[str] = set()
    for cmd in commands:
        text = run(cmd)
        device_error("linux", cmd, text)
        loaded |= {name for ev in _conn_events(text) for name in ev}
    wanted = {tunnel_key(c.name, t.number) for c in router.connections for t in c.tunnels}
    add = tuple(f"load conf.d/{n}.conf" for n in sorted(wanted - loaded))
    remove = tuple(f"unload {n}" for n in sorted(loaded - wanted))
    lines: tuple[str, ...] = ()
    if add or remove:
        lines = (*(f"# {x}" for x in (*remove, *add)), "swanctl --load-all")
    return Drift(router.key, "swanctl", lines, add, remove)


def _conn_events(text: str) -> list[dict[str, Any]]:
    # `--list-conns --raw` prints `list-conn event {...}`: the same shape as list-sa's.
    return parse_swanctl_raw(text.replace("list-conn event", "list-sa event"))
