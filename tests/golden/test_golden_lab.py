"""The lab's golden cases: stack outputs in, the lab's own config files out.

`tests/golden/lab/<case>/stack-outputs.json` is laid out as the lab lays it
out, its config files are rendered (`network.lab.configs`, templates/lab/) and
compared, file by file and mode by mode, with `tests/golden/lab/<case>/`.
Regenerate with `python tests/golden/make_lab_fixtures.py` and review the diff.
"""

from __future__ import annotations

import difflib
import json
from pathlib import Path

import pytest

from network.render.environment import TEMPLATE_DIR
from tests.golden.make_lab_fixtures import CASES, GOLDEN, OUTPUTS, rendered_files


def _expected(case: Path) -> dict[str, str]:
    return {
        str(p.relative_to(case)): p.read_text()
        for p in sorted(case.rglob("*"))
        if p.is_file() and p.name != OUTPUTS
    }


@pytest.mark.parametrize("case", sorted(CASES))
def test_lab_golden_case(case: str) -> None:
    d = GOLDEN / case
    stack, timers = CASES[case]
    got = rendered_files(json.loads((d / OUTPUTS).read_text()), stack, timers)
    want = _expected(d)
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
            pytest.fail(f"lab/{case}/{name} differs:\n{diff}")


def test_every_lab_case_is_on_disk() -> None:
    assert sorted(p.name for p in GOLDEN.iterdir() if p.is_dir()) == sorted(CASES)


def test_the_lab_templates_are_under_the_one_environment() -> None:
    """templates/lab/ sits under the template directory the one environment loads,
    so the dumb-template AST walk (test_render_context) covers it too."""
    lab = sorted(p.name for p in (TEMPLATE_DIR / "lab").glob("*.j2"))
    assert lab == [
        "fabric.conf.j2",
        "frr.conf.j2",
        "strongswan.conf.j2",
        "swanctl.conf.j2",
        "updown.sh.j2",
    ]
    assert {p for p in TEMPLATE_DIR.rglob("*.j2")} >= {TEMPLATE_DIR / "lab" / name for name in lab}


def test_lab_golden_keys_are_fake() -> None:
    for case in CASES:
        keys = json.loads((GOLDEN / case / OUTPUTS).read_text())["presharedKeys"]
        assert keys and all(k.startswith("FAKE_TEST_KEY_") for k in keys.values()), case
