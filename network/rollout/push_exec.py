"""`crossnet rollout --stack S --inventory F --push-step N --phase drain|routers|restore`.

Pushes one phase of a written step to the real routers (the plan: network/rollout/push.py)
and runs that phase's checks (network/rollout/verify.py). Linux routers over paramiko
(the SSH library netmiko runs on; host keys checked against the inventory's known_hosts,
never accepted): files written privately and atomically, then swanctl / frr-reload.py.
IOS-XE, Junos, VyOS, FortiOS over netmiko: `send_config_set`, then the platform's commit.
The AWS side stays the engineer's `pulumi up`, printed, never run. Exit 0: pushed and
the phase's checks hold; 1: a push or a check failed (how to go back printed); 2: bad
input, nothing pushed.
"""

from __future__ import annotations

import argparse
import shlex
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

from network.contract import Router, StackOutputs
from network.errors import ConfigError, Problem
from network.rollout.push import (
    PHASES,
    WHEN,
    RouterPush,
    drained_for,
    linux_path,
    linux_push,
    phase_entries,
    phase_problems,
    planned_diff,
    redact,
    vendor_push,
)

POLL = 2.0  # seconds between two reads of the checks while they settle
# A device's answer printed as it is: VyOS's `[protocols bgp]` is no rich markup, and a
# long line is wrapped by the terminal, not cut into lines.
_PLAIN: dict[str, Any] = {"markup": False, "highlight": False, "soft_wrap": True}
T = TypeVar("T")


class PushError(Exception):
    """A router refused or lost a push: one line, keys never in it."""


class LinuxHost:
    """A Linux router over paramiko: commands and private atomic file writes."""

    def __init__(self, client: Any, sudo: str, timeout: float) -> None:
        self._c = client
        self._sudo = sudo
        self._timeout = timeout

    def run(self, cmd: str, stdin: str | None = None) -> tuple[int, str]:
        """`cmd`'s exit status and output; PushError when it does not answer in time or
        the session is lost (a command line never holds a key: files go through stdin)."""
        import paramiko

        try:
            chan_in, out, err = self._c.exec_command(cmd, timeout=self._timeout)
            if stdin is not None:
                chan_in.write(stdin)
                chan_in.channel.shutdown_write()
            text = out.read().decode(errors="replace") + err.read().decode(errors="replace")
            return out.channel.recv_exit_status(), text
        except TimeoutError:
            raise PushError(f"{cmd}: no answer within {self._timeout:g} s") from None
        except (paramiko.SSHException, OSError, EOFError) as e:
            raise PushError(f"{cmd}: session lost ({type(e).__name__})") from None

    def _sh(self, script: str) -> str:
        return f"{self._sudo} sh -c {shlex.quote(script)}".strip()

    def read(self, path: str) -> str | None:
        rc, text = self.run(self._sh(f"cat {shlex.quote(path)} 2>/dev/null"))
        return text if rc == 0 else None

    def write(self, path: str, text: str) -> None:
        """0600 from its creation (mktemp, umask 077) in the file's own directory, then
        renamed over the old one: a reader sees the old file or the new, never half."""
        q = shlex.quote(path)
        script = (
            f'umask 077; d=$(dirname {q}); mkdir -p "$d" && t=$(mktemp "$d/.crossnet.XXXXXX") '
            f'&& cat > "$t" && chmod 600 "$t" && mv -f "$t" {q}'
        )
        rc, out = self.run(self._sh(script), stdin=text)
        if rc != 0:
            raise PushError(f"writing {path}: exit {rc}: {out.strip()[:200]}")


