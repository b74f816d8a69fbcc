"""Rendering routers: contexts in, config text out, then (all or nothing) to disk."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from network.contract import Router, StackOutputs, write_private
from network.errors import ConfigError, Problem
from network.platforms import PLATFORMS
from network.render.check import review_router
from network.render.context import RouterContext, build_context
from network.render.environment import environment

# A file name holding "{tunnel}" is rendered once per tunnel from this template.
PER_TUNNEL_TEMPLATE = "tunnel.conf.j2"


@dataclass(frozen=True)
class RenderedRouter:
    """One router's rendered configuration, as written to disk."""

    key: str
    platform: str
    directory: Path
    files: tuple[str, ...]
    tunnels: int
    neighbours: int  # BGP neighbours (0 for a static-only router)
    redacted: bool
    notes: tuple[str, ...] = ()  # what the platform cannot do (check.Review.notes)


def render_router(router: Router, redact: bool = False) -> dict[str, str]:
    """Render one router: file name (relative to its directory) -> text.

    File names follow network.platforms.PLATFORMS; a "{tunnel}" entry expands
    to one file per tunnel (`conf.d/<connection>-<n>.conf` on Linux).
    Raises ConfigError for input the router cannot be rendered from.
    """
    return _render(build_context(router, redact)["router"])


def _render(ctx: RouterContext) -> dict[str, str]:
    env = environment()
    out: dict[str, str] = {}
    for name in PLATFORMS[ctx.platform]:
        if "{tunnel}" in name:
            template = env.get_template(f"{ctx.platform}/{PER_TUNNEL_TEMPLATE}")
            for c in ctx.connections:
                for t in c.tunnels:
                    out[name.format(tunnel=t.key)] = template.render(router=ctx, c=c, t=t)
        else:
            out[name] = env.get_template(f"{ctx.platform}/{name}.j2").render(router=ctx)
    return out


def render_stack(outputs: StackOutputs, out_dir: Path,
                 redact: bool = False) -> list[RenderedRouter]:
    """Render every router of a stack into `out_dir/<router key>/`.

    Everything is validated, rendered and cross-checked in memory first; if
    any router fails, ConfigError lists every problem and nothing is written.
    Files holding a key are written mode 0600; with `redact`, every key is
    masked. Each router's directory is replaced as a whole, so no stale file
    of an earlier render survives in it.
    """
    problems: list[Problem] = []
    staged: list[tuple[RouterContext, dict[str, str], list[str], list[str]]] = []
    for key in sorted(outputs.routers):
        router = outputs.routers[key]
        try:
            ctx = build_context(router)["router"]
        except ConfigError as e:
            problems += e.problems
            continue
        files = _render(ctx)
        review = review_router(router, files)
        problems += review.problems
        secrets = [t.psk.reveal() for c in router.connections for t in c.tunnels]
        if redact:
            files = _render(build_context(router, redact=True)["router"])
            leaked = [name for name, text in files.items() if any(s in text for s in secrets)]
            for name in leaked:
                problems.append(Problem(f"routers.{key}", name,
                                        "a key would survive --redact in this file"))
        staged.append((ctx, files, secrets, review.notes))
    if not outputs.routers:
        problems.append(Problem("routers", "{}", "the stack has no datacenter router to render"))
    if problems:
        raise ConfigError(f"stack outputs of {outputs.stack!r}", problems)

    out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    done = []
    for ctx, files, secrets, notes in staged:
        directory = out_dir / ctx.key
        _replace_dir(directory, files, secrets)
        done.append(RenderedRouter(
            key=ctx.key, platform=ctx.platform, directory=directory, files=tuple(files),
            tunnels=len(ctx.tunnels), neighbours=len(ctx.bgp_tunnels), redacted=redact,
            notes=tuple(notes)))
    return done


def _replace_dir(directory: Path, files: dict[str, str], secrets: list[str]) -> None:
    tmp = directory.with_name(f".{directory.name}.new")
    old = directory.with_name(f".{directory.name}.old")
    for stale in (tmp, old):
        shutil.rmtree(stale, ignore_errors=True)
    tmp.mkdir(mode=0o700)
    for name, text in files.items():
        path = tmp / name
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if any(s in text for s in secrets):
            write_private(path, text)  # 0600 from the first byte
        else:
            path.write_text(text)
            os.chmod(path, 0o755 if name.endswith(".sh") else 0o644)
    if directory.exists():
        directory.rename(old)
    tmp.rename(directory)
    shutil.rmtree(old, ignore_errors=True)


def summary_rows(rendered: list[RenderedRouter], base: Path | None = None) -> list[dict[str, Any]]:
    """The rows of `crossnet render`'s table."""
    rows = []
    for r in rendered:
        where = r.directory.resolve()
        if base is not None and where.is_relative_to(base):
            where = where.relative_to(base)
        rows.append({"router": r.key, "platform": r.platform, "tunnels": r.tunnels,
                     "neighbours": r.neighbours, "file": f"{where}/ ({_files(len(r.files))})"})
    return rows


def _files(n: int) -> str:
    return f"{n} file" if n == 1 else f"{n} files"
