"""SSH sessions to real routers (netmiko), every step bounded, host keys checked.

A router entry of the inventory names an `ssh://user@host[:port]` target; the
key and the known_hosts file come from the entry or the inventory's `ssh:`
section (docs/devices.md). Host keys are always checked against that
known_hosts file (paramiko's RejectPolicy): an unknown or changed key is a
failure, never accepted. Every failure a nightly meets becomes one
`SessionError` with a kind and a sentence, never a traceback or a hang.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# crossnet platform -> netmiko device_type
DEVICE_TYPES: dict[str, str] = {
    "iosxe": "cisco_xe",
    "junos": "juniper_junos",
    "vyos": "vyos",
    "fortios": "fortinet",
    "linux": "linux",
}
# What a platform answers a configuration line it does not take (netmiko's error_pattern,
# searched in each line's answer): IOS-XE's `% Invalid input`, Junos's `error:`, VyOS's
# `Set failed` / `Nothing to delete`, FortiOS's `Command fail. Return code -N`.
REFUSED: dict[str, str] = {
    "iosxe": r"^% (?:Invalid|Incomplete|Ambiguous|Unknown).*$",
    "junos": r"^(?:error:|syntax error|unknown command).*$",
    "vyos": r"^.*(?:Set failed|Delete failed|is not valid|Nothing to delete|Invalid command).*$",
    # The line before FortiOS's return code says why (`command parse error before ...`).
    "fortios": r"^(?:.*\S.*\r?\n)?Command fail\. Return code -?\d+",
}
# Where a refused push leaves the router (the lines after the refused one are never sent).
LEFT = {
    "iosxe": "the lines before it are applied (IOS-XE applies each line as sent)",
    "junos": "the candidate was rolled back (rollback 0): the running config is as before",
    "vyos": "the candidate was discarded (exit discard): the running config is as before",
    "fortios": "the blocks ended before it are applied (each `end` applies), the open one aborted",
}
_REFUSED_AT = re.compile(r"at command: (?P<cmd>.*), matched error: (?P<err>.*)$", re.S)
_TARGET = re.compile(
    r"^ssh://(?:(?P<user>[^@/]+)@)?(?P<host>[^:/@]+|\[[^\]]+\])(?::(?P<port>\d+))?/?$"
)


class SessionError(Exception):
    """A router could not be read. `kind`: unreachable, auth, host-key, timeout, config."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


@dataclass(frozen=True)
class Target:
    """Where and how to reach one router over SSH."""

    host: str
    port: int
    username: str
    identity_file: Path
    known_hosts: Path
    timeout: float = 10.0  # TCP connect, SSH banner, authentication: each
    read_timeout: float = 30.0  # one command's answer
    # An OpenSSH client config (the entry's or the inventory's `ssh.ssh_config`): its
    # Port and ProxyCommand for the host are honoured (the lab's routers sit behind one).
    ssh_config: Path | None = None

    def via_config(self) -> tuple[int, Any]:
        """The port and the paramiko ProxyCommand (or None) the ssh_config gives."""
        if self.ssh_config is None or not self.ssh_config.is_file():
            return self.port, None
        import paramiko

        conf = paramiko.SSHConfig.from_path(str(self.ssh_config)).lookup(self.host)
        port = int(conf.get("port", self.port)) if self.port == 22 else self.port
        proxy = conf.get("proxycommand")
        return port, paramiko.ProxyCommand(proxy) if proxy else None


