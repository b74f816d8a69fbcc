"""What `crossnet rollout --push-step N --phase P` sends to each real router: the plan.

Pure: no SSH here (network/rollout/push_exec.py sends it). A phase's routers are the
step's own list for it in rollout.json (`drain`, `dc.routers`, `restore`); each is
rendered as the phase leaves it (drain and routers: the step's drained tunnels; restore:
none) from the stack outputs AWS holds now (`--outputs FILE` after the step's `pulumi
up`), then compared with what the router runs:

- Linux (strongSwan + FRR): the rendered files whose text differs from the router's
  own copy are written (0600, temp file + rename), then `swanctl --load-all` when a
  strongSwan file changed and `frr-reload.py --reload` when frr.conf did; no daemon is
  restarted.
- IOS-XE, Junos, VyOS, FortiOS: hier_config's remediation from the running config to
  the render (network.devices.drift, as `crossnet drift`), sent with netmiko's
  `send_config_set`, then the platform's commit. Devices keep keys encrypted, so keys
  are compared masked; a key line is sent only where the phase's planned diff changes
  it (a rotation), with its real key.

Everything printed goes through `shown()`: keys are redacted.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from network.contract import Router
from network.errors import Problem

PHASES = ("drain", "routers", "restore")
WHEN = {"drain": "after-drain", "routers": "after-change", "restore": "after-restore"}  # checks
# Where a rendered Linux file lives on the router (an inventory entry can override each).
LINUX_PATHS = {
    "swanctl_dir": "/etc/swanctl",  # swanctl.conf, conf.d/<tunnel>.conf
    "strongswan_dir": "/etc/strongswan.d",  # strongswan.d/crossnet.conf
    "frr_conf": "/etc/frr/frr.conf",
    "scripts_dir": "/etc/crossnet",  # crossnet-tunnels.sh, crossnet-updown.sh
}
FRR_RELOAD = "/usr/lib/frr/frr-reload.py"
INITIATE_TIMEOUT = 20  # s: swanctl --initiate of a tunnel negotiated afresh
COMMIT: dict[str, tuple[str, ...]] = {
    "iosxe": (),
    "junos": ("commit",),
    "vyos": ("commit", "save"),
    "fortios": (),  # each `end` applies
}
# After a drain or restore: the platform's soft clear of each drained tunnel's neighbour
# (a changed route-map is otherwise not applied to what was already received or sent;
# Junos re-evaluates its policies on commit). As docs/rollout.md's per-platform diffs.
SOFT_CLEAR: dict[str, tuple[str, ...]] = {
    "iosxe": ("clear ip bgp {n} soft in", "clear ip bgp {n} soft out"),
    "junos": (),
    "vyos": ("reset ip bgp {n} soft",),
    "fortios": ("execute router clear bgp ip {n} soft",),
}
_MARK = "REDACTED"
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")
_IOS_TYPE = re.compile(r"(pre-shared-key(?: local| remote)?) [067] REDACTED")
_CLOSERS = ("exit-address-family", "exit", "exit-vrf", "end", "next", "!")


@dataclass(frozen=True)
class RouterPush:
    """One router's part of a phase. `lines` (vendor) or `files` (Linux: remote path ->
    text) hold the real keys; `secrets` are those keys, for redaction."""

    router: str
    platform: str
    lines: tuple[str, ...] = ()
    commit: tuple[str, ...] = ()
    files: dict[str, str] = field(default_factory=dict)
    commands: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.lines or self.files or self.commands)

    def shown(self) -> str:
        """What is sent, keys redacted."""
        out: list[str] = []
        if self.lines:
            out += ["config lines (netmiko send_config_set):", *self.lines]
            out += [f"then: {c}" for c in self.commit]
        for path in sorted(self.files):
            out.append(f"write {path} (0600, temp file + rename)")
        out += [f"run: {c}" for c in self.commands]
        return redact("\n".join(out) or "nothing differs: nothing sent", self.secrets)


def redact(text: str, secrets: Sequence[str]) -> str:
    for s in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(s, _MARK)
    return text


def phase_entries(step: Mapping[str, Any], phase: str) -> list[dict[str, Any]]:
    """The step's router changes of `phase`, as rollout.json lists them."""
    if phase == "routers":
        got = (step.get("dc") or {}).get("routers") or []
    else:
        got = step.get(phase) or []
    return [r for r in got if isinstance(r, dict)]


