"""`crossnet up` against the stack's previous state: what stays, what changes, the
state file, and `crossnet diff`'s prediction compared with what the apply did."""

from __future__ import annotations

import json
import shutil
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from network.cli import main
from network.offline import stack_state
from network.offline.apply import ApplyError, ApplyResult, offline_up
from network.plan import build_plan
from network.review.diff import diff_snapshots, render_diff, resource_changes
from network.review.resources import KIND_TYPE
from network.review.snapshot import plan_snapshot
from tests.conftest import load_stack

NET = "crossnet:network"
VPN = "aws:ec2/vpnConnection:VpnConnection"
SG = "aws:ec2/securityGroup:SecurityGroup"
SG_RULES = (
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
)
Triple = tuple[str, str, str]


# ------------------------------------------------------------------ helpers
@pytest.fixture
def stacks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "stacks"
    d.mkdir()
    monkeypatch.setenv("CROSSNET_STACKS_DIR", str(d))
    return d


def write_config(stacks: Path, stack: str, config: dict[str, Any]) -> None:
    (stacks / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": config}))


def apply(stacks: Path, stack: str, config: dict[str, Any], **kw: Any) -> ApplyResult:
    write_config(stacks, stack, config)
    return offline_up(stack, **kw)


_BASE: dict[str, Path] = {}


def base_state(stack: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example stack applied once per session (copied into each test's state dir)."""
    if stack not in _BASE:
        root = tmp_path_factory.mktemp(f"base-{stack}")
        mp = pytest.MonkeyPatch()
        try:
            mp.setenv("CROSSNET_STATE_DIR", str(root / "state"))
            mp.setenv("CROSSNET_STACKS_DIR", str(root))
            write_config(root, stack, load_stack(stack))
            offline_up(stack, seed=3)
        finally:
            mp.undo()
        _BASE[stack] = root / "state" / stack
    return _BASE[stack]


def predicted(state: Path, stack: str, config: dict[str, Any]) -> set[Triple]:
    """What `crossnet diff` predicts against the last apply: (action, type, name)."""
    old = json.loads((state / stack / "applied.json").read_text())["plan"]
    new = plan_snapshot(build_plan(config, stack, previous=old))
    return {(c.action, c.type, c.name) for c in resource_changes(old, new)}


def effected(result: ApplyResult) -> set[Triple]:
    """What the apply did, in diff's model of the resources.

    diff summarises a tier's datacenter flows as its security group's `ingress`
    (crossnet declares one rule resource per flow): a rule created, changed or
    deleted is an update of its group, unless the group itself is created,
    replaced or deleted. Route table associations are not in diff's model.
    """
    modelled = set(KIND_TYPE.values())
    out = {(c.action, c.type, c.name) for c in result.changes if c.action != "same"}
    groups = {n for _, t, n in out if t == SG}
    rules = {(t, n) for _, t, n in out if t in SG_RULES}
    for r in result.resources:
        if (r.type, r.name) in rules:
            group = next(
                g.name
                for g in result.resources
                if g.type == SG and g.id == r.inputs.get("securityGroupId")
            )
            if group not in groups:
                out.add(("update", SG, group))
    return {x for x in out if x[1] in modelled}


# ------------------------------------------------------------------ the state itself
def test_a_second_up_keeps_every_id_address_and_key(
    stacks: Path, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = apply(stacks, "dev", load_stack("dev"))
    out_file = state_dir / "dev" / "outputs.json"
    before, mtime = out_file.read_bytes(), out_file.stat().st_mtime_ns
    again = offline_up("dev")
    assert {c.action for c in again.changes} == {"same"}
    assert len(again.changes) == len(first.changes)
    assert again.outputs == first.outputs  # IDs, outside addresses, generated keys
    assert not again.outputs_written
    assert out_file.read_bytes() == before and out_file.stat().st_mtime_ns == mtime
    state = state_dir / "dev" / "state.json"
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    assert stat.S_IMODE(state.parent.stat().st_mode) == 0o700
    # The CLI sees that nothing changed without running the program again.
    assert main(["up", "--stack", "dev"]) == 0
    out = capsys.readouterr().out
    assert "no changes" in out and f"{len(first.changes)} unchanged" in out
    assert out_file.stat().st_mtime_ns == mtime
    assert main(["up", "--stack", "dev", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["changeSummary"] == {
        "create": 0,
        "update": 0,
        "replace": 0,
        "delete": 0,
        "same": len(first.changes),
    }


def test_fresh_builds_a_new_world(stacks: Path, state_dir: Path) -> None:
    first = apply(stacks, "dev", load_stack("dev"))
    fresh = offline_up("dev", fresh=True)
    assert {c.action for c in fresh.changes} == {"create"}
    old_keys, new_keys = first.outputs["presharedKeys"], fresh.outputs["presharedKeys"]
    assert set(old_keys) == set(new_keys) and all(old_keys[k] != new_keys[k] for k in old_keys)
    assert fresh.outputs["vpcs"]["app"]["id"] != first.outputs["vpcs"]["app"]["id"]


def test_keys_never_reach_the_screen(
    stacks: Path, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(stacks, "dev", load_stack("dev"))
    assert main(["up", "--stack", "dev"]) == 0
    config = load_stack("dev")
    config["crossnet:k1"] = "Rotated_key_one_1"
    config[NET]["connections"]["dc1-edge1-app"]["tunnel1"] = {"presharedKeySecret": "k1"}
    write_config(stacks, "dev", config)
    assert main(["up", "--stack", "dev"]) == 0
    assert main(["up", "--stack", "dev", "--json"]) == 0
    out, err = capsys.readouterr()
    keys = json.loads((state_dir / "dev" / "outputs.json").read_text())["presharedKeys"]
    state = (state_dir / "dev" / "state.json").read_text()
    assert all(k in state for k in keys.values())  # the state holds them (0600) ...
    assert not any(k in out + err for k in keys.values())  # ... the screen never
    assert "~ update   VpnConnection dc1-edge1-app-vpn" in out and "tunnel1PresharedKey" in out


@pytest.mark.parametrize(
    ("damage", "what"),
    [
        (lambda p: p.write_text('{"stateVersion": 1, "stack": "dev", "resour'), "not JSON"),
        (lambda p: p.write_text("[]"), "list"),
        (lambda p: p.write_text(json.dumps({"stateVersion": 9, "stack": "dev"})), "stateVersion"),
        (
            lambda p: p.write_text(
                json.dumps({"stateVersion": 1, "stack": "dev", "resources": [{"urn": 1}]})
            ),
            "resources[0]",
        ),
        (lambda p: (p.unlink(), p.mkdir()), "unreadable"),
    ],
)
def test_a_corrupted_state_is_a_clean_bad_input_error(
    damage: Callable[[Path], None],
    what: str,
    stacks: Path,
    state_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    write_config(stacks, "dev", load_stack("dev"))
    assert main(["up", "--stack", "dev"]) == 0
    capsys.readouterr()
    path = state_dir / "dev" / "state.json"
    damage(path)
    files = {p.name: _content(p) for p in (state_dir / "dev").iterdir()}
    assert main(["up", "--stack", "dev"]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and what in err and "Traceback" not in err
    assert {p.name: _content(p) for p in (state_dir / "dev").iterdir()} == files
    # --fresh starts from nothing, and writes a good state
    if path.is_dir():
        path.rmdir()  # (a directory in the way is the user's to remove)
    assert main(["up", "--stack", "dev", "--fresh"]) == 0
    assert stack_state.load_state(path, "dev") is not None


def _content(p: Path) -> bytes | None:
    return None if p.is_dir() else p.read_bytes()


def test_a_key_changed_under_the_same_secret_name_is_an_update_of_that_tunnel(
    tmp_path_factory: pytest.TempPathFactory, state_dir: Path, stacks: Path
) -> None:
    """`crossnet diff` cannot see it (its snapshots carry no keys); the apply does."""
    config = _start("dev", tmp_path_factory, state_dir, stacks)
    config[NET]["connections"]["dc1-edge1-app"]["tunnel1"] = {"presharedKeySecret": "k2"}
    first = apply(stacks, "dev", config)
    config["crossnet:k2"] = "Rotated_again_22"
    predicted_changes = predicted(state_dir, "dev", config)
    result = apply(stacks, "dev", config)
    [change] = [c for c in result.changes if c.action != "same"]
    assert (change.action, change.name, change.props) == (
        "update",
        "dc1-edge1-app-vpn",
        ("tunnel1PresharedKey",),
    )
    assert predicted_changes == set()
    assert result.outputs["presharedKeys"]["dc1-edge1-app/1"] == "Rotated_again_22"
    [conn] = result.outputs["routers"]["dc1-edge1"]["connections"]
    [before] = first.outputs["routers"]["dc1-edge1"]["connections"]
    assert conn["vpnConnectionId"] == before["vpnConnectionId"]
    assert [t["awsOutsideIp"] for t in conn["tunnels"]] == [
        t["awsOutsideIp"] for t in before["tunnels"]
    ]


def test_a_bad_config_fails_before_the_state_is_touched(
    stacks: Path, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_config(stacks, "dev", load_stack("dev"))
    assert main(["up", "--stack", "dev"]) == 0
    files = {p.name: p.read_bytes() for p in (state_dir / "dev").iterdir()}
    config = load_stack("dev")
    config[NET]["vpcs"]["app"]["cidr"] = "10.16.0.0/33"
    write_config(stacks, "dev", config)
    assert main(["up", "--stack", "dev"]) == 2
    assert "cidr" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in (state_dir / "dev").iterdir()} == files


def test_a_crash_mid_write_leaves_the_old_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s" / "state.json"
    stack_state.write_atomic(path, "old\n")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    def crash(src: str, dst: str) -> None:
        assert stat.S_IMODE(Path(src).stat().st_mode) == 0o600  # private from the first byte
        raise OSError("power cut")

    monkeypatch.setattr("network.offline.stack_state.os.replace", crash)
    with pytest.raises(OSError):
        stack_state.write_atomic(path, "new\n")
    assert path.read_text() == "old\n"
    assert [p.name for p in path.parent.iterdir()] == ["state.json"]  # no temp file left


# ------------------------------------------------------------------ prediction = effect
def _dev_to_tgw(n: dict[str, Any]) -> None:
    n["vpcs"]["app"]["tiers"]["transit"] = {"prefixLength": 28}
    n["transitGateways"] = {
        "hub": {
            "asn": 64600,
            "ecmp": True,
            "attachments": {"app": {"tier": "transit"}},
            "routeTables": {
                "all": {
                    "associations": ["vpc:app", "vpn:*"],
                    "propagations": ["vpn:*", "vpc:app"],
                }
            },
        }
    }
    n["connections"]["dc1-edge1-app"]["gateway"] = "hub"


def _remove_media(n: dict[str, Any]) -> None:
    del n["vpcs"]["media"]
    del n["transitGateways"]["hub"]["attachments"]["media"]
    for table in n["transitGateways"]["hub"]["routeTables"].values():
        for k in ("associations", "propagations"):
            table[k] = [x for x in table[k] if x != "vpc:media"]


def _add_router(n: dict[str, Any]) -> None:
    n["datacenters"]["dc1"]["routers"]["edge2"] = {"publicIp": "192.0.2.11", "platform": "linux"}
    n["connections"]["dc1-edge2-app"] = dict(n["connections"]["dc1-edge1-app"], router="dc1/edge2")


def _remove_router(n: dict[str, Any]) -> None:
    del n["datacenters"]["ash"]["routers"]["edge2"]
    del n["connections"]["ash-edge2-hub"]


def _dc_prefix(n: dict[str, Any]) -> None:
    n["datacenters"]["dc1"]["prefixes"].append("10.129.0.0/16")
    n["vpcs"]["app"]["ingress"][0]["from"].append("10.129.0.0/16")


def _crypto(n: dict[str, Any]) -> None:
    opts = n["connections"]["dc1-edge1-app"]["tunnelOptions"]
    opts["phase1"]["integrity"] = ["SHA2-384"]
    opts["phase2"]["lifetimeSeconds"] = 1800
    opts["dpd"]["timeoutSeconds"] = 40


def _connection(stack: str) -> str:
    return {"dev": "dc1-edge1-app", "staging": "dc1-edge1-web", "prod": "fra-edge1-hub"}[stack]


CLASSES: dict[str, tuple[str, Callable[[dict[str, Any]], None], set[tuple[str, str]]]] = {
    # class: (stack, edit, the (action, type) pairs it must show)
    "add-vpc": (
        "dev",
        lambda n: n["vpcs"].__setitem__(
            "web",
            {
                "cidr": "10.17.0.0/16",
                "azs": ["us-east-1a", "us-east-1b"],
                "tiers": {"private": {"prefixLength": 20}},
            },
        ),
        {("create", "aws:ec2/vpc:Vpc")},
    ),
    "remove-vpc": ("prod", _remove_media, {("delete", "aws:ec2/vpc:Vpc")}),
    "add-dc-prefix": ("dev", _dc_prefix, {("update", SG)}),
    "add-dc-router": ("dev", _add_router, {("create", VPN)}),
    "remove-dc-router": ("prod", _remove_router, {("delete", VPN)}),
    "rotate-psk": (
        "dev",
        lambda n: n["connections"]["dc1-edge1-app"].__setitem__(
            "tunnel2", {"presharedKeySecret": "k2"}
        ),
        {("update", VPN), ("delete", "random:index/randomPassword:RandomPassword")},
    ),
    "crypto-dpd-lifetimes": ("dev", _crypto, {("update", VPN)}),
    "inside-cidr": (
        "staging",
        lambda n: n["connections"]["dc1-edge1-web"]["tunnel1"].__setitem__(
            "insideCidr", "169.254.21.0/30"
        ),
        {("update", VPN)},
    ),
    "router-public-ip": (
        "prod",
        lambda n: n["datacenters"]["ash"]["routers"]["edge2"].__setitem__(
            "publicIp", "192.0.2.112"
        ),
        {("replace", "aws:ec2/customerGateway:CustomerGateway"), ("update", VPN)},
    ),
    "vgw-to-tgw": (
        "dev",
        _dev_to_tgw,
        {("update", VPN), ("create", "aws:ec2transitgateway/transitGateway:TransitGateway")},
    ),
    "customer-asn": (
        "prod",
        lambda n: n["datacenters"]["fra"].__setitem__("asn", 65201),
        {("replace", "aws:ec2/customerGateway:CustomerGateway"), ("update", VPN)},
    ),
}


def _start(
    stack: str, tmp_path_factory: pytest.TempPathFactory, state_dir: Path, stacks: Path
) -> dict[str, Any]:
    shutil.copytree(base_state(stack, tmp_path_factory), state_dir / stack)
    config = load_stack(stack)
    config["crossnet:k2"] = "Rotated_key_two_2"
    return config


@pytest.mark.parametrize("change", sorted(CLASSES))
def test_diff_predicts_what_the_apply_does(
    change: str,
    tmp_path_factory: pytest.TempPathFactory,
    state_dir: Path,
    stacks: Path,
) -> None:
    stack, edit, expected = CLASSES[change]
    config = _start(stack, tmp_path_factory, state_dir, stacks)
    before = stack_state.load_state(state_dir / stack / "state.json", stack)
    assert before is not None
    edit(config[NET])
    prediction = predicted(state_dir, stack, config)
    result = apply(stacks, stack, config)
    effect = effected(result)
    assert prediction == effect
    assert expected <= {(a, t) for a, t, _ in effect}
    # What the apply kept kept its ID; what it replaced got a new one.
    old = before.by_key()
    for c in result.changes:
        if c.action in ("same", "update"):
            assert c.new_id == old[(c.type, c.name)].id
        if c.action == "replace":
            assert c.new_id != old[(c.type, c.name)].id
    # ... and a second apply of the same config changes nothing.
    assert {c.action for c in offline_up(stack).changes} == {"same"}


def test_a_psk_rotation_changes_one_tunnel_and_keeps_the_other(
    tmp_path_factory: pytest.TempPathFactory, state_dir: Path, stacks: Path
) -> None:
    config = _start("dev", tmp_path_factory, state_dir, stacks)
    first = json.loads((state_dir / "dev" / "outputs.json").read_text())
    CLASSES["rotate-psk"][1](config[NET])
    result = apply(stacks, "dev", config)
    keys, old = result.outputs["presharedKeys"], first["presharedKeys"]
    t1, t2 = "dc1-edge1-app/1", "dc1-edge1-app/2"
    assert keys[t1] == old[t1] and keys[t2] == "Rotated_key_two_2"
    [conn] = result.outputs["routers"]["dc1-edge1"]["connections"]
    [old_conn] = first["routers"]["dc1-edge1"]["connections"]
    assert conn["vpnConnectionId"] == old_conn["vpnConnectionId"]
    assert [t["awsOutsideIp"] for t in conn["tunnels"]] == [
        t["awsOutsideIp"] for t in old_conn["tunnels"]
    ]


def test_a_replaced_connection_that_keeps_its_inside_cidrs_fails_as_diff_says(
    tmp_path_factory: pytest.TempPathFactory, state_dir: Path, stacks: Path
) -> None:
    """Pulumi creates the replacement first; AWS refuses the old one's inside CIDRs."""
    config = _start("dev", tmp_path_factory, state_dir, stacks)
    files = {p.name: p.read_bytes() for p in (state_dir / "dev").iterdir()}
    config[NET]["connections"]["dc1-edge1-app"]["routing"] = "static"
    old = json.loads((state_dir / "dev" / "applied.json").read_text())["plan"]
    new = plan_snapshot(build_plan(config, "dev", previous=old))
    assert ("replace", VPN, "dc1-edge1-app-vpn") in predicted(state_dir, "dev", config)
    report = render_diff(diff_snapshots(old, new, "applied.json"))
    assert "AS DECLARED, `pulumi up` FAILS" in report
    with pytest.raises(ApplyError) as e:
        apply(stacks, "dev", config)
    text = e.value.render()
    assert "InvalidParameterValue" in text and "already used by vpn-" in text
    inside = new["connections"]["dc1-edge1-app"]["tunnels"]
    assert any(
        str(t["insideCidr"]) in text and str(t["insideCidr"]) in report for t in inside.values()
    )
    assert {p.name: p.read_bytes() for p in (state_dir / "dev").iterdir()} == files


def test_destroy_target_first_then_up_replaces_the_connection_as_diff_predicts(
    tmp_path_factory: pytest.TempPathFactory, state_dir: Path, stacks: Path
) -> None:
    """`pulumi destroy --target <vpn> --target-dependents`, then `pulumi up`: what the
    rollout runs for a replaced connection (acceleration is ForceNew). The connection
    and its TGW association and propagations are replaced, as diff predicts; it gets new
    outside addresses and a new ID and keeps its keys (crossnet passes them in)."""
    config = _start("prod", tmp_path_factory, state_dir, stacks)
    first = json.loads((state_dir / "prod" / "outputs.json").read_text())
    config[NET]["connections"]["fra-edge1-hub"]["acceleration"] = True
    prediction = predicted(state_dir, "prod", config)
    assert ("replace", VPN, "fra-edge1-hub-vpn") in prediction
    result = apply(stacks, "prod", config, destroy=("fra-edge1-hub-vpn",))
    effect = effected(result)
    assert effect == prediction
    replaced = {n for a, _, n in effect if a == "replace"}
    assert "fra-edge1-hub-vpn" in replaced and not any("fra-edge2" in n for n in replaced)

    def conn(outputs: dict[str, Any]) -> dict[str, Any]:
        [c] = outputs["routers"]["fra-edge1"]["connections"]
        return dict(c)

    new, old = conn(result.outputs), conn(first)
    assert new["vpnConnectionId"] != old["vpnConnectionId"]
    old_ips = {t["awsOutsideIp"] for t in old["tunnels"]}
    assert not old_ips & {t["awsOutsideIp"] for t in new["tunnels"]}
    for n in ("1", "2"):
        key = f"fra-edge1-hub/{n}"
        assert result.outputs["presharedKeys"][key] == first["presharedKeys"][key]
    # The emulator holds an accelerated connection (verify_emulator checked it too).
    assert {c.action for c in offline_up("prod").changes} == {"same"}


def test_destroy_target_of_an_unknown_resource_is_refused_and_writes_nothing(
    tmp_path_factory: pytest.TempPathFactory, state_dir: Path, stacks: Path
) -> None:
    config = _start("dev", tmp_path_factory, state_dir, stacks)
    files = {p.name: p.read_bytes() for p in (state_dir / "dev").iterdir()}
    with pytest.raises(ApplyError) as e:
        apply(stacks, "dev", config, destroy=("no-such-vpn",))
    assert "no-such-vpn" in e.value.render()
    assert {p.name: p.read_bytes() for p in (state_dir / "dev").iterdir()} == files


def _static_to_tgw(n: dict[str, Any]) -> None:
    n["vpcs"]["web"]["tiers"]["transit"] = {"prefixLength": 28}
    n["transitGateways"] = {
        "hub": {
            "asn": 64600,
            "ecmp": True,
            "attachments": {"web": {"tier": "transit"}},
            "routeTables": {
                "all": {"associations": ["vpc:web", "vpn:*"], "propagations": ["vpc:web"]}
            },
        }
    }
    n["connections"]["dc1-edge1-web"]["gateway"] = "hub"


def test_a_static_vgw_connection_cannot_move_to_the_tgw_in_one_apply(
    tmp_path_factory: pytest.TempPathFactory, state_dir: Path, stacks: Path
) -> None:
    """AWS: static routes are deleted before a VGW->TGW move; Pulumi deletes them last."""
    config = _start("staging", tmp_path_factory, state_dir, stacks)
    _static_to_tgw(config[NET])
    prediction = predicted(state_dir, "staging", config)
    assert ("update", VPN, "dc1-edge1-web-vpn") in prediction
    assert (
        "delete",
        "aws:ec2/vpnConnectionRoute:VpnConnectionRoute",
        "dc1-edge1-web-10.144.0.0_16-vpn-route",
    ) in prediction
    old = json.loads((state_dir / "staging" / "applied.json").read_text())["plan"]
    new = plan_snapshot(build_plan(config, "staging", previous=old))
    text = " ".join(render_diff(diff_snapshots(old, new, "applied.json"), width=400).split())
    assert "static routes must go first" in text
    with pytest.raises(ApplyError) as e:
        apply(stacks, "staging", config)
    assert (
        "IncorrectState" in e.value.render() and "static routes (10.144.0.0/16)" in e.value.render()
    )


# ------------------------------------------------------------------ the engine's order
class _FakeMocks:
    """Just enough of MotoMocks for the engine's decisions on a password."""

    def __init__(self) -> None:
        self.handlers = {PASSWORD: lambda i, region, name: ("none", {"result": "x" * i["length"]})}


PASSWORD = "random:index/randomPassword:RandomPassword"


def _prior(*names: str) -> stack_state.StackState:
    return stack_state.StackState(
        "dev",
        [
            stack_state.StateResource(
                f"urn:{n}", PASSWORD, n, "none", "us-east-1", {"length": 32}, {"result": "k" * 32}
            )
            for n in names
        ],
    )


@pytest.mark.parametrize("dbr", [False, True])
def test_replacement_order_follows_delete_before_replace(dbr: bool) -> None:
    from network.offline.lifecycle import Lifecycle, Options

    lc = Lifecycle(_FakeMocks(), _prior("a", "b", "gone"))  # type: ignore[arg-type]
    lc.options = {(PASSWORD, "a"): Options(delete_before_replace=dbr)}
    handler = lc.mocks.handlers[PASSWORD]
    assert lc.step(PASSWORD, "b", {"length": 32}, "us-east-1", handler) == (
        "none",
        {"result": "k" * 32},  # same inputs: the kept value, no call
    )
    _, out = lc.step(PASSWORD, "a", {"length": 40}, "us-east-1", handler)
    assert out == {"result": "x" * 40}
    lc.finish()
    expected = (
        [("delete", PASSWORD, "a"), ("create", PASSWORD, "a"), ("delete", PASSWORD, "gone")]
        if dbr
        else [("create", PASSWORD, "a"), ("delete", PASSWORD, "gone"), ("delete", PASSWORD, "a")]
    )
    assert lc.events == expected
    assert [(c.action, c.name) for c in lc.changes] == [
        ("same", "b"),
        ("replace", "a"),
        ("delete", "gone"),
    ]
    assert lc.changes[1].props == ("length",)


def test_a_replaced_customer_gateway_is_created_before_the_old_one_goes(
    tmp_path_factory: pytest.TempPathFactory,
    state_dir: Path,
    stacks: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Pulumi's default: the new gateway first, the connection moved onto it, the old last."""
    from network.offline import lifecycle

    seen: list[lifecycle.Lifecycle] = []
    real = lifecycle.Lifecycle.__post_init__

    def spy(self: lifecycle.Lifecycle) -> None:
        real(self)
        seen.append(self)

    monkeypatch.setattr(lifecycle.Lifecycle, "__post_init__", spy)
    config = _start("dev", tmp_path_factory, state_dir, stacks)
    config[NET]["datacenters"]["dc1"]["routers"]["edge1"]["publicIp"] = "192.0.2.12"
    apply(stacks, "dev", config)
    events = seen[-1].events
    cgw = ("aws:ec2/customerGateway:CustomerGateway", "dc1-edge1-cgw")
    create, move, delete = (
        events.index(("create", *cgw)),
        events.index(("update", VPN, "dc1-edge1-app-vpn")),
        events.index(("delete", *cgw)),
    )
    assert create < move < delete == len(events) - 1


def test_an_aws_refusal_is_one_clean_screen(
    tmp_path_factory: pytest.TempPathFactory, state_dir: Path, stacks: Path
) -> None:
    import os
    import subprocess
    import sys

    config = _start("staging", tmp_path_factory, state_dir, stacks)
    _static_to_tgw(config[NET])  # refused by ModifyVpnConnection: every output waits on it
    write_config(stacks, "staging", config)
    proc = subprocess.run(
        [sys.executable, "-m", "network.cli", "up", "--stack", "staging"],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        cwd=Path(__file__).resolve().parents[2],
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    assert "IncorrectState" in proc.stderr and "nothing was written" in proc.stderr
    assert "Traceback" not in proc.stderr and "Future exception" not in proc.stderr


def test_a_second_apply_of_a_stack_being_applied_is_refused(
    stacks: Path, state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import fcntl
    import os

    config = load_stack("dev")
    write_config(stacks, "dev", config)
    assert main(["up", "--stack", "dev"]) == 0
    config[NET]["connections"]["dc1-edge1-app"]["tunnelOptions"]["dpd"]["timeoutSeconds"] = 40
    write_config(stacks, "dev", config)
    files = {p.name: p.read_bytes() for p in (state_dir / "dev").iterdir()}
    fd = os.open(state_dir / "dev", os.O_RDONLY)  # another apply holds the stack
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert main(["up", "--stack", "dev"]) == 1
        assert "another `crossnet up` is applying the stack" in capsys.readouterr().err
    finally:
        os.close(fd)
    assert {p.name: p.read_bytes() for p in (state_dir / "dev").iterdir()} == files
    assert main(["up", "--stack", "dev"]) == 0


# ------------------------------------------------------------------ pulumi up --target
CGW = "aws:ec2/customerGateway:CustomerGateway"


def _urn(state_dir: Path, stack: str, name: str) -> str:
    state = json.loads((state_dir / stack / "state.json").read_text())
    [urn] = [r["urn"] for r in state["resources"] if r["name"] == name]
    return str(urn)


def _by_name(result: ApplyResult) -> dict[str, str]:
    return {c.name: c.action for c in result.changes}


def test_a_targeted_up_changes_only_the_target_and_its_dependents(
    tmp_path_factory: pytest.TempPathFactory, state_dir: Path, stacks: Path
) -> None:
    """The customer ASN of a two-router datacenter, router by router as the rollout plans
    it (`pulumi up --target <urn of R-cgw> --target-dependents`): the first apply gives
    fra-edge1 a new customer gateway (and its connection what refers to it); fra-edge2's
    gateway and connection keep their IDs and their old ASN; the second apply moves it."""
    config = _start("prod", tmp_path_factory, state_dir, stacks)
    first = json.loads((state_dir / "prod" / "outputs.json").read_text())
    config[NET]["datacenters"]["fra"]["asn"] = 65211
    urn1 = _urn(state_dir, "prod", "fra-edge1-cgw")
    one = apply(stacks, "prod", config, targets=(urn1,), target_dependents=True)
    acts = _by_name(one)
    assert acts["fra-edge1-cgw"] == "replace"
    assert acts["fra-edge2-cgw"] == "same" and acts["fra-edge2-hub-vpn"] == "same"
    assert acts["fra-edge1-hub-vpn"] != "same"
    changed = {n for n, a in acts.items() if a != "same"}
    assert all(n.startswith("fra-edge1") for n in changed), changed
    state = {
        r["name"]: r
        for r in json.loads((state_dir / "prod" / "state.json").read_text())["resources"]
    }
    assert str(state["fra-edge2-cgw"]["inputs"]["bgpAsn"]) != "65211"
    assert str(state["fra-edge1-cgw"]["inputs"]["bgpAsn"]) == "65211"

    def conn(outputs: dict[str, Any], router: str) -> dict[str, Any]:
        [c] = outputs["routers"][router]["connections"]
        return dict(c)

    assert conn(one.outputs, "fra-edge2") == conn(first, "fra-edge2") | {
        "tunnels": conn(one.outputs, "fra-edge2")["tunnels"]
    }
    assert (
        conn(one.outputs, "fra-edge2")["vpnConnectionId"]
        == conn(first, "fra-edge2")["vpnConnectionId"]
    )
    assert (
        conn(one.outputs, "fra-edge1")["customerGatewayId"]
        != conn(first, "fra-edge1")["customerGatewayId"]
    )
    # The second router's own step, then an untargeted up: nothing left to do.
    two = offline_up(
        "prod", targets=(_urn(state_dir, "prod", "fra-edge2-cgw"),), target_dependents=True
    )
    assert _by_name(two)["fra-edge2-cgw"] == "replace" and _by_name(two)["fra-edge1-cgw"] == "same"
    assert {c.action for c in offline_up("prod").changes} == {"same"}


def test_a_replaced_target_without_its_dependents_is_refused(
    tmp_path_factory: pytest.TempPathFactory, state_dir: Path, stacks: Path
) -> None:
    """As Pulumi's engine: a replaced target whose dependents are not targeted is refused
    (the connection would keep a deleted gateway), naming the dependent."""
    config = _start("prod", tmp_path_factory, state_dir, stacks)
    config[NET]["datacenters"]["fra"]["asn"] = 65211
    urn = _urn(state_dir, "prod", "fra-edge1-cgw")
    files = {p.name: p.read_bytes() for p in (state_dir / "prod").iterdir()}
    with pytest.raises(ApplyError) as e:
        apply(stacks, "prod", config, targets=(urn,))
    assert "fra-edge1-hub-vpn" in e.value.render() and "--target-dependents" in e.value.render()
    assert {p.name: p.read_bytes() for p in (state_dir / "prod").iterdir()} == files


def test_an_unknown_target_is_exit_2_naming_it_and_writes_nothing(
    tmp_path_factory: pytest.TempPathFactory,
    state_dir: Path,
    stacks: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = _start("dev", tmp_path_factory, state_dir, stacks)
    write_config(stacks, "dev", config)
    files = {p.name: p.read_bytes() for p in (state_dir / "dev").iterdir()}
    bad = "urn:pulumi:dev::crossnet::aws:ec2/customerGateway:CustomerGateway::no-such-cgw"
    assert main(["up", "--stack", "dev", "--target", bad, "--target-dependents"]) == 2
    err = capsys.readouterr().err
    assert bad in err and "Traceback" not in err
    assert main(["up", "--stack", "dev", "--target-dependents"]) == 2
    assert {p.name: p.read_bytes() for p in (state_dir / "dev").iterdir()} == files
