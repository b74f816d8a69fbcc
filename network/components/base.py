"""Shared bits for the components: tokens, options and tags."""

from __future__ import annotations

import pulumi

from network.naming import TOKEN_PREFIX, component_token, resource_name, tags


def token(kind: str) -> str:
    """The type token of a crossnet component, e.g. `crossnet:network:Vpc`."""
    return component_token(kind)


def child(
    parent: pulumi.Resource, provider: pulumi.ProviderResource | None = None, **kwargs: object
) -> pulumi.ResourceOptions:
    """Options for a child resource: always parented, on the component's regional provider."""
    return pulumi.ResourceOptions(parent=parent, provider=provider, **kwargs)  # type: ignore[arg-type]


__all__ = ["TOKEN_PREFIX", "child", "resource_name", "tags", "token"]