def target(entry: Mapping[str, Any], inventory: Mapping[str, Any]) -> Target:
    """The Target of an inventory router entry; SessionError("config") when it has none."""
    spec = str(entry.get("target", ""))
    m = _TARGET.match(spec)
    if not m:
        raise SessionError("config", f"target {spec!r} is not ssh://user@host[:port]")
    ssh = inventory.get("ssh") or {}
    identity = entry.get("identity_file") or ssh.get("ssh_identity_file")
    known = entry.get("known_hosts") or ssh.get("known_hosts")
    conf = entry.get("ssh_config") or ssh.get("ssh_config")
    if not identity:
        raise SessionError("config", f"{spec}: no identity_file (nor ssh.ssh_identity_file)")
    if not known:
        raise SessionError("config", f"{spec}: no known_hosts file (host keys are always checked)")
    return Target(
        host=m["host"].strip("[]"),
        port=int(m["port"] or 22),
        username=m["user"] or os.environ.get("USER", "root"),
        identity_file=Path(os.path.expanduser(str(identity))),
        known_hosts=Path(os.path.expanduser(str(known))),
        timeout=float(entry.get("timeout", ssh.get("timeout", 10))),
        read_timeout=float(entry.get("read_timeout", ssh.get("read_timeout", 30))),
        ssh_config=Path(os.path.expanduser(str(conf))) if conf else None,
    )


class Session:
    """An open netmiko connection: `run(command)` returns the device's answer."""

    def __init__(self, conn: Any, t: Target, platform: str = "") -> None:
        self._conn = conn
        self._target = t
        self._platform = platform

    def run(self, command: str) -> str:
        from netmiko.exceptions import ReadTimeout

        try:
            out = self._conn.send_command(command, read_timeout=self._target.read_timeout)
        except ReadTimeout:
            raise SessionError(
                "timeout",
                f"{self._target.host}: no answer to {command!r} within "
                f"{self._target.read_timeout:g} s",
            ) from None
        except OSError as e:
            raise SessionError("unreachable", f"{self._target.host}: session lost ({e})") from None
        return str(out)

    def configure(self, lines: tuple[str, ...], commit: tuple[str, ...] = ()) -> str:
        """`lines` in the platform's config mode (netmiko's send_config_set), then each
        of `commit` in it (`commit`: netmiko's commit; `save`: sent as a command). A line
        or commit the router refuses stops there: nothing after it is sent, the candidate
        is dropped where the platform has one, and SessionError("refused") says where the
        router was left."""
        from netmiko.exceptions import ConfigInvalidException, ReadTimeout

        host = self._target.host
        try:
            out = str(
                self._conn.send_config_set(
                    list(lines),
                    exit_config_mode=not commit,
                    error_pattern=REFUSED.get(self._platform, ""),
                )
            )
            for c in commit:
                out += str(self._conn.commit() if c == "commit" else self._conn.send_command(c))
            if commit:
                self._conn.exit_config_mode()
        except ConfigInvalidException as e:
            m = _REFUSED_AT.search(str(e))
            line, err = (m["cmd"].strip(), m["err"]) if m else ("a line", str(e))
            err = " / ".join(x.strip() for x in err.splitlines() if x.strip())
            self._abandon()
            raise SessionError(
                "refused", f"{host} did not take {line!r}: {err}; {self._left()}"
            ) from None
        except ValueError as e:  # netmiko's commit: "Commit failed with following errors"
            if "Commit failed" not in str(e):
                raise SessionError("config", f"{host}: {e}") from None
            self._abandon()
            said = [x.strip() for x in str(e).splitlines()[1:]]
            # its answer without the echo, `[edit]` and the prompts
            why = " / ".join(
                x for x in said if x and x not in ("commit", "[edit]") and x[-1] != "#"
            )
            raise SessionError(
                "refused", f"{host} did not take the commit: {why}; {self._left()}"
            ) from None
        except ReadTimeout:
            raise SessionError(
                "timeout", f"{self._target.host}: a config line got no answer"
            ) from None
        except OSError as e:
            raise SessionError("unreachable", f"{self._target.host}: session lost ({e})") from None
        return out

    def _left(self) -> str:
        return f"nothing after it was sent; {LEFT.get(self._platform, 'check the router')}"

    def _abandon(self) -> None:
        """Leave configuration mode without what was refused: Junos's candidate rolled
        back, VyOS's discarded (netmiko's exit sends `exit discard`), FortiOS's open
        block aborted (its prompt names the block: `host (bgp) #`)."""
        c = self._conn
        with suppress(Exception):  # best effort: the error raised next says what happened
            if self._platform == "junos":
                c.send_command_timing("rollback 0")
            if self._platform == "fortios":
                if "(" in c.find_prompt():
                    c.send_command_timing("abort")
                return
            c.exit_config_mode()


