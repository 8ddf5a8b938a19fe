"""Order statistics for "the error is a distribution": a median and its distribution-free
confidence interval.

A validation round gives one error per pipeline; rounds are exchangeable draws of the same
machine-and-model state, so the population median's interval follows from the binomial
distribution of ranks (no normality assumed, nothing resampled, deterministic).
"""

from __future__ import annotations

import functools
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


#: Further back-to-back runs whose figures a run's headline interval is meant to hold all at
#: once (a five-run set: the run itself and four more; see :func:`set_interval_factor`).
FURTHER_RUNS = 4

#: Blocks of consecutive rounds whose means :func:`repeat_interval` treats as the independent
#: draws (batch means): 5 blocks of 2 rounds at the default 10 rounds.
BLOCKS = 5


def block_bounds(n: int, blocks: int = BLOCKS) -> list[int]:
    """Where the batch-means blocks of *n* rounds start and end: ``min(blocks, n // 2)``
    blocks of consecutive rounds, as equal as possible (bounds[j] <= round < bounds[j + 1]
    is block j). Validation also runs each block's rounds on its own allocation of the
    pipeline's buffers (:mod:`calibration.rounds`), so a block mean carries its allocation's
    effect and the spread between allocations enters the standard error."""
    k = max(1, min(int(blocks), n // 2)) if n >= 2 else 1
    return [round(j * n / k) for j in range(k + 1)]


@functools.lru_cache(maxsize=64)
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


def _norm_cdf(x):
    """Standard normal CDF, vectorised (Abramowitz & Stegun 7.1.26 erf, |error| < 1.5e-7:
    numpy has no erf and scipy is not a runtime dependency)."""
    import numpy as np

    z = np.abs(x) / math.sqrt(2.0)
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    erf = 1.0 - poly * np.exp(-z * z)
    return 0.5 * (1.0 + np.sign(x) * erf)


def _joint_coverage(q: float, m: int, df: int) -> float:
    """P(|Y_j - Y_0| <= q S for all j = 1..m): Y_0..Y_m iid N(0, 1), S^2 ~ chi2_df / df
    independent of them. Integrated over Y_0 (Gauss-Hermite, 80 nodes) and S (Simpson on
    the density of S, 401 points over [0, 8])."""
    import numpy as np

    z, wz = np.polynomial.hermite_e.hermegauss(80)
    wz = wz / math.sqrt(2 * math.pi)
    u = np.linspace(0.0, 8.0, 401)[1:]
    # density of S = sqrt(chi2_df / df)
    logf = (math.log(2.0) + (df / 2) * math.log(df / 2) - math.lgamma(df / 2)
            + (df - 1) * np.log(u) - df * u * u / 2)
    fu = np.exp(logf)
    h = u[1] - u[0]
    ws = np.full(u.size, 2.0)
    ws[::2] = 4.0  # Simpson weights for points 1..400 of 0..400 (the density is 0 at u = 0)
    ws[-1] = 1.0
    ws *= h / 3
    inner = (_norm_cdf(z[:, None] + q * u[None, :]) - _norm_cdf(z[:, None] - q * u[None, :])) ** m
    return float(wz @ inner @ (ws * fu))


@functools.lru_cache(maxsize=64)
def set_interval_factor(m: int = FURTHER_RUNS, df: int = BLOCKS - 1,
                        confidence: float = CONFIDENCE) -> float:
    """q such that a run's figure +- q se holds the figures of *m* further runs *all at once*
    with probability *confidence* (a simultaneous prediction interval for m future means).

    Why this and not a tolerance interval: the claim checked is about the figures of a
    specific handful of back-to-back runs, not about a share of all possible runs. Each
    further run's figure Y_j and this run's Y_0 are independent draws of the same
    distribution (sd sigma, estimated by the run's batch-means se with *df* degrees of
    freedom), so the m differences Y_j - Y_0 are equicorrelated (rho = 1/2) and the exact
    factor is the two-sided multivariate-t quantile of Dunnett's many-to-one comparison
    (times sqrt 2 for the difference), computed here by integration. With m = 1 it is
    sqrt(2) t_df (the single repeat interval); Bonferroni (sqrt(2) t at 1 - alpha / 2m) is
    slightly wider. Even an exact single-repeat 95% interval holds all four other figures
    of a five-run set only ~87% of the time, hence this factor.
    """
    if m < 1 or df < 1:
        raise ValueError(f"m and df must be >= 1, not m={m}, df={df}")
    lo, hi = 0.0, 1.0
    while _joint_coverage(hi, m, df) < confidence:
        hi *= 2
    for _ in range(34):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if _joint_coverage(mid, m, df) < confidence else (lo, mid)
    return 0.5 * (lo + hi)


def repeat_interval(values: Sequence[float], confidence: float = CONFIDENCE,
                    blocks: int = BLOCKS, further_runs: int = FURTHER_RUNS) -> dict:
    """A run's figure from its per-round values *in time order*, its confidence interval and
    the range further back-to-back runs' figures are expected in.

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

    Three intervals, all figure +- factor x se:

    * ``lo``/``hi`` (shown by default): **the range the figures of *further_runs* more
      back-to-back runs are expected in, 95% simultaneous** -- all of them at once, so with
      the run itself a five-run set's spread (factor :func:`set_interval_factor`);
    * ``repeat_lo``/``repeat_hi``: where *one* repeat run's figure falls (t sqrt 2; the ISO
      5725 repeatability limit is the same idea); it holds all four other figures of a
      five-run set only ~87% of the time;
    * ``ci_lo``/``ci_hi``: the 95% confidence interval of this run's own figure (the
      long-run value; +- t se).

    ``median`` keeps the figure under the key every reader uses. Not robust to a preempted
    round by design: it widens the intervals (and a run then may not claim its figure)
    rather than hiding in a trimmed statistic.
    """
    xs = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    n = len(xs)
    k = min(int(blocks), n // 2)
    if k < 3:
        med = median_ci(xs)
        return {**med, "ci_lo": med["lo"], "ci_hi": med["hi"], "repeat_lo": med["lo"],
                "repeat_hi": med["hi"], "coverage": None, "estimator": "too few rounds"}
    bounds = block_bounds(n, k)
    means = [sum(xs[a:b]) / (b - a) for a, b in zip(bounds, bounds[1:])]
    point = sum(means) / k
    sd = math.sqrt(sum((m - point) ** 2 for m in means) / (k - 1))
    se = sd / math.sqrt(k)
    t = t_quantile(0.5 + confidence / 2, k - 1)
    q = set_interval_factor(int(further_runs), k - 1, confidence)
    return {"median": point, "lo": point - q * se, "hi": point + q * se,
            "repeat_lo": point - t * math.sqrt(2) * se, "repeat_hi": point + t * math.sqrt(2) * se,
            "ci_lo": point - t * se, "ci_hi": point + t * se, "se": se, "block_means": means,
            "set_factor": q, "further_runs": int(further_runs),
            "coverage": confidence if n >= 10 else None, "n": n,
            "estimator": f"batch means of {k} blocks of consecutive rounds ({k - 1} df); interval: "
                         f"the range {int(further_runs)} further back-to-back runs' figures are "
                         f"expected in, {confidence:.0%} simultaneous (+- {q:.2f} se)"}


def claimable(ci: dict, max_width: float = MAX_CLAIM_WIDTH) -> bool:
    """Whether an error interval is narrow enough to quote its median as "the" error."""
    if ci.get("lo") is None or ci.get("coverage") is None:
        return False
    return ci["coverage"] >= CONFIDENCE - 1e-12 and (ci["hi"] - ci["lo"]) <= max_width


__all__ = ["median_ci", "repeat_interval", "set_interval_factor", "t_quantile", "FURTHER_RUNS", "claimable", "CONFIDENCE", "MAX_CLAIM_WIDTH", "BLOCKS",
           "block_bounds"]