def drained_for(step: Mapping[str, Any], phase: str) -> frozenset[str]:
    return frozenset() if phase == "restore" else frozenset(step.get("drained") or [])


def phase_problems(step: Mapping[str, Any], phase: str, inv: Mapping[str, Any]) -> list[Problem]:
    """Why this phase cannot be pushed (exit 2): no such phase, none in this step, or a
    router the inventory does not name."""
    if phase not in PHASES:
        return [Problem("--phase", phase, f"one of {', '.join(PHASES)}")]
    entries = phase_entries(step, phase)
    if not entries:
        n = step.get("step")
        return [Problem("--phase", phase, f"step {n} has no {phase} phase on the routers")]
    from network.rollout.verify import selected

    routers = inv.get("routers") or {}
    pushed = {str(e.get("router")) for e in entries}
    checked = {str(c.get("router")) for c in selected(step, WHEN[phase])} - pushed
    return [
        Problem(f"routers.{k}", "missing", f"the step's {phase} changes it")
        for k in sorted(pushed - set(routers))
    ] + [
        Problem(f"routers.{k}", "missing", f"a check after the {phase} reads it")
        for k in sorted(checked - set(routers))
    ]


def _secrets(router: Router) -> tuple[str, ...]:
    return tuple(t.psk.reveal() for c in router.connections for t in c.tunnels)


def linux_path(name: str, entry: Mapping[str, Any]) -> str:
    """The remote path of a rendered Linux file."""
    paths = {k: str(entry.get(k, v)) for k, v in LINUX_PATHS.items()}
    if name == "frr.conf":
        return paths["frr_conf"]
    if name.startswith("strongswan.d/"):
        return f"{paths['strongswan_dir']}/{name.split('/', 1)[1]}"
    if name.endswith(".sh"):
        return f"{paths['scripts_dir']}/{name}"
    return f"{paths['swanctl_dir']}/{name}"


def linux_push(
    router: Router,
    files: Mapping[str, str],
    remote: Mapping[str, str | None],
    entry: Mapping[str, Any],
    phase: str,
) -> RouterPush:
    """The files whose remote copy (`remote`: path -> text, None when absent) differs,
    and the reloads they need: strongSwan through swanctl, FRR through frr-reload.py."""
    sudo = str(entry.get("sudo", ""))
    pre = f"{sudo} " if sudo else ""
    write = {}
    for name, text in sorted(files.items()):
        path = linux_path(name, entry)
        if remote.get(path) != text:
            write[path] = text
    names = {n for n in files if linux_path(n, entry) in write}
    ids = {
        f"{c.name}-{t.number}": f"{c.name}/{t.number}"
        for c in router.connections
        for t in c.tunnels
    }
    cmds = _swanctl(ids, names, files, remote, entry, pre)
    if "crossnet-tunnels.sh" in names:
        cmds.append(f"{pre}sh {linux_path('crossnet-tunnels.sh', entry)}")
    if "frr.conf" in names:
        reload = str(entry.get("frr_reload", f"{pre}{FRR_RELOAD}"))
        cmds.append(f"{reload} --reload {linux_path('frr.conf', entry)}")
        if phase in ("drain", "restore"):  # a changed route-map is re-read only on a clear
            vtysh = str(entry.get("vtysh", f"{pre}vtysh"))
            cmds.append(f"{vtysh} -c 'clear bgp ipv4 unicast * soft'")
    return RouterPush(
        router.key, "linux", files=write, commands=tuple(cmds), secrets=_secrets(router)
    )


def added_lines(diff: str) -> dict[int, str]:
    """The added lines of a unified diff, by their 0-based line number in the new file."""
    out: dict[int, str] = {}
    n = 0
    for line in diff.splitlines():
        m = _HUNK.match(line)
        if m:
            n = int(m[1]) - 1
        elif line.startswith(("+++", "---")):
            continue
        elif line.startswith("+"):
            out[n] = line[1:]
            n += 1
        elif not line.startswith("-"):
            n += 1
    return out


def _masked(platform: str, text: str) -> str:
    """Keys masked, and IOS-XE's key type (`6`: encrypted) with them: the device shows
    `pre-shared-key 6 <ciphertext>` for what was configured as `pre-shared-key <key>`."""
    from network.devices.drift import mask_keys

    return _IOS_TYPE.sub(r"\1 REDACTED", mask_keys(platform, text))


