"""The Jinja filters: small netaddr wrappers, each pinned down here."""

from __future__ import annotations

import pytest

from network.render import filters as f
from network.render.environment import make_environment


def test_address_filters() -> None:
    assert f.ip("169.254.10.2/30") == "169.254.10.2"
    assert f.network("10.1.2.0/16") == "10.1.0.0"
    assert f.netmask("10.0.0.0/16") == "255.255.0.0"
    assert f.prefixlen("169.254.10.0/30") == 30
    assert f.network_netmask("10.128.0.0/12") == "10.128.0.0 255.240.0.0"
    assert f.with_prefixlen("169.254.10.2", "169.254.10.0/30") == "169.254.10.2/30"
    assert f.address_netmask("169.254.10.2", "169.254.10.0/30") == "169.254.10.2 255.255.255.252"


@pytest.mark.parametrize("fn", [f.with_prefixlen, f.address_netmask])
def test_an_address_outside_its_subnet_is_an_error(fn) -> None:
    with pytest.raises(ValueError, match="not inside"):
        fn("169.254.10.6", "169.254.10.0/30")


def test_environment_is_strict_and_registers_only_our_filters() -> None:
    env = make_environment()
    assert set(f.FILTERS) <= set(env.filters)
    with pytest.raises(Exception, match="undefined"):
        env.from_string("{{ missing }}").render()
    assert env.from_string("{% if x %}\n  a\n{% endif %}\nb\n").render(x=True) == "  a\nb\n"
