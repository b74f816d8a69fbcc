"""Tables as data, and their two renderings: aligned text and GitHub Markdown (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Table:
    """A titled table; every cell is already a string."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str = ""

    @staticmethod
    def of(
        title: str, columns: Sequence[str], rows: Iterable[Sequence[object]], note: str = ""
    ) -> Table:
        """Build a table, turning every cell into a string ('' for None)."""
        body = tuple(tuple("" if c is None else str(c) for c in r) for r in rows)
        return Table(title, tuple(columns), body, note)


def render_text(tables: Iterable[Table], heading: str = "") -> str:
    """Aligned plain-text tables for a terminal."""
    out: list[str] = []
    if heading:
        out += [heading, "=" * len(heading), ""]
    for t in tables:
        out += [t.title, "-" * len(t.title)]
        if not t.rows:
            out.append("(none)")
        else:
            widths = [len(c) for c in t.columns]
            for r in t.rows:
                widths = [max(w, len(c)) for w, c in zip(widths, r)]
            out.append("  ".join(c.ljust(w) for c, w in zip(t.columns, widths)).rstrip())
            out.append("  ".join("-" * w for w in widths))
            for r in t.rows:
                out.append("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        if t.note:
            out.append(t.note)
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _md(cell: str) -> str:
    return cell.replace("|", "\\|").replace("\n", "<br>") or " "


def render_markdown(tables: Iterable[Table], heading: str = "") -> str:
    """GitHub-flavoured Markdown, for pasting into a change request."""
    out: list[str] = []
    if heading:
        out += [f"## {heading}", ""]
    for t in tables:
        out += [f"### {t.title}", ""]
        if not t.rows:
            out.append("_(none)_")
        else:
            out.append("| " + " | ".join(_md(c) for c in t.columns) + " |")
            out.append("|" + "|".join("---" for _ in t.columns) + "|")
            for r in t.rows:
                out.append("| " + " | ".join(_md(c) for c in r) + " |")
        if t.note:
            out += ["", f"_{t.note}_"]
        out.append("")
    return "\n".join(out).rstrip() + "\n"
