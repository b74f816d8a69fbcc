"""What a network engineer reviews before `pulumi up` (pure, except `diagram`).

* `report`: the address plan as tables, and what is free in each supernet.
* `snapshot`: a secret-free JSON summary of a plan, stored by every apply.
* `resources`: the AWS resources a snapshot implies, as the guardrails and the
  diff see them (no Pulumi run needed).
* `guardrails`: the CrossGuard rules as pure functions (`policy/` wraps them).
* `replacements`: which property changes replace a resource, with sources.
* `baseline`: the applied side of a diff, read from files (applied.json, outputs).
* `changes`: address-plan facts and resources that differ between two snapshots.
* `impacts`: what those changes mean for the routers, with a safe order.
* `compare`: `diff_snapshots` -> `DiffReport`, and the router config diffs (`rollout`
  reuses it).
* `diff`: a `DiffReport` presented (text, Markdown), and the replace-on-change rules;
  re-exports the computation's names.
* `tables`: tables as data, rendered by `network.console` (rich) or as Markdown.
* `estimate`: monthly cost and bulk-transfer time from a dated price table.
* `diagram`: the topology as SVG, laid out by Graphviz.
* `cli`: the `plan`, `diff`, `diagram`, `estimate` and `guardrails` commands.
"""