@contextmanager
def open_session(platform: str, t: Target) -> Iterator[Session]:
    """A netmiko session to `t`, closed on exit. Raises SessionError."""
    for path, what in ((t.identity_file, "key"), (t.known_hosts, "known_hosts file")):
        if not path.is_file():
            raise SessionError("config", f"{t.host}: {what} {path} does not exist")
    conn = _connect(platform, t)
    try:
        yield Session(conn, t, platform)
    finally:
        with suppress(Exception):  # a dead transport while closing: nothing left to do
            conn.disconnect()


def _connect(platform: str, t: Target) -> Any:
    from netmiko import ConnectHandler
    from netmiko.exceptions import (
        NetmikoAuthenticationException,
        NetmikoTimeoutException,
        ReadTimeout,
    )

    where = f"{t.username}@{t.host}:{t.port}"
    extra: dict[str, Any] = {}
    if t.ssh_config is not None and t.ssh_config.is_file():
        extra["ssh_config_file"] = str(t.ssh_config)
    if platform == "fortios":
        # netmiko limits FortiOS to its old kex list (group14-sha1, group-exchange) unless
        # told otherwise; paramiko 5 keeps only group-exchange-sha256 of it. FortiOS 7
        # offers curve25519/ECDH: let paramiko negotiate its modern defaults (naming a
        # kex to disable, one paramiko no longer has, turns netmiko's restriction off).
        extra["disabled_algorithms"] = {"kex": ["diffie-hellman-group1-sha1"]}
    try:
        return ConnectHandler(
            device_type=DEVICE_TYPES[platform],
            host=t.host,
            port=t.port,
            username=t.username,
            key_file=str(t.identity_file),
            use_keys=True,
            allow_agent=False,
            ssh_strict=True,  # paramiko RejectPolicy: unknown host keys are refused
            system_host_keys=False,
            alt_host_keys=True,
            alt_key_file=str(t.known_hosts),
            conn_timeout=t.timeout,
            auth_timeout=t.timeout,
            banner_timeout=t.timeout,
            read_timeout_override=t.read_timeout,
            fast_cli=False,
            **extra,
        )
    except NetmikoAuthenticationException:
        raise SessionError("auth", f"{where}: the key {t.identity_file} was refused") from None
    except NetmikoTimeoutException as e:
        raise _classify(where, t, str(e)) from None
    except ReadTimeout:
        raise SessionError(
            "timeout", f"{where}: connected, but no prompt within {t.read_timeout:g} s"
        ) from None
    except (OSError, EOFError) as e:
        raise SessionError("unreachable", f"{where}: {type(e).__name__}: {e}") from None
    except Exception as e:  # paramiko's own: BadHostKeyException, SSHException
        raise _classify(where, t, f"{type(e).__name__}: {e}") from None


def _classify(where: str, t: Target, text: str) -> SessionError:
    if "does not match" in text or "BadHostKey" in text:
        return SessionError("host-key", f"{where}: host key differs from {t.known_hosts} (refused)")
    if "not found in known_hosts" in text:
        return SessionError("host-key", f"{where}: host key not in {t.known_hosts} (refused)")
    if "TCP connection to device failed" in text or "timed out" in text.lower():
        return SessionError("unreachable", f"{where}: no SSH answer within {t.timeout:g} s")
    line = next((x.strip() for x in text.splitlines() if x.strip()), text)
    return SessionError("unreachable", f"{where}: {line[:200]}")
