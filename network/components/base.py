"""Shared bits for the components: tokens, options and tags."""

from __future__ import annotations

import pulumi

from network.naming import resource_name, tags

TOKEN_PREFIX = "crossnet:network"


def token(kind: str) -> str:
    """The type token of a crossnet component, e.g. `crossnet:network:Vpc`."""
    return f"{TOKEN_PREFIX}:{kind}"


def child(
    parent: pulumi.Resource, provider: pulumi.ProviderResource | None = None, **kwargs: object
) -> pulumi.ResourceOptions:
    """Options for a child resource: always parented, on the component's regional provider."""
    return pulumi.ResourceOptions(parent=parent, provider=provider, **kwargs)  # type: ignore[arg-type]


__all__ = ["child", "resource_name", "tags", "token"]
