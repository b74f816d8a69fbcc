"""Each Pulumi-mock pitfall of FACTS.md, guarded by a test that fails when the
guard is missing."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi.runtime.sync_await import _sync_await

from network.offline.apply import run_program
from network.offline.aws import AwsEmulator
from network.offline.mocks import _SECRET_SIG, _SECRET_VAL, unwrap
from tests.conftest import load_stack


def _walk(value: Any, path: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [x for k, v in value.items() for x in _walk(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [x for i, v in enumerate(value) for x in _walk(v, f"{path}[{i}]")]
    return [(path, value)]


def test_every_output_resolves() -> None:
    """A program built before set_mocks leaves outputs that never resolve (or
    resolve to None); the offline run installs the mocks first."""
    with AwsEmulator(seed=1) as emu:
        outputs, _, _ = run_program(load_stack("prod"), "prod", emu, seed=1)
    empty = [p for p, v in _walk(outputs) if v is None and not p.endswith("insideIpv6Cidr")]
    assert empty == []
    assert outputs["routers"] and outputs["presharedKeys"]


def test_last_set_mocks_wins_so_each_run_starts_clean() -> None:
    """set_mocks is process-wide: a second run in one process must not see the
    first run's stack outputs or resources."""
    with AwsEmulator(seed=1) as emu:
        dev, _, dev_res = run_program(load_stack("dev"), "dev", emu, seed=1)
    with AwsEmulator(seed=1) as emu:
        staging, _, st_res = run_program(load_stack("staging"), "staging", emu, seed=1)
    assert set(dev["routers"]) == {"dc1-edge1"} and set(staging["vpcs"]) == {"web", "data"}
    assert "app" not in staging["vpcs"]
    assert any(r.name == "app-vpc" for r in dev_res)
    assert not any(r.name == "app-vpc" for r in st_res)  # nothing carried over
    with AwsEmulator(seed=1) as emu:
        _, _, again = run_program(load_stack("staging"), "staging", emu, seed=1)
    assert len(again) == len(st_res)


def test_secret_inputs_are_unwrapped_and_flagged() -> None:
    wrapped = {_SECRET_SIG: _SECRET_VAL, "value": "Key_from_config1"}
    value, secret = unwrap({"tunnel1PresharedKey": wrapped, "n": 30.0, "l": [1.0, "a"]})
    assert secret
    assert value == {"tunnel1PresharedKey": "Key_from_config1", "n": 30, "l": [1, "a"]}
    assert unwrap({"plain": "x"}) == ({"plain": "x"}, False)


def test_secret_outputs_are_rewrapped_despite_the_mock_monitor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The mock monitor drops additional_secret_outputs: the VPN connection's own
    keys and XML would come back in plain text. The offline monitor re-wraps
    what pulumi-aws marks secret, as the engine does, and nothing else."""
    from network.components import site_to_site_vpn

    made: list[site_to_site_vpn.SiteToSiteVpn] = []
    original = site_to_site_vpn.SiteToSiteVpn.__init__

    def record(self: site_to_site_vpn.SiteToSiteVpn, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(site_to_site_vpn.SiteToSiteVpn, "__init__", record)
    with AwsEmulator(seed=1) as emu:
        _, secret, _ = run_program(load_stack("dev"), "dev", emu, seed=1)
    assert secret == ["presharedKeys"]
    (vpn,) = made
    conn = vpn.connection

    def is_secret(out: Any) -> bool:
        return bool(_sync_await(out.is_secret()))

    assert is_secret(conn.tunnel1_preshared_key) and is_secret(conn.tunnel2_preshared_key)
    assert is_secret(conn.customer_gateway_configuration)
    xml = _sync_await(conn.customer_gateway_configuration.future())
    assert xml is not None and "<vpn_connection" in xml
    # Only those: the addresses the routers need stay readable.
    assert not is_secret(conn.tunnel1_address) and not is_secret(conn.tunnel1_inside_cidr)


def test_a_duplicate_urn_is_refused_like_the_engine_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The real engine refuses a second resource with the same URN; the mock
    monitor would register it twice (the second silently replacing the first)."""
    import pulumi_aws as aws

    from network.offline import apply

    def program() -> None:
        for cidr in ("10.1.0.0/16", "10.2.0.0/16"):
            aws.ec2.Vpc("same-name-vpc", cidr_block=cidr)

    monkeypatch.setattr(apply, "_run_main", program)
    with AwsEmulator(seed=1) as emu:
        with pytest.raises(apply.ApplyError) as e:
            run_program({"aws:region": "us-east-1"}, "dev", emu, seed=1)
        vpcs = emu.client("ec2", "us-east-1").describe_vpcs()["Vpcs"]
    text = e.value.render()
    assert "Duplicate resource URN" in text and "aws:ec2/vpc:Vpc::same-name-vpc" in text
    assert "Traceback" not in text
    assert len([v for v in vpcs if v["CidrBlock"] in ("10.1.0.0/16", "10.2.0.0/16")]) == 1
