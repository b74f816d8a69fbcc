"""Every emulator test starts the emulator in a fixture (tests/unit/emulator/env.py has the
network it builds)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from network.offline.aws import (
    AwsEmulator,
)
from tests.unit.emulator.env import REGION, make_network, vpn


@pytest.fixture
def emu() -> Iterator[AwsEmulator]:
    with AwsEmulator(seed=7) as started:
        yield started


@pytest.fixture
def ec2(emu: AwsEmulator) -> Any:
    return emu.client("ec2", REGION)


@pytest.fixture
def net(ec2: Any) -> dict[str, str]:
    return make_network(ec2)


@pytest.fixture
def fresh_run() -> Callable[[int], list[tuple[str, str, str, str]]]:
    """Runs a whole emulator session with a seed; returns what AWS would have chosen."""

    def run(seed: int) -> list[tuple[str, str, str, str]]:
        with AwsEmulator(seed=seed) as started:
            client = started.client("ec2", REGION)
            ids = make_network(client)
            facts = []
            for _ in range(2):
                conn = vpn(client, ids)
                for tunnel in conn["Options"]["TunnelOptions"]:
                    facts.append(
                        (
                            conn["VpnConnectionId"],
                            tunnel["OutsideIpAddress"],
                            tunnel["TunnelInsideCidr"],
                            tunnel["PreSharedKey"],
                        )
                    )
            return facts

    return run


@pytest.fixture
def unstarted() -> Iterator[AwsEmulator]:
    emulator = AwsEmulator()
    yield emulator
    emulator.stop()
