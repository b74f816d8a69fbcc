"""A rollback's undo of what a `pulumi up` does not undo: AWS API requests and crypto unions.

The tunnel-options class changes AWS through ModifyVpnTunnelOptions, one tunnel per
request (`aws-api` steps), and its routers through a crypto union (the old and the new
proposals accepted). A rollback (`network.rollout.rollback`) undoes them so:

- **An `aws-api` step**: each request reversed, last first, through the same emulator API
  path as forward (`aws_actions.modify_and_refresh`: one tunnel per request, that tunnel
  DOWN meanwhile, then `pulumi refresh` into the stack's state), with the options the
  tunnel had before the step: those of the stack file AWS held before it (the last
  earlier `pulumi up` step's, else the baseline); the lab's AWS end restarted with them
  (`aws_actions.restart_aws_end`). A request whose tunnel the state already shows with
  those options is not sent again (a resumed rollback), but its AWS end is still set.
- **A `pulumi up` step after such requests** (the class's last step: `pulumi refresh`,
  `pulumi up`, no AWS change): applying the earlier stack file would change every tunnel
  the requests touched in one apply, both tunnels of a connection down together. Its
  AWS side is *deferred* (progress.json `rollback.deferred`): it runs once the requests
  are reversed, when the state already holds the earlier options, so the apply changes
  nothing at AWS and brings `applied.json` and `outputs.json` back.
- **The routers' proposals**: a step's routers render with a crypto union where its
  render says `cryptoUnion` (the union of the options AWS held before the step and the
  edited stack file's, as the executor rendered them: `aws_actions.crypto_for`). Undone,
  they take the crypto of the step before; where that changes a tunnel's proposals, tunnel
  by tunnel, each drained (strongSwan's load-conn re-establishes a changed connection).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from network.lab.runtime import Running
from network.lab.system import LabError
from network.plan import build_plan
from network.review.resources import tunnel_option_inputs
from network.review.snapshot import plan_snapshot
from network.stack_file import read_stack_config
from network.state import state_dir

Say = Callable[[str], None]
Crypto = dict[str, dict[str, Any]]
VPN = "aws:ec2/vpnConnection:VpnConnection"


def plan_crypto(stack: str, config: Path | None) -> Crypto:
    """Connection -> its crypto record in the plan of a stack file (None: the edited one)."""
    plan = build_plan(read_stack_config(stack, config), stack, need_secrets=False)
    return {k: dict(v["crypto"]) for k, v in plan_snapshot(plan)["connections"].items()}


def union_for(stack: str, step: Mapping[str, Any], before: Path) -> Crypto:
    """The crypto records `step`'s routers rendered with: for each connection its render
    names in `cryptoUnion`, the union of the options of `before` (the stack file AWS held
    before the step) and of the edited stack file. Empty: rendered from the outputs."""
    from network.rollout.aws_actions import step_unions
    from network.rollout.planner import union_crypto

    conns = step_unions(step)
    if not conns:
        return {}
    old, new = plan_crypto(stack, before), plan_crypto(stack, None)
    return {c: union_crypto(old[c], new[c]) for c in conns if c in old and c in new}


def reversed_requests(
    requests: Iterable[Mapping[str, Any]], before: Mapping[str, Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """A step's ModifyVpnTunnelOptions requests undone, last first: the same tunnels and
    option names, each with the value of `before` (connection -> crypto record)."""
    out = []
    for req in reversed(list(requests)):
        conn, n = str(req["connection"]), int(req["tunnel"])
        if conn not in before:
            raise LabError(
                f"the rollback cannot reverse ModifyVpnTunnelOptions {conn} tunnel {n}: the "
                "stack file AWS held before the step has no such connection"
            )
        crypto = dict(before[conn])
        prev = tunnel_option_inputs(crypto, f"tunnel{n}")
        inputs = {k: prev[k] for k in req["inputs"] if k in prev}
        out.append({**req, "inputs": inputs, "crypto": crypto})
    return out


def _state_holds(stack: str, req: Mapping[str, Any]) -> bool:
    """The stack's state already shows the request's tunnel with these options."""
    from network.naming import resource_name
    from network.offline.stack_state import load_state, state_path

    state = load_state(state_path(state_dir(stack, create=False)), stack)
    name = resource_name("vpn", str(req["connection"]))
    resources = state.resources if state is not None else []
    vpn = next((r for r in resources if (r.type, r.name) == (VPN, name)), None)
    return vpn is not None and all(vpn.inputs.get(k) == v for k, v in req["inputs"].items())


def reverse_api(
    rt: Running,
    stack: str,
    requests: Iterable[Mapping[str, Any]],
    before: Mapping[str, Mapping[str, Any]],
    say: Say,
) -> list[dict[str, Any]]:
    """A step's API requests reversed on the emulator (refreshed into the state) and on
    the lab's AWS ends; returns the requests sent back."""
    from network.rollout import aws_actions

    back = reversed_requests(requests, before)
    for req in back:
        if _state_holds(stack, req):
            say(
                f"  AWS: {req['connection']} tunnel {req['tunnel']} already has its previous "
                "options in the state (not sent again)"
            )
        else:
            aws_actions.modify_and_refresh(stack, req, say)
        aws_actions.restart_aws_end(rt, req, say)
    return back


def tunnel_checks(step: Mapping[str, Any], drained: Iterable[str]) -> list[dict[str, Any]]:
    """What must hold again before a reversed tunnel is restored: its SA and BGP session
    (the step's after-change checks of the drained tunnels; none of them names options)."""
    keep = set(drained)
    return [
        dict(c)
        for c in step["checks"]
        if c["when"] == "after-change"
        and c["kind"] in ("ipsec-sa", "bgp-established")
        and c.get("tunnel") in keep
    ]
