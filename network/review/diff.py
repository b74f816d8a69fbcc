"""`crossnet diff` presented: a `DiffReport` as text for a terminal or Markdown for a
change request, and the replace-on-change rules (`crossnet diff --rules`).

The computation lives in `network.review.compare` (the report),
`network.review.changes` (facts and resources), `network.review.impacts` (the
routers) and `network.review.baseline` (reading the applied side); the names
below are re-exported so that `network.review.diff` keeps working as an import.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table as Table_
from rich.text import Text

from network.console import to_text
from network.review.baseline import (
    EMPTY_SNAPSHOT,
    OUTPUTS_CAVEAT,
    PLAN_OUTPUT,
    check_snapshot,
    load_applied,
    load_outputs_raw,
    outputs_plan,
)
from network.review.changes import (
    FactChange,
    PropChange,
    ResourceChange,
    address_changes,
    resource_changes,
    show,
)
from network.review.compare import (
    PLACEHOLDER_NOTE,
    DiffReport,
    diff_snapshots,
    proposed_outputs,
    renewed_connections,
    router_config_diffs,
)
from network.review.impacts import LOUD, Impact, impacts, provider_text
from network.review.replacements import CHECKED_UPSTREAM, PROVIDER_EVIDENCE, REPLACE_ON_CHANGE
from network.review.tables import Table, render_markdown, renderables

__all__ = [
    "EMPTY_SNAPSHOT",
    "LOUD",
    "OUTPUTS_CAVEAT",
    "PLACEHOLDER_NOTE",
    "PLAN_OUTPUT",
    "DiffReport",
    "FactChange",
    "Impact",
    "PropChange",
    "ResourceChange",
    "address_changes",
    "check_snapshot",
    "diff_renderables",
    "diff_snapshots",
    "diff_tables",
    "impacts",
    "load_applied",
    "load_outputs_raw",
    "outputs_plan",
    "proposed_outputs",
    "render_diff",
    "render_rules",
    "renewed_connections",
    "replacement_sources",
    "resource_changes",
    "router_config_diffs",
]


def _markdown_banner(i: Impact) -> list[str]:
    """A loud block as a Markdown heading and warning quote."""
    out = [f"### {i.title}", "", "> [!WARNING]", "> **Because:**"]
    out += [f"> - {r}" for r in i.reasons]
    out += [
        ">",
        f"> **Consequence:** {i.consequence}",
        ">",
        f"> **Routers to reconfigure:** {', '.join(i.routers) or 'none'}",
        ">",
        "> **Safe order:**",
    ]
    out += [f"> {n}. {s}" for n, s in enumerate(i.steps, 1)]
    return [*out, ""]


def _hanging(items: list[tuple[str, str]], indent: int = 2) -> Table_:
    """Marker and text side by side: a wrapped line keeps its indent under the text."""
    grid = Table_.grid(padding=(0, 1, 0, 0))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for mark, text in items:
        grid.add_row(Text(" " * indent + mark), Text(text))
    return grid


def _banner(i: Impact) -> Group:
    """A loud block framed in '!' (red on a terminal), its text wrapped to the width."""
    title = f"!! {i.title} !!"
    frame = Text("!" * len(title), style="bold red", overflow="crop", no_wrap=True)
    return Group(
        frame,
        Text(title, style="bold red"),
        frame,
        Text("because:"),
        _hanging([("-", r) for r in i.reasons]),
        _hanging([("consequence:", i.consequence)], 0),
        Text("routers to reconfigure: " + ", ".join(i.routers)),
        Text("safe order:"),
        _hanging([(f"{n}.", s) for n, s in enumerate(i.steps, 1)]),
        Text(""),
    )


def _summary(r: DiffReport) -> str:
    counts = {
        a: sum(1 for c in r.resources if c.action == a)
        for a in ("create", "update", "replace", "delete")
    }
    return (
        f"{len(r.facts)} address-plan change(s); resources: {counts['create']} to "
        f"create, {counts['update']} to update, {counts['replace']} to REPLACE, "
        f"{counts['delete']} to delete; routers to reconfigure: " + (", ".join(r.routers) or "none")
    )


def diff_tables(r: DiffReport) -> list[Table]:
    """The address-plan changes, the resources and the routers to touch without a banner."""
    tables = [
        Table.of(
            "Address-plan changes",
            ("area", "what", "applied", "proposed"),
            [(f.area, f.key, f.old or "-", f.new or "-") for f in r.facts],
        )
    ]
    rows = []
    for c in r.resources:
        detail = "; ".join(
            f"{p.prop}: {show(p.old)} -> {show(p.new)}"
            if not p.via
            else f"{p.prop}: new ID of {p.via}"
            for p in c.props
        )
        rows.append(
            (c.action.upper() if c.action == "replace" else c.action, c.kind, c.name, detail)
        )
    provider = (
        "replace-on-change rules for "
        + provider_text(r.upstream)
        + "; with their sources: crossnet diff --rules (network/review/replacements.py)"
    )
    tables.append(Table.of("Resources", ("action", "kind", "name", "changes"), rows, note=provider))
    quiet = [i for i in r.impacts if not i.loud]
    if quiet:
        tables.append(
            Table.of(
                "Routers to touch (no replacement)",
                ("change", "subject", "routers", "why", "what"),
                [
                    (
                        i.kind,
                        i.subject,
                        ", ".join(i.routers),
                        "; ".join(i.reasons) or "-",
                        i.consequence + ". Order: " + "; ".join(i.steps),
                    )
                    for i in quiet
                ],
            )
        )
    return tables


def _config_paths(r: DiffReport) -> list[str]:
    return [
        f"{i.subject} ({', '.join(i.routers)}): the diff shows {i.config_path}"
        for i in r.impacts
        if i.config_path
    ]


_DIFF_STYLE = (("+++", "bold"), ("---", "bold"), ("@@", "cyan"), ("+", "green"), ("-", "red"))


def _diff_text(text: str) -> Text:
    """A unified diff, coloured by line on a terminal (plain when piped)."""
    out = Text()
    for line in text.rstrip("\n").splitlines():
        style = next((s for p, s in _DIFF_STYLE if line.startswith(p)), "")
        out.append(line + "\n", style=style)
    out.rstrip()
    return out


def _router_diff_renderables(r: DiffReport) -> list[RenderableType]:
    if not (r.router_diffs or r.notes):
        return []
    title = "Router config diffs (keys redacted)"
    out: list[RenderableType] = [Text(title, style="bold"), Text("-" * len(title))]
    out += [Text(n) for n in r.notes]
    if r.router_diffs:
        out += [Text(PLACEHOLDER_NOTE), *(Text(p) for p in _config_paths(r))]
    for key, text in r.router_diffs.items():
        out += [Text(""), Text(f"== {key} ==", style="bold"), Text(""), _diff_text(text)]
    return out


def diff_renderables(r: DiffReport) -> list[RenderableType]:
    """The report for a terminal: banners first, then tables, then router config diffs."""
    out: list[RenderableType] = [Text(f"crossnet diff: stack {r.stack} against {r.baseline}")]
    out += [Text(c) for c in r.caveats]
    out += [Text(f"advice: {a}") for a in r.advice]
    if not r.changed:
        return [*out, Text("no changes: the proposed plan is the applied one.")]
    out += [Text(_summary(r)), Text("")]
    out += [_banner(i) for i in r.impacts if i.loud]
    out += renderables(diff_tables(r))
    return out + _router_diff_renderables(r)


def _render_markdown_diff(r: DiffReport) -> str:
    head = [f"## crossnet diff: stack {r.stack} against {r.baseline}", ""]
    head += [f"> {c}" for c in r.caveats]
    head += [f"> advice: {a}" for a in r.advice]
    if r.caveats or r.advice:
        head.append("")
    if not r.changed:
        return "\n".join(head).rstrip("\n") + (
            "\nno changes: the proposed plan is the applied one.\n"
        )
    head += [_summary(r), ""]
    for i in r.impacts:
        if i.loud:
            head += _markdown_banner(i)
    body = render_markdown(diff_tables(r))
    tail: list[str] = []
    if r.router_diffs or r.notes:
        tail += ["", "### Router config diffs (keys redacted)", ""]
        tail += r.notes
        if r.router_diffs:
            tail.append(PLACEHOLDER_NOTE)
            tail += [f"- {p}" for p in _config_paths(r)]
        for key, text in r.router_diffs.items():
            tail += ["", f"#### {key}", "```diff", text.rstrip("\n"), "```"]
    return "\n".join(head) + "\n" + body + "\n".join(tail) + ("\n" if tail else "")


def render_diff(r: DiffReport, fmt: str = "text", width: int | None = None) -> str:
    """The report as text (wrapped to `width`, default the terminal's) or Markdown."""
    if fmt == "markdown":
        return _render_markdown_diff(r)
    return to_text(diff_renderables(r), width)


def _older(rule: Any) -> list[tuple[str, str]]:
    """(inputs, text) per provider release that changed them from replace to update."""
    groups: dict[str, list[str]] = {}
    since: dict[str, Any] = {}
    for prop, s in rule.in_place_since.items():
        groups.setdefault(s.version, []).append(prop)
        since[s.version] = s
    return [
        (
            ", ".join(props),
            f"replace before terraform-provider-aws v{v}, update in place "
            f"from v{v} on ({since[v].source})",
        )
        for v, props in groups.items()
    ]


def replacement_sources() -> Table:
    """The replace-on-change table, for the docs and `crossnet diff --rules`."""
    rows = []
    for t, r in REPLACE_ON_CHANGE.items():
        older = "; ".join(f"{props}: {text}" for props, text in _older(r))
        rows.append(
            (
                t.split(":")[1],
                ", ".join(r.props),
                older or "-",
                r.source,
                "yes" if r.checked else "no",
            )
        )
    return Table.of(
        "Replace-on-change inputs",
        (
            "resource",
            "inputs that replace",
            "inputs that replace in older providers",
            "source",
            "read here",
        ),
        rows,
        note="read for " + provider_text(CHECKED_UPSTREAM) + ". " + PROVIDER_EVIDENCE,
    )


def _rule_lines(r: Any) -> list[str]:
    lines = [f"replace: {', '.join(r.props)}"]
    lines += [f"{props}: {text}" for props, text in _older(r)]
    lines.append(f"source ({'read here' if r.checked else 'not re-read'}): {r.source}")
    if r.note:
        lines.append(f"note: {r.note}")
    return lines


def render_rules(fmt: str = "text", width: int | None = None) -> str:
    """`crossnet diff --rules`: one block per resource type (a table is too wide)."""
    title = "Replace-on-change inputs, read for " + provider_text(CHECKED_UPSTREAM)
    if fmt == "markdown":
        out = [f"## {title}", "", PROVIDER_EVIDENCE, ""]
        for t, r in REPLACE_ON_CHANGE.items():
            out += [f"### `{t}`", *(f"- {x}" for x in _rule_lines(r)), ""]
        return "\n".join(out).rstrip("\n") + "\n"
    parts: list[RenderableType] = [Text(title), Text(""), Text(PROVIDER_EVIDENCE), Text("")]
    for t, r in REPLACE_ON_CHANGE.items():
        parts += [Text(t), _hanging([("", x) for x in _rule_lines(r)], 0), Text("")]
    return to_text(parts, width).rstrip("\n") + "\n"
