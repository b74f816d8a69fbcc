"""Real daemons for the render checks: charon and FRR, each in a private network namespace.

Everything started here is stopped by its own PID in teardown. A namespace
has only `lo` (plus what a test adds), so nothing can reach an outside
address: a charon told to `start_action = start` fails with "network is
unreachable" instead of sending anything.
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHARON = "/usr/lib/ipsec/charon"
FRR_DIR = Path("/usr/lib/frr")
# The charon plugin list of the lab (LAB.md): userspace IPsec over a TUN device.
CHARON_PLUGINS = (
    "random nonce openssl aes sha1 sha2 hmac kdf gmp pem pkcs1 x509 pubkey "
    "kernel-libipsec kernel-netlink socket-default vici updown"
)
_names = itertools.count()


def need_root_and(*tools: str) -> None:
    """Skip the calling test unless we are root and every tool is installed."""
    if os.geteuid() != 0:
        pytest.skip("needs root (network namespaces)")
    for tool in tools:
        if not (Path(tool).exists() or shutil.which(tool)):
            pytest.skip(f"{tool} is not installed")


def run(
    *argv: str, check: bool = True, env: dict[str, str] | None = None, timeout: float = 20
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(
            f"{' '.join(argv)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        )
    return result


@contextmanager
def netns() -> Iterator[str]:
    """A fresh network namespace with `lo` up; deleted afterwards."""
    name = f"cnr{os.getpid()}x{next(_names)}"
    run("ip", "netns", "add", name)
    try:
        run("ip", "-n", name, "link", "set", "lo", "up")
        yield name
    finally:
        run("ip", "netns", "del", name, check=False)


def wait_for(path: Path, what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not appear within {timeout} s ({path})")
        time.sleep(0.02)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop one process we started, by its PID."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


class Charon:
    """One charon in a namespace, with its own /run, vici socket and log."""

    def __init__(self, ns: str, workdir: Path):
        self.ns, self.dir = ns, workdir
        self.run_dir = workdir / "run"
        self.run_dir.mkdir(parents=True)
        self.log = workdir / "charon.log"
        self.conf = workdir / "strongswan.conf"
        self.uri = f"unix://{self.run_dir}/charon.vici"
        # cfg level 2 makes charon log every connection it parses, proposals included.
        self.conf.write_text(f"""charon {{
  load = {CHARON_PLUGINS}
  install_routes = no
  plugins {{
    vici {{
      socket = {self.uri}
    }}
  }}
  filelog {{
    log {{
      path = {self.log}
      default = 1
      cfg = 2
      flush_line = yes
    }}
  }}
}}
swanctl {{
  load = pem pkcs1 x509 pubkey openssl random
}}
""")
        self.env = {**os.environ, "STRONGSWAN_CONF": str(self.conf)}
        # charon's pid file is hard-wired to /var/run/charon.pid: a private /run
        # (a bind mount in the mount namespace `ip netns exec` creates) isolates it.
        self.proc = subprocess.Popen(
            [
                "ip",
                "netns",
                "exec",
                ns,
                "sh",
                "-c",
                f"mount --bind {self.run_dir} /run && exec {CHARON}",
            ],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self.run_dir / "charon.vici", "charon's vici socket")

    def swanctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        # --uri goes after the command word.
        return run("swanctl", *args, "--uri", self.uri, check=check, env=self.env)

    def log_text(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def stop(self) -> None:
        stop(self.proc)


class Frr:
    """zebra, bgpd and staticd in a namespace, configured through vtysh like at boot."""

    DAEMONS = ("zebra", "staticd", "bgpd")

    def __init__(self, ns: str):
        self.ns = ns
        # The daemons run as user frr, who must reach the directory: not under a
        # 0700 pytest temporary directory.
        workdir = self.dir = Path(tempfile.mkdtemp(prefix="crossnet-frr-"))
        os.chmod(workdir, 0o755)
        shutil.chown(workdir, "frr", "frr")
        self.procs: list[subprocess.Popen[bytes]] = []
        for d in self.DAEMONS:
            argv = [
                "ip",
                "netns",
                "exec",
                ns,
                str(FRR_DIR / d),
                "-f",
                "/dev/null",
                "-i",
                f"{workdir}/{d}.pid",
                "-z",
                f"{workdir}/zserv.api",
                "--vty_socket",
                str(workdir),
                "-u",
                "frr",
                "-g",
                "frr",
                "--log",
                f"file:{workdir}/{d}.log",
            ]
            if d == "bgpd":
                argv += ["-p", "0"]  # no BGP listener: nothing to talk to
            self.procs.append(
                subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            )
            if d == "zebra":
                wait_for(workdir / "zserv.api", "zebra's zserv socket")
            wait_for(workdir / f"{d}.vty", f"{d}'s vty socket")

    def vtysh(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run(
            "ip",
            "netns",
            "exec",
            self.ns,
            "vtysh",
            "--vty_socket",
            str(self.dir),
            *args,
            check=check,
        )

    def stop(self) -> None:
        for p in reversed(self.procs):
            stop(p)
        shutil.rmtree(self.dir, ignore_errors=True)
