"""crossnet's guardrails as CrossGuard policies (imported by `__main__.py` and the tests).

Each policy wraps `network.review.guardrails.check_resources`, so that the
pack, the offline apply and `crossnet guardrails` judge the same rules with
the same names and severities. Rules that judge one VPN connection alone run
as resource policies (before the resource is created); rules that need other
resources (pre-shared key provenance, routes, prefix counts) run as stack
policies, which `pulumi preview` runs over the whole planned stack.

Policy config, for every policy (`pulumi preview --policy-pack policy
--policy-pack-config config.json`): `prodStacks` (default ["prod"]) and
`stack` (the stack name, overriding what the engine says).

The stack's name and config (`StackContext`): pulumi-policy 1.21's Python
SDK reads them only from the PULUMI_STACK and PULUMI_CONFIG environment
variables (`_configure_runtime_settings`), and keeps nothing but the tags of
the engine's ConfigureStack call, although that request carries the stack,
project, config and secret keys (the engine sends it whenever it analyzes a
stack). `capture_stack_configure()` wraps the SDK's ConfigureStack to keep
them; the environment is the fallback. When neither says anything, the
config-derived judgements degrade instead of blocking a preview:

* a tunnel key that is a plain value cannot be told from one read from the
  stack config: `vpn-psk-source-unverified` (advisory, pack only) says so,
  and `vpn-psk-from-secrets` stays silent; `crossnet guardrails` and the
  offline apply, which read the stack file, still judge it;
* an unknown stack name is not judged as production: weak crypto is reported
  by the advisory `vpn-weak-crypto`, saying that the name was unknown.

What the pack cannot see: the Python policy SDK hands policies plain values
(it unwraps secrets), and pulumi-aws marks tunnel keys secret whatever their
origin. So the pack judges where a key comes from instead: unknown in the
preview or derived from another resource (a generated secret) is fine, equal to
a secret stack config value is read from a secret, anything else is a literal
in the program or a plain config value.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
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
from pulumi_policy import policy as _sdk_policy
from pulumi_policy import proxy as _proxy

# The rules live in network/review/guardrails.py. From a checkout (policy/ beside
# network/) the pack imports them from there; an installed crossnet ships the pack as
# network/_policy (`crossnet guardrails --pack-dir`), and the pack's virtualenv then
# needs crossnet installed.
_REPO = Path(__file__).resolve().parent.parent
if (_REPO / "network").is_dir() and str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

from network.review.guardrails import (  # noqa: E402
    DEFAULT_PROD_STACKS,
    POLICIES,
    UNKNOWN,
    VPN_CONNECTION,
    check_resources,
)

PACK_NAME = "crossnet-guardrails"
_UNKNOWNS = frozenset(
    {
        _proxy.UNKNOWN_BOOLEAN_VALUE,
        _proxy.UNKNOWN_NUMBER_VALUE,
        _proxy.UNKNOWN_STRING_VALUE,
        _proxy.UNKNOWN_ARRAY_VALUE,
        _proxy.UNKNOWN_ASSET_VALUE,
        _proxy.UNKNOWN_ARCHIVE_VALUE,
        _proxy.UNKNOWN_OBJECT_VALUE,
    }
)
_PSK_PROPS = ("tunnel1PresharedKey", "tunnel2PresharedKey")
CONFIG_SCHEMA = PolicyConfigSchema(
    {
        "prodStacks": {"type": "array", "items": {"type": "string"}},
        "stack": {"type": "string"},
    }
)
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


@dataclass(frozen=True)
class StackContext:
    """What the engine told the pack about the stack under analysis."""

    stack: str = ""
    project: str = ""
    config: Mapping[str, str] = field(default_factory=dict)
    secret_keys: frozenset[str] | None = None  # None: the engine did not say which
    source: str = "none"  # "ConfigureStack" | "environment" | "none"

    @property
    def knows_config(self) -> bool:
        return self.source != "none"


_CONFIGURED: dict[str, StackContext] = {}


def remember_stack_configure(request: Any) -> StackContext:
    """Keep what an AnalyzerStackConfigureRequest carries (stack, project, config, secrets)."""
    ctx = StackContext(
        stack=str(getattr(request, "stack", "") or ""),
        project=str(getattr(request, "project", "") or ""),
        config={str(k): str(v) for k, v in dict(getattr(request, "config", {}) or {}).items()},
        secret_keys=frozenset(str(k) for k in getattr(request, "config_secret_keys", []) or []),
        source="ConfigureStack",
    )
    _CONFIGURED["stack"] = ctx
    return ctx


def capture_stack_configure(servicer: Any = None) -> bool:
    """Wrap the SDK servicer's ConfigureStack so that the pack keeps the stack context.

    Returns False (and changes nothing) when this pulumi-policy has no such
    method; the environment is then the only source.
    """
    if servicer is None:
        servicer = getattr(_sdk_policy, "_PolicyAnalyzerServicer", None)
    original = getattr(servicer, "ConfigureStack", None)
    if original is None:
        return False
    if getattr(original, "_crossnet_capture", False):
        return True

    def ConfigureStack(self: Any, request: Any, context: Any) -> Any:  # noqa: N802 (gRPC name)
        remember_stack_configure(request)
        return original(self, request, context)

    ConfigureStack._crossnet_capture = True  # type: ignore[attr-defined]
    servicer.ConfigureStack = ConfigureStack
    return True


def _environment_context() -> StackContext:
    raw = os.environ.get("PULUMI_CONFIG")
    stack = os.environ.get("PULUMI_STACK", "")
    if raw is None and not stack:
        return StackContext()
    try:
        cfg = json.loads(raw or "{}")
        secret = os.environ.get("PULUMI_CONFIG_SECRET_KEYS")
        keys = frozenset(json.loads(secret)) if secret else None
    except (ValueError, TypeError):
        return StackContext(stack=stack, source="environment" if stack else "none")
    config = {str(k): str(v) for k, v in cfg.items()} if isinstance(cfg, dict) else {}
    return StackContext(
        stack=stack,
        project=os.environ.get("PULUMI_PROJECT", ""),
        config=config,
        secret_keys=keys,
        source="environment" if raw is not None else "none",
    )


def stack_context() -> StackContext:
    """The stack context: from the engine's ConfigureStack if it came, else the environment."""
    captured = _CONFIGURED.get("stack")
    return captured if captured is not None else _environment_context()


