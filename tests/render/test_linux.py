"""Linux configs checked by the real daemons: strongSwan's charon and FRR.

- Every rendered swanctl.conf (with its conf.d/ files) loads into a real charon
  under the lab's kernel-libipsec plugin set; charon's own parse of each
  connection (logged at cfg level 2) shows the proposals, lifetimes and if_id
  the contract asks for, spelled in charon's internal names, which this test
  derives from AWS's names on its own.
- Each tunnel's file loads alone (how the lab gives each tunnel its charon).
- One rendered tunnel file, unchanged, brings up IKE and ESP with a strongSwan
  stand-in for AWS in a second namespace, and a ping crosses the tunnel.
- Every rendered frr.conf passes `vtysh --dryrun`, and is loaded into live
  zebra/staticd/bgpd through vtysh; bgpd's JSON then shows each neighbour's
  ASN, timers, prefix lists in and out, route maps and maximum-prefix.
- The shell scripts parse (`sh -n`), the MSS clamp ruleset passes `nft -c`,
  and the updown script sets the right interface up or down from charon's view of
  the tunnel's SA, events out of order included.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from network.contract import Router, load_outputs
from network.render import interface_name, render_router
from tests.render.daemons import Charon, Frr, need_root_and, netns, run

pytestmark = pytest.mark.daemon

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "linux"
ROUTERS = [
    (case.name, key, router)
    for case in sorted(GOLDEN.iterdir())
    if case.is_dir()
    for key, router in sorted(load_outputs(case / "outputs.json").routers.items())
]
IDS = [f"{case}/{key}" for case, key, _ in ROUTERS]

# AWS names -> charon's internal algorithm names (what charon logs), kept apart
# from network.render.crypto on purpose.
CHARON_ENC = {
    "AES128": "AES_CBC_128",
    "AES256": "AES_CBC_256",
    "AES128-GCM-16": "AES_GCM_16_128",
    "AES256-GCM-16": "AES_GCM_16_256",
}
CHARON_INTEG = {
    "SHA1": "HMAC_SHA1_96",
    "SHA2-256": "HMAC_SHA2_256_128",
    "SHA2-384": "HMAC_SHA2_384_192",
    "SHA2-512": "HMAC_SHA2_512_256",
}
CHARON_PRF = {
    "SHA1": "PRF_HMAC_SHA1",
    "SHA2-256": "PRF_HMAC_SHA2_256",
    "SHA2-384": "PRF_HMAC_SHA2_384",
    "SHA2-512": "PRF_HMAC_SHA2_512",
}
CHARON_DH = {
    2: "MODP_1024",
    5: "MODP_1536",
    14: "MODP_2048",
    15: "MODP_3072",
    16: "MODP_4096",
    17: "MODP_6144",
    18: "MODP_8192",
    19: "ECP_256",
    20: "ECP_384",
    21: "ECP_521",
    22: "MODP_1024_160",
    23: "MODP_2048_224",
    24: "MODP_2048_256",
}


def _algorithms(phase: dict, ike: bool) -> set[str]:
    """Every algorithm name charon should show for one phase of the contract."""
    names = {CHARON_ENC[e] for e in phase["encryption"]}
    names |= {CHARON_DH[g] for g in phase["dhGroups"]}
    if any(not e.endswith("GCM-16") for e in phase["encryption"]):
        names |= {CHARON_INTEG[i] for i in phase["integrity"]}
    if ike:
        names |= {CHARON_PRF[i] for i in phase["integrity"]}
    return names


def _parsed_connections(log: str) -> dict[str, dict[str, str]]:
    """charon's cfg-level-2 dump of each loaded connection: name -> settings
    (child settings prefixed with "child.")."""
    conns = {}
    for block in re.split(r"\n\d+\[CFG\]  conn ", "\n" + log)[1:]:
        name = block.split(":", 1)[0]
        body: dict[str, str] = {}
        for line in block.splitlines()[1:]:
            m = re.match(r"\d+\[CFG\] (\s+)(\S+) = (.*)$", line)
            if m:
                key = ("child." if len(m.group(1)) >= 3 else "") + m.group(2)
                body.setdefault(key, m.group(3))
            elif "added vici connection" in line:
                break
        conns[name] = body
    return conns


@pytest.fixture(scope="module")
def charon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Charon]:
    need_root_and("/usr/lib/ipsec/charon", "swanctl", "ip")
    with netns() as ns:
        c = Charon(ns, tmp_path_factory.mktemp("charon"))
        try:
            yield c
        finally:
            c.stop()


def _write(router: Router, where: Path) -> dict[str, str]:
    files = render_router(router)
    for name, text in files.items():
        (where / name).parent.mkdir(parents=True, exist_ok=True)
        (where / name).write_text(text)
    return files


@pytest.mark.parametrize(("case", "key", "router"), ROUTERS, ids=IDS)
def test_swanctl_loads_into_charon(
    charon: Charon, tmp_path: Path, case: str, key: str, router: Router
) -> None:
    _write(router, tmp_path)
    before = len(charon.log_text())
    out = charon.swanctl("--load-all", "--file", str(tmp_path / "swanctl.conf")).stdout
    tunnels = [(c, t) for c in router.connections for t in c.tunnels]
    assert f"successfully loaded {len(tunnels)} connections" in out
    assert out.count("loaded ike secret") == len(tunnels)

    listed = charon.swanctl("--list-conns").stdout
    parsed = _parsed_connections(charon.log_text()[before:])
    for c, t in tunnels:
        name = f"{c.name}-{t.number}"
        assert f"{name}: IKEv2" in listed and f"remote: {t.aws_outside_ip}" in listed
        conf = parsed[name]
        ike = set(re.split(r"[/, ]+", conf["proposals"].replace("IKE:", ""))) - {""}
        esp = set(re.split(r"[/, ]+", conf["child.proposals"].replace("ESP:", ""))) - {
            "",
            "NO_EXT_SEQ",
        }
        assert ike == _algorithms(c.crypto["phase1"], ike=True), name
        assert esp == _algorithms(c.crypto["phase2"], ike=False), name
        phase1, phase2 = c.crypto["phase1"], c.crypto["phase2"]
        assert int(conf["rekey_time"]) + int(conf["over_time"]) == phase1["lifetimeSeconds"]
        assert int(conf["child.life_time"]) == phase2["lifetimeSeconds"]
        assert conf["local_addrs"] == router.public_ip and conf["remote_addrs"] == t.aws_outside_ip
        assert conf["keyingtries"] == "0" and conf["mobike"] == "0" and conf["encap"] == "1"
        assert conf["child.start_action"] == "start" and conf["child.dpd_action"] == "start"
        assert conf["child.if_id_in"] == conf["child.if_id_out"] != "0"
        # the outer DF bit cleared, AWS's replay window
        assert conf["child.copy_df"] == "0", name
        assert int(conf["child.replay_window"]) == c.crypto["replayWindowSize"], name
        assert conf["child.local_ts"] == conf["child.remote_ts"] == "0.0.0.0/0"


@pytest.mark.parametrize(
    ("case", "key", "router"), ROUTERS[:1] + ROUTERS[-1:], ids=IDS[:1] + IDS[-1:]
)
def test_each_tunnel_file_loads_alone(
    charon: Charon, tmp_path: Path, case: str, key: str, router: Router
) -> None:
    files = _write(router, tmp_path)
    for name in (n for n in files if n.startswith("conf.d/")):
        out = charon.swanctl("--load-all", "--file", str(tmp_path / name)).stdout
        assert "successfully loaded 1 connections" in out and out.count("loaded ike secret") == 1
        listed = charon.swanctl("--list-conns").stdout
        assert len(re.findall(r"^\S+: IKEv\d", listed, re.M)) == 1


def test_tunnel_comes_up_against_an_aws_standin(tmp_path: Path) -> None:
    """The dev router's tunnel 1 file, unchanged, negotiates IKE and ESP and carries a ping."""
    need_root_and("/usr/lib/ipsec/charon", "swanctl", "ip", "ping")
    router = load_outputs(GOLDEN / "dev" / "outputs.json").routers["dc1-edge1"]
    files = _write(router, tmp_path)
    c = router.connections[0]
    t = c.tunnels[0]
    p1, p2 = c.crypto["phase1"], c.crypto["phase2"]
    # AWS's side, as AWS would run it: responder, same options, its own outside address.
    aws_conf = tmp_path / "aws.conf"
    aws_conf.write_text(f"""connections {{
  aws {{
    local_addrs = {t.aws_outside_ip}
    remote_addrs = {router.public_ip}
    proposals = {
        "-".join(
            [_ss(e) for e in p1["encryption"]]
            + [_ss(i) for i in p1["integrity"]]
            + [_ss(g) for g in p1["dhGroups"]]
        )
    }
    encap = yes
    local {{
      auth = psk
      id = {t.aws_outside_ip}
    }}
    remote {{
      auth = psk
      id = {router.public_ip}
    }}
    children {{
      aws {{
        local_ts = 0.0.0.0/0
        remote_ts = 0.0.0.0/0
        esp_proposals = {
        "-".join(
            [_ss(e) for e in p2["encryption"]]
            + [_ss(i) for i in p2["integrity"]]
            + [_ss(g) for g in p2["dhGroups"]]
        )
    }
        dpd_action = clear
      }}
    }}
  }}
}}
secrets {{
  ike-aws {{
    id = {router.public_ip}
    secret = "{t.psk.reveal()}"
  }}
}}
""")
    with netns() as dc, netns() as aws:
        run(
            "ip",
            "link",
            "add",
            "dc0",
            "netns",
            dc,
            "type",
            "veth",
            "peer",
            "name",
            "aws0",
            "netns",
            aws,
        )
        for ns, dev, addr, peer in (
            (dc, "dc0", router.public_ip, t.aws_outside_ip),
            (aws, "aws0", t.aws_outside_ip, router.public_ip),
        ):
            run("ip", "-n", ns, "addr", "add", f"{addr}/32", "dev", dev)
            run("ip", "-n", ns, "link", "set", dev, "up")
            run("ip", "-n", ns, "route", "add", f"{peer}/32", "dev", dev)
        charons = [Charon(aws, tmp_path / "c-aws"), Charon(dc, tmp_path / "c-dc")]
        try:
            charons[0].swanctl("--load-all", "--file", str(aws_conf))
            tunnel_file = next(n for n in files if n == f"conf.d/{c.name}-1.conf")
            charons[1].swanctl("--load-all", "--file", str(tmp_path / tunnel_file))
            sas = ""
            for _ in range(100):
                sas = charons[1].swanctl("--list-sas").stdout
                if "INSTALLED" in sas:
                    break
                subprocess.run(["sleep", "0.05"], check=True)
            assert "ESTABLISHED" in sas and "INSTALLED, TUNNEL-in-UDP" in sas, sas
            # libipsec's TUN device stands in for the XFRM interface of a real router.
            for ns, addr in ((dc, t.customer_inside_ip), (aws, t.aws_inside_ip)):
                run("ip", "-n", ns, "addr", "add", f"{addr}/30", "dev", "ipsec0")
                run("ip", "-n", ns, "link", "set", "ipsec0", "up")
            run("ip", "netns", "exec", dc, "ping", "-c", "1", "-W", "2", t.aws_inside_ip)
        finally:
            for ch in charons:
                ch.stop()


