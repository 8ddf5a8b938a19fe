"""calibration.gemm_windows: the spike/window classes and the bound of monotone predictors."""

import io
import re

from hypothesis import given, settings, strategies as st

from calibration.gemm_windows import Row, classify, monotone_bound, report


def _series(times, step=8, start=8):
    return {start + step * i: Row("g", "op", "op@tp1", start + step * i, 64, 64, t)
            for i, t in enumerate(times)}


def test_monotone_series_needs_no_error():
    assert monotone_bound([1.0, 1.0, 2.0, 3.0]) == (0.0, 0)


def test_a_spike_bounds_every_monotone_predictor():
    # 16.5 between two 10s: a non-decreasing p must be <= p at the 10 after it
    worst, beyond = monotone_bound([10.0, 16.5, 10.0])
    assert abs(worst - 0.65 / 2.65) < 1e-12
    assert beyond == 1  # 16.5 > 1.5 x 10: one of the two cannot be within 20%
    worst, beyond = monotone_bound([10.0, 14.0, 10.0])
    assert abs(worst - 0.4 / 2.4) < 1e-12 and beyond == 0


times = st.lists(st.floats(1.0, 100.0), min_size=1, max_size=12)


@settings(max_examples=200, deadline=None)
@given(times, st.lists(st.floats(0.0, 50.0), min_size=12, max_size=12), st.floats(0.5, 50.0))
def test_the_bound_holds_for_any_non_decreasing_predictor(t, steps, p0):
    pred, p = [], p0
    for s in steps[:len(t)]:
        p += s
        pred.append(p)
    err = [abs(a - b) / b for a, b in zip(pred, t)]
    worst, beyond = monotone_bound(t)
    assert max(err) >= worst - 1e-9
    assert sum(e > 0.2 for e in err) >= beyond


@settings(max_examples=100, deadline=None)
@given(times)
def test_the_bound_is_reached(t):
    """The pairwise-midpoint predictor (running max of the lower envelope) attains the worst
    error the bound states, so it is the bound and not merely a lower one."""
    worst, _ = monotone_bound(t)
    # minimax in relative error: p_j = max over i <= j of the best value for the worst pair
    lo = [min(t[j:]) for j in range(len(t))]  # a non-decreasing lower envelope
    hi = [max(t[:j + 1]) for j in range(len(t))]  # a non-decreasing upper envelope
    pred = [2 * a * b / (a + b) for a, b in zip(lo, hi)]
    assert all(x <= y + 1e-12 for x, y in zip(pred, pred[1:]))
    assert max(abs(p - x) / x for p, x in zip(pred, t)) <= worst + 1e-9


def test_classes():
    flat = [10.0] * 20
    s = _series(flat[:10] + [20.0] + flat[11:])
    assert classify(s, 8 + 8 * 10) == "spike"
    s = _series(flat[:10] + [20.0] * 10)
    assert classify(s, 8 + 8 * 12) == "window"
    s = _series([10.0 + 0.1 * i for i in range(20)])
    assert classify(s, 8 + 8 * 10) == "smooth"
    assert classify(s, 8) == "edge"


def test_report_names_the_classes_and_bounds():
    rows = []
    for g, bump in (("a", 1.0), ("b", 1.6)):
        for i, m in enumerate(range(64, 64 + 8 * 30, 8)):
            t = 1e-5 * (1 + m / 256) * (bump if i == 15 else 1.0)
            r = Row(g, "attn_pre_proj", "attn_pre_proj@tp1", m, 4096, 1536 if g == "a" else 1024, t)
            r.pred = 1e-5 * (1 + m / 256)
            rows.append(r)
    out = io.StringIO()
    report(rows, out)
    text = out.getvalue()
    assert re.search(r"spike +1 ", text)  # model b's 1.6x spike is the one row beyond 20%
    r = 1.6 * (1 + 184 / 256) / (1 + 192 / 256)  # the spike over the next, larger time
    assert f"worst error >= {100 * (r - 1) / (r + 1):.1f}%" in text
