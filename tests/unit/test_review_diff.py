"""`crossnet diff`: replacements flagged loudly, a new VPC not, exit status, no keys shown."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import pytest

from network.naming import tunnel_id
from network.review import replacements
from network.review.diff import (
    PLACEHOLDER_NOTE,
    address_changes,
    diff_snapshots,
    proposed_outputs,
    render_diff,
    resource_changes,
)
from network.review.replacements import (
    CHECKED_PULUMI_AWS,
    CHECKED_UPSTREAM,
    REPLACE_ON_CHANGE,
    provider_upstream,
    replaces,
)
from network.review.snapshot import plan_snapshot
from tests.unit.test_review_support import (
    STACKS,
    flat,
    plan_of,
    run_cli,
    stack_config,
    table_rows,
    write_stack_file,
)

NET = "crossnet:network"
SECRET_PREFIX = "TopSecretKey"


def applied_files(tmp: Path, stack: str, config: dict[str, Any] | None = None) -> list[str]:
    """Record `config` (default: the example) as applied: applied.json and outputs.json."""
    plan = plan_of(stack, config)
    (tmp / "applied.json").write_text(
        json.dumps({"stack": stack, "plan": plan_snapshot(plan), "resources": []})
    )
    outputs = proposed_outputs(plan, None)
    k = 0
    for router in outputs["routers"].values():
        for c in router["connections"]:
            for t in c["tunnels"]:
                k += 1
                t["awsOutsideIp"] = f"198.51.100.{k}"
            c["vpnConnectionId"] = f"vpn-0{k:04d}"
    outputs["presharedKeys"] = {
        key: f"{SECRET_PREFIX}{i:04d}" for i, key in enumerate(outputs["presharedKeys"])
    }
    (tmp / "outputs.json").write_text(json.dumps(outputs))
    return ["--applied", str(tmp / "applied.json"), "--outputs", str(tmp / "outputs.json")]


def diff(
    tmp: Path,
    stack: str,
    config: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *extra: str,
) -> tuple[int, str, str]:
    files = applied_files(tmp, stack)
    path = write_stack_file(tmp, stack, config)
    return run_cli(
        ["diff", "--stack", stack, "--config", str(path), *files, *extra], capsys, monkeypatch
    )


@pytest.mark.parametrize("stack", STACKS)
def test_no_change_exits_0(
    stack: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = diff(tmp_path, stack, stack_config(stack), capsys, monkeypatch)
    assert code == 0, err
    assert "no changes" in out


def test_inside_cidr_change_is_in_place_with_the_bundled_provider(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(replacements, "installed_pulumi_aws", lambda: CHECKED_PULUMI_AWS)
    config = stack_config("prod")
    config[NET]["connections"]["fra-edge1-hub"]["tunnel1"] = {"insideCidr": "169.254.50.0/30"}
    code, out, err = diff(tmp_path, "prod", config, capsys, monkeypatch)
    assert code == 1, err
    # terraform-provider-aws v6.28.0 updates an inside CIDR in place: no replacement ...
    assert "0 to REPLACE" in out and "REPLACES VPN CONNECTION" not in out
    assert (
        "update",
        "vpn",
        "fra-edge1-hub-vpn",
        "tunnel1InsideCidr: 169.254.37.0/30 -> 169.254.50.0/30",
    ) in table_rows(out, "Resources")
    # ... but loud: the tunnel goes down until the router follows; both paths told
    assert "!! MOVES TUNNEL INSIDE ADDRESSES OF VPN CONNECTION fra-edge1-hub !!" in out
    assert "ModifyVpnTunnelOptions" in out and "outside addresses and keys stay" in out
    assert "older than terraform-provider-aws v6.28.0 REPLACE the connection" in out
    assert "move fra-edge1's tunnel 1 to router 169.254.50.2 / AWS 169.254.50.1" in out
    assert "routers to reconfigure: fra-edge1" in out
    assert SECRET_PREFIX not in out + err


def test_inside_cidr_change_replaces_with_an_older_provider(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(replacements, "installed_pulumi_aws", lambda: "7.20.0")
    config = stack_config("prod")
    config[NET]["connections"]["fra-edge1-hub"]["tunnel1"] = {"insideCidr": "169.254.50.0/30"}
    code, out, err = diff(tmp_path, "prod", config, capsys, monkeypatch)
    assert code == 1, err
    assert "!! REPLACES VPN CONNECTION fra-edge1-hub !!" in out
    assert "NEW OUTSIDE ADDRESSES" in out and "0 to REPLACE" not in out
    assert "terraform-provider-aws v6.28.0 and later change an inside CIDR in place" in out
    # one tunnel at a time, in place, with the applied connection's ID and outside address
    assert "modify-vpn-tunnel-options --vpn-connection-id vpn-0" in out
    assert "TunnelInsideCidr=169.254.50.0/30" in out
    assert SECRET_PREFIX not in out + err


def test_both_inside_cidrs_at_once_are_split_into_one_tunnel_per_apply() -> None:
    config = stack_config("prod")
    conn = config[NET]["connections"]["fra-edge1-hub"]
    conn["tunnel1"] = {"insideCidr": "169.254.50.0/30"}
    conn["tunnel2"] = {"insideCidr": "169.254.50.4/30"}
    report = diff_snapshots(
        plan_snapshot(plan_of("prod")), plan_snapshot(plan_of("prod", config)), "test"
    )
    [impact] = [i for i in report.impacts if i.loud]
    assert impact.kind == "inside-cidr" and impact.routers == ("fra-edge1",)
    assert "change one tunnel per apply" in impact.steps[0]
    assert [s for s in impact.steps if s.startswith("apply: AWS moves tunnel")] != []
    assert len(impact.steps) == 4
    assert {c.action for c in report.resources} == {"update"}
    # the same change read for an older provider: a replacement, avoidable in place
    older = diff_snapshots(
        plan_snapshot(plan_of("prod")),
        plan_snapshot(plan_of("prod", config)),
        "test",
        upstream=None,
    )
    [loud] = [i for i in older.impacts if i.loud]
    assert loud.kind == "replace-vpn" and loud.avoidable
    assert [c.action for c in older.resources if c.kind == "vpn"] == ["replace"]


def test_routing_change_replaces_with_make_before_break(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = stack_config("dev")
    config[NET]["connections"]["dc1-edge1-app"]["routing"] = "static"
    code, out, _ = diff(tmp_path, "dev", config, capsys, monkeypatch)
    assert code == 1
    assert "!! REPLACES VPN CONNECTION dc1-edge1-app !!" in out
    assert "staticRoutesOnly: False -> True" in out
    assert "add the new connection beside dc1-edge1-app" in out


def test_router_address_change_replaces_the_customer_gateway(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = stack_config("prod")
    config[NET]["datacenters"]["ash"]["routers"]["edge2"]["publicIp"] = "192.0.2.112"
    code, out, _ = diff(tmp_path, "prod", config, capsys, monkeypatch)
    assert code == 1
    assert "!! REPLACES CUSTOMER GATEWAY ash-edge2-cgw !!" in out
    assert "ipAddress: 192.0.2.102 -> 192.0.2.112" in out
    assert "ash-edge1 carries it" in out  # the other router of the datacenter
    # the VPN connection itself is only moved, in place
    assert "REPLACES VPN CONNECTION" not in out
    assert "ModifyVpnConnection" in out


def test_adding_only_a_vpc_is_not_flagged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = stack_config("dev")
    config[NET]["vpcs"]["tools"] = {
        "cidr": "10.17.0.0/16",
        "azs": ["us-east-1a"],
        "tiers": {"private": {"prefixLength": 24}},
    }
    code, out, _ = diff(tmp_path, "dev", config, capsys, monkeypatch)
    assert code == 1  # something changed ...
    assert "REPLACE" not in out.replace("0 to REPLACE", "")  # ... but nothing is replaced
    assert "routers to reconfigure: none" in out
    assert ("create", "vpc", "tools-vpc", "") in table_rows(out, "Resources")
    old, new = plan_snapshot(plan_of("dev")), plan_snapshot(plan_of("dev", config))
    assert {c.action for c in resource_changes(old, new)} == {"create"}


def test_adding_a_prod_vpc_without_attachment_is_not_flagged() -> None:
    config = stack_config("prod")
    config[NET]["vpcs"]["lab"] = {
        "cidr": "10.5.0.0/16",
        "azs": ["us-east-1a", "us-east-1b"],
        "tiers": {"private": {"prefixLength": 20}},
    }
    report = diff_snapshots(
        plan_snapshot(plan_of("prod")), plan_snapshot(plan_of("prod", config)), "test"
    )
    assert report.changed and not any(i.loud for i in report.impacts)
    assert {c.action for c in report.resources} == {"create"}


def test_crypto_change_is_an_update_in_place() -> None:
    config = stack_config("staging")
    config[NET]["connections"]["dc1-edge1-web"]["tunnelOptions"]["phase1"]["dhGroups"] = [21]
    report = diff_snapshots(
        plan_snapshot(plan_of("staging")), plan_snapshot(plan_of("staging", config)), "test"
    )
    [vpn] = [c for c in report.resources if c.kind == "vpn"]
    assert vpn.action == "update"
    [impact] = report.impacts
    assert impact.kind == "update-vpn" and not impact.loud
    assert "ModifyVpnTunnelOptions" in impact.consequence
    assert impact.routers == ("dc1-edge1",)


def test_removing_a_connection_names_its_router() -> None:
    config = stack_config("prod")
    del config[NET]["connections"]["fra-edge2-hub"]
    del config[NET]["datacenters"]["fra"]["routers"]["edge2"]
    report = diff_snapshots(
        plan_snapshot(plan_of("prod")), plan_snapshot(plan_of("prod", config)), "test"
    )
    removed = [i for i in report.impacts if i.kind == "remove"]
    assert [(i.subject, i.routers) for i in removed] == [("fra-edge2-hub", ("fra-edge2",))]
    gone = address_changes(plan_snapshot(plan_of("prod")), plan_snapshot(plan_of("prod", config)))
    assert ("router", "fra-edge2") in {(f.area, f.key) for f in gone if f.new is None}


def test_nothing_applied_yet_shows_everything_as_new(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CROSSNET_STATE_DIR", str(tmp_path / "state"))
    code, out, err = run_cli(["diff", "--stack", "staging", "--no-configs"], capsys, monkeypatch)
    assert code == 1, err
    assert "nothing applied" in out and "0 to REPLACE" in out


def test_broken_applied_state_is_a_clean_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "applied.json"
    bad.write_text(json.dumps({"stack": "dev", "resources": []}))
    code, out, err = run_cli(["diff", "--stack", "dev", "--applied", str(bad)], capsys, monkeypatch)
    assert code == 2 and out == ""
    assert "no plan snapshot" in err and "Traceback" not in err
    bad.write_text("{not json")
    code, _, err = run_cli(["diff", "--stack", "dev", "--applied", str(bad)], capsys, monkeypatch)
    assert code == 2 and "not JSON" in err


def test_router_config_diff_is_unified_and_redacted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    if importlib.util.find_spec("network.render") is None:
        pytest.skip("network.render is not there yet")
    config = stack_config("prod")
    config[NET]["connections"]["fra-edge1-hub"]["tunnel2"] = {"insideCidr": "169.254.50.4/30"}
    code, out, err = diff(tmp_path, "prod", config, capsys, monkeypatch, "--format", "markdown")
    assert code == 1, err
    assert SECRET_PREFIX not in out + err
    assert "Router config diffs (keys redacted)" in out
    if "router fra-edge1: not rendered" not in out:
        assert "--- applied/fra-edge1/" in out and "+++ proposed/fra-edge1/" in out
        assert "169.254.50.6" in out  # the router's new inside address on tunnel 2
        assert "198.51.100." in out  # the applied AWS outside addresses are kept


def test_proposed_outputs_hold_no_real_key() -> None:
    outputs = proposed_outputs(plan_of("dev"), None)
    keys = set(outputs["presharedKeys"].values())
    assert len(keys) == 1 and next(iter(keys)).startswith("Redacted")
    assert tunnel_id("dc1-edge1-app", 1) in outputs["presharedKeys"]


def test_replace_table_has_a_pinned_source_for_every_rule() -> None:
    for t, rule in REPLACE_ON_CHANGE.items():
        assert rule.source.startswith("https://"), t
        assert rule.props
        # every link into the provider's tree names a commit or a release tag, or says
        # why it cannot
        for link in re.findall(r"terraform-provider-aws/blob/([^/]+)/", rule.source):
            assert re.fullmatch(r"[0-9a-f]{40}|v\d+\.\d+\.\d+", link), (t, link)
    vpn = "aws:ec2/vpnConnection:VpnConnection"
    # the newer inputs are in the table
    for prop in ("tunnelBandwidth", "vpnConcentratorId", "presharedKeyStorage"):
        assert replaces(vpn, prop), prop
    assert replaces("aws:ec2/customerGateway:CustomerGateway", "bgpAsnExtended")
    assert replaces("aws:ec2/customerGateway:CustomerGateway", "ipAddress")
    assert not replaces(vpn, "customerGatewayId")
    assert not replaces(vpn, "tunnel1PresharedKey")
    # inside CIDRs: in place since terraform-provider-aws v6.28.0, replaced before
    for prop in ("tunnel1InsideCidr", "tunnel2InsideCidr", "tunnel1InsideIpv6Cidr"):
        assert not replaces(vpn, prop, CHECKED_UPSTREAM)
        assert not replaces(vpn, prop, "6.28.0")
        assert replaces(vpn, prop, "6.27.0")
        assert replaces(vpn, prop, None)  # unknown provider: the replacing reading
    tgw = "aws:ec2transitgateway/transitGateway:TransitGateway"
    assert not replaces(tgw, "amazonSideAsn") and replaces(tgw, "amazonSideAsn", "4.36.1")
    assert replaces("aws:ec2/vpnGateway:VpnGateway", "amazonSideAsn")


@pytest.mark.parametrize(
    ("version", "upstream"),
    [
        (CHECKED_PULUMI_AWS, CHECKED_UPSTREAM),
        ("7.52.0", CHECKED_UPSTREAM),
        ("8.0.1", CHECKED_UPSTREAM),
        ("7.50.9", None),
        ("7.0.0", None),
    ],
)
def test_provider_upstream_is_known_only_from_the_checked_release(
    version: str, upstream: str | None
) -> None:
    assert provider_upstream(version) == upstream


def test_provider_upstream_of_the_installed_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replacements, "installed_pulumi_aws", lambda: None)
    assert provider_upstream() is None


def test_rules_listing(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run_cli(["diff", "--stack", "dev", "--rules"], capsys, monkeypatch)
    assert code == 0 and "vpnsite_connection.go" in out


def test_render_diff_without_changes() -> None:
    snap = plan_snapshot(plan_of("dev"))
    assert "no changes" in render_diff(diff_snapshots(snap, snap, "x"))


def test_a_new_datacenter_flow_updates_the_security_group_only() -> None:
    config = stack_config("prod")
    config[NET]["vpcs"]["media"]["ingress"][0]["tcp"].append(8443)
    report = diff_snapshots(
        plan_snapshot(plan_of("prod")), plan_snapshot(plan_of("prod", config)), "test"
    )
    assert [(c.action, c.name) for c in report.resources] == [("update", "media-private-sg")]
    assert [(f.area, f.key) for f in report.facts] == [("ingress", "media/private")]
    assert "tcp 8443 from 10.128.0.0/16" in (report.facts[0].new or "")
    assert report.impacts == [] and report.routers == []


def test_the_root_stack_is_never_a_resource_change() -> None:
    new = plan_snapshot(plan_of("prod"))
    first = diff_snapshots(None, new, "nothing applied")
    assert first.resources and all(c.action == "create" for c in first.resources)
    assert not [c for c in first.resources if c.kind == "stack"]
    config = stack_config("prod")
    config[NET]["datacenters"]["fra"]["prefixes"].append("172.21.0.0/16")
    changed = diff_snapshots(new, plan_snapshot(plan_of("prod", config)), "test")
    assert not [c for c in changed.resources if c.kind == "stack"]
    assert ("announced", "fra-edge1-hub") in {(f.area, f.key) for f in changed.facts}


@pytest.mark.parametrize("flag", ["--applied", "--outputs"])
def test_a_named_file_that_does_not_exist_is_an_error(
    flag: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nope.json"
    code, out, err = run_cli(["diff", "--stack", "dev", flag, str(missing)], capsys, monkeypatch)
    assert code == 2 and out == ""
    assert flag in err and "no such file" in err and str(missing) in err
    assert "nothing applied" not in out + err


def test_vgw_replacement_is_loud_with_detach_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = stack_config("staging")
    config[NET]["vpnGateways"]["web-vgw"]["asn"] = 64514
    code, out, err = diff(tmp_path, "staging", config, capsys, monkeypatch, "--no-configs")
    assert code == 1, err
    assert "!! REPLACES VIRTUAL PRIVATE GATEWAY web-vgw !!" in out
    assert "amazonSideAsn: 64513 -> 64514" in out
    assert "both tunnels of each are down" in out and "dc1-edge1-web" in out
    assert "A VPC takes one VGW at a time" in flat(out) and "deleteBeforeReplace" in out
    assert "aws ec2 detach-vpn-gateway" in out
    assert "routers to reconfigure: dc1-edge1" in out
    # the moved connection is not reported as "kept as it is"
    assert "AWS keeps the connection as it is" not in out


def test_vgw_replacement_with_bgp_names_the_new_aws_asn() -> None:
    config = stack_config("dev")
    config[NET]["vpnGateways"]["app-vgw"]["asn"] = 64520
    report = diff_snapshots(
        plan_snapshot(plan_of("dev")), plan_snapshot(plan_of("dev", config)), "test"
    )
    [vgw] = [i for i in report.impacts if i.kind == "replace-vgw"]
    assert vgw.subject == "app-vgw" and vgw.routers == ("dc1-edge1",)
    assert "becomes 64520" in vgw.consequence
    assert any("peer with AWS-side ASN 64520" in s for s in vgw.steps)
    assert [i.kind for i in report.impacts] == ["replace-vgw"]


def test_transit_gateway_asn_change_is_flagged_as_refused_by_aws() -> None:
    config = stack_config("prod")
    config[NET]["transitGateways"]["hub"]["asn"] = 64601
    report = diff_snapshots(
        plan_snapshot(plan_of("prod")), plan_snapshot(plan_of("prod", config)), "test"
    )
    assert [(c.action, c.kind) for c in report.resources] == [("update", "tgw")]
    [blocked] = report.impacts
    assert blocked.kind == "blocked-tgw-asn" and blocked.loud
    assert "AWS refuses it while the transit gateway has VPN attachments" in blocked.consequence
    assert blocked.routers == ("ash-edge1", "ash-edge2", "fra-edge1", "fra-edge2")


def test_markdown_banners_are_markdown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = stack_config("prod")
    config[NET]["datacenters"]["ash"]["routers"]["edge2"]["publicIp"] = "192.0.2.112"
    code, out, _ = diff(
        tmp_path, "prod", config, capsys, monkeypatch, "--format", "markdown", "--no-configs"
    )
    assert code == 1
    assert "!!" not in out
    assert out.startswith("## crossnet diff: stack prod")
    lines = out.splitlines()
    at = lines.index("### REPLACES CUSTOMER GATEWAY ash-edge2-cgw")
    assert lines[at + 2] == "> [!WARNING]"
    assert "> - ipAddress: 192.0.2.102 -> 192.0.2.112" in lines
    assert any(x.startswith("> **Safe order:**") for x in lines)
    assert any(x.startswith("> 1. move the traffic off ash-edge2") for x in lines)


def test_router_config_diff_says_which_path_it_shows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    if importlib.util.find_spec("network.render") is None:
        pytest.skip("network.render is not there yet")
    config = stack_config("prod")
    config[NET]["connections"]["fra-edge1-hub"]["tunnel1"] = {"insideCidr": "169.254.50.0/30"}
    code, out, _ = diff(tmp_path, "prod", config, capsys, monkeypatch, "--format", "markdown")
    assert code == 1
    assert "### Router config diffs (keys redacted)" in out
    assert "- fra-edge1-hub (fra-edge1): the diff shows the in-place path" in out


def test_diff_against_a_real_offline_apply(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The baseline is what the offline apply really wrote (applied.json, outputs.json)."""
    from network.offline.apply import offline_up

    state = tmp_path / "state"
    monkeypatch.setenv("CROSSNET_STATE_DIR", str(state))
    offline_up("staging", seed=5)
    outputs = json.loads((state / "staging" / "outputs.json").read_text())
    keys = [k for k in outputs["presharedKeys"].values() if isinstance(k, str)]
    assert keys
    # the stack file as applied: nothing to do
    code, out, err = run_cli(["diff", "--stack", "staging"], capsys, monkeypatch)
    assert code == 0, err
    assert "no changes" in out and str(state / "staging" / "applied.json") in out

    # a new AWS-side ASN for the VGW: replaced, with the real IDs in the safe order
    config = stack_config("staging")
    config[NET]["vpnGateways"]["web-vgw"]["asn"] = 64514
    path = write_stack_file(tmp_path, "staging", config)
    code, out, err = run_cli(
        ["diff", "--stack", "staging", "--config", str(path)], capsys, monkeypatch
    )
    assert code == 1, err
    assert "!! REPLACES VIRTUAL PRIVATE GATEWAY web-vgw !!" in out
    vgw, vpc = outputs["gateways"]["web-vgw"]["id"], outputs["vpcs"]["web"]["id"]
    assert f"--vpn-gateway-id {vgw} --vpc-id {vpc}" in out
    assert not any(k in out + err for k in keys)

    # a tunnel's inside CIDR: the router config keeps the outside address AWS gave
    config = stack_config("staging")
    config[NET]["connections"]["dc1-edge1-web"]["tunnel1"]["insideCidr"] = "169.254.21.0/30"
    path = write_stack_file(tmp_path, "staging", config)
    code, out, err = run_cli(
        ["diff", "--stack", "staging", "--config", str(path)], capsys, monkeypatch
    )
    assert code == 1, err
    assert "MOVES TUNNEL INSIDE ADDRESSES OF VPN CONNECTION dc1-edge1-web" in out
    [conn] = outputs["routers"]["dc1-edge1"]["connections"]
    outside = conn["tunnels"][0]["awsOutsideIp"]
    assert "not rendered" not in out
    configs = out.split(PLACEHOLDER_NOTE, 1)[1]
    assert "--- applied/dc1-edge1/" in configs
    added = [x for x in configs.splitlines() if x.startswith("+") and not x.startswith("+++")]
    assert any("169.254.21.2" in x for x in added)  # the router's new inside address
    assert outside in configs  # AWS's outside address, kept
    assert "0.0.0." not in configs  # no placeholder: the connection stays
    assert not any(k in out + err for k in keys)