def _ss(value: object) -> str:
    """AWS name -> strongSwan keyword, for the AWS stand-in only."""
    table = {
        "AES128": "aes128",
        "AES256": "aes256",
        "AES128-GCM-16": "aes128gcm16",
        "AES256-GCM-16": "aes256gcm16",
        "SHA1": "sha1",
        "SHA2-256": "sha256",
        "SHA2-384": "sha384",
        "SHA2-512": "sha512",
        14: "modp2048",
        19: "ecp256",
        20: "ecp384",
        21: "ecp521",
    }
    return table[value]


@pytest.mark.parametrize(("case", "key", "router"), ROUTERS, ids=IDS)
def test_frr_conf_passes_vtysh_dryrun(tmp_path: Path, case: str, key: str, router: Router) -> None:
    need_root_and("vtysh")
    _write(router, tmp_path)
    result = run("vtysh", "--dryrun", "-f", str(tmp_path / "frr.conf"), check=False)
    assert result.returncode == 0 and not result.stdout.strip() and not result.stderr.strip(), (
        result.stdout + result.stderr
    )


LIVE = [r for r in ROUTERS if r[1] in {"dc1-edge1", "ash-edge1", "lon-core1"}]


@pytest.mark.parametrize(("case", "key", "router"), LIVE, ids=[f"{c}/{k}" for c, k, _ in LIVE])
def test_frr_daemons_accept_config(tmp_path: Path, case: str, key: str, router: Router) -> None:
    need_root_and("vtysh", "/usr/lib/frr/bgpd", "/usr/lib/frr/zebra", "/usr/lib/frr/staticd")
    files = _write(router, tmp_path)
    with netns() as ns:
        ifaces = re.findall(r"^interface (\S+)$", files["frr.conf"], re.M)
        for name in ifaces:  # TUN devices stand in for the XFRM interfaces
            run("ip", "netns", "exec", ns, "ip", "tuntap", "add", name, "mode", "tun")
        frr = Frr(ns)
        try:
            loaded = frr.vtysh("-f", str(tmp_path / "frr.conf"), check=False)
            assert loaded.returncode == 0 and not (loaded.stdout + loaded.stderr).strip(), (
                loaded.stdout + loaded.stderr
            )
            running = frr.vtysh("-c", "show running-config").stdout
            neighbours = json.loads(
                frr.vtysh("-d", "bgpd", "-c", "show bgp neighbors json").stdout or "{}"
            )
            lists = json.loads(
                frr.vtysh("-d", "bgpd", "-c", "show ip prefix-list json").stdout or "{}"
            ).get("BGP", {})
        finally:
            frr.stop()
    for c in router.connections:
        for t in c.tunnels:
            assert f"ip address {t.customer_inside_ip}/30" in running
            if c.routing == "static":
                assert t.aws_inside_ip not in neighbours
                for prefix in c.accept:
                    assert re.search(
                        rf"^ip route {prefix} {t.aws_inside_ip} vti\d+"
                        rf"( {10 if t.number == 2 else ''})?$",
                        running,
                        re.M,
                    )
                continue
            n = neighbours[t.aws_inside_ip]
            assert n["remoteAs"] == t.aws_asn and n["localAs"] == router.asn
            assert n["bgpTimerConfiguredHoldTimeMsecs"] == t.hold_time * 1000
            assert n["bgpTimerConfiguredKeepAliveIntervalMsecs"] == t.keepalive * 1000
            af = n["addressFamilyInfo"]["ipv4Unicast"]
            assert af["prefixAllowedMax"] == c.max_prefixes_in
            assert af["prefixAllowedRestartIntervalMsecs"] == 5 * 60_000  # back after 5 min
            inbound = lists[af["incomingUpdatePrefixFilterList"]]["entries"]
            outbound = lists[af["outgoingUpdatePrefixFilterList"]]["entries"]
            assert {(e["type"], e["prefix"]) for e in inbound} == {("permit", p) for p in c.accept}
            assert {(e["type"], e["prefix"]) for e in outbound} == {
                ("permit", p) for p in c.announce
            }
            assert all("le" not in e and "ge" not in e for e in inbound + outbound)
            standby = t.preference == "secondary"
            assert ("routeMapForIncomingAdvertisements" in af) == standby
            assert ("routeMapForOutgoingAdvertisements" in af) == standby
    for prefix in {p for c in router.connections if c.routing == "bgp" for p in c.announce}:
        assert re.search(rf"^ip route {prefix} blackhole 254$", running, re.M), prefix
    if any(c.redundancy == "ecmp" for c in router.connections):
        assert re.search(r"^  maximum-paths \d+$", running, re.M)


