"""What `crossnet up` pays before and after its run: botocore's data read once, moto's
instance offerings left out, one command module imported, no final full GC walk."""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import subprocess
import sys
from pathlib import Path

import botocore.session
import moto.utilities.utils as moto_utilities
import pytest

from network import cli
from network.offline.apply import heap_frozen
from network.offline.aws.botodata import shared_data_loader, without_instance_types
from network.offline.heap import APPLY_GEN0_THRESHOLD

ROOT = Path(__file__).resolve().parents[2]


def test_sessions_share_one_data_loader_only_inside() -> None:
    original = botocore.session.create_loader
    with shared_data_loader():
        a = botocore.session.Session().get_component("data_loader")
        b = botocore.session.Session().get_component("data_loader")
        assert a is b
    assert botocore.session.create_loader is original
    c = botocore.session.Session().get_component("data_loader")
    assert c is not a  # botocore's usual fresh loader again


def test_the_shared_loader_reads_endpoints_and_the_ec2_model_once() -> None:
    """In a fresh process, `import network.offline.apply` and a started emulator's first
    call parse endpoints.json and EC2's model once each: every botocore session reads
    them through one loader, and moto's request router gets its model (botocore's plus
    moto's extras) built on that parse. Without: 5 and 6 times."""
    code = """
import collections, sys
import botocore.loaders as L
seen = collections.Counter()
orig = L.JSONFileLoader._load_file
def load(self, path, open_method):
    data = orig(self, path, open_method)
    if data is not None and "/botocore/data/" in path:
        seen[path.split("/botocore/data/")[1]] += 1
    return data
L.JSONFileLoader._load_file = load
import network.offline.apply
from network.offline.aws import AwsEmulator
with AwsEmulator(seed=1) as emu:
    emu.client("ec2", "us-east-1").describe_vpcs()
print(seen["endpoints.json"], seen["ec2/2016-11-15/service-2.json.gz"])
"""
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["1", "1"]


def _fresh(code: str) -> str:
    """`code`'s output in a fresh process (what is loaded first depends on the process)."""
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_moto_s_model_built_on_the_shared_parse_is_moto_s_own() -> None:
    code = """
import moto.core.loaders as moto_loaders, moto.core.utils as moto_core_utils
from network.offline.aws import AwsEmulator, botodata
with AwsEmulator(seed=1):
    pass  # primes moto's cached model
own = moto_loaders.create_loader().load_service_model("ec2", "service-2")
# moto's extras (its error shapes) went into copies: botocore's model is as shipped
extras = next(moto_loaders.create_loader()._find_extras("ec2", "service-2", "2016-11-15"))
shared = botodata._LOADERS[None].load_service_model("ec2", "service-2")
print(
    botodata.moto_service_model("ec2", "service-2") == own,
    moto_core_utils.get_service_model("ec2")._service_description == own,
    bool(extras["merge"]["shapes"]),
    any(name in shared["shapes"] for name in extras["merge"]["shapes"]),
)
"""
    assert _fresh(code) == "True True True False"


def test_instance_types_are_left_out_and_the_loader_put_back() -> None:
    code = """
import moto.utilities.utils as moto_utilities
import pytest
import network.offline.apply
import moto.ec2.models.instance_types as it
from network.offline.aws import AwsEmulator
with AwsEmulator(seed=1) as emu:
    ec2 = emu.client("ec2", "us-east-1")
    answers = (
        ec2.describe_instance_type_offerings()["InstanceTypeOfferings"],
        ec2.describe_instance_types()["InstanceTypes"],
    )
print(
    it.load_resource is moto_utilities.load_resource,  # put back after the import
    it.INSTANCE_TYPES == {},
    all(not any(regions.values()) for regions in it.INSTANCE_TYPE_OFFERINGS.values()),
    answers == ([], []),
)
"""
    assert _fresh(code) == "True True True True"
    original = moto_utilities.load_resource
    with without_instance_types():
        assert (
            moto_utilities.load_resource(
                "ec2/resources/instance_type_offerings/region/us-east-1.json"
            )
            == []
        )
    assert moto_utilities.load_resource is original


