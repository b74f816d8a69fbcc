"""crossnet's guardrails as CrossGuard policies (imported by `__main__.py` and the tests).

Each policy wraps `network.review.guardrails.check_resources`, so that the
pack, the offline apply and `crossnet guardrails` judge the same rules with
the same names and severities. Rules that judge one VPN connection alone run
as resource policies (before the resource is created); rules that need other
resources (pre-shared key provenance, routes, prefix counts) run as stack
policies, which `pulumi preview` runs over the whole planned stack.

Policy config, for every policy (`pulumi preview --policy-pack policy
--policy-pack-config config.json`): `prodStacks` (default ["prod"]) and
`stack` (overrides the stack name Pulumi passes in PULUMI_STACK). A stack
whose name is unknown is judged as production.

What the pack cannot see: the Python policy SDK hands policies plain values
(it unwraps secrets), and pulumi-aws marks tunnel keys secret whatever their
origin. So the pack judges where a key comes from instead: unknown in the
preview or derived from another resource (a generated secret) is fine, equal to
a stack config value is read from config, anything else is a literal in the
program. Whether that config value is `secure:` is checked by `crossnet
guardrails` and the offline apply, which read the stack file.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Secret,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy import proxy as _proxy

# The pack runs from a crossnet checkout: the rules live in network/review/guardrails.py.
_REPO = Path(__file__).resolve().parent.parent
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

from network.review.guardrails import (  # noqa: E402
    DEFAULT_PROD_STACKS,
    POLICIES,
    UNKNOWN,
    VPN_CONNECTION,
    check_resources,
)

PACK_NAME = "crossnet-guardrails"
_UNKNOWNS = frozenset({
    _proxy.UNKNOWN_BOOLEAN_VALUE, _proxy.UNKNOWN_NUMBER_VALUE, _proxy.UNKNOWN_STRING_VALUE,
    _proxy.UNKNOWN_ARRAY_VALUE, _proxy.UNKNOWN_ASSET_VALUE, _proxy.UNKNOWN_ARCHIVE_VALUE,
    _proxy.UNKNOWN_OBJECT_VALUE,
})
_PSK_PROPS = ("tunnel1PresharedKey", "tunnel2PresharedKey")
CONFIG_SCHEMA = PolicyConfigSchema({
    "prodStacks": {"type": "array", "items": {"type": "string"}},
    "stack": {"type": "string"},
})
_LEVEL = {"mandatory": EnforcementLevel.MANDATORY, "advisory": EnforcementLevel.ADVISORY}


def plain(value: Any) -> Any:
    """A property value as plain Python, with the SDK's unknown sentinels as `UNKNOWN`.

    The SDK wraps properties in proxies that raise on unknown values; reading
    through `__target` gets the raw containers, so no rule trips over them.
    """
    if isinstance(value, str):
        return UNKNOWN if value in _UNKNOWNS else value
    if isinstance(value, Secret):
        return plain(value.value)
    if isinstance(value, Mapping):
        try:
            target = value["__target"]
        except KeyError:
            target = value
        return {k: plain(target[k]) for k in target}
    if isinstance(value, Sequence):
        try:
            target = value["__target"]  # type: ignore[call-overload]
        except (KeyError, TypeError):
            target = value
        return [plain(x) for x in target]
    return value


def stack_name(config: Mapping[str, Any]) -> str:
    """The stack being checked: policy config `stack`, else PULUMI_STACK, else unknown."""
    return str(config.get("stack") or os.environ.get("PULUMI_STACK") or "")


def prod_stacks(config: Mapping[str, Any], stack: str) -> tuple[str, ...]:
    """Stack names judged as production; an unknown stack name counts as production."""
    names = tuple(config.get("prodStacks") or DEFAULT_PROD_STACKS)
    return (*names, stack) if not stack else names


def config_values() -> set[str]:
    """String values of the stack config the engine hands the pack (PULUMI_CONFIG).

    When PULUMI_CONFIG_SECRET_KEYS is set, only those keys count.
    """
    try:
        cfg = json.loads(os.environ.get("PULUMI_CONFIG") or "{}")
        secret = os.environ.get("PULUMI_CONFIG_SECRET_KEYS")
        keys = set(json.loads(secret)) if secret else set(cfg)
    except (ValueError, TypeError):
        return set()
    return {v for k, v in cfg.items() if k in keys and isinstance(v, str) and v}


def resource_from_args(args: ResourceValidationArgs) -> dict[str, Any]:
    """One resource, as `check_resources` takes it, from a resource validation."""
    return {"type": args.resource_type, "name": args.name, "urn": args.urn,
            "inputs": plain(args.props), "secret_inputs": set(), "sources": {}}


def resource_from_stack(r: PolicyResource, from_config: set[str]) -> dict[str, Any]:
    """One resource from a stack validation: `sources` from its property dependencies."""
    inputs = plain(r.props)
    sources = {prop: sorted({d.resource_type for d in deps})
               for prop, deps in (r.property_dependencies or {}).items() if deps}
    secret = {p for p in _PSK_PROPS if isinstance(inputs.get(p), str) and inputs[p] in from_config}
    return {"type": r.resource_type, "name": r.name, "urn": r.urn, "inputs": inputs,
            "secret_inputs": secret, "sources": sources,
            "parent": r.parent.urn if r.parent is not None else None}


def _resource_validate(policy: str) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if args.resource_type != VPN_CONNECTION:
            return
        cfg = args.get_config()
        stack = stack_name(cfg)
        for v in check_resources([resource_from_args(args)], stack, prod_stacks(cfg, stack),
                                 scope="resource"):
            if v.policy == policy:
                report_violation(v.message, None)
    return validate


def _stack_validate(policy: str) -> Callable[[StackValidationArgs, ReportViolation], None]:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        cfg = args.get_config()
        stack = stack_name(cfg)
        known = config_values()
        resources = [resource_from_stack(r, known) for r in args.resources]
        for v in check_resources(resources, stack, prod_stacks(cfg, stack), scope="stack"):
            if v.policy == policy:
                urn = v.resource if v.resource.startswith("urn:") else None
                report_violation(v.message if urn else f"{v.resource}: {v.message}", urn)
    return validate


def make_policies() -> list[Policy]:
    """One CrossGuard policy per guardrail, with its severity as enforcement level."""
    out: list[Policy] = []
    for info in POLICIES.values():
        if info.scope == "resource":
            out.append(ResourceValidationPolicy(
                name=info.name, description=info.description,
                validate=_resource_validate(info.name), enforcement_level=_LEVEL[info.severity],
                config_schema=CONFIG_SCHEMA))
        else:
            out.append(StackValidationPolicy(
                name=info.name, description=info.description,
                validate=_stack_validate(info.name), enforcement_level=_LEVEL[info.severity],
                config_schema=CONFIG_SCHEMA))
    return out
