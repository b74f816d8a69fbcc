"""The garbage collector's settings while an offline apply runs.

Nothing here imports Pulumi, moto or botocore: the apply bench applies the very same
settings to its bare Pulumi loop (its GC-neutral baseline).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# Container allocations (net of deallocations) between two young collections while an
# apply runs; CPython's default is 700. Pulumi's engine allocates futures, tasks and
# protobuf structs by the million, and every full collection walks all that the run
# keeps (the emulator's resources, Pulumi's outputs). Measured on the 2447-resource
# apply (bench/apply_bench.py's topology, collector callbacks, CPU time): at 700,
# about 2,670 young, 240 middle and 13 full collections, 3.6-3.9 s; at 10,000, about
# 215, 19 and 1, 1.9-2.1 s, the peak RSS 2 MB higher (what lives in cycles lives a
# little longer). 3,000 gave 2.1 s; 20,000 to 100,000 gave 1.5-2.2 s with up to 9 MB
# more RSS: no better beyond the machine's noise.
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
