"""Datacenter router configs, rendered from the stack outputs.

Public API (used by `crossnet render` and by the lab):

- `render_router(router, redact=False) -> dict[str, str]`: file name -> text;
- `render_stack(outputs, out_dir, redact=False) -> list[RenderedRouter]`:
  validate, render and cross-check every router, then write them;
- `build_context(router, redact=False)`: the template context;
- `interface_name(platform, inside_cidr)`, `tunnel_number(inside_cidr)`,
  `tunnel_key(connection, n)`, `linux_tunnel_file(connection, n)`: names.
"""

from __future__ import annotations

from network.render.context import build_context
from network.render.engine import RenderedRouter, render_router, render_stack
from network.render.names import interface_name, linux_tunnel_file, tunnel_key, tunnel_number

__all__ = [
    "RenderedRouter",
    "build_context",
    "interface_name",
    "linux_tunnel_file",
    "render_router",
    "render_stack",
    "tunnel_key",
    "tunnel_number",
]
