"""The offline stack's state across applies: what Pulumi's engine keeps in a stack (pure).

`.crossnet/<stack>/state.json` (the directory 0700, the file 0600, created
private and replaced atomically) holds, per resource URN, what the engine's
checkpoint holds: the type, the ID, the inputs and the outputs, in plain text
(a real stack encrypts its secrets; this file is private instead: it holds the
pre-shared keys). It also holds what the emulator needs to re-create the same
world before the next apply: the region and the resources each one refers to.

The file is JSON that crossnet reads and checks, never a pickle of moto's
backends: loading a pickle runs whatever code the file names, so a tampered
state file would be code execution (docs/state.md has the measurements).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from network.errors import ConfigError, CrossnetError, Problem
from network.state import PROJECT_DIR, state_dir

STATE_VERSION = 1
STATE_FILE = "state.json"
ACTIONS = ("create", "update", "replace", "delete", "same")
_RESOURCE_KEYS = ("urn", "type", "name", "id", "region", "inputs", "outputs")


@dataclass
class StateResource:
    """One resource as the last apply left it (inputs and outputs in plain text)."""

    urn: str
    type: str
    name: str
    id: str
    region: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    secret_inputs: list[str] = field(default_factory=list)
    parent: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "id": self.id,
            "region": self.region,
            "parent": self.parent,
            "inputs": self.inputs,
            "outputs": self.outputs,
            "secretInputs": sorted(self.secret_inputs),
        }


@dataclass
class StackState:
    """Every resource of the stack, in the order the emulator can re-create them."""

    stack: str
    resources: list[StateResource] = field(default_factory=list)
    fingerprint: str = ""  # of everything the program's declarations follow from
    outputs_digest: str = ""  # sha256 of the outputs file this apply wrote

    def by_key(self) -> dict[tuple[str, str], StateResource]:
        return {(r.type, r.name): r for r in self.resources}

    def to_text(self) -> str:
        data = {
            "stateVersion": STATE_VERSION,
            "stack": self.stack,
            "fingerprint": self.fingerprint,
            "outputsDigest": self.outputs_digest,
            "resources": [r.to_json() for r in self.resources],
        }
        return json.dumps(data, indent=2, sort_keys=True) + "\n"


@dataclass(frozen=True)
class Change:
    """What the apply did to one resource, as `pulumi up` lists it."""

    action: str  # one of ACTIONS
    type: str
    name: str
    props: tuple[str, ...] = ()  # the inputs that differ (names only: values may be secret)
    old_id: str = ""
    new_id: str = ""


def state_path(directory: Path) -> Path:
    return directory / STATE_FILE


def _problem(path: Path, where: str, value: str, rule: str) -> ConfigError:
    return ConfigError(str(path), [Problem(where, value, rule)])


def _resource(path: Path, index: int, raw: Any) -> StateResource:
    where = f"resources[{index}]"
    if not isinstance(raw, dict):
        raise _problem(path, where, type(raw).__name__, "each resource is a JSON object")
    missing = [k for k in _RESOURCE_KEYS if k not in raw]
    if missing:
        raise _problem(path, where, ", ".join(missing), "missing from the resource")
    for k in ("urn", "type", "name", "id", "region"):
        if not isinstance(raw[k], str):
            raise _problem(path, f"{where}.{k}", type(raw[k]).__name__, "a string")
    for k in ("inputs", "outputs"):
        if not isinstance(raw[k], dict):
            raise _problem(path, f"{where}.{k}", type(raw[k]).__name__, "a JSON object")
    return StateResource(
        raw["urn"],
        raw["type"],
        raw["name"],
        raw["id"],
        raw["region"],
        raw["inputs"],
        raw["outputs"],
        [str(x) for x in raw.get("secretInputs", [])],
        str(raw.get("parent", "")),
    )


def load_state(path: Path, stack: str) -> StackState | None:
    """The stack's state, or None when nothing was applied yet.

    A file that cannot be read, is not JSON, or does not have the shape written
    here is a ConfigError (exit 2) naming the file and what is wrong.
    """
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise _problem(path, "(file)", type(e).__name__, f"unreadable: {e.strerror}") from None
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise _problem(path, "(file)", "not JSON", f"{e}; run `crossnet up --fresh`") from None
    if not isinstance(data, dict):
        raise _problem(path, "(file)", type(data).__name__, "the state is one JSON object")
    if data.get("stateVersion") != STATE_VERSION:
        raise _problem(
            path,
            "stateVersion",
            str(data.get("stateVersion")),
            f"this crossnet reads {STATE_VERSION}",
        )
    if data.get("stack") != stack:
        raise _problem(path, "stack", str(data.get("stack")), f"the state of stack {stack!r}")
    raw = data.get("resources")
    if not isinstance(raw, list):
        raise _problem(path, "resources", type(raw).__name__, "a list of resources")
    resources = [_resource(path, i, r) for i, r in enumerate(raw)]
    seen: set[tuple[str, str]] = set()
    for i, r in enumerate(resources):
        if (r.type, r.name) in seen:
            raise _problem(path, f"resources[{i}]", r.urn, "each resource appears once")
        seen.add((r.type, r.name))
    return StackState(
        stack, resources, str(data.get("fingerprint", "")), str(data.get("outputsDigest", ""))
    )


def write_atomic(path: Path, text: str) -> None:
    """Write a private file so that a crash at any point leaves the old one or the new one.

    The temporary file is created 0600 (mkstemp) beside the target, written,
    fsync'ed, renamed over it (os.replace is atomic on POSIX), and the
    directory is fsync'ed so that the rename itself survives a power cut.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class StackLockedError(CrossnetError):
    """Another apply holds the stack (Pulumi: "the stack is currently locked")."""

    def __init__(self, directory: Path):
        super().__init__(
            f"another `crossnet up` is applying the stack in {directory}: wait for it to "
            "finish (nothing was written)"
        )


