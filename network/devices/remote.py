"""Reaching a router of an inventory: `run(command)` over netmiko (ssh://) or in a
lab namespace (netns://), and its facts read through it, every step bounded.

Shared by `crossnet state`/`drift` (network/devices/cli.py) and the reachability
suite (network/lab/suite.py), which reads the routers of every platform other
than Linux through it. netmiko is imported only when an ssh:// router is read.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from network.contract import Router
from network.devices.facts import RouterFacts
from network.errors import ConfigError, Problem


def read_inventory(path: Path) -> dict[str, Any]:
    """An inventory file's mapping (a bad file: ConfigError naming it, exit 2)."""
    import yaml

    try:
        inv = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as e:
        raise ConfigError(str(path), [Problem(str(path), type(e).__name__, str(e)[:200])]) from None
    return inv if isinstance(inv, dict) else {}


NETNS_TIMEOUT = 30.0  # one command in a lab namespace (s)


class UnreadableError(Exception):
    """A router that could not be read at all: `kind` as SessionError's, or `command`."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


@contextmanager
def runner(router: Router, inv: Mapping[str, Any]) -> Iterator[Callable[[str], str]]:
    """`run(command)` on a router: netns:// (the lab) or ssh:// (netmiko).
    Raises SessionError (network.devices.session) when the session cannot open."""
    entry = inv["routers"][router.key]
    spec = str(entry.get("target", ""))
    if spec.startswith("netns://"):
        ns = spec[len("netns://") :]

        def run_ns(cmd: str) -> str:
            r = subprocess.run(
                ["ip", "netns", "exec", ns, "sh", "-c", cmd],
                capture_output=True,
                text=True,
                timeout=NETNS_TIMEOUT,
            )
            return r.stdout + r.stderr

        yield run_ns
        return
    from network.devices.session import open_session, target

    with open_session(router.platform, target(entry, inv)) as s:
        yield s.run


def options(inv: Mapping[str, Any], key: str) -> dict[str, str]:
    """The entry's own commands for a Linux router (`vtysh`, `swanctl`: sudo, a socket)."""
    entry = inv["routers"][key]
    return {k: str(entry[k]) for k in ("vtysh", "swanctl") if k in entry}


def charons(inv: Mapping[str, Any], key: str) -> list[str]:
    """One charon per tunnel (the lab's inventory): each one's `swanctl --uri`."""
    tunnels = inv["routers"][key].get("tunnels") or {}
    return [
        f"{t['swanctl']} --list-conns --raw --uri {t['uri']}"
        for _, t in sorted(tunnels.items())
        if isinstance(t, dict) and t.get("swanctl") and t.get("uri")
    ]


def read_router(router: Router, inv: Mapping[str, Any]) -> RouterFacts:
    """One session to the router, its facts read (network.devices.readers). A command
    that fails is named in the facts' `errors`; a router that cannot be reached, logged
    into or that stops answering raises UnreadableError with one line, never a traceback."""
    from network.devices.parsing import CommandError
    from network.devices.readers import read_facts
    from network.devices.session import SessionError

    try:
        with runner(router, inv) as run:
            return read_facts(router.key, router.platform, run, options(inv, router.key))
    except SessionError as e:
        raise UnreadableError(e.kind, e.message) from None
    except CommandError as e:
        raise UnreadableError("command", str(e)) from None
    except subprocess.TimeoutExpired as e:
        raise UnreadableError("timeout", f"no answer to {e.cmd!r} within {e.timeout:g} s") from None
