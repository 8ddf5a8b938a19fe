"""Order statistics for "the error is a distribution": a median and its distribution-free
confidence interval.

A validation round gives one error per pipeline; rounds are exchangeable draws of the same
machine-and-model state, so the population median's interval follows from the binomial
distribution of ranks (no normality assumed, nothing resampled, deterministic).
"""

from __future__ import annotations

import math
from typing import Sequence

#: Coverage of the intervals reported by validation.
CONFIDENCE = 0.95
#: An error interval wider than this (hi - lo, a fraction) is too wide to claim a number.
MAX_CLAIM_WIDTH = 0.10


def _binom_cdf(k: int, n: int) -> float:
    """P(Binomial(n, 1/2) <= k)."""
    return sum(math.comb(n, i) for i in range(0, k + 1)) / 2.0 ** n


def median_ci(values: Sequence[float], confidence: float = CONFIDENCE) -> dict:
    """Median of *values* and an order-statistic interval for the population median.

    Returns ``{"median", "lo", "hi", "coverage", "n"}``: [lo, hi] = the k-th smallest and k-th
    largest values for the largest k whose exact coverage 1 - 2 P(B <= k-1) is at least
    *confidence*. With too few values for that coverage (n < 6 at 95%) the interval is the
    full range and ``coverage`` says how much less it covers. Empty input gives None fields.
    """
    xs = sorted(float(v) for v in values if v is not None and math.isfinite(float(v)))
    n = len(xs)
    if n == 0:
        return {"median": None, "lo": None, "hi": None, "coverage": None, "n": 0}
    mid = n // 2
    med = xs[mid] if n % 2 else 0.5 * (xs[mid - 1] + xs[mid])
    k_best, cov_best = 1, 1.0 - 2.0 * _binom_cdf(0, n)
    for k in range(1, (n + 1) // 2 + 1):
        cov = 1.0 - 2.0 * _binom_cdf(k - 1, n)
        if cov >= confidence:
            k_best, cov_best = k, cov
        else:
            break
    return {"median": med, "lo": xs[k_best - 1], "hi": xs[n - k_best], "coverage": cov_best, "n": n}


def claimable(ci: dict, max_width: float = MAX_CLAIM_WIDTH) -> bool:
    """Whether an error interval is narrow enough to quote its median as "the" error."""
    if ci.get("lo") is None or ci.get("coverage") is None:
        return False
    return ci["coverage"] >= CONFIDENCE - 1e-12 and (ci["hi"] - ci["lo"]) <= max_width


__all__ = ["median_ci", "claimable", "CONFIDENCE", "MAX_CLAIM_WIDTH"]
