"""Small helpers every planning module shares (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from network.config import NETWORK_KEY
from network.model import ConnectionSpec

P = NETWORK_KEY


def router_ref(c: ConnectionSpec) -> str:
    """How a connection names its router: `<datacenter>/<router>`."""
    return c.router_ref or c.router.replace("-", "/", 1)


def missing(kind: str, known: Mapping[str, Any]) -> str:
    names = ", ".join(sorted(known)) or "none"
    return f"no such {kind}; known: {names}"