def stack_name(config: Mapping[str, Any], ctx: StackContext | None = None) -> str:
    """The stack being checked: policy config `stack`, else what the engine said, else ''."""
    ctx = ctx if ctx is not None else stack_context()
    return str(config.get("stack") or ctx.stack or "")


def prod_stacks(config: Mapping[str, Any]) -> tuple[str, ...]:
    """Stack names judged as production (policy config `prodStacks`, default prod)."""
    return tuple(config.get("prodStacks") or DEFAULT_PROD_STACKS)


def config_values(ctx: StackContext | None = None) -> tuple[set[str], set[str]]:
    """String values of the stack config: (secret ones, plain ones).

    When the engine does not say which keys are secret, every value counts as
    secret: a key equal to one was read from config, and whether that value is
    `secure:` is then for `crossnet guardrails` to judge.
    """
    ctx = ctx if ctx is not None else stack_context()
    secret: set[str] = set()
    plain: set[str] = set()
    for k, v in ctx.config.items():
        if not v:
            continue
        (secret if ctx.secret_keys is None or k in ctx.secret_keys else plain).add(v)
    return secret, plain


def resource_from_args(args: ResourceValidationArgs) -> dict[str, Any]:
    """One resource, as `check_resources` takes it, from a resource validation."""
    return {
        "type": args.resource_type,
        "name": args.name,
        "urn": args.urn,
        "inputs": plain(args.props),
        "secret_inputs": set(),
        "sources": {},
    }