def _swanctl(
    ids: Mapping[str, str],
    names: set[str],
    files: Mapping[str, str],
    remote: Mapping[str, str | None],
    entry: Mapping[str, Any],
    pre: str,
) -> list[str]:
    """strongSwan's reload of the changed files: `swanctl --load-all` (each tunnel's file
    into its own charon where the entry's `tunnels` name one per tunnel, as the lab's),
    then a tunnel whose key, addresses or selectors changed negotiated afresh (terminate,
    initiate: that tunnel only, never the daemon; proposals and timers need not)."""
    from network.lab.live import needs_renegotiation

    tunnels = entry.get("tunnels") or {}
    swanctl = str(entry.get("swanctl", f"{pre}swanctl"))
    cmds: list[str] = []
    whole = False
    for name in sorted(n for n in names if n.startswith("conf.d/")):
        t = name[len("conf.d/") : -len(".conf")]
        spec = tunnels.get(t) or tunnels.get(ids.get(t, ""))  # `conn-N` or `conn/N`
        cmd, uri = (str(spec["swanctl"]), f" --uri {spec['uri']}") if spec else (swanctl, "")
        if spec:
            cmds.append(f"{cmd} --load-all --file {linux_path(name, entry)}{uri}")
        else:
            whole = True
        if needs_renegotiation(remote.get(linux_path(name, entry)) or "", files[name]):
            cmds += [
                f"{cmd} --terminate --ike {t}{uri}",
                f"{cmd} --initiate --child {t} --timeout {INITIATE_TIMEOUT}{uri}",
            ]
    if whole or names & {"swanctl.conf", "strongswan.d/crossnet.conf"}:
        conf = f"{LINUX_PATHS['swanctl_dir']}/swanctl.conf"
        path = linux_path("swanctl.conf", entry)
        load = f"{swanctl} --load-all" + (f" --file {path}" if path != conf else "")
        cmds.insert(0, load)  # loaded before any tunnel is negotiated afresh
    return cmds


def _changed_key_lines(platform: str, rendered: str, diff: str) -> set[int]:
    """The rendered lines holding a key the phase's planned (redacted) diff adds: same
    line number in the new file, same line with the key masked."""
    added = added_lines(diff)
    out = set()
    for i, line in enumerate(rendered.splitlines()):
        masked = _masked(platform, line)
        if masked != line and i in added and _masked(platform, added[i]) == masked:
            out.add(i)
    return out


def vendor_lines(router: Router, rendered: str, running: str, diff: str) -> tuple[str, ...]:
    """hier_config's remediation from `running` to `rendered` (drift's scope), keys
    masked on both sides except the key lines the planned `diff` changes (sent with
    their real key; a device's encrypted old key is never negated: the new line
    replaces it). Sections left with nothing to change are left out."""
    from network.devices.drift import config_drift, crossnet_names

    p = router.platform
    keep = _changed_key_lines(p, rendered, diff)
    target = "\n".join(
        ln if i in keep else _masked(p, ln) for i, ln in enumerate(rendered.splitlines())
    )
    d = config_drift(router.key, p, target, _masked(p, running), crossnet_names(router), mask=False)
    lines = [ln for ln in d.remediation if ln.strip()]
    kept = prune(lines, [_MARK not in ln for ln in lines], same_depth_closers=p == "fortios")
    if p == "vyos":
        return whole_deletes(kept, _masked(p, running), target)
    if p == "fortios":
        return deletes_last(kept)
    if p != "iosxe":
        return kept  # a commit applies the whole candidate at once
    # IOS-XE applies each line as sent: an object goes once nothing refers to it (a
    # neighbour's route-map reference before the route-map itself).
    gone = tuple(ln for ln in kept if ln.startswith("no "))
    return tuple(ln for ln in kept if not ln.startswith("no ")) + gone


def _words(line: str) -> tuple[str, ...]:
    """A set/delete line's words, a quoted value kept whole."""
    import shlex

    lexer = shlex.shlex(line, posix=False)
    lexer.whitespace_split = True
    lexer.commenters = ""
    return tuple(lexer)


