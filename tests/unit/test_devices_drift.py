"""Drift (network/devices/drift.py): hier_config remediation on rendered configs (pure)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from network.contract import Router
from network.devices.drift import (
    RENDERED_FILE,
    config_drift,
    crossnet_names,
    mask_keys,
    router_drift,
)
from network.devices.session import SessionError, target
from network.render import render_router
from tests.conftest import fake_stack_outputs as fake_outputs

REC = Path(__file__).resolve().parents[1] / "devices" / "recorded"


def _router(platform: str) -> Router:
    outputs, _ = fake_outputs("dev")
    return dataclasses.replace(next(iter(outputs.routers.values())), platform=platform)


def _rendered(platform: str) -> tuple[Router, str]:
    r = _router(platform)
    return r, render_router(r)[RENDERED_FILE[platform]]


@pytest.mark.parametrize("platform", ["iosxe", "junos", "vyos", "fortios"])
def test_a_router_running_its_rendering_has_no_drift(platform: str) -> None:
    r, text = _rendered(platform)
    d = config_drift(r.key, platform, text, text, crossnet_names(r))
    assert d.clean and d.add == () and d.remove == ()


@pytest.mark.parametrize("platform", ["iosxe", "junos", "vyos", "fortios"])
def test_keys_are_neither_compared_nor_printed(platform: str) -> None:
    """Devices show keys encrypted: a different key text is no drift, and no key leaks."""
    r, text = _rendered(platform)
    keys = [t.psk.reveal() for c in r.connections for t in c.tunnels]
    running = text
    for k in keys:
        running = running.replace(k, "$9$EncryptedOnTheBox")
    d = config_drift(r.key, platform, text, running, crossnet_names(r))
    assert d.clean
    assert all(k not in mask_keys(platform, text) for k in keys)


def test_vyos_set_commands() -> None:
    r, text = _rendered("vyos")
    lines = text.splitlines()
    hold = next(ln for ln in lines if "holdtime" in ln)
    running = [ln for ln in lines if ln != hold]
    running += ["set interfaces ethernet eth9 address '10.9.9.9/24'"]  # not crossnet's
    d = config_drift(r.key, "vyos", text, "\n".join(running), crossnet_names(r))
    assert d.add == (hold,)
    assert d.remove == ()


def test_fortios_remediation_is_fortios_cli() -> None:
    """hier_config has no FortiOS driver in 2.3: its tree, written back as FortiOS CLI."""
    r, text = _rendered("fortios")
    lines = text.splitlines()
    keylife = next(ln for ln in lines if "set keylife" in ln)
    i = lines.index(keylife)
    changed = keylife.replace("28800", "86400")
    running = [*lines[:i], changed, "        set auto-negotiate disable", *lines[i + 1 :]]
    d = config_drift(r.key, "fortios", text, "\n".join(running), crossnet_names(r))
    edit = next(ln for ln in reversed(lines[:i]) if ln.strip().startswith("edit "))
    assert d.remediation == (
        "config vpn ipsec phase1-interface",
        edit,
        "        unset auto-negotiate",
        keylife,
        "    next",
        "end",
    )
    assert (d.add, d.remove) == ((keylife.strip(),), ("unset auto-negotiate",))


def test_fortios_entries_of_a_table_the_render_dropped_are_deleted_not_left() -> None:
    """A drain's route-maps (`config router route-map`, named after a tunnel interface) on a
    router whose render has no route-map table: each crossnet entry deleted, the site's own
    kept; `unset` lines (defaults: FortiOS's `show` never prints them) are no drift."""
    r, text = _rendered("fortios")
    iface = next(ln.split('"')[1] for ln in text.splitlines() if ln.startswith('    edit "aws'))
    shown = "\n".join(ln for ln in text.splitlines() if not ln.strip().startswith("unset "))
    extra = [
        "config router route-map",
        f'    edit "{iface}-in"',
        "        set comments x",
        "    next",
        '    edit "site-own"',
        "        set comments y",
        "    next",
        "end",
    ]
    d = config_drift(r.key, "fortios", text, shown + "\n" + "\n".join(extra), crossnet_names(r))
    assert d.remediation == ("config router route-map", f'    delete "{iface}-in"', "end")
    assert config_drift(r.key, "fortios", text, shown, crossnet_names(r)).clean


def test_frr_running_config_and_swanctl_connections() -> None:
    r = _router("linux")
    files = render_router(r)
    frr = files["frr.conf"].splitlines()
    neighbour_line = next(ln for ln in frr if " timers 10 30" in ln)
    running_frr = "\n".join(ln for ln in frr if ln != neighbour_line)
    names = sorted(f"{c.name}-{t.number}" for c in r.connections for t in r.connections[0].tunnels)
    conns = f"list-conn event {{{names[0]} {{local_addrs=[192.0.2.10]}}}}\n"
    conns += "list-conn event {stale-9 {local_addrs=[192.0.2.10]}}\n"

    def run(cmd: str) -> str:
        return running_frr if "show running-config" in cmd else conns

    frr_drift, swan = router_drift(r, run)
    assert frr_drift.add == (neighbour_line.strip(),)
    assert swan.add == (f"load conf.d/{names[1]}.conf",)
    assert swan.remove == ("unload stale-9",)
    assert swan.remediation[-1] == "swanctl --load-all"


def test_frr_as_it_really_runs_the_rendering_is_no_drift() -> None:
    """FRR 8.4.4's own running config of dev's router in the lab (recorded): reordered,
    defaults left out, another hostname; none of it is drift. Changed, it is."""
    r = _router("linux")
    rendered = render_router(r)["frr.conf"]
    running = (REC / "linux" / "vtysh_show_running-config.lab.raw").read_text()
    assert config_drift(r.key, "frr", rendered, running, crossnet_names(r)).clean
    peer = r.connections[0].tunnels[0].aws_inside_ip
    changed = running.replace(f"neighbor {peer} timers 10 30", f"neighbor {peer} timers 20 60")
    assert changed != running
    d = config_drift(r.key, "frr", rendered, changed, crossnet_names(r))
    assert d.add == (f"neighbor {peer} timers 10 30",)
    assert d.remove == (f"no neighbor {peer} timers 20 60",)


def test_inventory_targets() -> None:
    inv = {"ssh": {"ssh_identity_file": "~/.ssh/k", "known_hosts": "/etc/kh"}}
    t = target({"target": "ssh://netops@192.0.2.101:2222"}, inv)
    assert (t.username, t.host, t.port, t.known_hosts.as_posix()) == (
        "netops",
        "192.0.2.101",
        2222,
        "/etc/kh",
    )
    for entry, inventory, words in (
        ({"target": "netops@192.0.2.1"}, inv, "is not ssh://"),
        ({"target": "ssh://a@b"}, {"ssh": {"ssh_identity_file": "k"}}, "no known_hosts"),
        ({"target": "ssh://a@b"}, {"ssh": {"known_hosts": "kh"}}, "no identity_file"),
    ):
        with pytest.raises(SessionError) as e:
            target(entry, inventory)
        assert e.value.kind == "config" and words in e.value.message
