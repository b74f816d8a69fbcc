"""Golden cases: stack outputs in, every router's expected config files out.

`tests/golden/<platform>/<case>/outputs.json` is rendered and compared, file by
file, with `tests/golden/<platform>/<case>/<router key>/...`. Regenerate with
`python tests/golden/make_fixtures.py` and review the diff.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import pytest

from network.contract import load_outputs
from network.platforms import PLATFORMS
from network.render import render_router

GOLDEN = Path(__file__).resolve().parent
EXAMPLE_STACKS = ("dev", "staging", "prod")
CASES = sorted(p.parent for p in GOLDEN.glob("*/*/outputs.json"))


def _expected(case: Path) -> dict[str, str]:
    return {
        str(p.relative_to(case)): p.read_text()
        for p in sorted(case.rglob("*"))
        if p.is_file() and p.name != "outputs.json"
    }


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_golden_case(case: Path) -> None:
    outputs = load_outputs(case / "outputs.json")
    platform = case.parent.name
    got: dict[str, str] = {}
    for key, router in outputs.routers.items():
        assert router.platform == platform, f"{key} is {router.platform}, case is {platform}"
        got.update({f"{key}/{name}": text for name, text in render_router(router).items()})
    want = _expected(case)
    assert sorted(got) == sorted(want), "the set of rendered files differs"
    for name in want:
        if got[name] != want[name]:
            diff = "".join(
                difflib.unified_diff(
                    want[name].splitlines(True),
                    got[name].splitlines(True),
                    f"expected/{name}",
                    f"rendered/{name}",
                )
            )
            pytest.fail(f"{case.parent.name}/{case.name}/{name} differs:\n{diff}")


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_every_platform_has_golden_cases(platform: str) -> None:
    """A platform without a golden case, or without one per example stack, fails here."""
    have = {p.name for p in CASES if p.parent.name == platform}
    assert have, f"no golden case for platform {platform!r} under tests/golden/{platform}/"
    missing = set(EXAMPLE_STACKS) - have
    assert not missing, f"platform {platform!r} has no golden case for stack(s) {sorted(missing)}"


def test_golden_keys_are_fake() -> None:
    """The fixtures' keys are obviously test values, never something that looks real."""
    for case in CASES:
        keys = json.loads((case / "outputs.json").read_text())["presharedKeys"]
        assert keys and all(k.startswith("FAKE_TEST_KEY_") for k in keys.values()), case
