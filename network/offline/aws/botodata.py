"""What moto reads while the emulator loads: botocore's data once, no instance offerings.

moto builds its EC2 backend from botocore's data: ``moto.ec2.models`` creates three
``boto3.Session()`` objects at import time (regions of the aws, aws-us-gov and
aws-cn partitions), moto's account backend a fourth on first use, and the
emulator's clients a fifth. Each new botocore session has its own data loader, so
each re-parses ``endpoints.json`` and EC2's ``service-2.json`` (several MB of JSON
read into ``OrderedDict``s): about 0.6 s and 100 MB of a run, for the same
read-only data (measured in docs/emulator.md, "Start-up cost").

:func:`shared_data_loader` makes every botocore session created inside it read
through one loader per data path (botocore's own ``Loader``, whose cache then
serves them all), as the clients of one session already share it. It patches
one name, ``botocore.session.create_loader``, and only while inside: sessions
created there keep their loader; later ones get botocore's usual fresh one.
moto's own model loader (``moto.core.loaders``, which adds moto's extras) is
not touched.

:func:`import_moto_ec2` also leaves out moto's instance types and their
offerings (every instance type of every region, zone and zone ID: 57 + 9 MB and
0.3 s of the import): the offline AWS has no instances, so
``DescribeInstanceTypes`` and ``DescribeInstanceTypeOfferings`` answer nothing
and ``RunInstances`` refuses every type (``InvalidInstanceType``), as moto's
default AMIs are left out (``MOTO_EC2_LOAD_DEFAULT_AMIS``).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import botocore.session
import moto.core.loaders as moto_loaders
import moto.core.utils as moto_core_utils
import moto.utilities.utils as moto_utilities

# moto's resource files read at import for instances only: the instance types, and
# their offerings per region, zone and zone ID
INSTANCE_TYPES = "ec2/resources/instance_types.json"
OFFERINGS = "ec2/resources/instance_type_offerings/"

# data path string (None: botocore's default) -> the one loader for it
_LOADERS: dict[str | None, Any] = {}


@contextmanager
def shared_data_loader() -> Iterator[None]:
    """Inside, every new botocore session shares one data loader per data path."""
    original = botocore.session.create_loader

    def create_loader(search_path_string: str | None = None) -> Any:
        loader = _LOADERS.get(search_path_string)
        if loader is None:
            loader = _LOADERS[search_path_string] = original(search_path_string)
        return loader

    botocore.session.create_loader = create_loader
    try:
        yield
    finally:
        botocore.session.create_loader = original


def _copy_for_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """A copy of `base` in which every dict that merging `extra` writes into is new."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _copy_for_merge(out[key], value)
    return out


def moto_service_model(service_name: str, model_name: str) -> dict[str, Any]:
    """moto's model of a service (botocore's, plus moto's extras), built on the shared
    loader's parse instead of a second parse of the same file (EC2's: 15 MB, 0.15 s).

    Only when the shared loader's model is the file as it is (botocore has no
    extras of its own for it); otherwise moto's own loader reads it.
    """
    shared = _LOADERS.get(None)
    own = moto_loaders.create_loader()
    if shared is None:
        return own.load_service_model(service_name, model_name)  # type: ignore[no-any-return]
    version = shared.determine_latest_version(service_name, model_name)
    if list(shared._find_extras(service_name, model_name, version)):
        return own.load_service_model(service_name, model_name)  # type: ignore[no-any-return]
    model: dict[str, Any] = shared.load_service_model(service_name, model_name, version)
    for extra in own._find_extras(service_name, model_name, version):
        model = _copy_for_merge(model, extra.get("merge", {}))
        own._extras_processor.process(model, [extra])
    return model


def prime_moto_service_model(service_name: str) -> None:
    """Fill moto's cached model of `service_name` (read by its request router) with
    :func:`moto_service_model`; a no-op once moto has it."""
    original = moto_core_utils._load_service_model
    moto_core_utils._load_service_model = moto_service_model
    try:
        moto_core_utils.get_service_model(service_name)
    finally:
        moto_core_utils._load_service_model = original


@contextmanager
def without_instance_types() -> Iterator[None]:
    """Inside, moto's resource loader answers nothing for instance types and offerings."""
    original = moto_utilities.load_resource

    def load_resource(resource: str) -> Any:
        if resource.startswith(INSTANCE_TYPES):
            return {}
        return [] if resource.startswith(OFFERINGS) else original(resource)

    moto_utilities.load_resource = load_resource
    try:
        yield
    finally:
        moto_utilities.load_resource = original
        # moto's modules imported meanwhile bound the name (`from ... import`): rebind.
        for module in list(sys.modules.values()):
            if getattr(module, "load_resource", None) is load_resource:
                setattr(module, "load_resource", original)  # noqa: B010


def import_moto_ec2() -> None:
    """Import moto's EC2 models with the shared loader and no instance types
    (a no-op once imported)."""
    with shared_data_loader(), without_instance_types():
        importlib.import_module("moto.ec2.models")


# The package imports this module first, so that whichever of its modules is
# imported first, moto's EC2 models are loaded with one loader.
import_moto_ec2()
