"""The fake routers' CLIs (fake_cli.py) behave as VyOS and FortiOS do where a push depends
on it: pure, no SSH. Each rule is one a wrong push order or a wrong line would break."""

from __future__ import annotations

from tests.devices.fake_cli import Fortios, Vyos

VYOS = """set policy route-map cx rule 10 action 'permit'
set protocols bgp neighbor 1.1.1.1 remote-as '64600'
set vpn ipsec authentication psk p id '192.0.2.1'"""


def test_vyos_candidate_commit_and_what_delete_leaves() -> None:
    v = Vyos(VYOS)
    v.configure()
    assert v.command("set vpn ipsec authentication psk p id '198.51.100.1'") == ("", True)
    v.command("set protocols bgp neighbor 1.1.1.1 remote-as '64700'")  # one value: replaced
    assert v.command("delete policy route-map cx rule 10 action 'permit'") == ("", True)
    assert v.command("delete policy route-map nope")[0].strip().startswith("Nothing to delete")
    assert v.command("exit")[0].startswith("Cannot exit: configuration modified")
    assert v.show() == VYOS  # nothing runs before the commit
    assert v.command("commit") == ("", True)
    assert v.show().splitlines() == [
        "set policy route-map cx rule 10",  # the emptied tag node stays
        "set protocols bgp neighbor 1.1.1.1 remote-as '64700'",
        "set vpn ipsec authentication psk p id '192.0.2.1'",
        "set vpn ipsec authentication psk p id '198.51.100.1'",  # a list: added
    ]
    assert v.command("exit") == ("exit", False)


def test_vyos_refuses_a_commit_naming_a_missing_route_map() -> None:
    v = Vyos(VYOS)
    v.configure()
    v.command("set protocols bgp neighbor 1.1.1.1 address-family ipv4-unicast route-map import 'x'")
    assert v.command("commit")[0].endswith("Commit failed")
    assert v.command("exit discard") == ("exit", False) and v.show() == VYOS


FORTIOS = """config router route-map
    edit "cx-in"
        set comments "x"
    next
end
config router bgp
    config neighbor
        edit "1.1.1.1"
            set route-map-in "cx-in"
        next
    end
end"""


def test_fortios_applies_at_end_and_guards_its_datasources() -> None:
    f = Fortios(FORTIOS, "fw")
    assert f.show() == FORTIOS
    for line in ("config router bgp", "config neighbor", 'edit "1.1.1.1"'):
        assert f.command(line) == ""
    assert f.prompt() == "fw (1.1.1.1) # "
    assert f.command('set route-map-out "nope"').endswith("Command fail. Return code -3")
    f.command("unset route-map-in")
    assert "unset" not in f.show() and 'set route-map-in "cx-in"' in f.show()  # not yet
    assert [f.command(x) for x in ("next", "end", "end")] == ["", "", ""]
    assert "route-map-in" not in f.show() and f.prompt() == "fw # "


def test_fortios_refuses_deleting_an_entry_in_use_and_abort_drops_the_block() -> None:
    f = Fortios(FORTIOS, "fw")
    f.command("config router route-map")
    assert f.command('delete "cx-in"').endswith("Command fail. Return code -23")
    f.command('edit "cx-out"')
    f.command("abort")
    assert f.show() == FORTIOS and f.prompt() == "fw # "