@contextmanager
def linux_host(entry: Mapping[str, Any], inv: Mapping[str, Any]) -> Iterator[LinuxHost]:
    import paramiko

    from network.devices.session import SessionError, target

    t = target(entry, inv)
    client = paramiko.SSHClient()
    client.load_host_keys(str(t.known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    port, proxy = t.via_config()
    try:
        client.connect(
            t.host,
            port=port,
            sock=proxy,
            username=t.username,
            key_filename=str(t.identity_file),
            look_for_keys=False,
            allow_agent=False,
            timeout=t.timeout,
            banner_timeout=t.timeout,
            auth_timeout=t.timeout,
        )
    except Exception as e:  # paramiko's: refused key, unknown host key, no answer
        raise SessionError("unreachable", f"{t.host}:{t.port}: {type(e).__name__}: {e}") from None
    try:
        yield LinuxHost(client, str(entry.get("sudo", "")), t.read_timeout)
    finally:
        with suppress(Exception):
            client.close()


def plan_router(
    router: Router, entry: Mapping[str, Any], inv: Mapping[str, Any], step: Any, phase: str
) -> RouterPush:
    """Read what the router runs (its files, or its running config) and plan the push."""
    from network.render import render_router

    files = render_router(router, drained=drained_for(step, phase))
    drained = frozenset(step.get("drained") or [])
    if router.platform == "linux":
        with linux_host(entry, inv) as h:
            remote = {linux_path(n, entry): h.read(linux_path(n, entry)) for n in files}
        return linux_push(router, files, remote, entry, phase)
    from network.devices.drift import RENDERED_FILE, running_config
    from network.devices.session import open_session, target

    name = RENDERED_FILE[router.platform]
    with open_session(router.platform, target(entry, inv)) as s:
        running = running_config(router.platform, s.run)
    diff = planned_diff(phase_entries(step, phase), router.key)
    return vendor_push(router, files[name], running, diff, drained, phase)


def _nothing_to_terminate(cmd: str, text: str) -> bool:
    """A tunnel whose SA is already gone (AWS's end restarted with the new key): there
    is nothing to terminate, and the initiate that follows is what counts."""
    return " --terminate " in cmd and "no matching SAs to terminate found" in text


def apply_push(p: RouterPush, entry: Mapping[str, Any], inv: Mapping[str, Any]) -> list[str]:
    """Send the push; the device's answers (keys redacted). Raises PushError."""
    if p.empty:
        return []
    if p.platform == "linux":
        out: list[str] = []
        with linux_host(entry, inv) as h:
            for path, text in sorted(p.files.items()):
                h.write(path, text)
                out.append(f"wrote {path}")
            for cmd in p.commands:
                rc, text = h.run(cmd)
                out.append(f"{cmd}: exit {rc}")
                if rc != 0 and not _nothing_to_terminate(cmd, text):
                    raise PushError(f"{cmd}: exit {rc}: {redact(text.strip(), p.secrets)[-300:]}")
        return out
    from network.devices.parsing import CommandError, device_error
    from network.devices.session import SessionError, open_session, target

    try:
        with open_session(p.platform, target(entry, inv)) as s:
            text = s.configure(p.lines, p.commit)
            for cmd in p.commands:  # the soft clears: one the router refuses stops here
                answer = s.run(cmd)
                device_error(p.platform, cmd, answer)
                text += f"\n{cmd}\n" + answer
    except SessionError as e:  # a refused line names it: it may hold the new key
        raise PushError(f"{p.router}: {redact(str(e), p.secrets)}") from None
    except CommandError as e:
        raise PushError(f"{p.router}: the config is applied, but {e}") from None
    return [redact(text, p.secrets)]


def _go_back(args: argparse.Namespace, step: Mapping[str, Any]) -> str:
    n = int(step.get("step", 0))
    inv = f"--inventory {args.inventory}"
    if args.phase == "drain":
        again = f"--push-step {n} --phase restore"
        return f"to go back: crossnet rollout --stack {args.stack} {inv} {again}"
    aws = f"`pulumi up --config-file {step['before']}`, then " if step.get("before") else ""
    prev = (
        f"crossnet rollout --stack {args.stack} {inv} --push-step {n - 1} --phase restore "
        "--outputs <the outputs after that pulumi up>"
        if n > 1
        else "each router's render of the applied state (`crossnet render`)"
    )
    return f"to go back to step {n - 1}'s configs: {aws}{prev}"


def _aws_note(step: Mapping[str, Any]) -> str:
    aws = step.get("aws") or {}
    cmds = [str(c) for c in aws.get("commands") or []]
    if not cmds:
        return "the AWS side: nothing in this step"
    return "the AWS side is yours, run before the routers phase (never by crossnet): " + "; ".join(
        cmds
    )


def _gathered(problems: list[Problem], read: Callable[[], T]) -> T | None:
    """`read()`, or None with its ConfigError's problems added (each named by its file)."""
    try:
        return read()
    except ConfigError as e:
        problems += [Problem(_where(e.source, p.field), p.value, p.rule) for p in e.problems]
        return None


def _where(source: str, field: str) -> str:
    """A problem's field named with its file, once."""
    if field.startswith(source):
        return field
    return source if field == "file" else f"{source}: {field}"


def main(args: argparse.Namespace) -> int:
    """Bad input raises ConfigError (exit 2) before any router is touched: every problem
    of the flags, rollout.json, the inventory and the outputs at once."""
    from rich.console import Console

    from network.contract import load_outputs
    from network.devices.remote import read_inventory
    from network.rollout.verify import load_step
    from network.state import outputs_path

    problems: list[Problem] = []
    if (
        args.push_step is None
        or args.inventory is None
        or getattr(args, "lab", False)
        or args.verify_step is not None
    ):
        problems.append(
            Problem(
                "--push-step",
                str(args.push_step),
                "--push-step N needs --inventory F and --phase P, without --lab or --verify-step",
            )
        )
    step = (
        None
        if args.push_step is None
        else _gathered(problems, lambda: load_step(args.stack, args.out, args.push_step))
    )
    inv = (
        None
        if args.inventory is None
        else _gathered(problems, lambda: read_inventory(args.inventory))
    )
    if step is not None and inv is not None:
        problems += [
            Problem(f"{args.inventory}: {p.field}", p.value, p.rule)
            for p in phase_problems(step, str(args.phase), inv)
        ]
    outputs = _gathered(
        problems, lambda: load_outputs(args.outputs or outputs_path(args.stack, create=False))
    )
    if step is not None and outputs is not None and args.phase in PHASES:
        problems += [
            Problem(f"stack outputs: routers.{e['router']}", "missing", "the phase renders it")
            for e in phase_entries(step, args.phase)
            if e["router"] not in outputs.routers
        ]
    if problems:
        raise ConfigError("crossnet rollout --push-step", problems)
    assert step is not None and inv is not None and outputs is not None
    return run_push(args, step, outputs, inv, Console())


def settle(
    checks: list[dict[str, Any]], outputs: StackOutputs, inv: Mapping[str, Any], timeout: float
) -> list[Any]:
    """The checks read until none fails or `timeout` s have passed (SAs and BGP take a
    few seconds to follow a push); the last results."""
    from network.devices.remote import read_router
    from network.rollout.verify import verify

    deadline = time.monotonic() + timeout
    while True:
        results = verify(checks, outputs.routers, lambda r: read_router(r, inv))
        if not any(x.status == "FAIL" for x in results) or time.monotonic() >= deadline:
            return results
        time.sleep(POLL)


def _answer(question: str) -> str:
    """The engineer's answer; none (stdin closed, as under cron or CI) is a no."""
    try:
        return input(question).strip().lower()
    except EOFError:
        return ""


def run_push(
    args: argparse.Namespace,
    step: dict[str, Any],
    outputs: StackOutputs,
    inv: Mapping[str, Any],
    console: Any,
) -> int:
    from network.devices.session import SessionError
    from network.rollout.verify import selected, table

    console.print(f"step {step.get('step')}: {step.get('title', '')}, phase {args.phase}")
    console.print(_aws_note(step))
    routers = inv["routers"]
    pushes: list[RouterPush] = []
    try:
        for e in phase_entries(step, args.phase):
            r = outputs.routers[e["router"]]
            pushes.append(plan_router(r, routers[r.key], inv, step, args.phase))
    except SessionError as e:
        console.print(f"FAIL: a router could not be read, nothing pushed: {e}", **_PLAIN)
        return 1
    for p in pushes:
        console.rule(f"{p.router} ({p.platform})")
        console.print(p.shown(), markup=False, highlight=False)
    if not args.yes and _answer("push this? [y/N] ") not in ("y", "yes"):
        console.print("nothing pushed")
        return 1
    try:
        for p in pushes:
            for line in apply_push(p, routers[p.router], inv):
                console.print(f"{p.router}: {line}", markup=False, highlight=False)
    except (PushError, SessionError) as e:
        console.print(f"FAIL: push stopped: {e}", **_PLAIN)
        console.print(_go_back(args, step))
        return 1
    results = settle(selected(step, WHEN[args.phase]), outputs, inv, float(args.check_timeout))
    console.print(table(step, results))
    failed = [x for x in results if x.status == "FAIL"]
    for x in failed:
        console.print(f"FAIL {x.check['kind']} {x.check.get('tunnel', '')}: {x.detail}", **_PLAIN)
    if failed:
        console.print(_go_back(args, step))
        return 1
    hand = sum(x.status == "by hand" for x in results)
    console.print(
        f"{args.phase} of step {step.get('step')} pushed: {len(results) - hand} check(s) "
        f"passed, {hand} to verify by hand"
    )
    return 0
