"""The suite's concurrent probes (network.lab.batch), its background work, the lab's
event queue, the bring-up timeline's phases and reading ping's replies as they come."""

from __future__ import annotations

import tempfile
import threading

import pytest

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


def test_a_logger_made_by_background_work_does_not_break_pytests_log_capture() -> None:
    """pytest iterates logging's registry around every test, unlocked; a job importing a
    module registers its logger meanwhile. Here the job does so in the middle of that
    iteration, which raises "dictionary changed size" on a plain dict."""
    import logging
    import uuid

    from network.lab.suite import Background

    started, made = threading.Event(), threading.Event()
    name = f"crossnet.test.{uuid.uuid4().hex}"

    def job(_env: object, _session: object) -> str:
        started.wait(30)
        logging.getLogger(name)  # a first import in a background thread does this
        made.set()
        return name

    bg = Background({"import": job})
    bg.start(None, None)  # type: ignore[arg-type]
    try:
        seen = 0
        for _logger in logging.root.manager.loggerDict.values():  # as catching_logs does
            if not started.is_set():
                started.set()
                assert made.wait(30)
            seen += 1
        assert seen >= 1 and bg.result("import") == name
        assert logging.getLogger(name) is logging.root.manager.loggerDict[name]  # kept
    finally:
        bg.stop()


def test_background_work_runs_at_once_and_a_change_waits_for_all_of_it() -> None:
    from network.lab.suite import Background

    both = threading.Barrier(2, timeout=30)  # passes only if both jobs run at once
    done: list[str] = []

    def job(name: str) -> object:
        def run(_env: object, _session: object) -> str:
            both.wait()
            done.append(name)
            return name

        return run

    def boom(_env: object, _session: object) -> None:
        raise ValueError("no route")

    bg = Background({"a": job("a"), "b": job("b"), "bad": boom})  # type: ignore[dict-item]
    bg.start(None, None)  # type: ignore[arg-type]
    try:
        bg.quiet()
        assert sorted(done) == ["a", "b"]  # all of it finished before a change
        assert bg.result("a") == "a" and bg.result("never") is None
        with pytest.raises(ValueError, match="no route"):  # the test that needs it fails
            bg.result("bad")
    finally:
        bg.stop()


def test_a_change_waits_only_for_the_background_work_reading_what_it_changes() -> None:
    from network.lab.suite import BGP, IPSEC, LAB, TRAFFIC, Background

    release = threading.Event()

    def reader(name: str, gate: threading.Event | None = None) -> object:
        def run(_env: object, _session: object) -> str:
            if gate is not None:
                assert gate.wait(30)
            return name

        return run

    jobs = {
        "routers": reader("routers"),
        "probes": reader("probes", release),  # held until released below
        "emulator": reader("emulator"),
    }
    reads = {"routers": frozenset({BGP, IPSEC}), "probes": frozenset({TRAFFIC})}
    reads["emulator"] = frozenset()
    bg = Background(jobs, reads)  # type: ignore[arg-type]
    bg.start(None, None)  # type: ignore[arg-type]
    try:
        bg.quiet(frozenset({BGP}))  # returns although the traffic probes still run
        assert bg.result("routers") == "routers"
        assert not bg.futures["probes"].done()
        release.set()
        bg.quiet(LAB)  # everything: the probes too
        assert bg.futures["probes"].done()
        unstated = Background(jobs)  # type: ignore[arg-type]
        assert unstated.reads["emulator"] == LAB  # unstated: reads everything
    finally:
        release.set()
        bg.stop()


def test_lab_events_hand_over_every_key_that_changed_at_once() -> None:
    from network.lab.events import LabEvents

    events = LabEvents(rt=None)  # type: ignore[arg-type]  # no sources started
    assert events.wait(0.01) == set()
    for key in ("sa dc t/1", "routes ns", "sa dc t/1"):
        events.changed.put(key)
    assert events.wait(1) == {"sa dc t/1", "routes ns"}
    assert events.wait(0.01) == set()


def test_ping_replies_are_read_as_ping_writes_them() -> None:
    from network.lab.faults import Pinger

    p = Pinger("ns", "10.0.0.1")
    p.out = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed below)
    try:
        p.out.write("PING 10.0.0.1\n[1000.50] 64 bytes from 10.0.0.1: icmp_seq=1 ttl=63\n")
        p.out.flush()
        assert p.wait_reply(after=1000.0, timeout=0)
        assert not p.wait_reply(after=1000.5, timeout=0.05)
        p.out.write("[1001.25] 64 bytes from 10.0.0.1: icmp_seq=2 ttl=63\n")
        p.out.flush()
        assert p.wait_reply(after=1000.5, timeout=0)
    finally:
        p.out.close()
