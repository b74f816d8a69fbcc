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

:func:`import_moto_ec2` also leaves out moto's instance-type offerings (every
instance type of every region, zone and zone ID: 57 MB and 0.3 s of the import):
the offline AWS has no instances, so ``DescribeInstanceTypeOfferings`` answers
nothing, as moto's default AMIs are left out (``MOTO_EC2_LOAD_DEFAULT_AMIS``).
The instance types themselves are loaded as usual.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import botocore.session
import moto.utilities.utils as moto_utilities

# moto's resource files read per region at import, for instances only
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


@contextmanager
def without_instance_offerings() -> Iterator[None]:
    """Inside, moto's resource loader answers an empty list for instance offerings."""
    original = moto_utilities.load_resource

    def load_resource(resource: str) -> Any:
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
    """Import moto's EC2 models with the shared loader and no instance offerings
    (a no-op once imported)."""
    with shared_data_loader(), without_instance_offerings():
        importlib.import_module("moto.ec2.models")


# The package imports this module first, so that whichever of its modules is
# imported first, moto's EC2 models are loaded with one loader.
import_moto_ec2()