@contextmanager
def stack_lock(directory: Path) -> Iterator[None]:
    """Hold the stack's directory for one apply, as the Pulumi backend locks a stack
    during an update; a second apply meanwhile is refused, not interleaved. The
    lock is on the directory itself (flock), so it writes no file; a stack with no
    directory yet has no state to lose."""
    if not directory.is_dir():
        yield
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StackLockedError(directory) from None
        yield
    finally:
        os.close(fd)  # releases the lock


def references(r: StateResource, ids: Mapping[str, str]) -> set[str]:
    """The other resources (by URN) whose IDs appear in `r`'s inputs."""
    found: set[str] = set()

    def walk(v: Any) -> None:
        if isinstance(v, str):
            urn = ids.get(v)
            if urn is not None and urn != r.urn:
                found.add(urn)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(r.inputs)
    return found


def dependency_order(resources: Iterable[StateResource]) -> list[StateResource]:
    """The resources with every one after those it refers to (stable otherwise)."""
    items = list(resources)
    # An ID is the resource's that does not name it among its inputs: a peering
    # accepter takes its connection's ID as its own. Placeholder IDs ("none" of
    # every password) stand for no resource.
    # A VPN connection also owns its TGW attachment, a VPC its main route table:
    # IDs among the outputs that it was not given.
    owners: dict[str, list[StateResource]] = {}
    for r in items:
        given = json.dumps(r.inputs)
        extra = [v for k, v in r.outputs.items() if k.endswith("Id") and isinstance(v, str)]
        for rid in dict.fromkeys([r.id, *extra]):
            if rid and rid != "none" and rid not in given:
                owners.setdefault(rid, []).append(r)
    ids = {rid: rs[0].urn for rid, rs in owners.items() if len(rs) == 1}
    deps = {r.urn: references(r, ids) for r in items}
    done: set[str] = set()
    out: list[StateResource] = []
    pending = items
    while pending:
        ready = [r for r in pending if deps[r.urn] <= done]
        if not ready:  # a cycle cannot come from a Pulumi program; keep the rest in order
            ready = pending[:1]
        for r in ready:
            done.add(r.urn)
            out.append(r)
        pending = [r for r in pending if r.urn not in done]
    return out


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def fingerprint(config: Mapping[str, Any], sources: Iterable[Path], versions: Iterable[str]) -> str:
    """A digest of everything the program's declarations follow from: the resolved
    stack config (secret values included, only as part of the digest), the
    program's source files, and the versions of the packages it runs on."""
    h = hashlib.sha256()
    h.update(json.dumps(config, sort_keys=True, default=str).encode())
    for path in sorted(sources):
        h.update(str(path).encode())
        h.update(path.read_bytes())
    for v in versions:
        h.update(v.encode())
    return h.hexdigest()


def counts(changes: Iterable[Change]) -> dict[str, int]:
    out = dict.fromkeys(ACTIONS, 0)
    for c in changes:
        out[c.action] += 1
    return out


# ---------------------------------------------------------------- the up-to-date check


def last_applied_plan(stack: str) -> dict[str, Any] | None:
    """The plan snapshot of the last offline apply of `stack`, if there is a readable one."""
    # (not state_dir(): that creates the directory, and a refused run writes nothing)
    path = state_dir(stack, create=False) / "applied.json"
    try:
        snap = json.loads(path.read_text()).get("plan")
    except (OSError, ValueError, AttributeError):
        return None
    return snap if isinstance(snap, dict) else None


_PACKAGES = ("pulumi", "pulumi_aws", "pulumi_random", "moto")


def program_fingerprint(config: Mapping[str, Any]) -> str:
    """The fingerprint of an apply of `config` with the program and packages installed here."""
    # The checkout's __main__.py when there is one (an installed crossnet runs
    # network.program itself), and every module of the installed package.
    package = Path(__file__).resolve().parent.parent
    main = PROJECT_DIR / "__main__.py"
    sources = [*([main] if main.is_file() else []), *package.rglob("*.py")]
    versions = []
    for name in _PACKAGES:
        try:
            versions.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} absent")
    return fingerprint(config, sources, versions)


@dataclass
class UpToDate:
    """An apply that would change nothing: same config, program, packages and outputs."""

    stack: str
    state: StackState
    outputs_file: Path
    state_file: Path

    @property
    def changes(self) -> list[Change]:
        return [Change("same", r.type, r.name, (), r.id, r.id) for r in self.state.resources]


def up_to_date(stack: str, config: Mapping[str, Any]) -> UpToDate | None:
    """The stack's state when applying `config` again can change nothing, else None.

    Pulumi's engine re-runs the program and finds every resource the same; the
    offline apply skips the run when nothing it follows from has changed: the
    resolved config (keys included, as a digest), every source file of the
    program, the versions of pulumi, pulumi-aws, pulumi-random and moto, and
    the outputs file the last apply wrote. A corrupted state file raises
    ConfigError, as it does for a full apply.
    """
    directory = state_dir(stack, create=False)
    state = load_state(state_path(directory), stack)
    outputs = directory / "outputs.json"
    if state is None or not state.fingerprint or not outputs.exists():
        return None
    try:
        current = digest(outputs.read_text())
    except (OSError, UnicodeDecodeError):
        return None
    if current != state.outputs_digest or program_fingerprint(config) != state.fingerprint:
        return None
    return UpToDate(stack, state, outputs, state_path(directory))
