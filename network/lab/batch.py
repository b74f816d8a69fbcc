"""Run the suite's independent probes at once: threads over subprocesses.

Every probe of the reachability suite is a short command in a namespace (or
over SSH) that mostly waits: on a 1 s timeout for a port the security groups
drop, on a ping interval, on a transfer. Probes of different host pairs are
independent, so the suite runs them together and each test then asserts on
its pair's results. What must not overlap is stated as stages: the stages of
one group run one after another, and the jobs of one stage together.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

Job = Callable[[], Any]
# One group: stages run in order; a stage's jobs (name -> job) run together.
Stages = Sequence[Mapping[str, Job]]

MAX_WORKERS = 16
# Real hosts are reached over SSH: sshd drops unauthenticated connections past
# its MaxStartups (10 by default), so far fewer at once there.
SSH_WORKERS = 4


class Failed:
    """A job that raised: kept as the result, so the test that asserts on it
    fails with the error, and every other test still gets its own result."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def __repr__(self) -> str:
        return f"probe raised {type(self.error).__name__}: {self.error}"


def _run_group(pool: ThreadPoolExecutor, stages: Stages) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for stage in stages:
        futures: dict[str, Future[Any]] = {k: pool.submit(safe, j) for k, j in stage.items()}
        for key, fut in futures.items():
            out[key] = fut.result()
    return out


def safe(job: Job) -> Any:
    """The job's result, or Failed with what it raised."""
    try:
        return job()
    except Exception as e:  # kept for the test that asserts on it
        return Failed(e)


def run_groups(
    groups: Mapping[str, Stages], max_workers: int = MAX_WORKERS
) -> dict[str, dict[str, Any]]:
    """Every group at once, each group's stages in order: group -> job name -> result.
    At most `max_workers` jobs run at a time."""
    n_jobs = sum(max((len(s) for s in st), default=0) for st in groups.values())
    workers = max(1, min(max_workers, n_jobs))
    with (
        ThreadPoolExecutor(max_workers=workers, thread_name_prefix="probe") as pool,
        ThreadPoolExecutor(max_workers=max(1, len(groups)), thread_name_prefix="group") as outer,
    ):
        futures = {g: outer.submit(_run_group, pool, stages) for g, stages in groups.items()}
        return {g: f.result() for g, f in futures.items()}
