"""The lab's datacenter fabric (network.lab.fabric): who peers with whom, what FRR reads,
and that nothing learned over it can reach AWS (the rendered `-out` prefix lists)."""

from __future__ import annotations

import dataclasses
import re

import pytest
from netaddr import IPAddress, IPNetwork

from network.lab import fabric
from network.lab.configs import fabric_files, router_frr_conf
from network.lab.readiness import checks, expected_routes_dc
from network.lab.runtime import LabState, Running, frr_instance
from network.lab.topology import Lab, build_lab
from network.render import render_router
from tests.conftest import FakeOutputs


def _lab(fake_outputs: FakeOutputs, stack: str) -> Lab:
    outputs, plan = fake_outputs(stack)
    return build_lab(outputs, plan)


def test_prod_routers_peer_with_their_datacenter_only(fake_outputs: FakeOutputs) -> None:
    lab = _lab(fake_outputs, "prod")
    got = {r.key: fabric.neighbors(lab, r) for r in lab.routers}
    assert got == {
        "ash-edge1": {"10.128.0.2": "ash-edge2"},
        "ash-edge2": {"10.128.0.1": "ash-edge1"},
        "fra-edge1": {"172.20.0.2": "fra-edge2"},
        "fra-edge2": {"172.20.0.1": "fra-edge1"},
    }
    # the peer's address is on the router's own LAN (directly connected: next-hop-self)
    for r in lab.routers:
        for address in fabric.neighbors(lab, r):
            assert any(address in IPNetwork(a) for a in r.lan)


@pytest.mark.parametrize("stack", ["dev", "staging", "hybrid"])
def test_a_datacenters_only_router_gets_the_rendering_alone(
    fake_outputs: FakeOutputs, stack: str
) -> None:
    lab = _lab(fake_outputs, stack)
    assert fabric_files(lab) == {}
    for r in lab.routers:
        rendered = render_router(r.router)["frr.conf"]
        assert fabric.stanza(lab, r) == ""
        assert router_frr_conf(lab, r, rendered) == rendered


def test_the_fabric_goes_before_the_final_end_and_the_rendering_stays(
    fake_outputs: FakeOutputs,
) -> None:
    lab = _lab(fake_outputs, "prod")
    r = next(r for r in lab.routers if r.key == "ash-edge1")
    rendered = render_router(r.router)["frr.conf"]
    stanza = fabric.stanza(lab, r)
    conf = router_frr_conf(lab, r, rendered)
    assert rendered.endswith("end\n") and conf.endswith(stanza + "end\n")
    assert conf == rendered[: -len("end\n")] + stanza + "end\n"
    lines = stanza.splitlines()
    assert "router bgp 65100" in lines  # the same AS as the eBGP side: iBGP
    # the rendered router ID, so a rendering without BGP (a static connection) keeps it
    [rid] = [x for x in rendered.splitlines() if x.startswith(" bgp router-id ")]
    assert rid in lines
    for want in (
        " neighbor 10.128.0.2 remote-as 65100",
        "  neighbor 10.128.0.2 activate",
        "  neighbor 10.128.0.2 next-hop-self",
        "  distance bgp 20 15 200",
    ):
        assert want in lines
    # no key, no AWS address, nothing the renderer owns
    assert "169.254." not in stanza and "prefix-list" not in stanza
    assert fabric_files(lab)[f"{frr_instance('ash-edge1')}/fabric.conf"].text == stanza


def test_a_pinned_router_id_is_the_fabrics_too(fake_outputs: FakeOutputs) -> None:
    """A router whose `routerId` is pinned keeps it in the fabric's stanza: the public IP
    there would contradict the rendered line, and a router-ip change would reset every
    session of the router (the fabric's too) even though the router ID was pinned."""
    lab = _lab(fake_outputs, "prod")
    r = next(r for r in lab.routers if r.key == "fra-edge2")
    pinned = dataclasses.replace(
        r, router=dataclasses.replace(r.router, router_id=IPAddress("192.0.2.99"))
    )
    rendered = render_router(pinned.router)["frr.conf"]
    assert " bgp router-id 192.0.2.99" in rendered.splitlines()
    lines = fabric.stanza(lab, pinned).splitlines()
    assert " bgp router-id 192.0.2.99" in lines
    assert f" bgp router-id {r.router.public_ip}" not in lines


