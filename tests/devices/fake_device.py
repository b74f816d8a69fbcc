"""A fake router for the SSH session tests: a paramiko SSH server that replays recordings.

    python tests/devices/fake_device.py --platform iosxe --listen 198.18.0.2 --port 22 \
        --host-key KEY --authorized-key KEY.pub --recording tests/devices/recorded/iosxe \
        [--running FILE] [--down] [--hang] [--config-log FILE] [--refuse TEXT]

It answers an interactive shell as the platform's CLI does (prompt, echo, the
commands netmiko sends to set up a session), and each recorded command with
its recording (`<recording>/commands.yaml`: command -> file). `--running`
serves that file as the running config; `--down` answers every state command
with the platform's "daemon not running" message; `--hang` never answers them (no
output, no prompt: a CLI stuck on a command). Only public-key
authentication with the one authorized key is accepted.

`--config-log FILE`: the platform's configuration mode (IOS-XE `configure terminal` ...
`end`; Junos `configure` ... `commit` ... `exit configuration-mode`), every line received
in it appended to FILE as received, and the exec commands a push sends after it (IOS-XE's
`clear ip bgp ... soft`) as `exec: <command>`. VyOS and FortiOS with `--running` then keep
that config and change it as their CLIs do (fake_cli.py: VyOS's candidate and `commit`,
FortiOS's `config`/`edit` blocks applied at `end`); `show configuration commands` / `show`
print it as it stands. `--refuse TEXT`: a configuration line holding TEXT is refused with
the platform's error.
"""

from __future__ import annotations

import argparse
import base64
import re
import socket
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paramiko
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script: fake_cli beside it
from fake_cli import Fortios, Vyos

PROMPTS = {
    "iosxe": "ash-edge1#",
    "junos": "netops@ash-edge2> ",
    "vyos": "vyos@fra-edge2:~$ ",
    "fortios": "fra-edge2 # ",
    "linux": "netops@fra-edge1:~$ ",
}
# What netmiko sends to set up a session, and what the platform answers.
SETUP = {
    "iosxe": {"terminal width 511": "", "terminal length 0": ""},
    "junos": {
        "set cli screen-width 511": "Screen width set to 511",
        "set cli complete-on-space off": "Disabling complete-on-space",
        "set cli screen-length 0": "Screen length set to 0",
    },
    "vyos": {"set terminal width 512": "", "set terminal length 0": ""},
    "fortios": {
        "get system status | grep Virtual": "Virtual domain configuration: disable",
        "get system status | grep Version": (
            "Version: FortiGate-VM64 v7.2.5,build1517,230606 (GA.F)"
        ),
        "get system console": "output              : standard",
    },
    "linux": {},
}
UNKNOWN = {
    "iosxe": "                    ^\n% Invalid input detected at '^' marker.",
    "junos": "                ^\nsyntax error, expecting <command>.\nerror: syntax error",
    "vyos": "Invalid command: [{cmd}]",
    "fortios": "Unknown action 0",
    "linux": "sh: 1: {cmd}: not found",
}
DOWN = {
    "iosxe": "% BGP not active",
    "junos": "error: the routing subsystem is not running",
    "vyos": "% BGP instance not found",
    "fortios": "Command fail. Return code -1",
    "linux": "Exiting: failed to connect to any daemons.",
}
RUNNING = {
    "iosxe": "show running-config",
    "junos": "show configuration | display set",
    "vyos": "show configuration commands",
    "fortios": "show",
}


HANG = "\0hang"  # answer() -> serve_shell: send nothing back, not even the prompt


class Server(paramiko.ServerInterface):
    def __init__(self, allowed: paramiko.PKey) -> None:
        self.allowed = allowed
        self.shell = threading.Event()

    def get_allowed_auths(self, username: str) -> str:
        return "publickey"

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        if key.get_base64() == self.allowed.get_base64():
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_pty_request(self, *args: Any) -> bool:
        return True

    def check_channel_shell_request(self, channel: Any) -> bool:
        self.shell.set()
        return True


# Configuration mode: how it is entered and left, its prompt, its exec commands logged.
@dataclass(frozen=True)
class Mode:
    enter: str
    leave: tuple[str, ...]
    prompt: str


CONFIG = {
    "iosxe": Mode("configure terminal", ("end",), "ash-edge1(config)#"),
    "junos": Mode("configure", ("exit configuration-mode",), "[edit]\nnetops@ash-edge2# "),
}
CONFIG_ANSWERS = {
    "configure": "Entering configuration mode",
    "commit": "commit complete",
    "exit configuration-mode": "Exiting configuration mode",
}
LOGGED_EXEC = ("clear ip bgp ", "reset ip bgp ", "execute router clear bgp ")
VENDOR_CONFIG = ("vyos", "fortios")  # a running config the pushed lines change (fake_cli.py)


def vendor_config(args: argparse.Namespace) -> Vyos | Fortios | None:
    """The device's configuration, kept across sessions, when its config mode is emulated."""
    if args.platform not in VENDOR_CONFIG or not (args.config_log and args.running):
        return None
    text = Path(args.running).read_text()
    if args.platform == "vyos":
        return Vyos(text, args.refuse)
    return Fortios(text, PROMPTS["fortios"].split()[0], args.refuse)


