"""The configuration sessions of the fake VyOS and FortiOS routers (fake_device.py).

Each keeps a running config that the pushed lines really change, as the real CLIs do:

- VyOS (Vyatta's tree): `configure` copies the running config into a candidate (`[edit]`
  prompt `vyos@host# `); `set P` adds the path (a single-value leaf's value replaced, a
  list leaf's added), `delete P` removes the node and its subtree while the parent stays
  (an emptied tag node still shows); `commit` makes the candidate running, refused when a
  BGP neighbour names a route-map or prefix-list that does not exist; `save`; `exit`
  refuses while the candidate differs (`exit discard` drops it). `show configuration
  commands` prints every leaf and childless node as a `set` line.
- FortiOS: `config <table>` / `edit <entry>` / `set` / `unset` / `delete` / `next` /
  `end` nesting, prompts `host (table) # `; no commit: a top-level block is applied at
  its `end` (`abort` drops it). A `set` naming a route-map or prefix-list that does not
  exist is refused (`entry not found in datasource`), and so is deleting one that is
  still named somewhere (`The entry is used by other 1 entries`). `show` prints the tree
  (an empty table, a default, not at all).

`refuse`: a line containing it is refused with the platform's error (a device that
does not take one of the pushed lines).
"""

from __future__ import annotations

import copy
import shlex
from dataclasses import dataclass, field

# VyOS leaves that hold a list of values (`set` adds one); every other leaf holds one.
VYOS_LISTS = frozenset({"id", "address", "member", "network"})
# BGP references a VyOS commit checks: the word after the neighbour's keyword -> the policy.
VYOS_REFS = {"route-map": "route-map", "prefix-list": "prefix-list"}


def _words(line: str) -> list[str]:
    """A command's words, a quoted value kept whole with its quotes."""
    lexer = shlex.shlex(line, posix=False)
    lexer.whitespace_split = True
    lexer.commenters = ""
    return list(lexer)


Tree = dict[str, "Tree"]


class Vyos:
    """A VyOS configuration: running, and the candidate of an open `configure`."""

    def __init__(self, text: str, refuse: str = "") -> None:
        self.running: Tree = {}
        self.candidate: Tree | None = None
        self.refuse = refuse
        for line in text.splitlines():
            if line.startswith("set "):
                self._set(self.running, _words(line)[1:])

    def configure(self) -> None:
        """`configure`: a candidate copied from the running config."""
        self.candidate = copy.deepcopy(self.running)

    @staticmethod
    def _set(tree: Tree, path: list[str]) -> None:
        node = tree
        for i, w in enumerate(path):
            if w.startswith("'") and i == len(path) - 1 and path[i - 1] not in VYOS_LISTS:
                node.clear()  # a single-value leaf: the new value replaces the old
            node = node.setdefault(w, {})

    def show(self) -> str:
        """`show configuration commands`."""
        out: list[str] = []

        def walk(node: Tree, path: list[str]) -> None:
            if not node and path:
                out.append("set " + " ".join(path))
            for w, child in node.items():
                walk(child, [*path, w])

        walk(self.running, [])
        return "\n".join(out)

    def command(self, line: str) -> tuple[str, bool]:
        """A line typed in configuration mode: (the answer, still in configuration mode)."""
        assert self.candidate is not None
        words = _words(line)
        cmd = " ".join(words)
        if self.refuse and self.refuse in line:
            return (
                f"\n  Configuration path: [{' '.join(words[1:])}] is not valid\n  Set failed\n",
                True,
            )
        if words and words[0] == "set" and len(words) > 1:
            self._set(self.candidate, words[1:])
            return "", True
        if words and words[0] == "delete" and len(words) > 1:
            return self._delete(words[1:]), True
        if cmd == "commit":
            return self._commit(), True
        if cmd == "save":
            return "Saving configuration to '/config/config.boot'...\nDone", True
        if cmd == "exit discard":
            self.candidate = None
            return "exit", False
        if cmd == "exit":
            if self.candidate != self.running:
                return (
                    "Cannot exit: configuration modified.\n"
                    "Use 'exit discard' to discard the changes and exit."
                ), True
            self.candidate = None
            return "exit", False
        return f"\n  Invalid command: [{cmd}]\n", True

    def _delete(self, path: list[str]) -> str:
        assert self.candidate is not None
        parents = [self.candidate]
        for w in path:
            if w not in parents[-1]:
                what = "value" if w.startswith("'") else "node"
                return f"\n  Nothing to delete (the specified {what} does not exist)\n"
            parents.append(parents[-1][w])
        del parents[-2][path[-1]]
        if path[-1].startswith("'") and not parents[-2] and len(path) > 1:
            del parents[-3][path[-2]]  # a leaf without a value is gone; a tag node stays
        return ""

    def _commit(self) -> str:
        assert self.candidate is not None
        if self.candidate == self.running:
            return "No configuration changes to commit"
        missing = sorted(self._dangling(self.candidate))
        if missing:
            why = "\n".join(f'{kind} "{name}" does not exist!' for kind, name in missing)
            return f"\n[ protocols bgp ]\n{why}\n\n[[protocols bgp]] failed\nCommit failed"
        self.running = copy.deepcopy(self.candidate)
        return ""

    @staticmethod
    def _dangling(tree: Tree) -> set[tuple[str, str]]:
        policy = tree.get("policy", {})
        out: set[tuple[str, str]] = set()
        for nb in tree.get("protocols", {}).get("bgp", {}).get("neighbor", {}).values():
            for af in nb.get("address-family", {}).values():
                for word, kind in VYOS_REFS.items():
                    for name in (n for d in af.get(word, {}).values() for n in d):
                        if name.strip("'") not in policy.get(kind, {}):
                            out.add((kind.capitalize(), name.strip("'")))
        return out


