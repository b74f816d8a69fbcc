"""Typed reading of the stack config's nested mappings (pure).

`Reader` records a problem (field, value, rule) instead of raising, so parsing
goes on past a bad entry and every problem is reported at once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from netaddr import AddrFormatError, IPAddress, IPNetwork

from network.errors import Problem, Problems
from network.model import PortRange

NETWORK_KEY = "crossnet:network"
NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,30}[a-z0-9]$|^[a-z]$")
NAME_RULE = "a name is 1-32 of lowercase letters, digits and '-', starting with a letter"

T = TypeVar("T")


class Reader:
    """Typed access to a nested mapping that records problems instead of raising."""

    def __init__(self, problems: Problems, need_secrets: bool = True):
        self.p = problems
        self.need_secrets = need_secrets
        self.unparsed: set[str] = set()
        self.warnings: list[Problem] = []

    def mark(self) -> int:
        """A point to ask `since(mark)` whether any problem was found after it."""
        return len(self.p)

    def since(self, mark: int) -> bool:
        return len(self.p) > mark

    def mapping(self, value: Any, path: str, required: bool = True) -> dict[str, Any]:
        if value is None:
            if required:
                # the same words as keys() uses, so a missing key is one problem
                self.p.add(path, "missing", "required key")
            return {}
        if not isinstance(value, Mapping):
            self.p.add(path, value, "must be a mapping")
            return {}
        return dict(value)

    def keys(
        self, obj: Mapping[str, Any], path: str, allowed: set[str], required: set[str]
    ) -> None:
        for key in obj:
            if not isinstance(key, str):
                self.p.add(f"{path}.{key}", "unknown key", "keys are names (strings)")
            elif key not in allowed:
                known = ", ".join(sorted(allowed))
                self.p.add(f"{path}.{key}", "unknown key", f"allowed keys: {known}")
        for key in sorted(required - set(obj)):
            self.p.add(f"{path}.{key}", "missing", "required key")

    def name(self, value: Any, path: str) -> bool:
        if not isinstance(value, str) or not NAME_RE.match(value):
            self.p.add(path, value, NAME_RULE)
            return False
        return True

    def int_(self, value: Any, path: str, lo: int, hi: int, rule: str = "") -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.p.add(path, value, "must be an integer")
            return None
        if not lo <= value <= hi:
            self.p.add(path, value, rule or f"must be between {lo} and {hi}")
            return None
        return value

    def bool_(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            self.p.add(path, value, "must be true or false")
            return False
        return value

    def str_(self, value: Any, path: str, choices: tuple[str, ...] | None = None) -> str | None:
        if not isinstance(value, str):
            self.p.add(path, value, "must be a string")
            return None
        if choices is not None and value not in choices:
            self.p.add(path, value, "must be one of " + ", ".join(choices))
            return None
        return value

    def net(self, value: Any, path: str, version: int = 4) -> IPNetwork | None:
        try:
            if not isinstance(value, str) or "/" not in value:
                raise ValueError
            net = IPNetwork(value)
        except (AddrFormatError, ValueError, TypeError):
            self.p.add(path, value, f"must be an IPv{version} CIDR such as 10.0.0.0/16")
            return None
        if net.version != version:
            self.p.add(path, value, f"must be an IPv{version} CIDR")
            return None
        if net.network != net.ip:
            self.p.add(path, value, f"host bits set: the network is {net.cidr}")
            return None
        return net

    def ip(self, value: Any, path: str) -> IPAddress | None:
        try:
            if not isinstance(value, str):
                raise ValueError
            ip = IPAddress(value)
        except (AddrFormatError, ValueError, TypeError):
            self.p.add(path, value, "must be an IPv4 address")
            return None
        if ip.version != 4:
            self.p.add(path, value, "must be an IPv4 address")
            return None
        return ip

    def list_(
        self,
        value: Any,
        path: str,
        item: Callable[[Any, str], T | None],
        required: bool = True,
        allow_empty: bool = False,
    ) -> tuple[T, ...]:
        if value is None:
            if required:
                self.p.add(path, "missing", "required key")
            return ()
        if not isinstance(value, list):
            self.p.add(path, value, "must be a list")
            return ()
        if not value and not allow_empty:
            self.p.add(path, "[]", "must not be empty")
        out = []
        for i, v in enumerate(value):
            got = item(v, f"{path}[{i}]")
            if got is not None:
                out.append(got)
        return tuple(out)

    def ports(self, value: Any, path: str) -> PortRange | None:
        if isinstance(value, int) and not isinstance(value, bool):
            first = last = value
        elif isinstance(value, str) and re.fullmatch(r"\d+-\d+", value):
            a, b = value.split("-")
            first, last = int(a), int(b)
        else:
            self.p.add(path, value, "a port is an integer or a range such as '8000-8100'")
            return None
        if not (1 <= first <= last <= 65535):
            self.p.add(path, value, "ports are 1-65535, and a range runs low to high")
            return None
        return PortRange(first, last)


def entries(r: Reader, value: Any, path: str, required: bool = True) -> list[tuple[str, Any]]:
    """The (name, body) pairs of a mapping of named entries."""
    return [(str(k), v) for k, v in r.mapping(value, path, required).items()]
