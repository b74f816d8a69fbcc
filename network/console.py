"""Terminal output for every crossnet command: tables that fit, colour only on a TTY,
progress only where someone watches it (rich).

* `table(title, columns, rows)` builds a rich table whose cells wrap at spaces
  (and fold a word longer than its column) so that it fits the console width:
  no column ever runs past the terminal.
* `console(file)` is a Console on that stream: colour and live progress when it is
  a terminal; plain text, `COLUMNS` (or 80) wide, when it is piped or a file.
  `NO_COLOR` is honoured by rich itself.
* `to_text(renderables, width)` renders to plain text (files, tests).
* `progress(label, enabled)` shows a live status line on a TTY and stays quiet and
  line-oriented otherwise (`--no-progress`, CI, a pipe): one line per step on stderr.

The lab's check matrix and `rollout` use the same helpers.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import IO, Any

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.table import Table
from rich.text import Text

# Plain-text fallback width when the stream is no terminal and COLUMNS is unset.
DEFAULT_WIDTH = 80
# A column whose cells are all single words up to this long keeps them whole.
MAX_NAME = 40
MAX_WORD = 30


def console(file: IO[str] | None = None, width: int | None = None) -> Console:
    """A Console on `file` (default stdout): colour only when it is a terminal."""
    stream = file if file is not None else sys.stdout
    tty = stream.isatty() if hasattr(stream, "isatty") else False
    return Console(
        file=stream,
        width=width if width is not None else (None if tty else plain_width()),
        force_terminal=tty,
        no_color=not tty or None,
        color_system="auto" if tty else None,
        highlight=False,
        markup=False,
        emoji=False,
        soft_wrap=False,
    )


def plain_width() -> int:
    """The width of non-terminal output: `COLUMNS` when set, else 80."""
    try:
        return max(20, int(os.environ.get("COLUMNS", "")))
    except ValueError:
        return DEFAULT_WIDTH


class FitTable:
    """A table that fits the width it is printed at.

    Columns of names keep each name whole; the other columns wrap at spaces (and
    fold a word longer than the column). When even that is wider than the
    console, every row is printed as a block of `column: value` lines instead
    (as `psql -x` does), so that no cell is ever cut off.
    """

    def __init__(
        self,
        title: str,
        columns: Sequence[str],
        rows: Iterable[Sequence[object]],
        note: str = "",
        overflow: str = "fold",
    ) -> None:
        self.title, self.columns, self.note, self.overflow = title, list(columns), note, overflow
        self.rows = [["" if c is None else str(c) for c in r] for r in rows]
        # a column of names (one word each, none very long) is never broken mid-name
        self.names = [
            all(" " not in r[i] and len(r[i]) <= MAX_NAME for r in self.rows if i < len(r))
            for i in range(len(self.columns))
        ]

    def widths(self, max_width: int) -> list[int] | None:
        """Each column's width at `max_width`, or None when even the narrowest layout
        (names and headers whole, prose wrapped at spaces) is wider."""
        pad = 2 * (len(self.columns) - 1)
        natural, minimum = [], []
        for i, c in enumerate(self.columns):
            cells = [r[i] for r in self.rows if i < len(r)]
            natural.append(max([len(c), *(len(x) for x in cells)]))
            # a word longer than MAX_WORD (a path, a URL) may be folded across lines
            words = [min(len(w), MAX_WORD) for x in cells for w in x.split()]
            minimum.append(natural[-1] if self.names[i] else max([len(c), *words]))
        if sum(natural) + pad <= max_width:
            return natural
        if sum(minimum) + pad > max_width:
            return None
        # the prose columns share what is left, in proportion to what they would take
        extra = max_width - pad - sum(minimum)
        want = [n - m for n, m in zip(natural, minimum)]
        return [m + extra * w // sum(want) for m, w in zip(minimum, want)]

    def table(self, widths: list[int]) -> Table:
        t = Table(
            title=self.title or None,
            title_justify="left",
            title_style="bold",
            box=box.SIMPLE_HEAD,  # its column divider is a space: with the padding, 2
            padding=(0, 1, 0, 0),
            header_style="bold",
            show_edge=False,
            pad_edge=False,
            expand=False,
        )
        for c, name, w in zip(self.columns, self.names, widths):
            t.add_column(c, overflow=self.overflow, no_wrap=name, width=w)  # type: ignore[arg-type]
        for r in self.rows:
            t.add_row(*(Text(c) for c in r))
        return t

    def records(self) -> Group:
        """One block per row: the first cell as its heading, then `column: value`."""
        parts: list[RenderableType] = [Text(self.title, style="bold")]
        label = max(len(c) for c in self.columns[1:]) + 1 if len(self.columns) > 1 else 0
        for r in self.rows:
            grid = Table.grid(padding=(0, 1, 0, 0))
            grid.add_column(no_wrap=True, min_width=label + 2)
            grid.add_column(overflow="fold")
            for c, v in zip(self.columns[1:], r[1:]):
                grid.add_row(Text(f"  {c}:"), Text(v))
            parts += [Text(f"{self.columns[0]} {r[0]}", style="bold"), grid]
        if self.note:  # after a blank line: the rows end where the blank line is
            parts += [Text(""), Text(self.note)]
        return Group(*parts)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        widths = self.widths(options.max_width)
        if widths is None:
            yield self.records()
            return
        yield self.table(widths)
        if self.note:  # after a blank line: the rows end where the blank line is
            yield Text("")
            yield Text(self.note)


def table(
    title: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[object]],
    note: str = "",
    overflow: str = "fold",
) -> FitTable:
    """A table that fits the console: see `FitTable`.

    `overflow="ellipsis"` elides long words instead of folding them (for a
    matrix whose cells are only a glance). Cells are plain strings: markup in a
    value is never interpreted.
    """
    return FitTable(title, columns, rows, note, overflow)


def to_text(renderables: Iterable[RenderableType], width: int | None = None) -> str:
    """Plain text of `renderables` at `width` (default: `plain_width()`), lines stripped."""
    buf = io.StringIO()
    c = Console(
        file=buf,
        width=width or plain_width(),
        force_terminal=False,
        no_color=True,
        color_system=None,
        highlight=False,
        markup=False,
        emoji=False,
    )
    for r in renderables:
        c.print(r)
    return "\n".join(line.rstrip() for line in buf.getvalue().splitlines()) + "\n"


def progress_wanted(no_progress: bool = False, stream: IO[str] | None = None) -> bool:
    """Live progress only on a terminal, never under CI or with --no-progress."""
    s = stream if stream is not None else sys.stderr
    if no_progress or os.environ.get("CI") or os.environ.get("CROSSNET_NO_PROGRESS"):
        return False
    return bool(hasattr(s, "isatty") and s.isatty())


class Steps:
    """What a long command reports its steps to (see `progress`)."""

    def __init__(self, label: str, live: Any | None, stream: IO[str] | None) -> None:
        self.label, self._live, self._stream = label, live, stream

    def step(self, text: str) -> None:
        """Start the next step: the live status changes, or one line goes to stderr."""
        if self._live is not None:
            self._live.update(f"{self.label}: {text}")
        elif self._stream is not None:
            print(f"{self.label}: {text}", file=self._stream, flush=True)

    def note(self, text: str) -> None:
        """A line of the command's own output: above the live status on a terminal,
        else on stderr as it is (whether or not steps are shown)."""
        if self._live is not None:
            self._live.console.print(text, soft_wrap=True, highlight=False)
        else:
            print(text, file=sys.stderr, flush=True)


@contextmanager
def progress(
    label: str, enabled: bool, quiet: bool = False, console: Console | None = None
) -> Iterator[Steps]:
    """A live status (rich) on stderr (or `console`) when `enabled`; otherwise one line
    per step on stderr (or nothing with `quiet`), so that CI logs stay line-oriented."""
    if not enabled:
        yield Steps(label, None, None if quiet else sys.stderr)
        return
    err = console or Console(stderr=True, highlight=False, markup=False, emoji=False)
    with err.status(label) as live:
        yield Steps(label, live, None)
