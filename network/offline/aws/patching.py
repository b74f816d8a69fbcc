"""Installing and removing the emulator's patches on moto's classes.

A patch is ``(owner class, attribute name, replacement)``. Each AWS-area module of this
package exposes ``patches() -> PatchTable``; :func:`install` takes the list of those
tables (see ``install.area_patch_tables``), records what moto had (or that it had
nothing), and :func:`uninstall` puts it all back, newest first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

Patch = tuple[type, str, Any]
PatchTable = Sequence[Patch]

_MISSING = object()
_saved: dict[tuple[type, str], Any] = {}
_installed = False


class PatchConflictError(RuntimeError):
    """Two patch tables replace the same attribute of the same moto class."""


def install(tables: Iterable[PatchTable]) -> bool:
    """Apply every patch of ``tables`` (idempotent); False if already installed."""
    global _installed
    if _installed:
        return False
    patches = [patch for table in tables for patch in table]
    seen: set[tuple[type, str]] = set()
    for owner, name, _ in patches:
        if (owner, name) in seen:
            raise PatchConflictError(f"{owner.__name__}.{name} is patched twice")
        seen.add((owner, name))
    for owner, name, replacement in patches:
        _saved[(owner, name)] = owner.__dict__.get(name, _MISSING)
        setattr(owner, name, replacement)
    _installed = True
    return True


def uninstall() -> None:
    """Put moto's classes back exactly as they were (idempotent)."""
    global _installed
    if not _installed:
        return
    for (owner, name), saved in reversed(list(_saved.items())):
        if saved is _MISSING:
            delattr(owner, name)
        else:
            setattr(owner, name, saved)
    _saved.clear()
    _installed = False


def installed() -> bool:
    """True while the patches are in place."""
    return _installed


def original(owner: type, name: str) -> Any:
    """What moto had at ``owner.name`` before the patch (for calling through)."""
    return _saved[(owner, name)]
