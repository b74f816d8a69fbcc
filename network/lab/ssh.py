"""The lab's datacenter routers and hosts as SSH hosts, for the nightly's path.

`crossnet lab ssh --stack S` (on a running lab) starts one OpenSSH `sshd` per router
and host namespace, each with its own config, host key and pid file, listening on the
namespace's own address (port ``PORT``), and writes:

- a per-lab client key pair (``id_ed25519``), authorised in every sshd (and only there);
- ``known_hosts``, from the host keys the lab generated: host-key checking stays on
  (``StrictHostKeyChecking yes``), exactly as the nightly runs;
- ``ssh_config``: the runner reaches each namespace through ``ip netns exec`` as a real
  runner reaches the datacenter through a jump host (``ProxyCommand``: socat opens the
  TCP connection inside the namespace, to the namespace's own address); every step is
  bounded (``ConnectTimeout``, socat's connect timeout, ``ServerAliveInterval``);
- ``inventory.yaml``: the lab's inventory with ``ssh://`` targets, the commands that
  need root behind ``sudo -n`` (as on real routers).

In the lab the suite logs in as root, so ``sudo -n`` is a no-op wrapper: Debian's
sudoers lets root run anything without a password. sshd runs in the foreground (``-D``),
recorded in ``ssh/sshd.json`` by PID and start time, and stopped by PID
(``stop_sshd``); ``crossnet lab down`` stops any process left in a lab namespace.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from network.lab.inventory import inventory
from network.lab.runtime import Running
from network.lab.system import LabError, Proc, alive, in_ns, run, spawn, stop

PORT = 2222  # not 22: the lab's hosts run listeners on the ports the security groups name
CONNECT_TIMEOUT = 5
SSHD = "/usr/sbin/sshd"


@dataclass(frozen=True)
class SshTarget:
    name: str  # router key, or "dch.<dc>" / "vpc.<vpc>"
    ns: str
    address: str


def ssh_dir(rt: Running) -> Path:
    return rt.paths.root / "ssh"


def targets(rt: Running) -> list[SshTarget]:
    """One SSH host per datacenter router (its first LAN address) and per host."""
    out = [SshTarget(r.key, r.ns, r.lan[0].split("/")[0]) for r in rt.lab.routers]
    for h in rt.lab.hosts:
        prefix = "dch" if h.kind == "datacenter" else "vpc"
        out.append(SshTarget(f"{prefix}.{h.name}", h.ns, h.address))
    return out


def keygen(path: Path, comment: str) -> str:
    """A new ed25519 key (no passphrase); returns the public key line."""
    pub = Path(f"{path}.pub")
    for p in (path, pub):
        p.unlink(missing_ok=True)
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)])
    return pub.read_text().strip()


def _sshd_config(d: Path, t: SshTarget, authorized: Path) -> str:
    return "\n".join(
        [
            f"ListenAddress {t.address}:{PORT}",
            f"HostKey {d / 'hostkeys' / t.name}",
            f"PidFile {d / 'run' / (t.name + '.pid')}",
            f"AuthorizedKeysFile {authorized}",
            "PermitRootLogin prohibit-password",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "StrictModes yes",
            "X11Forwarding no",
            "AllowTcpForwarding no",
            "PrintMotd no",
            "LoginGraceTime 10",
            "MaxStartups 64:30:128",
            "MaxSessions 64",
            "ClientAliveInterval 5",
            "ClientAliveCountMax 3",
            "LogLevel VERBOSE",
            "",
        ]
    )


def client_config(control_dir: Path, ts: list[SshTarget], identity: Path, known_hosts: Path) -> str:
    """The runner's ssh_config: per host how to reach it, then the bounded defaults.

    ``control_dir`` holds the multiplexing sockets: a master connection is reused
    without authenticating again, so a config with another key or known_hosts needs
    its own directory (or the old master answers for up to ``ControlPersist``).
    """
    lines: list[str] = []
    for t in ts:
        lines += [
            f"Host {t.address}",
            f"  Port {PORT}",
            f"  ProxyCommand ip netns exec {t.ns} socat -T 60 STDIO "
            f"TCP:%h:%p,connect-timeout={CONNECT_TIMEOUT}",
        ]
    lines += [
        "Host *",
        "  User root",
        f"  IdentityFile {identity}",
        "  IdentitiesOnly yes",
        f"  UserKnownHostsFile {known_hosts}",
        "  GlobalKnownHostsFile /dev/null",
        "  StrictHostKeyChecking yes",
        "  UpdateHostKeys no",
        "  BatchMode yes",
        "  PasswordAuthentication no",
        f"  ConnectTimeout {CONNECT_TIMEOUT}",
        "  ConnectionAttempts 1",
        "  ServerAliveInterval 5",
        "  ServerAliveCountMax 3",
        "  LogLevel ERROR",
        # testinfra asks for ControlMaster/ControlPersist; the socket is the lab's own
        f"  ControlPath {control_dir / 'cm-%C'}",
        "",
    ]
    return "\n".join(lines)


def known_hosts_line(address: str, pub: str) -> str:
    return f"[{address}]:{PORT} {' '.join(pub.split()[:2])}"


def _private(path: Path, text: str) -> None:
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(text)


def _wait_listening(t: SshTarget, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        r = run(in_ns(t.ns, ["ss", "-Htln", f"sport = :{PORT}"]), check=False)
        if t.address in r.stdout:
            return
        time.sleep(0.05)
    raise LabError(f"sshd in {t.ns} is not listening on {t.address}:{PORT} after {seconds:g} s")


def ssh_inventory(rt: Running, d: Path, ts: list[SshTarget]) -> dict[str, Any]:
    """The lab's inventory with ssh:// targets; root's commands behind ``sudo -n``."""
    inv = inventory(rt)
    by_ns = {t.ns: t for t in ts}
    inv["kind"] = "ssh"
    inv["aws_view"] = "offline"  # AWS's view: the emulator following the lab's AWS side
    inv["ssh"] = {
        "ssh_config": str(d / "ssh_config"),
        "controlpersist": 10,
        "timeout": CONNECT_TIMEOUT,
    }
    for section in ("datacenter_hosts", "vpc_hosts", "routers"):
        for entry in inv.get(section, {}).values():
            t = by_ns[entry["target"][len("netns://") :]]
            entry["target"] = f"ssh://root@{t.address}"
    for router in inv.get("routers", {}).values():
        router["vtysh"] = "sudo -n " + router["vtysh"]
        for tunnel in router.get("tunnels", {}).values():
            tunnel["swanctl"] = "sudo -n " + tunnel["swanctl"]
    return inv


def start_sshd(rt: Running) -> Path:
    """sshd in every router and host namespace of a running lab; returns the
    inventory file with ssh:// targets."""
    if shutil.which("sshd") is None and not Path(SSHD).exists():
        raise LabError("sshd is missing: apt-get install openssh-server (scripts/setup.sh)")
    d = ssh_dir(rt)
    stop_sshd(rt)
    # Debian's sshd refuses to start without its privilege separation directory
    # (systemd's unit creates it; the lab starts sshd itself).
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    for sub in ("hostkeys", "config", "run"):
        (d / sub).mkdir(parents=True, exist_ok=True, mode=0o700)
    d.chmod(0o700)
    client_pub = keygen(d / "id_ed25519", f"crossnet-lab-{rt.stack}")
    # sshd's StrictModes checks every directory above AuthorizedKeysFile up to / (it is
    # not under root's home): a project under /tmp (mode 1777) fails it. So the key the
    # routers and hosts accept lives under /run/cxlab/<stack>/, root's own path.
    authorized = rt.run_dir("sshd") / "authorized_keys"
    authorized.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    _private(authorized, client_pub + "\n")
    ts = targets(rt)
    known: list[str] = []
    procs: list[Proc] = []
    try:
        for t in ts:
            known.append(known_hosts_line(t.address, keygen(d / "hostkeys" / t.name, t.name)))
            conf = d / "config" / f"{t.name}.conf"
            _private(conf, _sshd_config(d, t, authorized))
            argv = [SSHD, "-D", "-e", "-f", str(conf)]
            procs.append(spawn(f"sshd-{t.name}", t.ns, argv, rt.paths.log(f"sshd-{t.name}")))
        _write_procs(d, procs)
        for t in ts:
            _wait_listening(t)
    except BaseException:
        stop(procs)
        raise
    _private(d / "known_hosts", "\n".join(known) + "\n")
    # sockets under /run/cxlab/<stack>/ (a unix socket's path is at most ~104 bytes)
    control = rt.run_dir("ssh")
    control.mkdir(parents=True, exist_ok=True, mode=0o700)
    config = client_config(control, ts, d / "id_ed25519", d / "known_hosts")
    _private(d / "ssh_config", config)
    path = d / "inventory.yaml"
    text = "# the lab's inventory over SSH, written by `crossnet lab ssh`\n"
    path.write_text(text + yaml.safe_dump(ssh_inventory(rt, d, ts), sort_keys=False))
    return path


def _write_procs(d: Path, procs: list[Proc]) -> None:
    _private(d / "sshd.json", json.dumps([p.to_json() for p in procs], indent=1) + "\n")


def recorded(rt: Running) -> list[Proc]:
    try:
        data = json.loads((ssh_dir(rt) / "sshd.json").read_text())
    except (OSError, ValueError):
        return []
    return [Proc(**p) for p in data]


def stop_sshd(rt: Running) -> list[str]:
    """Stop the sshd processes this lab started, by PID (start time checked)."""
    procs = [p for p in recorded(rt) if alive(p)]
    notes = stop(procs)
    (ssh_dir(rt) / "sshd.json").unlink(missing_ok=True)
    return notes