@pytest.mark.parametrize(("case", "key", "router"), ROUTERS[:2], ids=IDS[:2])
def test_scripts_parse_and_updown_tracks_links(
    tmp_path: Path, case: str, key: str, router: Router
) -> None:
    need_root_and("ip", "nft", "sh")
    files = _write(router, tmp_path)
    for script in ("crossnet-tunnels.sh", "crossnet-updown.sh"):
        run("sh", "-n", str(tmp_path / script))
    ruleset = files["crossnet-tunnels.sh"].split("<<'NFT'\n", 1)[1].split("\nNFT\n", 1)[0]
    (tmp_path / "mss.nft").write_text(ruleset.replace("delete table inet crossnet_mss\n", ""))
    with netns() as ns:
        run("ip", "netns", "exec", ns, "nft", "-c", "-f", str(tmp_path / "mss.nft"))
        for c in router.connections:
            for t in c.tunnels:  # TUN devices stand in for the XFRM interfaces
                iface = interface_name("linux", t.inside_cidr)
                run("ip", "netns", "exec", ns, "ip", "tuntap", "add", iface, "mode", "tun")
        # The script, unchanged, keeps existing interfaces, sets MTUs and loads the clamp.
        run("ip", "netns", "exec", ns, "sh", str(tmp_path / "crossnet-tunnels.sh"))
        run("ip", "netns", "exec", ns, "sh", str(tmp_path / "crossnet-tunnels.sh"))  # re-run
        table = run(
            "ip", "netns", "exec", ns, "nft", "list", "table", "inet", "crossnet_mss"
        ).stdout
        for c in router.connections:
            for t in c.tunnels:
                iface = interface_name("linux", t.inside_cidr)
                assert f"mtu {c.tunnel_mtu} " in run("ip", "-n", ns, "link", "show", iface).stdout
                rp = run(
                    "ip", "netns", "exec", ns, "cat", f"/proc/sys/net/ipv4/conf/{iface}/rp_filter"
                ).stdout.strip()
                assert rp == "2", (iface, rp)  # loose: AWS may send over either tunnel
                assert re.search(rf'oifname "{iface}" .*maxseg size set {c.tcp_mss}', table)
                _check_updown(tmp_path, ns, f"{c.name}-{t.number}", iface)


