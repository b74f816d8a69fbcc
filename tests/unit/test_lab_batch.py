"""The suite's concurrent probes (network.lab.batch) and the bring-up timeline's phases."""

from __future__ import annotations

import threading

from network.lab.batch import Failed, run_groups
from network.lab.timeline import phases


def test_a_stage_runs_together_and_stages_in_order() -> None:
    both = threading.Barrier(2, timeout=30)  # passes only if both jobs run at once
    seen: list[str] = []

    def first(name: str) -> str:
        both.wait()
        seen.append(name)
        return name

    def second() -> list[str]:
        return sorted(seen)  # the first stage is over when the second starts

    out = run_groups({"g": [{"a": lambda: first("a"), "b": lambda: first("b")}, {"after": second}]})
    assert out == {"g": {"a": "a", "b": "b", "after": ["a", "b"]}}


def test_groups_run_together_and_a_failing_job_is_kept_as_its_result() -> None:
    both = threading.Barrier(2, timeout=30)

    def boom() -> None:
        raise ValueError("no route")

    out = run_groups({"x": [{"w": both.wait, "bad": boom}], "y": [{"w": both.wait}]})
    assert isinstance(out["x"]["bad"], Failed)
    assert "no route" in repr(out["x"]["bad"])
    assert not isinstance(out["y"]["w"], Failed)


def test_phases_are_when_the_last_item_of_each_was_ready() -> None:
    timeline = {
        "IKE+child SA, dc end of a/1": 0.6,
        "IKE+child SA, aws end of a/1": 0.7,
        "BGP r -> 169.254.0.9 Established": 1.5,
        "prefixes converged, r": 2.7,
        "prefixes converged, AWS g": None,
    }
    assert phases(timeline, 0.5) == {"tunnels_ready": 0.2, "bgp_ready": 1.0}
