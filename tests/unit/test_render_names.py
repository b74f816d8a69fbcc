"""Tunnel numbers and interface names: stable, unique per router, short enough."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from netaddr import IPAddress, IPNetwork

from network.render.names import (
    INTERFACE_FORMATS,
    interface_name,
    linux_tunnel_file,
    tunnel_key,
    tunnel_number,
)


def test_tunnel_number_is_the_index_of_the_30() -> None:
    assert tunnel_number("169.254.0.0/30") == 0
    assert tunnel_number("169.254.20.4/30") == 1281
    assert tunnel_number("169.254.255.252/30") == 16383


@pytest.mark.parametrize("bad", ["169.254.20.0/29", "10.0.0.0/30", "169.254.20.0/31"])
def test_tunnel_number_needs_an_inside_30(bad: str) -> None:
    with pytest.raises(ValueError):
        tunnel_number(bad)


@given(st.integers(min_value=0, max_value=16383))
def test_names_fit_every_platform(index: int) -> None:
    cidr = f"{IPAddress(IPNetwork('169.254.0.0/16').first + 4 * index)}/30"
    assert tunnel_number(cidr) == index
    assert len(interface_name("linux", cidr)) <= 15  # IFNAMSIZ - 1
    assert len(interface_name("fortios", cidr)) <= 15  # phase1-interface name limit
    assert int(interface_name("junos", cidr).split(".")[1]) <= 16385  # st0 units


def test_names_per_platform() -> None:
    cidr = "169.254.20.0/30"
    assert {p: interface_name(p, cidr) for p in INTERFACE_FORMATS} == {
        "linux": "vti1280",
        "iosxe": "Tunnel1280",
        "junos": "st0.1280",
        "vyos": "vti1280",
        "fortios": "aws1280",
    }
    assert tunnel_key("dc1-edge1-web", 2) == "dc1-edge1-web-2"
    assert linux_tunnel_file("dc1-edge1-web", 2) == "conf.d/dc1-edge1-web-2.conf"


def test_object_names_come_from_names_py() -> None:
    from network.render import names

    assert names.junos_policy("dc1-edge1-app-2", "in") == "dc1-edge1-app-2-in"
    assert names.junos_proposal("aws1281", "esp", 20) == "aws1281-esp-20"
    assert names.iosxe_ike_proposal("gcm") == "crossnet-gcm"
    assert names.iosxe_transform_set("dc1-edge1-app", "aes256gcm") == "dc1-edge1-app-aes256gcm"
    assert names.iosxe_keyring_peer(2) == "aws-2"
    assert names.strongswan_secret("dc1-edge1-app-1") == "ike-dc1-edge1-app-1"