# (PLUTO_VERB, what charon says of the tunnel's child SA afterwards, the link state then).
# The last two are events out of order: the DOWN of an SA closed by an IKE DELETE arriving
# after its replacement is up, and an UP whose SA is gone again by the time it runs.
UPDOWN_CASES = (
    ("up-client", "INSTALLED", "UP"),
    ("down-client", None, "DOWN"),
    ("down-client", "INSTALLED", "UP"),
    ("up-client", None, "DOWN"),
)


def _check_updown(tmp_path: Path, ns: str, conn: str, iface: str) -> None:
    """The rendered updown sets the link from charon's answer, whatever the verb says.

    A stand-in `swanctl` answers for charon (the lab runs the real one); it only
    answers `--list-sas --ike <connection> --raw`. The script runs in a private
    mount namespace with its own /run, where it keeps its lock."""
    fake = tmp_path / "bin"
    fake.mkdir(exist_ok=True)
    answer = tmp_path / "charon-says"
    (fake / "swanctl").write_text(
        "#!/bin/sh\n"
        f'[ "$*" = "--list-sas --ike {conn} --raw" ] || exit 7\n'
        f"state=$(cat {answer})\n"
        f'[ -n "$state" ] && echo "list-sa event {{{conn} {{state=ESTABLISHED child-sas '
        f'{{{conn} {{state=$state}}}}}}}}"\n'
        "exit 0\n"
    )
    (fake / "swanctl").chmod(0o755)
    for verb, charon_says, expected in UPDOWN_CASES:
        answer.write_text(charon_says or "")
        script = (
            f"mount -t tmpfs tmpfs /run && PATH={fake}:$PATH PLUTO_CONNECTION={conn} "
            f"PLUTO_VERB={verb} sh {tmp_path / 'crossnet-updown.sh'}"
        )
        run("ip", "netns", "exec", ns, "unshare", "-m", "sh", "-c", script)
        flags: list[str] = []
        for _ in range(100):  # the script sets the link from a background job: 5 s at most
            link = run("ip", "-n", ns, "link", "show", iface).stdout
            flags = link.split("<", 1)[1].split(">", 1)[0].split(",")
            if ("UP" in flags) == (expected == "UP"):
                break
            subprocess.run(["sleep", "0.05"], check=True)
        assert ("UP" in flags) == (expected == "UP"), (iface, verb, charon_says, flags)