def whole_deletes(lines: tuple[str, ...], running: str, target: str) -> tuple[str, ...]:
    """VyOS: leaf deletes folded into one `delete` of the shortest path (two words at
    least: never a top-level node) all of whose running lines go and that the target
    does not keep. Deleting a leaf leaves its parent node (an emptied `policy route-map
    X rule 10` stays, and a route-map rule without an action is not what was rendered)."""
    run = [_words(ln)[1:] for ln in running.splitlines() if ln.startswith("set ")]
    keep = [_words(ln)[1:] for ln in target.splitlines() if ln.startswith("set ")]
    gone = {_words(ln)[1:] for ln in lines if ln.startswith("delete ")}
    out: list[str] = []
    for ln in lines:
        path = _words(ln)[1:] if ln.startswith("delete ") else ()
        for k in range(2, len(path)):  # never a top-level node (`delete policy`)
            pre = path[:k]
            under = [r for r in run if r[:k] == pre]
            if all(r in gone for r in under) and not any(t[:k] == pre for t in keep):
                ln = "delete " + " ".join(pre)
                break
        if ln not in out:
            out.append(ln)
    return tuple(out)


def deletes_last(lines: tuple[str, ...]) -> tuple[str, ...]:
    """FortiOS applies each block at its `end` and refuses to delete an entry something
    still names (a route-map a neighbour uses): every `delete`, under its own headers,
    goes after all the other lines, which stop naming it first."""
    heads: list[str] = []
    moved: dict[tuple[str, ...], list[str]] = {}
    rest: list[str] = []
    for ln in lines:
        d = _depth(ln)
        heads = [h for h in heads if _depth(h) < d]
        if ln.strip().startswith("delete "):
            moved.setdefault(tuple(heads), []).append(ln)
            continue
        rest.append(ln)
        if ln.strip().startswith(("config ", "edit ")):
            heads.append(ln)
    if not moved:
        return lines
    leaf = [not ln.strip().startswith(("config ", "edit ")) for ln in rest]
    out = list(prune(rest, leaf, same_depth_closers=True))
    for path, dels in moved.items():
        out += [*path, *dels]
        out += [h[: _depth(h)] + ("end" if "config " in h else "next") for h in reversed(path)]
    return tuple(out)


def _depth(line: str) -> int:
    return len(line) - len(line.lstrip())


def prune(
    lines: list[str], wanted: list[bool], same_depth_closers: bool = False
) -> tuple[str, ...]:
    """`lines` (indented by section) without the unwanted ones and the section headers
    left without a wanted line under them; a closer (`exit-address-family`; FortiOS's
    `next`/`end`, at its header's depth) goes with its section."""
    n = len(lines)
    keep = [False] * n
    closer = [ln.strip() in _CLOSERS for ln in lines]
    for i in reversed(range(n)):
        if closer[i]:
            continue
        d = _depth(lines[i])
        j = i + 1
        kids = []
        while j < n and (_depth(lines[j]) > d):
            if not closer[j]:
                kids.append(j)
            j += 1
        keep[i] = any(keep[k] for k in kids) if kids else wanted[i]
    for i in range(n):
        if closer[i]:
            d = _depth(lines[i]) - (0 if same_depth_closers else 1)
            owner = next(
                (k for k in range(i - 1, -1, -1) if not closer[k] and _depth(lines[k]) <= d), None
            )
            keep[i] = owner is not None and keep[owner]
    return tuple(ln for ln, k in zip(lines, keep, strict=True) if k)


def soft_clears(router: Router, drained: frozenset[str], phase: str) -> tuple[str, ...]:
    """The drained tunnels' soft clears after a drain or a restore (BGP neighbours only)."""
    if phase == "routers":
        return ()
    return tuple(
        cmd.format(n=t.aws_inside_ip)
        for c in router.connections
        if c.routing == "bgp"
        for t in c.tunnels
        if f"{c.name}-{t.number}" in drained
        for cmd in SOFT_CLEAR[router.platform]
    )


def vendor_push(
    router: Router, rendered: str, running: str, diff: str, drained: frozenset[str], phase: str
) -> RouterPush:
    """The lines to send, the commit, and (after a drain or restore) the soft clears of
    the step's drained tunnels (`drained`: the step's, whatever the phase)."""
    lines = vendor_lines(router, rendered, running, diff)
    commit = COMMIT[router.platform] if lines else ()
    clears = soft_clears(router, drained, phase) if lines else ()
    return RouterPush(
        router.key,
        router.platform,
        lines=lines,
        commit=commit,
        commands=clears,
        secrets=_secrets(router),
    )


def planned_diff(entries: Sequence[Mapping[str, Any]], router: str) -> str:
    return "\n".join(str(e.get("diff", "")) for e in entries if e.get("router") == router)
