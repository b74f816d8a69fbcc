"""Datacenter router platforms: the template families crossnet renders."""

from __future__ import annotations

# platform name -> the files its entry templates produce (templates/<platform>/<file>.j2)
PLATFORMS: dict[str, tuple[str, ...]] = {
    "linux": (
        "swanctl.conf",
        "conf.d/{tunnel}.conf",
        "strongswan.d/crossnet.conf",
        "frr.conf",
        "crossnet-tunnels.sh",
        "crossnet-updown.sh",
    ),
    "iosxe": ("router.cfg",),
    "junos": ("router.set",),
    "vyos": ("router.cfg",),
    "fortios": ("router.conf",),
}
