"""The garbage collector's settings while an offline apply runs.

Nothing here imports Pulumi, moto or botocore: the apply bench applies the very same
settings to its bare Pulumi loop (its GC-neutral baseline).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# Container allocations (net of deallocations) between two young collections while an
# apply runs; CPython's default is 700. A 2447-resource apply allocates about two
# million of them net (Pulumi's futures, tasks and protobuf structs, the emulator's
# resources): at 700 that is ~2,900 young, ~270 middle and ~15 full collections, and
# each full one walks every object the run keeps (about 2 s of that apply's 8.5 s of
# CPU). At 10,000 it is a fraction of those and the peak RSS grows by about 2 MB
# (what lives in cycles lives a little longer); 50,000 and 100,000 gain nothing more.
APPLY_GEN0_THRESHOLD = 10_000


@contextmanager
def heap_frozen() -> Iterator[None]:
    """Leave what exists now (the loaded modules, botocore's and moto's data: about a
    million objects) out of the garbage collector's full collections while inside, and
    collect the young generation every APPLY_GEN0_THRESHOLD allocations, not 700.

    A 2447-resource apply runs a dozen full collections, and each one walked that
    data again (about 1 s of the apply). What the run itself allocates is collected
    as usual, and on the way out everything is back under the collector (`gc.unfreeze`)
    with the thresholds it had, so a process that applies many times (a test session)
    leaks nothing.
    """
    thresholds = gc.get_threshold()
    gc.set_threshold(max(thresholds[0], APPLY_GEN0_THRESHOLD), *thresholds[1:])
    try:
        if gc.get_freeze_count():  # someone else froze the heap: theirs to undo
            yield
            return
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
    finally:
        gc.set_threshold(*thresholds)
