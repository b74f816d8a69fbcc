"""Hosts reach each other exactly as the security groups say, and nobody else gets in.

Each test takes one datacenter -> VPC pair; what it expects comes from the
plan's ingress rules for the VPC host's tier, so a port the security groups
do not admit must be unreachable although a listener runs on it.

The probes of every pair run once per session, all at once (`pair_probes`,
`network.lab.batch`), and each test asserts on its pair's results. The VPC host
counts its security groups' drops per source, so the unplanned-source probes run
beside the others; the 8 MiB transfers run afterwards, one at a time, so each
throughput figure is one flow's own.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import pytest

from network.lab.batch import MAX_WORKERS, SSH_WORKERS, Failed, Job, Stages, run_groups, safe
from network.lab.suite import TRAFFIC, Env, admitted, prefetch, record
from network.lab.topology import expected_flows

LARGE_TRANSFER = 8 * 1024 * 1024


def pair_hosts(env: Env, pair: tuple[str, str]) -> dict[str, Any]:
    """What a pair's tests need: both hosts, the VPC host's profile, the tunnel's
    MTU and MSS, and the flows the security groups admit."""
    dc, vpc = pair
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


@pytest.fixture
def hosts(
    env: Env, pair: tuple[str, str], listeners: Any, request: pytest.FixtureRequest
) -> dict[str, Any]:
    dc, vpc = pair
    request.node.user_properties.append(("pair", f"{dc}|{vpc}"))
    return pair_hosts(env, pair)


def _ping(env: Env, target: str, address: str, extra: str = "", count: int = 3) -> Any:
    return env.run(target, f"ping -n -c {count} -i 0.2 -W 1 {extra} {address}")


def _tcp(
    env: Env, target: str, address: str, ports: list[int], *extra: str
) -> dict[int, dict[str, Any]]:
    """Several TCP ports probed at once from one host: port -> result."""
    got = env.agent(target, "tcp", address, ",".join(map(str, ports)), "--timeout", "1", *extra)
    if len(ports) == 1:
        return {ports[0]: got}
    return {p: got.get(str(p), {"ok": False, "error": str(got)}) for p in ports}


def _dropped(env: Env, vpc: dict[str, Any], source: str) -> int:
    """Packets from `source` the VPC host's security groups dropped so far (lab only)."""
    r = env.run(vpc["target"], "nft -j list set inet crossnet_sg dropped_from")
    data = json.loads(r.stdout or "{}")
    for item in data.get("nftables", []):
        for elem in item.get("set", {}).get("elem", []):
            e = elem.get("elem", {}) if isinstance(elem, dict) else {}
            if e.get("val") == source:
                return int(e["counter"]["packets"])
    return 0


# ---------------------------------------------------------------- the probes
def _open_ports(h: dict[str, Any]) -> list[int]:
    return [p for p, ok in h["expect"]["tcp"].items() if ok]


def _quiet_jobs(env: Env, h: dict[str, Any]) -> dict[str, Job]:
    """A pair's probes that neither read the drop counter nor load the tunnel."""
    dc, vpc = h["dc"], h["vpc"]
    jobs: dict[str, Job] = {
        "ping": lambda: _ping(env, dc["target"], vpc["address"]),
        "tcp": lambda: _tcp(env, dc["target"], vpc["address"], list(h["expect"]["tcp"])),
    }
    for port in h["expect"]["udp"]:
        jobs[f"udp/{port}"] = partial(
            env.agent, dc["target"], "udp", vpc["address"], str(port), "--timeout", "1"
        )
    open_ports = _open_ports(h)
    if open_ports or h["expect"]["icmp"]:  # else test_vpc_reaches_back skips
        jobs["back ping"] = lambda: _ping(env, vpc["target"], dc["address"])
        if dc.get("listen_port"):
            jobs["back tcp"] = lambda: env.agent(
                vpc["target"], "tcp", dc["address"], str(dc["listen_port"])
            )
    mtu = h["mtu"]
    if h["expect"]["icmp"]:
        jobs["mtu"] = lambda: _ping(
            env, dc["target"], vpc["address"], f"-M do -s {mtu - 28}", count=2
        )
        if env.is_lab:
            jobs["mtu+1"] = lambda: _ping(
                env, dc["target"], vpc["address"], f"-M do -s {mtu - 27}", count=2
            )
    if open_ports:
        jobs["mss"] = lambda: env.agent(dc["target"], "tcp", vpc["address"], str(open_ports[-1]))
    return jobs


