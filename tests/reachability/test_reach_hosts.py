"""Hosts reach each other exactly as the security groups say, and nobody else gets in.

Each test takes one datacenter -> VPC pair; what it expects comes from the
plan's ingress rules for the VPC host's tier, so a port the security groups
do not admit must be unreachable although a listener runs on it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from network.lab.suite import Env, admitted, record
from network.lab.topology import expected_flows

LARGE_TRANSFER = 8 * 1024 * 1024


@pytest.fixture
def hosts(
    env: Env, pair: tuple[str, str], listeners: Any, request: pytest.FixtureRequest
) -> dict[str, Any]:
    dc, vpc = pair
    request.node.user_properties.append(("pair", f"{dc}|{vpc}"))
    profile = env.profile(vpc)
    src = env.dc(dc)["address"]
    conn = next(
        c for r in env.outputs.routers.values() if r.datacenter == dc for c in r.connections
    )
    return {
        "dc": env.dc(dc),
        "vpc": env.vpc(vpc),
        "profile": profile,
        "mtu": conn.tunnel_mtu,
        "mss": conn.tcp_mss,
        "expect": expected_flows(
            src, profile.rules, [*profile.tcp, profile.closed], list(profile.udp)
        ),
    }


def _ping(env: Env, target: str, address: str, extra: str = "", count: int = 3) -> Any:
    return env.run(target, f"ping -n -c {count} -i 0.2 -W 1 {extra} {address}")


def test_ping_datacenter_to_vpc(env: Env, hosts: dict[str, Any]) -> None:
    """ICMP gets through exactly when a rule of the VPC host's tier admits it."""
    r = _ping(env, hosts["dc"]["target"], hosts["vpc"]["address"])
    want = hosts["expect"]["icmp"]
    assert (r.rc == 0) == want, (
        f"ping {'failed' if want else 'got through'}; expected "
        f"{'replies' if want else 'none (no ICMP rule)'}: {r.stdout.strip()[-200:]}"
    )


def test_tcp_datacenter_to_vpc(env: Env, hosts: dict[str, Any]) -> None:
    """Every listening port: open when a rule admits it, silent when none does."""
    wrong = []
    ports = hosts["expect"]["tcp"]
    results = _tcp(env, hosts["dc"]["target"], hosts["vpc"]["address"], list(ports))
    for port, want in ports.items():
        got = results[port]
        if admitted(got) != want:
            wrong.append(
                f"tcp/{port}: {'admitted' if admitted(got) else 'dropped'} "
                f"({got.get('error') or got.get('banner')}), planned "
                f"{'admitted' if want else 'dropped'}"
            )
    assert not wrong, "; ".join(wrong)


def test_udp_datacenter_to_vpc(env: Env, hosts: dict[str, Any]) -> None:
    wrong = []
    for port, want in hosts["expect"]["udp"].items():
        got = env.agent(
            hosts["dc"]["target"], "udp", hosts["vpc"]["address"], str(port), "--timeout", "1"
        )
        if got.get("ok") != want:
            wrong.append(f"udp/{port}: {got}")
    assert not wrong, "; ".join(wrong)


def test_vpc_reaches_back(env: Env, hosts: dict[str, Any]) -> None:
    """The VPC host reaches the datacenter host (ping and TCP): outbound is open."""
    if not any(hosts["expect"]["tcp"].values()) and not hosts["expect"]["icmp"]:
        pytest.skip(
            "the security groups admit nothing from this datacenter host, so the "
            "pair has no return path to test"
        )
    dc = hosts["dc"]
    r = _ping(env, hosts["vpc"]["target"], dc["address"])
    assert r.rc == 0, r.stdout.strip()[-200:]
    if dc.get("listen_port"):
        got = env.agent(hosts["vpc"]["target"], "tcp", dc["address"], str(dc["listen_port"]))
        assert got.get("ok"), got


def test_large_packets_and_mss(
    env: Env, hosts: dict[str, Any], request: pytest.FixtureRequest
) -> None:
    """Full-size packets cross the tunnel: the MTU fits, TCP MSS is clamped, a transfer works."""
    open_ports = [p for p, ok in hosts["expect"]["tcp"].items() if ok]
    if not open_ports and not hosts["expect"]["icmp"]:
        pytest.skip("nothing is admitted from this datacenter host")
    mtu, mss = hosts["mtu"], hosts["mss"]
    if hosts["expect"]["icmp"]:
        # The largest packet the tunnel takes, with DF set, goes through ...
        r = _ping(
            env, hosts["dc"]["target"], hosts["vpc"]["address"], f"-M do -s {mtu - 28}", count=2
        )
        assert r.rc == 0, f"{mtu}-byte packets with DF set do not cross: {r.stdout[-200:]}"
        if env.is_lab:
            # ... and one byte more does not (the router reports the tunnel MTU).
            r = _ping(
                env, hosts["dc"]["target"], hosts["vpc"]["address"], f"-M do -s {mtu - 27}", count=2
            )
            assert r.rc != 0, f"{mtu + 1}-byte packets crossed a {mtu}-byte tunnel"
    if open_ports:
        port = str(open_ports[-1])
        got = env.agent(hosts["dc"]["target"], "tcp", hosts["vpc"]["address"], port)
        assert got.get("ok"), got
        # 12 bytes of TCP timestamps come off the clamped MSS.
        assert got["mss"] <= mss, f"TCP MSS {got['mss']} above the clamp {mss}"
        got = env.agent(
            hosts["dc"]["target"],
            "send",
            hosts["vpc"]["address"],
            port,
            "--bytes",
            str(LARGE_TRANSFER),
            timeout=60,
        )
        assert got.get("ok"), f"transfer failed or corrupted: {got}"
        record(request, "throughput (8 MiB, one flow)", got["mbps"], "Mb/s")


def test_unplanned_source_is_refused(env: Env, hosts: dict[str, Any]) -> None:
    """From an address outside every planned datacenter prefix, nothing gets in."""
    src = hosts["dc"].get("unplanned_source")
    if not src:
        pytest.skip("the inventory names no unplanned source address for this host")
    open_ports = [p for p, ok in hosts["expect"]["tcp"].items() if ok]
    if not open_ports:
        pytest.skip("nothing is admitted from this datacenter at all")
    before = _dropped(env, hosts["vpc"]) if env.is_lab else None
    results = _tcp(
        env,
        hosts["dc"]["target"],
        hosts["vpc"]["address"],
        open_ports,
        "--source",
        src,
        "--timeout",
        "1",
    )
    let_in = [p for p, got in results.items() if admitted(got)]
    assert not let_in, f"tcp {let_in} admitted {src}, an unplanned source"
    if before is not None:
        # It was the VPC host's security groups that dropped it, not a missing route.
        assert _dropped(env, hosts["vpc"]) > before


def _tcp(
    env: Env, target: str, address: str, ports: list[int], *extra: str
) -> dict[int, dict[str, Any]]:
    """Several TCP ports probed at once from one host: port -> result."""
    got = env.agent(target, "tcp", address, ",".join(map(str, ports)), "--timeout", "1", *extra)
    if len(ports) == 1:
        return {ports[0]: got}
    return {p: got.get(str(p), {"ok": False, "error": str(got)}) for p in ports}


def _dropped(env: Env, vpc: dict[str, Any]) -> int:
    r = env.run(vpc["target"], "nft -j list counter inet crossnet_sg dropped")
    data = json.loads(r.stdout or "{}")
    for item in data.get("nftables", []):
        if "counter" in item:
            return int(item["counter"]["packets"])
    return 0
