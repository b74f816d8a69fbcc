"""The offline AWS of a stack: the emulator rebuilt from ``.crossnet/<stack>/state.json``.

The same world ``crossnet up`` left (IDs, outside addresses, route tables), every
tunnel DOWN until someone who ran the customer side reports it
(``network.offline.aws.report_tunnel``): the lab does, so AWS's view follows the lab.
Imports moto and Pulumi's mock runtime: only the offline path loads this module.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any, Self

from network.errors import CrossnetError


class OfflineAwsError(CrossnetError):
    """The stack has no state the emulator can be rebuilt from."""


class OfflineAws:
    """A started emulator holding the stack's state; ``client(region)`` reads it."""

    def __init__(self, stack: str, state_file: Path | None = None) -> None:
        self.stack = stack
        self.state_file = state_file
        self._emulator: Any = None

    def start(self) -> Self:
        from network.offline.aws import AwsEmulator
        from network.offline.lifecycle import Lifecycle
        from network.offline.mocks import MotoMocks
        from network.offline.stack_state import load_state, state_path
        from network.state import state_dir

        path = self.state_file or state_path(state_dir(self.stack, create=False))
        prior = load_state(path, self.stack)
        if prior is None:
            raise OfflineAwsError(
                f"no offline state for stack {self.stack!r} at {path}: `crossnet up "
                f"--stack {self.stack}` first"
            )
        regions = sorted({r.region for r in prior.resources if r.region})
        self._emulator = AwsEmulator().start()
        try:
            mocks = MotoMocks(self._emulator, default_region=(regions or ["us-east-1"])[0])
            Lifecycle(mocks, prior).restore()
        except BaseException:
            self.stop()
            raise
        return self

    def client(self, region: str) -> Any:
        if self._emulator is None:
            raise RuntimeError("OfflineAws is not started")
        return self._emulator.client("ec2", region)

    def stop(self) -> None:
        if self._emulator is not None:
            self._emulator.stop()
            self._emulator = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
