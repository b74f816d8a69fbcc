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
from network.render.drain import drain
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


def render_router(
    router: Router, redact: bool = False, drained: frozenset[str] = frozenset()
) -> dict[str, str]:
    """Render one router: file name (relative to its directory) -> text.

    `drained`: tunnel keys to render depreferred both ways (network.render.drain).
    File names follow network.platforms.PLATFORMS; a "{tunnel}" entry expands
    to one file per tunnel (`conf.d/<connection>-<n>.conf` on Linux).
    Raises ConfigError for input the router cannot be rendered from.
    """
    return _render(drain(build_context(router, redact)["router"], drained))


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


def render_stack(
    outputs: StackOutputs, out_dir: Path, redact: bool = False
) -> list[RenderedRouter]:
    """Render every router of a stack into `out_dir/<router key>/`.

    Everything is validated, rendered and cross-checked in memory first; if
    any router fails, ConfigError lists every problem and nothing is written.
    Files holding a key are written mode 0600; with `redact`, every key is
    masked. Every router's new directory is written in full before any is
    swapped in, and each replaces the old one as a whole, so a failed write
    leaves the previous render as it was and no stale file survives.
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
                problems.append(
                    Problem(f"routers.{key}", name, "a key would survive --redact in this file")
                )
        staged.append((ctx, files, secrets, review.notes))
    if not outputs.routers:
        problems.append(Problem("routers", "{}", "the stack has no datacenter router to render"))
    if problems:
        raise ConfigError(f"stack outputs of {outputs.stack!r}", problems)

    written = _write_routers(
        out_dir, [(ctx.key, files, secrets) for ctx, files, secrets, _ in staged]
    )
    return [
        RenderedRouter(
            key=ctx.key,
            platform=ctx.platform,
            directory=directory,
            files=tuple(files),
            tunnels=len(ctx.tunnels),
            neighbours=len(ctx.bgp_tunnels),
            redacted=redact,
            notes=tuple(notes),
        )
        for (ctx, files, _, notes), directory in zip(staged, written)
    ]


def _write_routers(
    out_dir: Path, routers: list[tuple[str, dict[str, str], list[str]]]
) -> list[Path]:
    """Write every router's directory, all or nothing.

    Each router's files go to `.<key>.new` first; only when every one is complete are
    they swapped in (the old directory to `.<key>.old`, the new one to `<key>`), and a
    failed swap puts the earlier ones back. Leftovers of an interrupted run, files or
    directories, are removed first. An OSError becomes one ConfigError naming the path.
    """
    staged = _stage(out_dir, routers)
    swapped = _swap(out_dir, [key for key, _, _ in routers], staged)
    for _, old, had_old in swapped:
        if had_old:
            _remove(old, quiet=True)
    return [directory for directory, _, _ in swapped]


def _stage(out_dir: Path, routers: list[tuple[str, dict[str, str], list[str]]]) -> list[Path]:
    """Every router's files in `.<key>.new`; on an OSError none is left behind."""
    staged: list[Path] = []
    try:
        _mkdirs_private(out_dir)
        for key, files, secrets in routers:
            tmp = out_dir / f".{key}.new"
            for stale in (tmp, out_dir / f".{key}.old"):
                _remove(stale)
            staged.append(tmp)
            _write_tree(tmp, files, secrets)
    except OSError as e:
        for tmp in staged:
            _remove(tmp, quiet=True)
        raise _write_error(out_dir, e) from None
    return staged


def _swap(out_dir: Path, keys: list[str], staged: list[Path]) -> list[tuple[Path, Path, bool]]:
    """Each staged directory in as `<key>`, the old one kept as `.<key>.old`; a failed
    swap puts the earlier ones back. Returns (directory, old, had an old one)."""
    swapped: list[tuple[Path, Path, bool]] = []
    try:
        for key, tmp in zip(keys, staged):
            directory, old = out_dir / key, out_dir / f".{key}.old"
            had_old = directory.exists() or directory.is_symlink()
            if had_old:
                directory.rename(old)
            swapped.append((directory, old, had_old))
            tmp.rename(directory)
    except OSError as e:
        for directory, old, had_old in reversed(swapped):
            _remove(directory, quiet=True)
            if had_old:
                old.rename(directory)
        for tmp in staged:
            _remove(tmp, quiet=True)
        raise _write_error(out_dir, e) from None
    return swapped


def _write_tree(root: Path, files: dict[str, str], secrets: list[str]) -> None:
    root.mkdir(mode=0o700)
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if any(s in text for s in secrets):
            write_private(path, text)  # 0600 from the first byte
        else:
            path.write_text(text)
            os.chmod(path, 0o755 if name.endswith(".sh") else 0o644)


def _mkdirs_private(path: Path) -> None:
    """`mkdir -p` with every directory it creates mode 0700 (the state directory too)."""
    missing = []
    for p in (path, *path.parents):
        if p.exists() or p.is_symlink():
            break
        missing.append(p)
    for p in reversed(missing):
        p.mkdir(mode=0o700)
    if not path.is_dir():
        raise NotADirectoryError(20, "Not a directory", str(path))


def _remove(path: Path, quiet: bool = False) -> None:
    """Remove a file, symlink or directory tree (leftovers of an interrupted render)."""
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    except FileNotFoundError:
        pass
    except OSError:
        if not quiet:
            raise


def _write_error(out_dir: Path, e: OSError) -> ConfigError:
    where = e.filename or out_dir
    return ConfigError(
        f"output directory {out_dir}",
        [
            Problem(
                str(where),
                e.strerror or type(e).__name__,
                "the configs cannot be written here (--out must name a directory crossnet can "
                "create or write)",
            )
        ],
    )


def summary_rows(rendered: list[RenderedRouter], base: Path | None = None) -> list[dict[str, Any]]:
    """The rows of `crossnet render`'s table."""
    rows = []
    for r in rendered:
        where = r.directory.resolve()
        if base is not None and where.is_relative_to(base):
            where = where.relative_to(base)
        rows.append(
            {
                "router": r.key,
                "platform": r.platform,
                "tunnels": r.tunnels,
                "neighbours": r.neighbours,
                "file": f"{where}/ ({_files(len(r.files))})",
            }
        )
    return rows


def _files(n: int) -> str:
    return f"{n} file" if n == 1 else f"{n} files"
