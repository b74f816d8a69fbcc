"""The engine's side of an offline apply against a stack's previous state.

What Pulumi's engine does on `pulumi up`, for the resources the mocks see:
- before the program runs, the emulator is given back the world the state
  describes, with the same IDs, outside addresses and keys (`restore`);
- a resource whose inputs equal the state's is the same: its ID and outputs
  come from the state, and AWS is not called;
- a resource whose inputs differ is updated in place, unless one of the
  changed inputs forces a replacement (`network.review.replacements`, the
  table `crossnet diff` reads, or the resource's `replaceOnChanges`): then a
  new one is created, and the old one deleted at the end of the run
  (create-before-delete), or first with `deleteBeforeReplace`;
- a resource in the state that the program no longer declares is deleted at
  the end, after every create and update, dependents first.

An in-place update calls what the AWS provider calls (ModifyVpnTunnelOptions
tunnel by tunnel, ModifyVpnConnection, ReplaceRoute, ...); a change with no
emulated update is an error, never a silent success.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import moto.ec2.utils as moto_utils

from network.offline.aws.model import ALLOCATOR
from network.offline.stack_state import Change, StackState, StateResource, dependency_order
from network.review.replacements import provider_upstream, replaces

if TYPE_CHECKING:
    from network.offline.mocks import MotoMocks

Handler = Callable[[dict[str, Any], str, str], tuple[str, dict[str, Any]]]
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"
VPN = "aws:ec2/vpnConnection:VpnConnection"
_TAGS = ("tags", "tagsAll")


class LifecycleError(Exception):
    """An update or delete the emulator cannot do (AWS refused, or it is not emulated)."""


@dataclass(frozen=True)
class Options:
    """The resource options the engine reads when it plans a replacement."""

    delete_before_replace: bool = False
    replace_on_changes: tuple[str, ...] = ()


@contextmanager
def pinned_ids(pins: dict[str, str]) -> Iterator[None]:
    """moto's next ID of each prefix is the one given (once): a restored resource
    keeps its ID. Every moto EC2 ID is drawn through `moto.ec2.utils.random_id`."""
    original = moto_utils.random_id
    left = dict(pins)

    def random_id(prefix: str = "", size: int = 17) -> str:
        if prefix in left:
            return left.pop(prefix)
        return original(prefix, size)

    moto_utils.random_id = random_id
    try:
        yield
    finally:
        moto_utils.random_id = original


@contextmanager
def pinned_outside(ips: list[str]) -> Iterator[None]:
    """The emulator hands out these AWS outside addresses first (and never again)."""
    allocator = ALLOCATOR
    original = allocator.allocate
    queue = list(ips)

    def allocate(tunnel_index: int, forbidden: set[str]) -> str:
        if queue:
            ip = queue.pop(0)
            allocator._used.add(ip)
            return ip
        return original(tunnel_index, forbidden)

    setattr(allocator, "allocate", allocate)  # noqa: B010 (an instance attribute, undone below)
    try:
        yield
    finally:
        delattr(allocator, "allocate")


def _norm(value: Any) -> Any:
    """A value as the state file gives it back (JSON types only)."""
    return json.loads(json.dumps(value, default=str))


def _owned_ids(r: StateResource) -> list[str]:
    """IDs a resource owns besides its own (a VPN connection's TGW attachment): IDs among
    its outputs that it was not given (as `dependency_order` reads them)."""
    given = json.dumps(r.inputs)
    return [
        v
        for k, v in r.outputs.items()
        if k.endswith("Id") and isinstance(v, str) and v != r.id and v not in given
    ]


def _refers(value: Any, ids: set[str]) -> bool:
    if isinstance(value, str):
        return value in ids
    if isinstance(value, dict):
        return any(_refers(v, ids) for v in value.values())
    if isinstance(value, list):
        return any(_refers(v, ids) for v in value)
    return False


def _prefix(rid: str) -> str:
    return rid.rsplit("-", 1)[0] if "-" in rid else ""


def _restore_pins(r: StateResource) -> dict[str, str]:
    pins = {_prefix(r.id): r.id} if _prefix(r.id) else {}
    for key in ("mainRouteTableId", "associationDefaultRouteTableId", "transitGatewayAttachmentId"):
        value = r.outputs.get(key)
        if isinstance(value, str) and _prefix(value):
            pins[_prefix(value)] = value
    return pins


@dataclass
class Lifecycle:
    """Decides, for each declared resource, what the engine would do, and does it."""

    mocks: MotoMocks
    prior: StackState | None
    options: dict[tuple[str, str], Options] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)
    resources: list[StateResource] = field(default_factory=list)
    # What was done to AWS, in order: ("create" | "update" | "delete", type, name).
    events: list[tuple[str, str, str]] = field(default_factory=list)
    _seen: set[tuple[str, str]] = field(default_factory=set)
    _deferred: list[StateResource] = field(default_factory=list)
    # `pulumi destroy --target` run before the program: what it deleted, by key.
    _destroyed: dict[tuple[str, str], StateResource] = field(default_factory=dict)
    # `pulumi up --target URN` (None: every resource): the targeted resources by key, and
    # whether their dependents are targeted too (`--target-dependents`).
    targets: frozenset[tuple[str, str]] | None = None
    target_dependents: bool = False
    _affected: set[str] = field(default_factory=set)  # IDs of the targeted resources
    _replaced: set[str] = field(default_factory=set)  # old IDs of the replaced targets

    def __post_init__(self) -> None:
        self._old = self.prior.by_key() if self.prior else {}
        self.upstream = provider_upstream()

    # ------------------------------------------------------------ restore
    def restore(self) -> None:
        """Re-create every resource of the state in the emulator, with its IDs."""
        for r in dependency_order(self._old.values()):
            handler = self.mocks.handlers.get(r.type)
            if handler is None:
                raise LifecycleError(f"{r.type} '{r.name}': not emulated by the offline AWS")
            if r.type == RANDOM_PASSWORD:
                continue
            inputs = dict(r.inputs)
            ips: list[str] = []
            if r.type == VPN:
                for n in (1, 2):
                    ips.append(str(r.outputs.get(f"tunnel{n}Address", "")))
                    for key in ("PresharedKey", "InsideCidr"):
                        inputs.setdefault(f"tunnel{n}{key}", r.outputs.get(f"tunnel{n}{key}"))
            # The region's backend first: creating it draws IDs (its default VPC).
            self.mocks.backend(r.region).describe_vpcs()
            with pinned_ids(_restore_pins(r)), pinned_outside([ip for ip in ips if ip]):
                rid, _ = handler(inputs, r.region, r.name)
            if rid != r.id:
                raise LifecycleError(
                    f"{r.type} '{r.name}': re-created as {rid}, not {r.id} as the state says"
                )

    def destroy_targets(self, names: tuple[str, ...]) -> None:
        """`pulumi destroy --target URN --target-dependents` before the apply: each named
        resource and everything that refers to it (its ID, or an ID it owns such as a
        VPN's TGW attachment, among the inputs) deleted, dependents first. The apply that
        follows creates them again: reported as replaced."""
        unknown = [n for n in names if not any(k[1] == n for k in self._old)]
        if unknown:
            raise LifecycleError(
                f"--destroy-target {', '.join(unknown)}: no such resource in the stack's state"
            )
        doomed = {k for k in self._old if k[1] in names}
        while True:
            ids = {
                v
                for k in doomed
                for v in (self._old[k].id, *_owned_ids(self._old[k]))
                if v and v != "none"
            }
            more = {k for k, r in self._old.items() if k not in doomed and _refers(r.inputs, ids)}
            if not more:
                break
            doomed |= more
        for r in reversed(dependency_order(self._old.values())):
            if (r.type, r.name) in doomed:
                self._delete(r)
                self._destroyed[(r.type, r.name)] = r
        for k in doomed:
            del self._old[k]

    # ------------------------------------------------------------ one resource
    def step(
        self, typ: str, name: str, inputs: dict[str, Any], region: str, handler: Handler
    ) -> tuple[str, dict[str, Any]]:
        """Create, keep, update or replace one declared resource; return (id, outputs).
        Under `--target`, a resource neither targeted nor (with `--target-dependents`)
        referring to one keeps its previous state, ID and outputs: "same"."""
        key = (typ, name)
        self._seen.add(key)
        old = self._old.get(key)
        if self.targets is None:
            return self._step(typ, name, inputs, region, handler, old)
        if key not in self.targets and not (
            self.target_dependents and _refers(_norm(inputs), self._affected)
        ):
            if old is None:
                raise LifecycleError(
                    f"{typ} '{name}' is new but not targeted: --target it too (a targeted "
                    "apply creates only what it targets)"
                )
            if _refers(old.inputs, self._replaced):
                raise LifecycleError(
                    f"{typ} '{name}' refers to a targeted resource being replaced but is not "
                    "targeted: add --target-dependents (or --target it)"
                )
            self._record("same", typ, name, (), old.id, old.id, old.region, old.inputs, old.outputs)
            return old.id, dict(old.outputs)
        rid, outputs = self._step(typ, name, inputs, region, handler, old)
        # What a dependent refers to: the new ID, the old one, and the IDs each owns.
        new = StateResource("", typ, name, rid, region, _norm(inputs), _norm(outputs))
        ids = {rid, *_owned_ids(new), *((old.id, *_owned_ids(old)) if old else ())}
        self._affected |= {v for v in ids if v and v != "none"}
        if old is not None and old.id != rid:
            self._replaced |= {v for v in (old.id, *_owned_ids(old)) if v and v != "none"}
        return rid, outputs

    def _step(
        self,
        typ: str,
        name: str,
        inputs: dict[str, Any],
        region: str,
        handler: Handler,
        old: StateResource | None,
    ) -> tuple[str, dict[str, Any]]:
        key = (typ, name)
        if old is None:
            rid, outputs = handler(inputs, region, name)
            self.events.append(("create", typ, name))
            gone = self._destroyed.get(key)
            if gone is not None:  # destroyed first (--destroy-target): a replacement
                new = _norm(inputs)
                changed = tuple(
                    sorted(
                        k for k in set(new) | set(gone.inputs) if new.get(k) != gone.inputs.get(k)
                    )
                )
                self._record("replace", typ, name, changed, gone.id, rid, region, inputs, outputs)
            else:
                self._record("create", typ, name, (), "", rid, region, inputs, outputs)
            return rid, outputs
        new = _norm(inputs)
        changed = tuple(
            sorted(k for k in set(new) | set(old.inputs) if new.get(k) != old.inputs.get(k))
        )
        if not changed and region == old.region:
            self._record("same", typ, name, (), old.id, old.id, region, inputs, old.outputs)
            return old.id, dict(old.outputs)
        opts = self.options.get(key, Options())
        replace = region != old.region or any(
            replaces(typ, p, self.upstream) or p in opts.replace_on_changes for p in changed
        )
        if replace:
            if opts.delete_before_replace:
                self._delete(old)
            else:
                self._deferred.append(old)
            rid, outputs = handler(inputs, region, name)
            self.events.append(("create", typ, name))
            self._record("replace", typ, name, changed, old.id, rid, region, inputs, outputs)
            return rid, outputs
        outputs = self._update(old, inputs, changed)
        self.events.append(("update", typ, name))
        self._record("update", typ, name, changed, old.id, old.id, region, inputs, outputs)
        return old.id, outputs

    def _record(
        self,
        action: str,
        typ: str,
        name: str,
        changed: tuple[str, ...],
        old_id: str,
        rid: str,
        region: str,
        inputs: dict[str, Any],
        outputs: dict[str, Any],
    ) -> None:
        self.changes.append(Change(action, typ, name, changed, old_id, rid))
        self.resources.append(
            StateResource("", typ, name, rid, region, _norm(inputs), _norm(outputs))
        )

    # ------------------------------------------------------------ the end of the run
    def finish(self) -> None:
        """Delete what the program no longer declares and what was replaced, dependents first."""
        gone = [r for k, r in self._old.items() if k not in self._seen]
        if self.targets is not None:  # an untargeted resource stays in the state as it was
            kept = [r for r in gone if (r.type, r.name) not in self.targets]
            self.resources.extend(kept)
            gone = [r for r in gone if (r.type, r.name) in self.targets]
        for r in gone:
            self.changes.append(Change("delete", r.type, r.name, (), r.id, ""))
        doomed = {id(r) for r in [*gone, *self._deferred]}
        for r in reversed(dependency_order(self._old.values())):
            if id(r) in doomed:
                self._delete(r)

    # ------------------------------------------------------------ updates
    def _update(
        self, old: StateResource, inputs: dict[str, Any], changed: tuple[str, ...]
    ) -> dict[str, Any]:
        b = self.mocks.backend(old.region)
        rest = [p for p in changed if p not in _TAGS]
        if "tags" in changed:
            tags = {k: str(v) for k, v in (inputs.get("tags") or {}).items()}
            gone = {k: v for k, v in (old.inputs.get("tags") or {}).items() if k not in tags}
            if gone:
                b.delete_tags([old.id], gone)
            b.create_tags([old.id], tags)
        if not rest:
            return dict(old.outputs)
        from network.offline.aws_changes import UPDATES

        update = UPDATES.get(old.type)
        if update is None:
            raise LifecycleError(
                f"{old.type} '{old.name}': updating {', '.join(rest)} in place is not emulated"
            )
        return update(self, old, inputs, tuple(rest))

    def _delete(self, r: StateResource) -> None:
        from network.offline.aws_changes import DELETES

        delete = DELETES.get(r.type)
        if delete is None:
            raise LifecycleError(f"{r.type} '{r.name}': deleting it is not emulated")
        delete(self, r)
        self.events.append(("delete", r.type, r.name))
