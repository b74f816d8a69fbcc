"""tests/rollout_lab/newprefix.count_after: the new prefix's window opens one ping
interval after AWS's gateway first routes it (GUARD), since a lost request's send time
is known only to about one interval and one sent just before the route existed is lost
by any order (seen: 1 of 1064 on the static dc-prefix case, "sent" 1 ms after it)."""

from __future__ import annotations

from tests.rollout_lab.newprefix import GUARD, INTERVAL, count_after

R = 1_000_000.0  # the route's first appearance


def _seqs(*probes: tuple[float, bool]) -> dict[int, tuple[float, bool]]:
    return {n: (R + dt, ok) for n, (dt, ok) in enumerate(probes, start=1)}


def test_a_request_lost_at_the_routes_moment_is_not_the_orders() -> None:
    seqs = _seqs((-0.019, True), (0.001, False), (0.021, True), (0.041, True))
    assert GUARD == INTERVAL
    assert count_after(seqs, R) == {"sent": 2, "lost": 0}
    assert count_after(seqs, R, guard=0.0) == {"sent": 3, "lost": 1}  # the old window


def test_a_request_lost_an_interval_after_the_route_is_counted() -> None:
    seqs = _seqs((0.001, True), (0.021, False), (0.041, True))
    assert count_after(seqs, R) == {"sent": 2, "lost": 1}


def test_the_naive_orders_run_of_losses_loses_at_most_one_to_the_guard() -> None:
    # dropped by the security group from 0.5 s before the route to 1.5 s after it
    seqs = _seqs(*((i * INTERVAL - 0.5, not -0.5 <= i * INTERVAL - 0.5 < 1.5) for i in range(150)))
    unguarded = count_after(seqs, R, guard=0.0)
    guarded = count_after(seqs, R)
    assert unguarded["lost"] > 50
    assert unguarded["lost"] - guarded["lost"] <= 1
    assert unguarded["sent"] - guarded["sent"] <= 1
