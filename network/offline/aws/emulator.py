"""``AwsEmulator``: moto's ``mock_aws`` with the extensions installed, and nothing leaked."""

from __future__ import annotations

import os
from types import TracebackType
from typing import Any, Self

import boto3
from moto import mock_aws
from moto.core.base_backend import AccountSpecificBackend
from moto.moto_api._internal import mock_random

from network.offline.aws.botodata import prime_moto_service_model, shared_data_loader
from network.offline.aws.install import (
    extensions_installed,
    install_extensions,
    uninstall_extensions,
)

_ENV_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
# Removed while the mock runs, so a developer's profile (SSO, assume-role) is never read.
_ENV_REMOVED = ("AWS_PROFILE",)
# moto loads thousands of default AMIs into every EC2 backend it creates (~0.2 s a
# region, and as much again to reset). A network emulator has no use for them; an
# explicit MOTO_EC2_LOAD_DEFAULT_AMIS in the environment is respected.
_ENV_DEFAULTS = {"MOTO_EC2_LOAD_DEFAULT_AMIS": "false"}

_SESSION: boto3.session.Session | None = None


def boto3_session() -> boto3.session.Session:
    """The process's one boto3 session (a new one re-reads botocore's EC2 model, ~0.3 s).

    Its credentials are the dummy ones, resolved the first time inside the mock.
    """
    global _SESSION
    if _SESSION is None:
        _SESSION = boto3.session.Session()
    return _SESSION


def _restore_env(saved: dict[str, str | None]) -> None:
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    saved.clear()


class AwsEmulator:
    """moto's ``mock_aws`` with crossnet's AWS extensions installed.

    Use as a context manager, or call ``start()`` / ``stop()``. With a ``seed``, moto's
    random (ids, generated PSKs and inside CIDRs) is seeded, so a run is reproducible.
    """

    def __init__(self, seed: int | None = None) -> None:
        """Prepare an emulator; nothing is mocked or patched until ``start()``."""
        self.seed = seed
        self._mock: Any = None
        self._saved_env: dict[str, str | None] = {}
        self._saved_backend_env: dict[str, str | None] = {}
        self._installed_here = False
        self._clients: dict[tuple[str, str], Any] = {}

    def start(self) -> Self:
        """Start ``mock_aws``, install the extensions, seed, set dummy credentials.

        The dummy credentials exist only between ``start()`` and ``stop()``; the
        previous values (or their absence) come back on ``stop()``.
        """
        if self._mock is not None:
            raise RuntimeError("AwsEmulator already started")
        # Before mock_aws starts: it resets (re-creates) the backends on start and stop.
        self._saved_backend_env = {name: os.environ.get(name) for name in _ENV_DEFAULTS}
        for name, value in _ENV_DEFAULTS.items():
            os.environ.setdefault(name, value)
        self._mock = mock_aws()
        self._mock.start()
        self._installed_here = not extensions_installed()
        install_extensions()
        if self.seed is not None:
            mock_random.seed(self.seed)
        self._saved_env = {
            name: os.environ.get(name) for name in (*_ENV_CREDENTIALS, *_ENV_REMOVED)
        }
        os.environ.update(_ENV_CREDENTIALS)
        for name in _ENV_REMOVED:
            os.environ.pop(name, None)
        # The sessions the run reads botocore's data through (moto's own, cached by
        # moto, and the emulator's clients'), made now with the loader that the
        # import of moto's EC2 models filled: endpoints and EC2's model are not
        # parsed again (botodata).
        with shared_data_loader():
            AccountSpecificBackend.get_session()
            boto3_session()
        prime_moto_service_model("ec2")
        return self

    def stop(self) -> None:
        """Restore the credentials, uninstall the extensions, stop the mock."""
        if self._mock is None:
            return
        self._clients.clear()
        _restore_env(self._saved_env)
        if self._installed_here:
            uninstall_extensions()
            self._installed_here = False
        self._mock.stop()
        self._mock = None
        _restore_env(self._saved_backend_env)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def client(self, service: str, region: str) -> Any:
        """The boto3 client of a service and region, bound to the mock (the emulator
        must be started). One per service and region while started: building one
        costs 0.05-0.1 s, and the mocks and the checks after the run share them."""
        if self._mock is None:
            raise RuntimeError("AwsEmulator is not started")
        key = (service, region)
        if key not in self._clients:
            self._clients[key] = boto3_session().client(service, region_name=region)
        return self._clients[key]