def resource_from_stack(r: PolicyResource, from_secrets: set[str]) -> dict[str, Any]:
    """One resource from a stack validation: `sources` from its property dependencies."""
    inputs = plain(r.props)
    sources = {
        prop: sorted({d.resource_type for d in deps})
        for prop, deps in (r.property_dependencies or {}).items()
        if deps
    }
    secret = {p for p in _PSK_PROPS if isinstance(inputs.get(p), str) and inputs[p] in from_secrets}
    return {
        "type": r.resource_type,
        "name": r.name,
        "urn": r.urn,
        "inputs": inputs,
        "secret_inputs": secret,
        "sources": sources,
        "parent": r.parent.urn if r.parent is not None else None,
    }


_UNKNOWN_STACK = (
    " (the pack could not learn the stack name, so this is not judged as "
    "production: set policy config `stack`)"
)


def _resource_validate(policy: str) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if args.resource_type != VPN_CONNECTION:
            return
        cfg = args.get_config()
        stack = stack_name(cfg)
        for v in check_resources(
            [resource_from_args(args)], stack, prod_stacks(cfg), scope="resource"
        ):
            if v.policy == policy:
                unknown = not stack and policy == "vpn-weak-crypto"
                report_violation(v.message + (_UNKNOWN_STACK if unknown else ""), None)

    return validate


def _unverifiable_keys(resources: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """VPN connections whose keys are plain values the pack cannot trace without config."""
    return [
        r
        for r in resources
        if r.get("type") == VPN_CONNECTION
        and any(
            isinstance((r.get("inputs") or {}).get(p), str) and not (r.get("sources") or {}).get(p)
            for p in _PSK_PROPS
        )
    ]


def _stack_validate(policy: str) -> Callable[[StackValidationArgs, ReportViolation], None]:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        cfg = args.get_config()
        ctx = stack_context()
        stack = stack_name(cfg, ctx)
        from_secrets, _ = config_values(ctx)
        resources = [resource_from_stack(r, from_secrets) for r in args.resources]
        if policy == PSK_UNVERIFIED:
            if not ctx.knows_config:
                for r in _unverifiable_keys(resources):
                    report_violation(
                        "a tunnel pre-shared key is a plain value, and the engine gave the pack "
                        "no stack config to tell a literal from a config value: not judged here; "
                        "run `crossnet guardrails --stack <env>`, which reads the stack file",
                        r["urn"],
                    )
            return
        for v in check_resources(resources, stack, prod_stacks(cfg), scope="stack"):
            if v.policy != policy:
                continue
            if policy == "vpn-psk-from-secrets" and not ctx.knows_config:
                continue  # cannot tell: vpn-psk-source-unverified says so, without blocking
            urn = v.resource if v.resource.startswith("urn:") else None
            report_violation(v.message if urn else f"{v.resource}: {v.message}", urn)

    return validate


# A pack-only policy: says when the pack cannot judge a key's source (never blocks).
PSK_UNVERIFIED = "vpn-psk-source-unverified"
PACK_ONLY = {
    PSK_UNVERIFIED: (
        "advisory",
        "A tunnel key is a plain value and the engine sent no stack config, so the pack "
        "cannot tell a literal from a config value (crossnet guardrails can).",
    )
}


def make_policies() -> list[Policy]:
    """One CrossGuard policy per guardrail, with its severity as enforcement level,
    plus the pack-only advisory PSK_UNVERIFIED."""
    out: list[Policy] = []
    for info in POLICIES.values():
        if info.scope == "resource":
            out.append(
                ResourceValidationPolicy(
                    name=info.name,
                    description=info.description,
                    validate=_resource_validate(info.name),
                    enforcement_level=_LEVEL[info.severity],
                    config_schema=CONFIG_SCHEMA,
                )
            )
        else:
            out.append(
                StackValidationPolicy(
                    name=info.name,
                    description=info.description,
                    validate=_stack_validate(info.name),
                    enforcement_level=_LEVEL[info.severity],
                    config_schema=CONFIG_SCHEMA,
                )
            )
    for name, (severity, description) in PACK_ONLY.items():
        out.append(
            StackValidationPolicy(
                name=name,
                description=description,
                validate=_stack_validate(name),
                enforcement_level=_LEVEL[severity],
                config_schema=CONFIG_SCHEMA,
            )
        )
    return out
