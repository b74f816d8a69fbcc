"""Tables as data, and their renderings: rich for a terminal, GitHub Markdown for a
change request, plain JSON for scripts (pure).

The terminal rendering is `network.console.table`: cells wrap (or fold a word
too long for its column) so that a table fits the width it is printed at.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import RenderableType
from rich.text import Text

from network.console import table, to_text


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

    def as_json(self) -> dict[str, Any]:
        """{title, columns, rows (one object per row, keyed by column), note}."""
        return {
            "title": self.title,
            "columns": list(self.columns),
            "rows": [dict(zip(self.columns, r)) for r in self.rows],
            "note": self.note,
        }


def heading_renderables(heading: str) -> list[RenderableType]:
    """A command's heading, underlined."""
    return [Text(heading, style="bold"), Text("=" * min(len(heading), 100)), Text("")]


def renderables(tables: Iterable[Table], heading: str = "") -> list[RenderableType]:
    """What a terminal prints: the heading, then each table (or `(none)`) and its note."""
    out: list[RenderableType] = heading_renderables(heading) if heading else []
    for t in tables:
        if not t.rows:
            out += [Text(t.title, style="bold"), Text("(none)")]
            if t.note:
                out.append(Text(t.note))
        else:
            out.append(table(t.title, t.columns, t.rows, t.note))
        out.append(Text(""))
    return out


def render_text(tables: Iterable[Table], heading: str = "", width: int | None = None) -> str:
    """Plain-text tables at `width` (default: the terminal's, COLUMNS, or 80)."""
    return to_text(renderables(tables, heading), width).rstrip() + "\n"


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
