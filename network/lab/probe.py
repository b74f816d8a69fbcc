"""Reading a live network the way FRR's topotests do (pure).

Daemons are asked for JSON (`vtysh -c '... json'`) or structured output
(`swanctl --list-sas --raw`), the answer is compared with an expected subset
(`json_cmp`), and the comparison is polled with a bound (`run_and_expect`), so
nothing sleeps for a fixed time and a failure names the key that differed.
Shared by the lab's readiness wait and the reachability suite.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any


def json_cmp(actual: Any, expected: Any, path: str = "") -> str | None:
    """None when `expected` is a subset of `actual`; else what differs, and where.

    Dicts: every expected key must match (an expected value of None means the
    key must be absent). Lists: every expected item must match some actual
    item. Anything else: equality.
    """
    where = path or "(top)"
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{where}: expected an object, got {_short(actual)}"
        return _cmp_dict(actual, expected, path)
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return f"{where}: expected a list, got {_short(actual)}"
        for i, want in enumerate(expected):
            if not any(json_cmp(item, want) is None for item in actual):
                return f"{where}[{i}]: no item matches {_short(want)}"
        return None
    if actual != expected:
        return f"{where}: expected {expected!r}, got {_short(actual)}"
    return None


def _cmp_dict(actual: dict[Any, Any], expected: dict[Any, Any], path: str) -> str | None:
    for key, want in expected.items():
        sub = f"{path}.{key}" if path else str(key)
        if want is None:
            if key in actual:
                return f"{sub}: expected absent, got {_short(actual[key])}"
            continue
        if key not in actual:
            return f"{sub}: missing (have {', '.join(map(str, list(actual)[:8]))})"
        diff = json_cmp(actual[key], want, sub)
        if diff:
            return diff
    return None


def _short(value: Any) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 120 else text[:117] + "..."


def run_and_expect(
    func: Callable[[], Any], expected: Any, count: int = 50, wait: float = 0.2
) -> tuple[bool, Any, str | None]:
    """Call `func` until its result matches `expected` (json_cmp), at most `count` times.

    Returns (matched, last result, last difference). `expected` may also be a
    callable taking the result and returning a difference or None.
    """
    result: Any = None
    diff: str | None = "never ran"
    for i in range(max(1, count)):
        result = func()
        diff = expected(result) if callable(expected) else json_cmp(result, expected)
        if diff is None:
            return True, result, None
        if i < count - 1:
            time.sleep(wait)
    return False, result, diff


# ---------------------------------------------------------------- swanctl --raw
_TOKEN = re.compile(r"\s*(?:(\})|([^\s={}\[\]]+)\s*(\{|=\s*\[([^\]]*)\]|=\s*([^\s{}]*)))")


def parse_swanctl_raw(text: str) -> list[dict[str, Any]]:
    """`swanctl --list-sas --raw` as vici would give it: one dict per IKE SA event.

    Each line is `list-sa event {<name> {key=value ... child-sas {...}}}`; lists
    print as `key=[a b]`.
    """
    out: list[dict[str, Any]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("list-sa event"):
            continue
        body = line[len("list-sa event") :].strip()
        value, _ = _section(body, 1) if body.startswith("{") else ({}, 0)
        if value:
            out.append(value)
    return out


def _section(text: str, pos: int) -> tuple[dict[str, Any], int]:
    result: dict[str, Any] = {}
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            break
        pos = m.end()
        if m.group(1):
            return result, pos
        key, opener = m.group(2), m.group(3)
        if opener == "{":
            result[key], pos = _section(text, pos)
        elif m.group(4) is not None:
            result[key] = m.group(4).split()
        else:
            result[key] = m.group(5)
    return result, pos


def sa_summary(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """IKE SA name -> {"state", "children": {child name: state}, bytes in/out}.

    When several IKE SAs share a name (a rekey in flight), an ESTABLISHED one wins.
    """
    out: dict[str, dict[str, Any]] = {}
    for event in events:
        for name, sa in event.items():
            children: dict[str, Any] = {}
            bytes_in = bytes_out = 0
            for child in (sa.get("child-sas") or {}).values():
                cname = child.get("name", "?")
                if children.get(cname) != "INSTALLED":
                    children[cname] = child.get("state")
                bytes_in += int(child.get("bytes-in", 0) or 0)
                bytes_out += int(child.get("bytes-out", 0) or 0)
            entry = {
                "state": sa.get("state"),
                "children": children,
                "bytesIn": bytes_in,
                "bytesOut": bytes_out,
                "remote": sa.get("remote-host"),
            }
            if out.get(name, {}).get("state") != "ESTABLISHED":
                out[name] = entry
    return out


def tunnel_up(summary: dict[str, dict[str, Any]], name: str) -> str | None:
    """None when IKE SA `name` is ESTABLISHED with its child `name` INSTALLED."""
    return json_cmp(summary, {name: {"state": "ESTABLISHED", "children": {name: "INSTALLED"}}})


# ---------------------------------------------------------------- FRR JSON
def bgp_peers(summary_json: Any) -> dict[str, dict[str, Any]]:
    """`show bgp summary json` -> neighbour -> {state, pfxRcd, pfxSnt}."""
    peers = (summary_json or {}).get("ipv4Unicast", {}).get("peers", {})
    return {
        n: {"state": p.get("state"), "pfxRcd": p.get("pfxRcd", 0), "pfxSnt": p.get("pfxSnt", 0)}
        for n, p in peers.items()
    }


def kernel_routes(route_json: Any) -> dict[str, list[str]]:
    """`ip -j route` -> destination -> the devices it leaves through (ECMP: several)."""
    out: dict[str, list[str]] = {}
    for r in route_json or []:
        dst = r.get("dst")
        if not dst or r.get("type", "unicast") != "unicast":
            continue
        if "/" not in dst and dst != "default":
            dst = f"{dst}/32"
        devs = [h.get("dev") for h in r.get("nexthops", [])] or [r.get("dev")]
        out[dst] = [d for d in devs if d]
    return out


def parse_json(text: str) -> Any:
    try:
        return json.loads(text) if text.strip() else None
    except json.JSONDecodeError:
        return None
