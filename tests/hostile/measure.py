"""Wall time, CPU time and traced peak memory of a block, for the hostile suites' bounds."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class Cost:
    seconds: float = 0.0
    # This process's CPU: the bound for work done here, which other processes sharing the
    # cores (a parallel test run, CI's other lane) stretch in wall time but not in CPU.
    cpu_seconds: float = 0.0
    peak_bytes: int = 0


@contextmanager
def measured() -> Iterator[Cost]:
    """Wall time, CPU time and traced peak memory (all threads) of the block."""
    cost = Cost()
    tracemalloc.start()
    started, cpu = time.monotonic(), time.process_time()
    try:
        yield cost
    finally:
        cost.seconds = time.monotonic() - started
        cost.cpu_seconds = time.process_time() - cpu
        cost.peak_bytes = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
