"""The offline apply: the unchanged Pulumi program, in-process, under Pulumi's
mock runtime backed by the AWS emulator. Nothing is written unless the run and
the emulator-state checks succeed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import runpy
from dataclasses import dataclass, field
from inspect import isawaitable
from pathlib import Path
from typing import Any

import pulumi
from botocore.exceptions import ClientError
from moto.core.exceptions import ServiceException
from pulumi._types import is_input_type
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from network.contract import parse_outputs
from network.errors import CrossnetError, aws_said
from network.naming import resource_name
from network.offline.aws import AwsEmulator
from network.offline.heap import heap_frozen
from network.offline.lifecycle import Lifecycle, LifecycleError
from network.offline.mocks import MotoMocks, OfflineApplyError, RecordingMonitor, Registration
from network.offline.stack_state import (
    Change,
    StackState,
    StateResource,
    digest,
    last_applied_plan,
    load_state,
    program_fingerprint,
    stack_lock,
    state_path,
    write_atomic,
)
from network.offline.verify import verify_emulator
from network.plan import Plan, build_plan
from network.review.guardrails import blocking, check_resources
from network.review.snapshot import plan_snapshot
from network.stack_file import offline_secrets, read_stack_config
from network.stack_file import secret_keys as stack_secret_keys
from network.state import PROJECT_DIR, outputs_path, state_dir

__all__ = [
    "ApplyError",
    "ApplyResult",
    "heap_frozen",
    "last_applied_plan",
    "offline_up",
    "run_program",
]

PROGRAM = PROJECT_DIR / "__main__.py"
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"


class ApplyError(CrossnetError):
    """The offline apply failed: AWS rejected something, or the result is wrong."""

    def __init__(self, title: str, lines: list[str]):
        self.title, self.lines = title, lines
        super().__init__(title)

    def render(self) -> str:
        return "\n".join(
            [f"error: {self.title}", *(f"  - {x}" for x in self.lines), "nothing was written."]
        )


class TargetError(ApplyError):
    """A `--target` that names no resource of the stack: bad input."""

    exit_code = 2


def target_key(urn: str) -> tuple[str, str]:
    """A URN's (type, name): `urn:pulumi:S::P::parent$type::name`."""
    parts = urn.split("::")
    if len(parts) < 4 or not urn.startswith("urn:pulumi:"):
        return ("", urn)
    return parts[-2].split("$")[-1], parts[-1]


def unknown_targets(
    targets: tuple[str, ...], prior: StackState | None, resources: list[Registration]
) -> list[str]:
    """The targets that are neither in the stack's state nor declared by the program."""
    known = {r.urn for r in (prior.resources if prior else [])} | {r.urn for r in resources}
    return [t for t in targets if t not in known]


@dataclass
class ApplyResult:
    stack: str
    plan: Plan
    outputs: dict[str, Any]  # plain values, secrets included: never print
    secret_outputs: list[str]
    resources: list[Registration]
    checks: list[str] = field(default_factory=list)
    advisories: list[str] = field(default_factory=list)
    outputs_file: Path | None = None
    changes: list[Change] = field(default_factory=list)
    state_file: Path | None = None
    outputs_written: bool = False


def _drain() -> None:
    """Cancel and reap every task still pending on Pulumi's event loop."""
    loop = _ensure_event_loop()  # type: ignore[no-untyped-call]
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))


