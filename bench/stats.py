"""Summaries of repeated timings: the median for long operations, the 95th percentile for page times."""
from __future__ import annotations

import math
import statistics


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def p95(values: list[float]) -> float | None:
    """Nearest-rank 95th percentile: the smallest value at or above 95 % of the runs."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