def test_compose_without_an_end_line_appends() -> None:
    assert fabric.compose("hostname x\n", "router bgp 1\n") == "hostname x\nrouter bgp 1\n"
    assert fabric.compose("hostname x\nend\n", "") == "hostname x\nend\n"


def test_readiness_waits_for_the_fabric_sessions(
    fake_outputs: FakeOutputs, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A prod router is ready once its AWS sessions and its fabric session are up."""
    lab = _lab(fake_outputs, "prod")
    rt = Running(lab, LabState("prod", "", "", "aws", 0.0))
    r = next(r for r in lab.routers if r.key == "ash-edge1")
    aws = [t.aws_inside_ip for c in r.router.connections for t in c.tunnels]
    up = {"state": "Established", "pfxRcd": 4, "pfxSnt": 1}
    probe = next(p for _ph, what, p in checks(rt) if what == "BGP of ash-edge1")
    monkeypatch.setattr(Running, "bgp", lambda _self, _inst: {a: up for a in aws})
    assert "10.128.0.2" in (probe() or "")
    monkeypatch.setattr(Running, "bgp", lambda _self, _inst: {a: up for a in [*aws, "10.128.0.2"]})
    assert probe() is None


_PL = re.compile(r"^ip prefix-list (\S+) seq \d+ (permit|deny) (\S+)(.*)$", re.M)


@pytest.mark.parametrize("stack", ["prod", "hybrid", "dev"])
def test_out_prefix_lists_admit_exactly_the_datacenter_prefixes(
    fake_outputs: FakeOutputs, stack: str
) -> None:
    """What a router learns over the fabric is AWS's prefixes (and its peer's copy of the
    datacenter's): the rendered `-out` list of every neighbour towards AWS permits exactly
    the datacenter's prefixes, with no `le`/`ge`, so a drained router whose best paths
    are its peer's never announces AWS's prefixes back to AWS (no transit)."""
    lab = _lab(fake_outputs, stack)
    for r in lab.routers:
        text = render_router(r.router)["frr.conf"]
        lists: dict[str, list[tuple[str, str, str]]] = {}
        for name, action, prefix, rest in _PL.findall(text):
            lists.setdefault(name, []).append((action, prefix, rest.strip()))
        for c in r.router.connections:
            if c.routing != "bgp":
                continue
            out = lists[f"{c.name}-out"]
            assert all(a == "permit" and not rest for a, _p, rest in out), out
            assert {p for _a, p, _r in out} == set(c.announce) == set(r.router.prefixes)
            assert not {p for _a, p, _r in out} & set(c.accept)
            # the list is applied outbound to every neighbour of the connection, and to
            # nothing else (the fabric's neighbours have no -out list: iBGP stays inside)
            applied = re.findall(rf"neighbor (\S+) prefix-list {re.escape(c.name)}-out out", text)
            assert set(applied) == {t.aws_inside_ip for t in c.tunnels}


def test_a_router_without_its_tunnels_routes_over_its_fabric_peer(
    fake_outputs: FakeOutputs,
) -> None:
    """The readiness and failover expectations learn the iBGP path: a router none of whose
    own tunnels is up routes AWS's prefixes over the LAN while a peer has one up."""
    lab = _lab(fake_outputs, "prod")
    r = next(r for r in lab.routers if r.key == "ash-edge1")
    own = frozenset(e.tunnel for e in lab.ends if e.side == "dc" and e.router_ns == r.ns)
    steady = expected_routes_dc(lab, r)
    assert all(fabric.LAN not in devs and n == 2 for devs, n in steady.values())
    one = expected_routes_dc(lab, r, frozenset(sorted(own)[:1]))
    assert all(fabric.LAN not in devs and n == 1 for devs, n in one.values())
    gone = expected_routes_dc(lab, r, own)
    assert gone and all(v == ({fabric.LAN}, 1) for v in gone.values())
    peer = next(q for q in lab.routers if q.key == "ash-edge2")
    everything = own | {e.tunnel for e in lab.ends if e.side == "dc" and e.router_ns == peer.ns}
    assert all(n == 0 for _d, n in expected_routes_dc(lab, r, frozenset(everything)).values())


def test_a_peer_on_another_as_is_ebgp_with_an_explicit_policy(fake_outputs: FakeOutputs) -> None:
    """Mid customer-ASN change (fra-edge1 already on 65201, fra-edge2 still on 65200) the
    fabric is eBGP across the LAN: each side names the other's own AS, and both
    directions have a route map, without which FRR's `bgp ebgp-requires-policy`
    (RFC 8212) accepts and sends nothing ("(Policy)": the drained router kept its own
    tunnels, seen on the lab)."""
    lab = _lab(fake_outputs, "prod")
    moved = [
        dataclasses.replace(r, router=dataclasses.replace(r.router, asn=65201))
        if r.key == "fra-edge1"
        else r
        for r in lab.routers
    ]
    lab = dataclasses.replace(lab, routers=tuple(moved))
    by = {r.key: r for r in lab.routers}
    one = fabric.stanza(lab, by["fra-edge1"]).splitlines()
    two = fabric.stanza(lab, by["fra-edge2"]).splitlines()
    assert "router bgp 65201" in one and " neighbor 172.20.0.2 remote-as 65200" in one
    assert "router bgp 65200" in two and " neighbor 172.20.0.1 remote-as 65201" in two
    for lines, peer in ((one, "172.20.0.2"), (two, "172.20.0.1")):
        for way in ("in", "out"):
            assert f"  neighbor {peer} route-map {fabric.POLICY} {way}" in lines
        # the map permits everything (no match, no set): the fabric carries all it has
        i = lines.index(f"route-map {fabric.POLICY} permit 10")
        assert lines[i + 1] == "exit"
        assert not [x for x in lines if x.startswith("route-map ") and " deny " in x]


def test_floating_routes_via_the_peer_only_when_bgp_has_nothing(
    fake_outputs: FakeOutputs,
) -> None:
    """The site IGP's stand-in: per AWS prefix the router accepts, a route via each peer
    that carries it at distance 250, above every BGP distance (15/20/200) and every
    static route the renderer writes, so it is installed only while BGP has no path (a
    router's bgpd instance rebuilt for a new local AS: 1.5 s of the LAN's packets lost,
    seen on the lab, before it)."""
    lab = _lab(fake_outputs, "prod")
    assert max(fabric.DISTANCE.values()) < fabric.FLOATING
    route = re.compile(r"^ip route (\S+) (\S+)(?: (\d+))?$")
    for r in lab.routers:
        stanza = fabric.stanza(lab, r)
        got = {(m[1], m[2], m[3]) for x in stanza.splitlines() if (m := route.match(x)) is not None}
        want = {
            (prefix, address, str(fabric.FLOATING))
            for address, key in fabric.neighbors(lab, r).items()
            for prefix in fabric.accepted(next(q for q in lab.routers if q.key == key))
        }
        assert got == want and want
        assert {p for p, _a, _d in got} == {p for c in r.router.connections for p in c.accept}
        rendered = render_router(r.router)["frr.conf"]
        for x in rendered.splitlines():  # its own prefixes' blackhole (254) aside
            if (m := route.match(x)) is not None and m[1] not in r.router.prefixes:
                assert int(m[3] or 1) < fabric.FLOATING, x
        assert not set(r.router.prefixes) & {p for p, _a, _d in got}  # never its own
