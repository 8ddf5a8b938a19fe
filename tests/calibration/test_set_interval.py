"""The pipeline interval of ``hetsim validate``: the range four further back-to-back runs'
figures are expected in, 95% simultaneous. Checked against its definition by simulation
(seeded, so deterministic; nothing here depends on this machine's timings)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calibration.stats import FURTHER_RUNS, repeat_interval, set_interval_factor, t_quantile


@given(df=st.integers(min_value=2, max_value=30))
@settings(max_examples=8, deadline=None)
def test_one_further_run_is_the_repeat_interval_and_more_runs_need_more(df):
    # m = 1: Y_1 - Y_0 ~ sqrt(2) sigma N(0,1), se on df degrees of freedom -> sqrt(2) t_df
    assert set_interval_factor(1, df) == pytest.approx(math.sqrt(2) * t_quantile(0.975, df), rel=1e-4)
    q2, q4 = set_interval_factor(2, df), set_interval_factor(4, df)
    assert set_interval_factor(1, df) < q2 < q4
    # exact joint factor below Bonferroni's (the differences share Y_0: positively correlated)
    assert q4 < math.sqrt(2) * t_quantile(1 - 0.025 / 4, df)


def _set_coverage(sets: int, rng, rounds: int = 10, runs: int = 1 + FURTHER_RUNS):
    """Share of runs whose interval holds every figure of its five-run set (its own
    included), rounds iid normal: the model the batch-means standard error assumes."""
    held = held_repeat = total = 0
    for _ in range(sets):
        res = [repeat_interval(list(rng.normal(0.01, 0.03, rounds))) for _ in range(runs)]
        figs = [r["median"] for r in res]
        for r in res:
            total += 1
            held += all(r["lo"] <= f <= r["hi"] for f in figs)
            held_repeat += all(r["repeat_lo"] <= f <= r["repeat_hi"] for f in figs)
    return held / total, held_repeat / total


def test_simulated_coverage_of_the_set_interval_is_its_nominal_95_percent():
    # 4000 runs: the binomial sd of a 95% coverage is 0.0034, so +-0.015 is 4.4 sd
    cov, cov_repeat = _set_coverage(800, np.random.default_rng(20261204))
    assert cov == pytest.approx(0.95, abs=0.015)
    # the single-repeat interval (the one shown before) holds all five only ~87% of the time:
    # the test above would fail on it
    assert cov_repeat == pytest.approx(0.87, abs=0.02)


def test_set_interval_is_wider_than_the_confidence_interval_and_centred():
    ci = repeat_interval([0.01, 0.03, 0.0, 0.02, 0.04, 0.01, 0.02, 0.05, 0.03, 0.0])
    assert ci["lo"] < ci["repeat_lo"] < ci["ci_lo"] < ci["median"] < ci["ci_hi"] < ci["repeat_hi"] < ci["hi"]
    assert ci["hi"] - ci["median"] == pytest.approx(ci["median"] - ci["lo"])
    assert "95% simultaneous" in ci["estimator"]


def _allocation_set_coverage(sets: int, rng, schedule, nalloc: int, sd_alloc: float, sd_round: float,
                             rounds: int = 10, runs: int = 1 + FURTHER_RUNS) -> float:
    """As :func:`_set_coverage`, with a random effect per buffer allocation: each run draws
    *nalloc* allocation effects (sd *sd_alloc*), round r of a run carries the effect of the
    allocation *schedule(r)* it ran on plus its own noise (sd *sd_round*) -- the model the
    one-way ANOVA of stored RAG runs supports (cal15g: ~2 points per allocation, ~5 a round)."""
    held = total = 0
    for _ in range(sets):
        res = []
        for _ in range(runs):
            a = rng.normal(0.0, sd_alloc, nalloc)
            res.append(repeat_interval([0.01 + a[schedule(r)] + rng.normal(0.0, sd_round) for r in range(rounds)]))
        figs = [r["median"] for r in res]
        for r in res:
            total += 1
            held += all(r["lo"] <= f <= r["hi"] for f in figs)
    return held / total


def test_allocation_effects_are_sampled_by_the_interval_when_each_block_has_its_own_allocation():
    """Validation runs each batch-means block of rounds on its own allocation of the buffers
    (calibration.rounds.allocation_of_round, ALLOCATIONS of them): then an allocation's effect
    is what block means differ by and the set interval keeps its nominal coverage. Rounds
    cycled over three allocations (what validation did before) hide the effects inside every
    block and the interval holds all five figures only ~75% of the time (a strong effect,
    as large as the round-to-round noise, makes the difference plain)."""
    from calibration.rounds import ALLOCATIONS, allocation_of_round

    from calibration.stats import block_bounds

    n = len(block_bounds(10, ALLOCATIONS)) - 1
    assert n == 5  # one allocation per block at the default 10 rounds
    cov = _allocation_set_coverage(800, np.random.default_rng(4), lambda r: allocation_of_round(r, 10, n), n,
                                   0.03, 0.03)
    assert cov == pytest.approx(0.95, abs=0.015)
    cycled = _allocation_set_coverage(400, np.random.default_rng(5), lambda r: r % 3, 3, 0.03, 0.03)
    assert cycled < 0.85


def test_a_per_process_effect_is_sampled_when_each_block_runs_in_its_own_process():
    """A constant per process (what cal15g's runs showed: constant within a run, uncorrelated
    between runs) is invisible to an interval computed inside one process: with one process
    per run the set interval holds all five figures well under 95% of the time. With each
    batch-means block in its own process (calibration.rounds.BLOCK_PROCESSES) the effect is
    what the block means differ by, and the nominal coverage returns."""
    from calibration.rounds import ALLOCATIONS, BLOCK_PROCESSES, allocation_of_round

    from calibration.stats import block_bounds

    assert BLOCK_PROCESSES  # the default on a CPU
    n = len(block_bounds(10, ALLOCATIONS)) - 1
    per_block = _allocation_set_coverage(800, np.random.default_rng(6), lambda r: allocation_of_round(r, 10, n),
                                         n, 0.02, 0.04)
    assert per_block == pytest.approx(0.95, abs=0.015)
    per_run = _allocation_set_coverage(400, np.random.default_rng(7), lambda r: 0, 1, 0.02, 0.04)
    assert per_run < 0.85