class Shell:
    """One session's mode: exec, or configuration (with --config-log)."""

    def __init__(self, args: argparse.Namespace, device: Vyos | Fortios | None = None) -> None:
        self.args = args
        self.config = False
        self.device = device

    def prompt(self) -> str:
        if isinstance(self.device, Fortios):
            return self.device.prompt()
        if self.config and isinstance(self.device, Vyos):
            return "[edit]\n" + PROMPTS["vyos"].replace(":~$ ", "# ")
        if self.config:
            return CONFIG[self.args.platform].prompt
        return PROMPTS[self.args.platform]

    def log(self, line: str) -> None:
        with open(self.args.config_log, "a") as f:
            f.write(line + "\n")

    def answer(self, commands: dict[str, str], line: str) -> str | None:
        if self.device is not None:
            return self.vendor(commands, line)
        mode = CONFIG.get(self.args.platform) if self.args.config_log else None
        cmd = " ".join(line.split())
        if mode is None:
            return answer(self.args, commands, line)
        if not self.config and cmd == mode.enter:
            self.config = True
            return CONFIG_ANSWERS.get(cmd, "")
        if self.config:
            print(f"config: {cmd!r}", file=sys.stderr, flush=True)
            if not cmd:
                return ""
            if cmd in mode.leave:
                self.config = False
                return CONFIG_ANSWERS.get(cmd, "")
            if cmd.startswith(("show ", "run show")):  # Junos: `show | compare` in config
                return ""
            self.log(line.rstrip("\r"))  # as received: indentation kept
            return CONFIG_ANSWERS.get(cmd, "")
        if cmd.startswith(LOGGED_EXEC):
            self.log(f"exec: {cmd}")
            return ""
        return answer(self.args, commands, line)

    def vendor(self, commands: dict[str, str], line: str) -> str | None:
        """VyOS or FortiOS with its configuration kept (fake_cli.py)."""
        cmd = " ".join(line.split())
        d = self.device
        if isinstance(d, Vyos) and not self.config and cmd == "configure":
            d.configure()
            self.config = True
            return ""
        if isinstance(d, Vyos) and self.config:
            if cmd:
                self.log(line.rstrip("\r"))
            reply, self.config = d.command(line) if cmd else ("", True)
            return reply
        if isinstance(d, Fortios) and cmd and d.is_config(line):
            self.log(line.rstrip("\r"))
            return d.command(line)
        if d is not None and cmd == RUNNING[self.args.platform]:
            return d.show()
        if cmd.startswith(LOGGED_EXEC):
            self.log(f"exec: {cmd}")
            refused = self.args.refuse and self.args.refuse in cmd
            return UNKNOWN[self.args.platform].format(cmd=cmd) if refused else ""
        return answer(self.args, commands, line)


def answer(args: argparse.Namespace, commands: dict[str, str], line: str) -> str | None:
    """The device's answer to one command line; None closes the session."""
    cmd = " ".join(line.split())
    print(f"command: {cmd!r}", file=sys.stderr, flush=True)
    if cmd in ("exit", "quit", "logout"):
        return None
    if not cmd:
        return ""
    if cmd in SETUP[args.platform]:
        return SETUP[args.platform][cmd]
    if args.running and (cmd == RUNNING.get(args.platform) or cmd.endswith("show running-config")):
        return Path(args.running).read_text()
    for key, name in commands.items():
        if key == cmd or (key.startswith("re:") and re.fullmatch(key[3:], cmd)):
            if args.down:
                return DOWN[args.platform]
            if args.hang:
                return HANG
            return (Path(args.recording) / name).read_text()
    return UNKNOWN[args.platform].format(cmd=cmd)


def serve_shell(
    args: argparse.Namespace,
    chan: Any,
    commands: dict[str, str],
    device: Vyos | Fortios | None = None,
) -> None:
    shell = Shell(args, device)
    chan.send(shell.prompt())
    buf = ""
    while True:
        data = chan.recv(4096)
        if not data:
            return
        for ch in data.decode(errors="replace"):
            if ch in "\r\n":
                chan.send("\r\n")
                reply = shell.answer(commands, buf)
                buf = ""
                if reply == HANG:
                    continue
                if reply is None:
                    chan.close()
                    return
                if reply:
                    chan.send(reply.rstrip("\n").replace("\n", "\r\n") + "\r\n")
                chan.send(shell.prompt().replace("\n", "\r\n"))
            else:
                buf += ch
                chan.send(ch)


def handle(
    args: argparse.Namespace,
    sock: socket.socket,
    commands: dict[str, str],
    device: Vyos | Fortios | None = None,
) -> None:
    transport = paramiko.Transport(sock)
    try:
        transport.add_server_key(paramiko.Ed25519Key.from_private_key_file(args.host_key))
        key_line = Path(args.authorized_key).read_text().split()
        server = Server(paramiko.Ed25519Key(data=base64.b64decode(key_line[1])))
        transport.start_server(server=server)
        chan = transport.accept(20)
        if chan is None or not server.shell.wait(20):
            return
        serve_shell(args, chan, commands, device)
    except (paramiko.SSHException, EOFError, OSError):
        pass
    finally:
        transport.close()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--platform", required=True, choices=sorted(PROMPTS))
    p.add_argument("--listen", default="127.0.0.1")
    p.add_argument("--port", type=int, default=22)
    p.add_argument("--host-key", required=True)
    p.add_argument("--authorized-key", required=True)
    p.add_argument("--recording", required=True)
    p.add_argument("--running", default=None)
    p.add_argument("--down", action="store_true")
    p.add_argument("--hang", action="store_true")
    p.add_argument("--config-log", default=None)
    p.add_argument("--refuse", default="")
    args = p.parse_args()
    device = vendor_config(args)
    commands = yaml.safe_load((Path(args.recording) / "commands.yaml").read_text()) or {}
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((args.listen, args.port))
    srv.listen(8)
    print("ready", flush=True)
    while True:
        sock, _ = srv.accept()
        threading.Thread(target=handle, args=(args, sock, commands, device), daemon=True).start()


if __name__ == "__main__":
    main()