def _unplanned(env: Env, h: dict[str, Any]) -> dict[str, Any]:
    """From the unplanned source: its drop counter, the probe, the counter again.

    The VPC host counts its drops per source, so other probes may run meanwhile. A
    probe lost before the VPC host (say, while a tunnel that an earlier check cut
    is still coming back) moves no counter and proves nothing either way, so in the
    lab it is sent again, at most three times, until the host's counter shows it."""
    before = after = None
    source = h["dc"]["unplanned_source"]
    results: dict[int, dict[str, Any]] = {}
    for _ in range(3 if env.is_lab else 1):
        before = _dropped(env, h["vpc"], source) if env.is_lab else None
        results = _tcp(
            env,
            h["dc"]["target"],
            h["vpc"]["address"],
            _open_ports(h),
            "--source",
            source,
            "--timeout",
            "1",
        )
        after = _dropped(env, h["vpc"], source) if env.is_lab else None
        if (
            before is None
            or after is None
            or after > before
            or any(admitted(r) for r in results.values())
        ):
            break
    return {"results": results, "before": before, "after": after}


_ONE_TRANSFER = threading.Lock()


def _transfer(env: Env, h: dict[str, Any]) -> dict[str, Any]:
    with _ONE_TRANSFER:  # one flow at a time: each throughput figure is its own
        return env.agent(
            h["dc"]["target"],
            "send",
            h["vpc"]["address"],
            str(_open_ports(h)[-1]),
            "--bytes",
            str(LARGE_TRANSFER),
            timeout=60,
        )


def _sequential(jobs: Sequence[tuple[str, Job]]) -> Callable[[], dict[str, Any]]:
    def run() -> dict[str, Any]:
        return {key: safe(job) for key, job in jobs}

    return run


def _groups(env: Env, pairs: list[tuple[str, str]]) -> dict[str, Stages]:
    """Per VPC host: every pair's quiet probes and unplanned-source probes together (the
    host counts drops per source); then the transfers, one at a time, on idle tunnels."""
    by_vpc: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for pair in pairs:
        by_vpc.setdefault(pair[1], []).append((f"{pair[0]}|{pair[1]}", pair_hosts(env, pair)))
    groups: dict[str, Stages] = {}
    for vpc, members in by_vpc.items():
        quiet = {f"{key} {n}": j for key, h in members for n, j in _quiet_jobs(env, h).items()}
        counted = {
            f"{key} unplanned": partial(_unplanned, env, h)
            for key, h in members
            if h["dc"].get("unplanned_source") and _open_ports(h)
        }
        sends = [(key, partial(_transfer, env, h)) for key, h in members if _open_ports(h)]
        groups[vpc] = [
            {**quiet, **counted},
            {"transfers": _sequential(sends)},
        ]
    return groups


def gather(env: Env, items: list[pytest.Item]) -> dict[str, dict[str, Any]]:
    """Every selected pair's probe results, all at once: "dc|vpc" -> probe -> result."""
    pairs = [
        tuple(i.callspec.params["pair"])
        for i in items
        if hasattr(i, "callspec") and "pair" in i.callspec.params
    ]
    unique = list(dict.fromkeys(pairs))
    out: dict[str, dict[str, Any]] = {f"{d}|{v}": {} for d, v in unique}
    workers = MAX_WORKERS if env.is_lab else SSH_WORKERS
    for res in run_groups(_groups(env, unique), workers).values():
        for key, value in res.items():
            if key == "transfers":
                for pair_key, result in value.items():
                    out[pair_key][key] = result
            else:
                pair_key, name = key.split(" ", 1)
                out[pair_key][name] = value
    return out


@prefetch("pair probes", reads=frozenset({TRAFFIC}))
def _prefetch_pairs(env: Env, session: pytest.Session) -> dict[str, dict[str, Any]] | None:
    # In the lab, from the session's start; real hosts may need the suite's listeners
    # first (the `listeners` fixture), so there the fixture gathers them.
    return gather(env, session.items) if env.is_lab else None


@pytest.fixture(scope="session")
def pair_probes(env: Env, listeners: Any, request: pytest.FixtureRequest) -> dict[str, Any]:
    """Every pair's probe results, gathered once, all at once: "dc|vpc" -> probe -> result."""
    got = env.prefetched("pair probes")
    if got is None:
        got = gather(env, request.session.items)
    return dict(got)