def test_up_imports_its_own_command_module_only() -> None:
    code = (
        "import sys; from network import cli; cli.build_parser(['up', '--stack', 'dev']); "
        "print(sorted(m for m in cli.COMMAND_MODULES if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "['network.offline.cli']"


def _commands(parser: argparse.ArgumentParser) -> set[str]:
    sub = next(a for a in parser._actions if a.dest == "command")
    return set(sub.choices or ())


def test_the_command_table_names_what_each_module_registers() -> None:
    registered: dict[str, str] = {}
    for module in cli.COMMAND_MODULES:
        one = argparse.ArgumentParser()
        importlib.import_module(module).register(one.add_subparsers(dest="command"))
        registered |= dict.fromkeys(_commands(one), module)
    assert registered == cli.COMMANDS
    assert _commands(cli.build_parser()) == set(cli.COMMANDS)  # every module


def test_the_command_is_found_past_global_options() -> None:
    assert cli.command_of(["up", "--stack", "dev"]) == "up"
    assert cli.command_of(["--project-dir", "/x", "plan"]) == "plan"
    assert cli.command_of(["--project-dir=/x", "diff", "--json"]) == "diff"
    assert cli.command_of(["--help"]) is None
    assert cli.command_of([]) is None
    # an unknown word: every module is registered, so argparse names the choices
    assert _commands(cli.build_parser(["upp"])) == set(cli.COMMANDS)


def test_only_the_process_own_command_freezes_the_heap(capsys: object, monkeypatch: object) -> None:
    assert gc.get_freeze_count() == 0
    assert cli.main(["plan", "--stack", "dev", "--json"]) == 0
    assert gc.get_freeze_count() == 0  # an in-process call (a test) leaves the GC alone


def test_the_heap_is_frozen_for_the_run_and_unfrozen_after() -> None:
    assert gc.get_freeze_count() == 0
    thresholds = gc.get_threshold()
    with heap_frozen():
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold()[0] == max(thresholds[0], APPLY_GEN0_THRESHOLD)
        assert gc.get_threshold()[1:] == thresholds[1:]
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == thresholds  # the collector's own settings are back
    with pytest.raises(RuntimeError), heap_frozen():
        raise RuntimeError("the apply failed")
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == thresholds
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with heap_frozen():  # someone else's freeze is theirs to undo
            pass
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


# Run in a fresh interpreter: which modules a command imports, after it ran.
_IMPORTED_BY = """
import contextlib, io, sys
from network import cli
with contextlib.redirect_stdout(io.StringIO()):
    try:
        cli.main(sys.argv[1:])
    except SystemExit:
        pass
print(sorted(m for m in ("pytest", "network.lab.suite", "testinfra", "vici") if m in sys.modules))
"""


def test_no_command_imports_the_lab_suite_or_pytest_at_start_up(tmp_path: Path) -> None:
    """requirements.txt has no pytest (the lab suite's): `lab --help` (which registers
    every command module) and a non-lab command must not import network.lab.suite."""
    verify = ["rollout", "--stack", "prod", "--inventory", "inventory/prod.yaml"]
    for argv in (
        ["lab", "--help"],
        ["plan", "--stack", "dev", "--json"],
        ["rollout", "--stack", "dev"],  # no applied state here: exit 2, after its imports
        [*verify, "--verify-step", "1"],
        [*verify, "--push-step", "1", "--phase", "drain"],  # no rollout.json: exit 2
    ):
        res = subprocess.run(
            [sys.executable, "-c", _IMPORTED_BY, *argv],
            cwd=ROOT,
            env={**os.environ, "CROSSNET_STATE_DIR": str(tmp_path)},  # nothing of the repo's
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert res.stdout.strip().splitlines()[-1:] == ["[]"], (argv, res.stdout, res.stderr)
