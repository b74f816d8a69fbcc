"""`crossnet diff` presented: a `DiffReport` as text for a terminal or Markdown for a
change request, and the replace-on-change rules (`crossnet diff --rules`).

The computation lives in `network.review.compare` (the report),
`network.review.changes` (facts and resources), `network.review.impacts` (the
routers) and `network.review.baseline` (reading the applied side); the names
below are re-exported so that `network.review.diff` keeps working as an import.
"""

from __future__ import annotations

from typing import Any

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
from network.review.tables import Table, render_markdown, render_text

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
    "diff_snapshots",
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


def _banner(i: Impact, fmt: str = "text") -> list[str]:
    """A loud block: plain text framed in '!', or a Markdown heading and warning quote."""
    if fmt == "markdown":
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
    title = f"!! {i.title} !!"
    out = ["!" * len(title), title, "!" * len(title)]
    out += ["because:", *(f"  - {r}" for r in i.reasons)]
    out += [
        f"consequence: {i.consequence}",
        "routers to reconfigure: " + ", ".join(i.routers),
        "safe order:",
    ]
    out += [f"  {n}. {s}" for n, s in enumerate(i.steps, 1)]
    return [*out, ""]


def render_diff(r: DiffReport, fmt: str = "text") -> str:
    """The report: loud replacements first, then tables, then router config diffs."""
    md = fmt == "markdown"
    counts = {
        a: sum(1 for c in r.resources if c.action == a)
        for a in ("create", "update", "replace", "delete")
    }
    head = [f"{'## ' if md else ''}crossnet diff: stack {r.stack} against {r.baseline}"]
    if md:
        head.append("")
    head += [f"{'> ' if md else ''}{c}" for c in r.caveats]
    if r.caveats and md:
        head.append("")
    if not r.changed:
        return (
            "\n".join(head).rstrip("\n") + "\nno changes: the proposed plan is the applied one.\n"
        )
    head.append(
        f"{len(r.facts)} address-plan change(s); resources: {counts['create']} to "
        f"create, {counts['update']} to update, {counts['replace']} to REPLACE, "
        f"{counts['delete']} to delete; routers to reconfigure: " + (", ".join(r.routers) or "none")
    )
    head.append("")
    for i in r.impacts:
        if i.loud:
            head += _banner(i, fmt)
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
    render = render_markdown if md else render_text
    body = render(tables)
    tail: list[str] = []
    if r.router_diffs or r.notes:
        title = "Router config diffs (keys redacted)"
        tail += ["", f"### {title}" if md else title, "" if md else "-" * len(title)]
        tail += r.notes
        if r.router_diffs:
            tail.append(PLACEHOLDER_NOTE)
            paths = [
                f"{i.subject} ({', '.join(i.routers)}): the diff shows {i.config_path}"
                for i in r.impacts
                if i.config_path
            ]
            tail += [f"- {p}" if md else p for p in paths]
        for key, text in r.router_diffs.items():
            tail += [
                "",
                f"#### {key}" if md else f"== {key} ==",
                "```diff" if md else "",
                text.rstrip("\n"),
                "```" if md else "",
            ]
    return "\n".join(head) + "\n" + body + "\n".join(tail) + ("\n" if tail else "")


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


def render_rules(fmt: str = "text") -> str:
    """`crossnet diff --rules`: one block per resource type (a table is too wide)."""
    md = fmt == "markdown"
    out = [
        ("## " if md else "")
        + "Replace-on-change inputs, read for "
        + provider_text(CHECKED_UPSTREAM),
        "",
        PROVIDER_EVIDENCE,
        "",
    ]
    for t, r in REPLACE_ON_CHANGE.items():
        out.append(f"### `{t}`" if md else t)
        lines = [f"replace: {', '.join(r.props)}"]
        lines += [f"{props}: {text}" for props, text in _older(r)]
        lines.append(f"source ({'read here' if r.checked else 'not re-read'}): {r.source}")
        if r.note:
            lines.append(f"note: {r.note}")
        out += [f"- {x}" if md else f"  {x}" for x in lines]
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"