def _quiet_reported(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    if not isinstance(context.get("exception"), OfflineApplyError):
        loop.default_exception_handler(context)


def _run_main() -> None:
    if PROGRAM.is_file():  # a checkout: the very file `pulumi up` runs
        runpy.run_path(str(PROGRAM), run_name="__main__")
    else:  # an installed crossnet: the same program, which __main__.py only calls
        from network.program import run

        run()


def run_program(
    config: dict[str, Any],
    stack: str,
    emulator: AwsEmulator,
    seed: int | None = None,
    secret_keys: list[str] | None = None,
) -> tuple[dict[str, Any], list[str], list[Registration]]:
    """Run __main__.py under mocks; return (outputs, secret output names, resources).

    The config reaches the program as the CLI passes it: every value a string,
    structured ones as JSON. `secret_keys` are the keys the CLI would mark
    secret (default: those still holding a `secure:` value).
    """
    mocks = MotoMocks(
        emulator, default_region=str(config.get("aws:region") or "us-east-1"), seed=seed
    )
    return _run(config, stack, mocks, secret_keys)


def _run(
    config: dict[str, Any], stack: str, mocks: MotoMocks, secret_keys: list[str] | None
) -> tuple[dict[str, Any], list[str], list[Registration]]:
    monitor = RecordingMonitor(mocks)
    quiet = logging.getLogger("crossnet.pulumi")
    quiet.addHandler(logging.NullHandler())
    quiet.propagate = False
    _drain()  # nothing left over from an earlier run may run inside this one
    # A refused resource fails every output waiting on it; the error is reported
    # once, on one screen, so asyncio must not print each orphaned future at exit.
    _ensure_event_loop().set_exception_handler(_quiet_reported)  # type: ignore[no-untyped-call]
    # A fresh root stack per run: set_mocks only makes one when none exists.
    pulumi_settings.set_root_resource(None)  # type: ignore[arg-type]
    pulumi.runtime.set_mocks(
        mocks, project="crossnet", stack=stack, preview=False, logger=quiet, monitor=monitor
    )
    pulumi.runtime.set_all_config(
        {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()},
        secret_keys if secret_keys is not None else stack_secret_keys(config),
    )
    pulumi_settings.SETTINGS.rpc_manager.clear()
    pulumi_settings.SETTINGS.outputs.clear()
    failure: BaseException | None = None
    try:
        _sync_await(run_pulumi_func(_run_main))
    except BaseException as e:  # reported below, with the mocks' own errors
        failure = e
    finally:
        mocks.close()
    if mocks.errors or failure is not None:
        # The engine stops waiting at the first error: cancel what is still
        # pending, so that none of it runs inside a later run's emulator, and
        # forget its failed RPCs and outputs, so that no later wait re-raises them.
        _drain()
        pulumi_settings.SETTINGS.rpc_manager.clear()
        pulumi_settings.SETTINGS.outputs.clear()
    if mocks.errors or failure is not None:
        lines = list(dict.fromkeys(mocks.errors))
        if failure is not None and not lines:
            text = str(failure)
            lines = (
                text.splitlines()
                if isinstance(failure, pulumi.RunError)
                else [f"{type(failure).__name__}: {text}"]
            )
        raise ApplyError(f"the Pulumi program failed for stack {stack!r}", lines)
    root = pulumi_settings.get_root_resource()
    raw = dict(getattr(root, "outputs", {}) or {})
    outputs: dict[str, Any] = {}
    secret: list[str] = []
    for name, value in raw.items():
        outputs[name], is_secret = stack_output(value)
        if is_secret:
            secret.append(name)
    regs = []
    for urn, reg in monitor.resources.items():
        typ = urn.split("::")[-2].split("$")[-1]
        name = urn.split("::")[-1]
        rec = mocks.registrations.get((typ, name))
        if rec is None:
            rec = Registration(urn, typ, name, "", reg.id or "", {}, [])
        rec.urn, rec.parent = urn, monitor.parents.get(urn, "")
        regs.append(rec)
    return outputs, secret, regs


class _UnknownError(Exception):
    """An output whose value is not known (a preview): read the slow way."""


async def _resolved(val: Any) -> tuple[Any, bool]:
    """`Output.from_input(val)`'s value and secretness, without building its Outputs.

    from_input wraps every dict, list and leaf it meets (the resolved values of the
    stack's outputs included) in a new Output and awaits them all: about 0.6 s for the
    2447-resource stack. This walks the same structure in the same order, through the
    same kinds (Outputs, input types, non-empty dicts with their keys, lists, tuples,
    awaitables; anything else as it is), awaiting only the Outputs the program made.
    """
    if isinstance(val, pulumi.Output):
        if not await val.is_known():
            raise _UnknownError()
        inner, inner_secret = await _resolved(await val.future(with_unknowns=True))
        return inner, inner_secret or await val.is_secret()
    typ = type(val)
    if is_input_type(typ):
        fields = await _resolved(dict(val.__dict__)) if val.__dict__ else ({}, False)
        return (typ(**fields[0]) if fields[0] else typ()), fields[1]
    if val and isinstance(val, dict):
        out: dict[Any, Any] = {}
        secret = False
        for k, v in val.items():
            (key, key_secret), (value, value_secret) = await _resolved(k), await _resolved(v)
            out[key] = value
            secret = secret or key_secret or value_secret
        return out, secret
    if val and isinstance(val, list | tuple):
        items = [await _resolved(v) for v in val]
        values = [v for v, _ in items]
        return (tuple(values) if isinstance(val, tuple) else values), any(s for _, s in items)
    if isawaitable(val):
        return await _resolved(await val)
    return val, False


def stack_output(value: Any) -> tuple[Any, bool]:
    """A stack output's plain value and whether it is secret, as
    `Output.from_input(value)` gives them once the run has ended."""
    try:
        return _sync_await(_resolved(value))
    except _UnknownError:
        out = pulumi.Output.from_input(value)
        return _sync_await(out.future()), bool(_sync_await(out.is_secret()))


def guardrail_view(
    plan: Plan, resources: list[Registration], outputs: dict[str, Any]
) -> list[dict[str, Any]]:
    """The declared resources as the guardrails read them, with where each
    tunnel key came from (a secret config value or a generated secret)."""
    key_sources: dict[str, dict[str, list[str]]] = {}
    for c in plan.connections:
        key_sources[resource_name("vpn", c.name)] = {
            f"tunnel{t.number}PresharedKey": (
                ["config:secret"] if t.psk is not None else [RANDOM_PASSWORD]
            )
            for t in c.tunnels
        }
    view: list[dict[str, Any]] = [
        {
            "type": r.type,
            "name": r.name,
            "urn": r.urn,
            "inputs": r.inputs,
            "secret_inputs": set(r.secret_inputs),
            "sources": key_sources.get(r.name, {}),
        }
        for r in resources
    ]
    # The stack's own outputs, so that the prefix rules see what routers announce.
    view.append(
        {"type": "pulumi:pulumi:Stack", "name": f"crossnet-{plan.stack}", "inputs": outputs}
    )
    return view


def run_stateful(
    config: dict[str, Any],
    stack: str,
    emulator: AwsEmulator,
    prior: StackState | None,
    seed: int | None = None,
    secret_keys: list[str] | None = None,
    state_file: Path | None = None,
    destroy: tuple[str, ...] = (),
    targets: tuple[str, ...] = (),
    target_dependents: bool = False,
) -> tuple[dict[str, Any], list[str], list[Registration], Lifecycle]:
    """`run_program` against the stack's previous state, as `pulumi up` runs against
    a stack: the emulator first gets the state's resources back (same IDs), the
    program's resources are then kept, updated, replaced or created, and what
    it no longer declares (and what was replaced) is deleted at the end. `targets`
    (URNs, `pulumi up --target`): only those (and, with `target_dependents`, what refers
    to them) change; every other resource keeps its previous state."""
    mocks = MotoMocks(
        emulator, default_region=str(config.get("aws:region") or "us-east-1"), seed=seed
    )
    lifecycle = mocks.lifecycle = Lifecycle(mocks, prior)
    if targets:
        lifecycle.targets = frozenset(target_key(t) for t in targets)
        lifecycle.target_dependents = target_dependents
    try:
        lifecycle.restore()
    except (ClientError, ServiceException, LifecycleError) as e:
        raise ApplyError(
            f"the state of stack {stack!r} could not be re-created in the emulator",
            [aws_said(e), f"state file: {state_file}; `crossnet up --fresh` starts over"],
        ) from None
    try:
        lifecycle.destroy_targets(destroy)
    except (ClientError, ServiceException, LifecycleError) as e:
        raise ApplyError(f"--destroy-target on stack {stack!r} failed", [aws_said(e)]) from None
    try:
        outputs, secret, regs = _run(config, stack, mocks, secret_keys)
    except ApplyError:
        bad = unknown_targets(targets, prior, [])
        if bad and not any(target_key(t) in lifecycle._seen for t in bad):
            raise _target_error(stack, bad) from None
        raise
    bad = unknown_targets(targets, prior, regs)
    if bad:
        raise _target_error(stack, bad)
    try:
        lifecycle.finish()
    except (ClientError, ServiceException, LifecycleError) as e:
        raise ApplyError(
            f"deleting the resources stack {stack!r} no longer declares failed",
            [aws_said(e)],
        ) from None
    return outputs, secret, regs, lifecycle


def _target_error(stack: str, bad: list[str]) -> TargetError:
    return TargetError(
        f"--target names no resource of stack {stack!r}",
        [f"--target {t}: no such URN in the stack's state or program" for t in bad],
    )


def _new_state(
    stack: str, lifecycle: Lifecycle, resources: list[Registration], fp: str, outputs_text: str
) -> StackState:
    by_key = {(r.type, r.name): r for r in resources}
    out: list[StateResource] = []
    for s in lifecycle.resources:
        reg = by_key.get((s.type, s.name))
        if reg is not None:
            s.urn, s.parent, s.secret_inputs = reg.urn, reg.parent, list(reg.secret_inputs)
        out.append(s)
    # In URN order, so that an unchanged stack writes the same bytes (the program
    # registers its resources in whatever order their inputs resolve).
    return StackState(stack, sorted(out, key=lambda r: r.urn), fp, digest(outputs_text))


def _write_if_changed(path: Path, text: str) -> bool:
    """Write a private file unless it already holds exactly `text` (then leave it alone)."""
    try:
        if path.read_text() == text:
            return False
    except (OSError, UnicodeDecodeError):
        pass
    write_atomic(path, text)
    return True


def offline_up(
    stack: str,
    seed: int | None = None,
    write: bool = True,
    fresh: bool = False,
    destroy: tuple[str, ...] = (),
    targets: tuple[str, ...] = (),
    target_dependents: bool = False,
) -> ApplyResult:
    """Plan, run the program against the emulator and the stack's previous state,
    check the emulator's state, write the outputs and the new state.

    A `secure:` value in the stack file is taken from `CROSSNET_SECRET_<NAME>`
    (see `network.stack_file.secret_env_var`); without it the plan refuses,
    saying which variable to set. `fresh` ignores the previous state (a new stack).
    `destroy`: resource names deleted with their dependents before the program runs
    (`pulumi destroy --target URN --target-dependents`, then `pulumi up`).
    `targets`, `target_dependents`: `pulumi up --target URN [--target-dependents]`.
    """
    config, secret_keys = offline_secrets(read_stack_config(stack))
    # every config problem, before anything is declared
    plan = build_plan(config, stack, previous=last_applied_plan(stack))
    sfile = state_path(state_dir(stack, create=False))
    with stack_lock(sfile.parent):
        return _up_locked(
            stack,
            config,
            secret_keys,
            plan,
            sfile,
            seed,
            write,
            fresh,
            destroy,
            (targets, target_dependents),
        )


def _up_locked(
    stack: str,
    config: dict[str, Any],
    secret_keys: list[str],
    plan: Plan,
    sfile: Path,
    seed: int | None,
    write: bool,
    fresh: bool,
    destroy: tuple[str, ...] = (),
    target: tuple[tuple[str, ...], bool] = ((), False),
) -> ApplyResult:
    prior = None if fresh else load_state(sfile, stack)  # a corrupted file: exit 2
    with heap_frozen(), AwsEmulator(seed=seed) as emu:
        outputs, secret, resources, lifecycle = run_stateful(
            config, stack, emu, prior, seed, secret_keys, sfile, destroy, *target
        )
        parse_outputs(outputs, f"outputs of stack {stack!r}")  # the contract holds
        failures, checks = verify_emulator(emu, plan, outputs)
    if failures:
        raise ApplyError(f"the emulator's state does not match the plan for {stack!r}", failures)
    # The guardrails of the CrossGuard pack (policy/), on what was declared:
    # mandatory ones stop the apply, advisory ones are reported.
    violations = check_resources(guardrail_view(plan, resources, outputs), stack)
    stop = [f"[{v.policy}] {v.resource}: {v.message}" for v in blocking(violations)]
    if stop:
        raise ApplyError(f"mandatory guardrails failed for {stack!r}", stop)
    result = ApplyResult(stack, plan, outputs, secret, resources, checks)
    result.changes = lifecycle.changes
    result.advisories = [
        f"[{v.policy}] {v.resource}: {v.message}" for v in violations if v.severity != "mandatory"
    ]
    if write:
        path = outputs_path(stack)  # creates the stack's directory, 0700
        text = json.dumps(outputs, indent=2, sort_keys=True) + "\n"
        state = _new_state(stack, lifecycle, resources, program_fingerprint(config), text)
        # The state first: a crash between the two leaves outputs that the next
        # apply, reading the state, rewrites; never a state that lost resources.
        _write_if_changed(sfile, state.to_text())
        result.state_file = sfile
        result.outputs_written = _write_if_changed(path, text)
        applied = {
            "stack": stack,
            "plan": plan_snapshot(plan),
            "resources": [
                {
                    "urn": r.urn,
                    "type": r.type,
                    "name": r.name,
                    "parent": r.parent,
                    "id": r.id,
                    "inputs": r.inputs,
                    "secretInputs": r.secret_inputs,
                }
                for r in sorted(resources, key=lambda r: r.urn)
            ],
        }
        _write_if_changed(
            state_dir(stack) / "applied.json",
            json.dumps(applied, indent=2, sort_keys=True, default=str) + "\n",
        )
        result.outputs_file = path
    return result