@dataclass
class Block:
    """A FortiOS table (`config X`) or entry (`edit N`): its settings and sub-blocks."""

    settings: dict[str, str] = field(default_factory=dict)
    blocks: dict[str, Block] = field(default_factory=dict)


# FortiOS settings that name another table's entry (a datasource): key -> table.
FORTIOS_REFS = {
    "route-map-in": "config router route-map",
    "route-map-out": "config router route-map",
    "prefix-list-in": "config router prefix-list",
    "prefix-list-out": "config router prefix-list",
    "match-ip-address": "config router prefix-list",
}
FORTIOS_FAIL = "Command fail. Return code"


def _unquote(value: str) -> str:
    return value.strip().strip('"')


class Fortios:
    """A FortiOS configuration and the open block of a session (one session at a time)."""

    def __init__(self, text: str, hostname: str, refuse: str = "") -> None:
        self.root = Block()
        self.hostname = hostname
        self.refuse = refuse
        self.stack: list[tuple[str, Block]] = []  # the open blocks: the top one a copy
        self._top = ""
        stack = [self.root]
        for line in text.splitlines():
            s = line.strip()
            if not s or s.startswith("#"):
                continue
            if s.startswith(("config ", "edit ")):
                stack.append(stack[-1].blocks.setdefault(s, Block()))
            elif s in ("next", "end"):
                stack.pop()
            elif s.startswith("set "):
                k, _, v = s[4:].partition(" ")
                stack[-1].settings[k] = v
            elif s.startswith("unset "):
                stack[-1].settings.pop(s.split()[1], None)

    def prompt(self) -> str:
        if not self.stack:
            return f"{self.hostname} # "
        head = self.stack[-1][0]
        name = _unquote(head[5:]) if head.startswith("edit ") else head.split()[-1]
        return f"{self.hostname} ({name}) # "

    def show(self) -> str:
        out: list[str] = []

        def walk(b: Block, depth: int) -> None:
            pad = "    " * depth
            out.extend(f"{pad}set {k} {v}" for k, v in b.settings.items())
            for head, child in b.blocks.items():
                if head.startswith("config ") and not (child.settings or child.blocks):
                    continue  # an empty table is the default: `show` prints none
                out.append(pad + head)
                walk(child, depth + 1)
                out.append(pad + ("end" if head.startswith("config ") else "next"))

        walk(self.root, 0)
        return "\n".join(out)

    def is_config(self, line: str) -> bool:
        s = line.strip()
        return bool(self.stack) or s.startswith("config ")

    def command(self, line: str) -> str:
        """A configuration line: the device's answer ("" when taken)."""
        s = line.strip()
        if self.refuse and self.refuse in s:
            return f"command parse error before '{s.split()[-1]}'\n{FORTIOS_FAIL} -61"
        if s.startswith("config "):
            if not self.stack:
                self._top = s
                current = self.root.blocks.get(s, Block())
                self.stack.append((s, copy.deepcopy(current)))
            else:
                self.stack.append((s, self.stack[-1][1].blocks.setdefault(s, Block())))
            return ""
        if not self.stack:
            return f"command parse error before '{s.split()[0] if s else ''}'\n{FORTIOS_FAIL} -61"
        head, block = self.stack[-1]
        if s == "abort":
            self.stack.clear()
            return ""
        if s in ("end", "next"):
            if (s == "end") != head.startswith("config "):
                return f"command parse error before '{s}'\n{FORTIOS_FAIL} -61"
            self.stack.pop()
            if not self.stack:
                self.root.blocks[self._top] = block  # applied at its end
            return ""
        return self._change(s, block)

    def _change(self, s: str, block: Block) -> str:
        verb, _, rest = s.partition(" ")
        if verb == "edit":
            self.stack.append((s, block.blocks.setdefault(s, Block())))
            return ""
        if verb == "set":
            key, _, value = rest.partition(" ")
            table = FORTIOS_REFS.get(key)
            if table and _unquote(value) not in self._entries(table):
                return (
                    "entry not found in datasource\n\n"
                    f"value parse error before '{value}'\n{FORTIOS_FAIL} -3"
                )
            block.settings[key] = value
            return ""
        if verb == "unset":
            block.settings.pop(rest.strip(), None)
            return ""
        if verb == "delete":
            name = _unquote(rest)
            table = self.stack[-1][0]
            if table in FORTIOS_REFS.values() and len(self.stack) == 1 and self._used(table, name):
                return f"The entry is used by other 1 entries\n{FORTIOS_FAIL} -23"
            block.blocks.pop(f"edit {rest.strip()}", None)
            return ""
        return f"command parse error before '{verb}'\n{FORTIOS_FAIL} -61"

    def _view(self) -> Block:
        """The config as this session sees it: running, with the open block's changes."""
        if not self.stack:
            return self.root
        view = Block(self.root.settings, dict(self.root.blocks))
        view.blocks[self._top] = self.stack[0][1]
        return view

    def _entries(self, table: str) -> set[str]:
        t = self._view().blocks.get(table, Block())
        return {_unquote(h[5:]) for h in t.blocks if h.startswith("edit ")}

    def _used(self, table: str, name: str) -> bool:
        def refs(b: Block) -> bool:
            if any(
                FORTIOS_REFS.get(k) == table and _unquote(v) == name for k, v in b.settings.items()
            ):
                return True
            return any(refs(c) for c in b.blocks.values())

        return refs(self._view())
