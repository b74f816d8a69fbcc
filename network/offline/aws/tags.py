"""Tags: one resource's tags by its ID, in time independent of the region's size.

moto answers a resource's tags (``TaggedEC2Resource.get_tags``, read for every
resource it serializes) with ``DescribeTags`` filtered on the resource ID, which
copies and scans every tag of the region: a describe of N tagged resources costs
N x (all tags), quadratic in the size of the network (about 1 s of a 2447-resource
apply's read-backs). A resource ID filter matches one ID exactly (EC2 IDs hold no
wildcard characters), so the same answer, in the same order, is that ID's entry
of the backend's tag table.
"""

from __future__ import annotations

from typing import Any

from moto.ec2.models.core import TaggedEC2Resource
from moto.ec2.utils import EC2_PREFIX_TO_RESOURCE, get_prefix

from network.offline.aws.patching import PatchTable, original

_WILDCARDS = frozenset("*?[")


def _get_tags(self: Any) -> list[dict[str, str]]:
    """``DescribeTags`` with ``resource-id = self.id``, read from the ID's own entry."""
    rid = self.id
    if not rid:
        return []
    if not isinstance(rid, str) or _WILDCARDS & set(rid):
        result: list[dict[str, str]] = original(TaggedEC2Resource, "get_tags")(self)
        return result
    tags = self.ec2_backend.tags.get(rid)  # .get: the table is a defaultdict
    if not tags:
        return []
    kind = EC2_PREFIX_TO_RESOURCE.get(get_prefix(rid), "")
    return [
        {"resource_id": rid, "key": key, "value": value, "resource_type": kind}
        for key, value in tags.items()
    ]


def patches() -> PatchTable:
    """This area's patches (see ``install.area_patch_tables``)."""
    return [(TaggedEC2Resource, "get_tags", _get_tags)]
