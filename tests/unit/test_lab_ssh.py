"""The nightly's SSH path, pure parts: the lab's ssh_config, the nightly's own, the
workflow that runs it, and how an ssh or daemon failure is reported."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from network.lab.ssh import SshTarget, client_config, known_hosts_line
from network.lab.suite import _daemon_failed, ssh_reason
from network.state import PROJECT_DIR

# options that name the runner's own files or user: the rest must be the same
PATHS = {"identityfile", "userknownhostsfile", "controlpath", "user"}


def _star(text: str) -> dict[str, str]:
    """The `Host *` block of an ssh_config, options lower-cased."""
    block: dict[str, str] = {}
    inside = False
    for line in text.splitlines():
        words = line.split(None, 1)
        if not words or words[0].startswith("#"):
            continue
        if words[0] == "Host":
            inside = words[1].strip() == "*"
        elif inside:
            block[words[0].lower()] = words[1].strip()
    return block


def test_the_lab_checks_host_keys_and_bounds_every_step(tmp_path: Path) -> None:
    ts = [SshTarget("dc1-edge1", "cxl.dev.rtr.dc1-edge1", "10.128.0.1")]
    conf = client_config(tmp_path, ts, tmp_path / "id", tmp_path / "known_hosts")
    star = _star(conf)
    assert star["stricthostkeychecking"] == "yes" and star["batchmode"] == "yes"
    assert int(star["connecttimeout"]) > 0 and int(star["serveraliveinterval"]) > 0
    assert "connect-timeout=" in conf and "ip netns exec cxl.dev.rtr.dc1-edge1 socat" in conf
    assert "StrictHostKeyChecking no" not in conf
    assert (
        known_hosts_line("10.128.0.1", "ssh-ed25519 AAAA c") == "[10.128.0.1]:2222 ssh-ed25519 AAAA"
    )


def _without_paths(options: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in options.items() if k not in PATHS}


def test_the_nightly_runs_with_the_labs_ssh_options(tmp_path: Path) -> None:
    lab = _star(client_config(tmp_path, [], tmp_path / "id", tmp_path / "kh"))
    inv = yaml.safe_load((PROJECT_DIR / "inventory" / "prod.yaml").read_text())
    nightly = _star((PROJECT_DIR / inv["ssh"]["ssh_config"]).read_text())
    assert _without_paths(nightly) == _without_paths(lab)


def _steps(job: dict[str, Any]) -> list[str]:
    return [str(s.get("run", "")) for s in job["steps"]]


def test_the_workflow_runs_the_tested_script() -> None:
    """nightly.yml parses, and its real-hosts check is scripts/nightly.sh with the
    inventory the repository ships: what test_reach_ssh_nightly.py runs on the lab."""
    wf = yaml.safe_load((PROJECT_DIR / ".github" / "workflows" / "nightly.yml").read_text())
    real = [r for r in _steps(wf["jobs"]["real-hosts"]) if "nightly.sh" in r]
    [step] = real
    argv = shlex.split(step)
    assert argv[0] == "scripts/nightly.sh" and len(argv) == 5, argv
    assert (PROJECT_DIR / argv[0]).stat().st_mode & 0o111
    assert (PROJECT_DIR / argv[2]).exists()
    lab = "\n".join(_steps(wf["jobs"]["lab"]))
    assert "crossnet lab ssh" in lab and "scripts/nightly.sh" in lab
    assert "30 2 * * *" in str(wf[True]["schedule"])  # PyYAML reads `on:` as True


class _Result:
    def __init__(self, rc: int, stdout: str = "", stderr: str = "") -> None:
        self.rc, self.stdout, self.stderr = rc, stdout, stderr


@pytest.mark.parametrize(
    ("stderr", "said"),
    [
        ("root@10.128.0.1: Permission denied (publickey).", "Permission denied (publickey)"),
        ("Host key verification failed.", "Host key verification failed"),
        (
            "2026/12/06 20:50:01 socat[7] E connect(5, AF=2 10.128.0.250:2222, 16): No route"
            " to host\nkex_exchange_identification: Connection closed by remote host",
            "connect(5, AF=2 10.128.0.250:2222, 16): No route to host",
        ),
        (
            "kex_exchange_identification: Connection closed by remote host",
            "host unreachable through the jump",
        ),
        ("", "exit 255, no message"),
    ],
)
def test_ssh_failures_say_why_in_one_line(stderr: str, said: str) -> None:
    assert said in ssh_reason(RuntimeError(_Result(255, stderr=stderr)))


def test_a_daemon_that_does_not_answer_fails_with_its_tools_words() -> None:
    usage = "connecting to 'unix:///run/x/charon.vici' failed: Connection refused\nusage: ..."
    with pytest.raises(pytest.fail.Exception, match="failed: Connection refused"):
        _daemon_failed("ssh://root@10.128.0.1", "swanctl --list-sas", _Result(111, stderr=usage))
