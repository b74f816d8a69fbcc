"""Which patches make up the emulator, and installing them.

Nothing is patched at import time. :func:`install_extensions` (or
``AwsEmulator.start()``) installs the patches of every AWS-area module;
:func:`uninstall_extensions` (or ``AwsEmulator.stop()``) puts every original class
attribute back, or removes the ones moto never had.
"""

from __future__ import annotations

from network.offline.aws import (
    customer_gateways,
    modify,
    responses,
    route_tables,
    tags,
    transit_gateways,
    vpn_connections,
    vpn_gateways,
)
from network.offline.aws.model import ALLOCATOR
from network.offline.aws.patching import PatchTable, install, installed, uninstall


def area_patch_tables() -> list[PatchTable]:
    """The patch table of every AWS-area module, in install order.

    THE PLACE TO REGISTER A NEW AREA MODULE: a module that adds operations (for
    example ModifyVpnTunnelOptions / ModifyVpnConnection for live changes) defines its
    own ``patches() -> PatchTable`` (backend methods, plus response handlers built with
    ``responses.Handler`` / ``responses.handler_patches``) and is added to this list.
    ``patching.install`` refuses two tables that patch the same attribute.
    """
    return [
        transit_gateways.patches(),
        vpn_gateways.patches(),
        customer_gateways.patches(),
        vpn_connections.patches(),
        route_tables.patches(),
        modify.patches(),
        tags.patches(),
        responses.patches(),
    ]


def install_extensions() -> None:
    """Patch moto's EC2 classes with the emulator's extensions (idempotent).

    Also restarts the outside-address allocator, so a fresh installation hands out
    the same addresses in the same order.
    """
    if install(area_patch_tables()):
        ALLOCATOR.reset()


def uninstall_extensions() -> None:
    """Put moto's classes back exactly as they were (idempotent)."""
    uninstall()


def extensions_installed() -> bool:
    """True while the extensions are patched into moto."""
    return installed()
