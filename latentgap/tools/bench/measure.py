"""How every bench figure is measured and summarised: repeated timings, medians with spread, ratios of medians.

Absolute times on shared CPUs are noise; a figure is the median of its repetitions with min/max and the
interquartile range, and a ratio is always the ratio of two medians measured in the same run.
"""

from __future__ import annotations

import math
import resource
import sys
import time
from collections.abc import Callable

import numpy as np


def summarize(samples: list[float], unit: str) -> dict:
    """Repetitions -> {median, min, max, q1, q3, n, unit, samples}."""
    assert samples, "a figure needs at least one repetition"
    a = np.asarray(samples, dtype=float)
    q1, med, q3 = np.percentile(a, [25, 50, 75])
    return dict(
        median=float(med),
        min=float(a.min()),
        max=float(a.max()),
        q1=float(q1),
        q3=float(q3),
        n=len(a),
        unit=unit,
        samples=[float(v) for v in a],
    )


def ratio(numerator: dict, denominator: dict) -> float:
    """Ratio of two figures' medians (NaN when the denominator is 0)."""
    den = denominator["median"]
    return float(numerator["median"] / den) if den else math.nan


def sync(device: str) -> None:
    """Wait for queued GPU work so a timer measures it (CUDA kernels run asynchronously)."""
    if device == "cuda":
        import torch

        torch.cuda.synchronize()


def repeat(fn: Callable[[], object], reps: int, warmup: int = 1, device: str = "cpu") -> list[float]:
    """Wall seconds of `reps` calls of `fn` after `warmup` untimed ones, synchronising the device around each."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        sync(device)
        t0 = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t0)
    return times


def per_second(times: list[float], items: int, unit: str) -> dict:
    """Timings of `items`-sized repetitions -> a throughput figure (items/s)."""
    return summarize([items / t for t in times], unit)


def max_rss_mb() -> float:
    """This process's peak resident set size so far, MiB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def power_law_exponent(sizes: list[float], seconds: list[float]) -> tuple[float, float]:
    """Least-squares fit of t = a·n^b in log-log space; returns (b, a)."""
    b, log_a = np.polyfit(np.log(sizes), np.log(seconds), 1)
    return float(b), float(np.exp(log_a))
