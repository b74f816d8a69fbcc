"""One dev lab (stack `rdev`) per module of tests/rollout_lab (harness.running_lab)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.rollout_lab.harness import ROOT, SOURCE_STACK, STACK, Lab, running_lab


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    source = (ROOT / "stacks" / f"Pulumi.{SOURCE_STACK}.yaml").read_text()
    with running_lab(STACK, source) as running:
        yield running
