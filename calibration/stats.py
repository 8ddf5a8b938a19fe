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


#: Blocks of consecutive rounds whose means :func:`repeat_interval` treats as the independent
#: draws (batch means): 5 blocks of 2 rounds at the default 10 rounds.
BLOCKS = 5


def t_quantile(p: float, df: int) -> float:
    """Student-t quantile (p > 0.5) by bisection on the numerically integrated density (no
    scipy in the runtime dependencies; exact to ~1e-6 for df >= 1)."""
    c = math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2)) / math.sqrt(df * math.pi)

    def cdf(x: float) -> float:  # P(T <= x) for x >= 0, Simpson's rule on [0, x]
        n = 400
        h = x / n
        f = [c * (1 + (i * h) ** 2 / df) ** (-(df + 1) / 2) for i in range(n + 1)]
        return 0.5 + h / 3 * (f[0] + f[-1] + 4 * sum(f[1:-1:2]) + 2 * sum(f[2:-1:2]))

    lo, hi = 0.0, 1.0
    while cdf(hi) < p:
        hi *= 2
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if cdf(mid) < p else (lo, mid)
    return 0.5 * (lo + hi)


def repeat_interval(values: Sequence[float], confidence: float = CONFIDENCE,
                    blocks: int = BLOCKS) -> dict:
    """A run's figure from its per-round values *in time order*, and the interval a *repeat
    run's* figure is expected in.

    Batch means: the rounds are cut into *blocks* runs of consecutive rounds (as equal as
    possible); the figure is the mean of the block means and its standard error the SD of the
    block means over sqrt(blocks), with Student-t quantiles on blocks - 1 degrees of freedom.
    Why not independent rounds: the machine's pipeline/re-measurement ratio drifts on a scale
    of seconds to minutes, so neighbouring rounds are positively correlated and a standard
    error that treats them as independent draws is too small (a 20%-trimmed mean with the
    Tukey-McLaughlin error held all five figures of a five-run set in 42 of 60 run intervals
    over six stored sets, these batch means in 52 of 60 on the same rounds). Block means of
    rounds spread over the run carry a slow component between blocks into the error; one
    that is constant over a whole run stays invisible to any within-run estimate.
    ``lo``/``hi`` bound where another run's figure falls: figure +- t sqrt(2) se (two runs'
    figures each carry se; the ISO 5725 repeatability limit is the same idea);
    ``ci_lo``/``ci_hi`` are the 95% confidence interval for the long-run value (+- t se).
    ``median`` keeps the figure under the key every reader uses. Not robust to a preempted
    round by design: it widens the interval (and a run then may not claim its figure)
    rather than hiding in a trimmed statistic.
    """
    xs = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    n = len(xs)
    k = min(int(blocks), n // 2)
    if k < 3:
        med = median_ci(xs)
        return {**med, "ci_lo": med["lo"], "ci_hi": med["hi"], "coverage": None,
                "estimator": "too few rounds"}
    bounds = [round(j * n / k) for j in range(k + 1)]
    means = [sum(xs[a:b]) / (b - a) for a, b in zip(bounds, bounds[1:])]
    point = sum(means) / k
    sd = math.sqrt(sum((m - point) ** 2 for m in means) / (k - 1))
    se = sd / math.sqrt(k)
    t = t_quantile(0.5 + confidence / 2, k - 1)
    return {"median": point, "lo": point - t * math.sqrt(2) * se, "hi": point + t * math.sqrt(2) * se,
            "ci_lo": point - t * se, "ci_hi": point + t * se, "se": se, "block_means": means,
            "coverage": confidence if n >= 10 else None, "n": n,
            "estimator": f"batch means of {k} blocks of consecutive rounds; interval for a repeat "
                         f"run's figure (+- t sqrt2 se, {k - 1} df)"}


def claimable(ci: dict, max_width: float = MAX_CLAIM_WIDTH) -> bool:
    """Whether an error interval is narrow enough to quote its median as "the" error."""
    if ci.get("lo") is None or ci.get("coverage") is None:
        return False
    return ci["coverage"] >= CONFIDENCE - 1e-12 and (ci["hi"] - ci["lo"]) <= max_width


__all__ = ["median_ci", "repeat_interval", "t_quantile", "claimable", "CONFIDENCE", "MAX_CLAIM_WIDTH", "BLOCKS"]