def test_rules_listing_names_the_provider_and_both_inside_cidr_paths(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run_cli(
        ["diff", "--stack", "dev", "--rules", "--format", "markdown"], capsys, monkeypatch
    )
    assert code == 0
    assert f"pulumi-aws {CHECKED_PULUMI_AWS}" in out and "v6.31.0" in out
    assert "### `aws:ec2/vpnConnection:VpnConnection`" in out
    assert (
        "- tunnel1InsideCidr, tunnel2InsideCidr, tunnel1InsideIpv6Cidr, tunnel2InsideIpv6Cidr: "
        "replace before terraform-provider-aws v6.28.0, update in place from v6.28.0 on"
    ) in out
    assert "pull/45781" in out and "blob/main" not in out


def real_stack_outputs(tmp: Path, stack: str, with_plan: bool = True) -> Path:
    """A file as `pulumi stack output --json --show-secrets` prints it for a real stack:
    every output by name, keys in plain text, and the exported plan snapshot."""
    plan = plan_of(stack)
    outputs = proposed_outputs(plan, None)
    k = 0
    for router in outputs["routers"].values():
        for c in router["connections"]:
            k += 1
            c["vpnConnectionId"] = f"vpn-0abc{k:012d}"
            c["customerGatewayId"] = f"cgw-0abc{k:012d}"
            for t in c["tunnels"]:
                t["awsOutsideIp"] = f"{'3.5.' if t['number'] == 1 else '52.4.'}{k}.{t['number']}"
    outputs["presharedKeys"] = {
        key: f"{SECRET_PREFIX}{i:04d}" for i, key in enumerate(outputs["presharedKeys"])
    }
    if with_plan:
        outputs["crossnetPlan"] = plan_snapshot(plan)
    path = tmp / "real-outputs.json"
    path.write_text(json.dumps(outputs, indent=4))
    return path


def test_real_stack_outputs_are_the_baseline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CROSSNET_STATE_DIR", str(tmp_path / "no-offline-state"))
    real = real_stack_outputs(tmp_path, "prod")
    code, out, err = run_cli(
        ["diff", "--stack", "prod", "--outputs", str(real)], capsys, monkeypatch
    )
    assert code == 0, err
    assert "no changes" in out and f"crossnetPlan in {real}" in out
    # the router's public address changes: one customer gateway replaced, nothing new
    config = stack_config("prod")
    config[NET]["datacenters"]["ash"]["routers"]["edge1"]["publicIp"] = "192.0.2.111"
    path = write_stack_file(tmp_path, "prod", config)
    code, out, err = run_cli(
        ["diff", "--stack", "prod", "--config", str(path), "--outputs", str(real)],
        capsys,
        monkeypatch,
    )
    assert code == 1, err
    assert "nothing applied" not in out
    assert "0 to create, 1 to update, 1 to REPLACE, 0 to delete" in out
    assert "!! REPLACES CUSTOMER GATEWAY ash-edge1-cgw !!" in out
    assert "ipAddress: 192.0.2.101 -> 192.0.2.111" in out
    # what such a baseline cannot show is said up front
    assert "inferred from the two plans" in out and "`pulumi preview`" in out
    # the router config diff starts from the real outputs: AWS's addresses, no key
    assert "3.5." in out and SECRET_PREFIX not in out + err


def test_named_outputs_win_over_a_stale_offline_apply(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stale = stack_config("prod")
    stale[NET]["datacenters"]["ash"]["routers"]["edge1"]["publicIp"] = "192.0.2.150"
    state = tmp_path / "state"
    (state / "prod").mkdir(parents=True)
    (state / "prod" / "applied.json").write_text(
        json.dumps(
            {"stack": "prod", "plan": plan_snapshot(plan_of("prod", stale)), "resources": []}
        )
    )
    monkeypatch.setenv("CROSSNET_STATE_DIR", str(state))
    code, out, _ = run_cli(["diff", "--stack", "prod", "--no-configs"], capsys, monkeypatch)
    assert code == 1 and "the last apply" in out  # the offline state, by default
    real = real_stack_outputs(tmp_path, "prod")
    code, out, _ = run_cli(["diff", "--stack", "prod", "--outputs", str(real)], capsys, monkeypatch)
    assert code == 0 and "crossnetPlan" in out


def test_real_outputs_without_a_plan_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CROSSNET_STATE_DIR", str(tmp_path / "state"))
    old = real_stack_outputs(tmp_path, "prod", with_plan=False)
    code, out, err = run_cli(
        ["diff", "--stack", "prod", "--outputs", str(old)], capsys, monkeypatch
    )
    assert code == 2 and out == ""
    assert "crossnetPlan" in err and "pulumi up" in err and "Traceback" not in err
    broken = json.loads(old.read_text())
    broken["crossnetPlan"] = {"snapshotVersion": 99}
    old.write_text(json.dumps(broken))
    code, _, err = run_cli(["diff", "--stack", "prod", "--outputs", str(old)], capsys, monkeypatch)
    assert code == 2 and "crossnetPlan.snapshotVersion" in err
    old.write_text("[1, 2]")
    code, _, err = run_cli(["diff", "--stack", "prod", "--outputs", str(old)], capsys, monkeypatch)
    assert code == 2 and "one JSON object" in err


def test_subnets_that_move_are_warned_about_against_the_applied_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = stack_config("dev")
    config[NET]["vpcs"]["app"]["tiers"]["private"]["prefixLength"] = 21
    code, out, err = diff(tmp_path, "dev", config, capsys, monkeypatch, "--no-configs")
    assert code == 1, err
    warned = [x for x in out.splitlines() if x.startswith("warning: ")]
    assert any("10.16.0.0/20 -> 10.16.0.0/21" in x and "moves a subnet" in x for x in warned)
    assert "subnet" in {r[1] for r in table_rows(out, "Resources") if r[0] == "REPLACE"}


def test_diff_against_a_real_stack_style_outputs_file_from_the_program(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The program exports crossnetPlan: its outputs alone (no applied.json) are a baseline,
    whole (`pulumi stack output --json --show-secrets`) or just the plan
    (`pulumi stack output crossnetPlan --json`, given as --applied)."""
    from network.offline.apply import offline_up

    state = tmp_path / "state"
    monkeypatch.setenv("CROSSNET_STATE_DIR", str(state))
    offline_up("prod", seed=9)
    real = tmp_path / "outputs.json"
    (state / "prod" / "outputs.json").rename(real)
    (state / "prod" / "applied.json").unlink()
    outputs = json.loads(real.read_text())
    assert outputs["crossnetPlan"] == plan_snapshot(plan_of("prod"))
    keys = [k for k in outputs["presharedKeys"].values() if isinstance(k, str)]
    config = stack_config("prod")
    config[NET]["datacenters"]["ash"]["routers"]["edge1"]["publicIp"] = "192.0.2.111"
    path = write_stack_file(tmp_path, "prod", config)
    code, out, err = run_cli(
        ["diff", "--stack", "prod", "--config", str(path), "--outputs", str(real)],
        capsys,
        monkeypatch,
    )
    assert code == 1, err
    assert "0 to create, 1 to update, 1 to REPLACE, 0 to delete" in out
    assert "!! REPLACES CUSTOMER GATEWAY ash-edge1-cgw !!" in out
    assert not any(k in out + err for k in keys)
    only_plan = tmp_path / "applied-plan.json"
    only_plan.write_text(json.dumps(outputs["crossnetPlan"]))
    code, out, err = run_cli(
        [
            "diff",
            "--stack",
            "prod",
            "--config",
            str(path),
            "--applied",
            str(only_plan),
            "--no-configs",
        ],
        capsys,
        monkeypatch,
    )
    assert code == 1, err
    assert "0 to create, 1 to update, 1 to REPLACE, 0 to delete" in out