@pytest.fixture
def got(pair_probes: dict[str, Any], pair: tuple[str, str]) -> Callable[[str], Any]:
    """This pair's result of one probe (a probe that raised fails the test with it)."""
    mine = pair_probes[f"{pair[0]}|{pair[1]}"]

    def result(name: str) -> Any:
        value = mine[name]
        if isinstance(value, Failed):
            raise value.error
        return value

    return result


# ---------------------------------------------------------------- the tests
def test_ping_datacenter_to_vpc(hosts: dict[str, Any], got: Callable[[str], Any]) -> None:
    """ICMP gets through exactly when a rule of the VPC host's tier admits it."""
    r = got("ping")
    want = hosts["expect"]["icmp"]
    assert (r.rc == 0) == want, (
        f"ping {'failed' if want else 'got through'}; expected "
        f"{'replies' if want else 'none (no ICMP rule)'}: {r.stdout.strip()[-200:]}"
    )


def test_tcp_datacenter_to_vpc(hosts: dict[str, Any], got: Callable[[str], Any]) -> None:
    """Every listening port: open when a rule admits it, silent when none does."""
    wrong = []
    ports = hosts["expect"]["tcp"]
    results = got("tcp")
    for port, want in ports.items():
        res = results[port]
        if admitted(res) != want:
            wrong.append(
                f"tcp/{port}: {'admitted' if admitted(res) else 'dropped'} "
                f"({res.get('error') or res.get('banner')}), planned "
                f"{'admitted' if want else 'dropped'}"
            )
    assert not wrong, "; ".join(wrong)


def test_udp_datacenter_to_vpc(hosts: dict[str, Any], got: Callable[[str], Any]) -> None:
    wrong = []
    for port, want in hosts["expect"]["udp"].items():
        res = got(f"udp/{port}")
        if res.get("ok") != want:
            wrong.append(f"udp/{port}: {res}")
    assert not wrong, "; ".join(wrong)


def test_vpc_reaches_back(hosts: dict[str, Any], got: Callable[[str], Any]) -> None:
    """The VPC host reaches the datacenter host (ping and TCP): outbound is open."""
    if not any(hosts["expect"]["tcp"].values()) and not hosts["expect"]["icmp"]:
        pytest.skip(
            "the security groups admit nothing from this datacenter host, so the "
            "pair has no return path to test"
        )
    r = got("back ping")
    assert r.rc == 0, r.stdout.strip()[-200:]
    if hosts["dc"].get("listen_port"):
        res = got("back tcp")
        assert res.get("ok"), res


def test_large_packets_and_mss(
    env: Env, hosts: dict[str, Any], got: Callable[[str], Any], request: pytest.FixtureRequest
) -> None:
    """Full-size packets cross the tunnel: the MTU fits, TCP MSS is clamped, a transfer works."""
    open_ports = _open_ports(hosts)
    if not open_ports and not hosts["expect"]["icmp"]:
        pytest.skip("nothing is admitted from this datacenter host")
    mtu, mss = hosts["mtu"], hosts["mss"]
    if hosts["expect"]["icmp"]:
        # The largest packet the tunnel takes, with DF set, goes through ...
        r = got("mtu")
        assert r.rc == 0, f"{mtu}-byte packets with DF set do not cross: {r.stdout[-200:]}"
        if env.is_lab:
            # ... and one byte more does not (the router reports the tunnel MTU).
            r = got("mtu+1")
            assert r.rc != 0, f"{mtu + 1}-byte packets crossed a {mtu}-byte tunnel"
    if open_ports:
        res = got("mss")
        assert res.get("ok"), res
        # 12 bytes of TCP timestamps come off the clamped MSS.
        assert res["mss"] <= mss, f"TCP MSS {res['mss']} above the clamp {mss}"
        res = got("transfers")
        assert res.get("ok"), f"transfer failed or corrupted: {res}"
        record(request, "throughput (8 MiB, one flow)", res["mbps"], "Mb/s")


def test_unplanned_source_is_refused(
    env: Env, hosts: dict[str, Any], got: Callable[[str], Any]
) -> None:
    """From an address outside every planned datacenter prefix, nothing gets in."""
    src = hosts["dc"].get("unplanned_source")
    if not src:
        pytest.skip("the inventory names no unplanned source address for this host")
    if not _open_ports(hosts):
        pytest.skip("nothing is admitted from this datacenter at all")
    res = got("unplanned")
    let_in = [p for p, r in res["results"].items() if admitted(r)]
    assert not let_in, f"tcp {let_in} admitted {src}, an unplanned source"
    if res["before"] is not None:
        # It was the VPC host's security groups that dropped it, not a missing route.
        assert res["after"] > res["before"]
