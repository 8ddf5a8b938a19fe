"""Fitting on synthetic data with known parameters (hetsim.costs.fitted, numpy only)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from hetsim.costs.fitted import FIT_MODELS, fit_kernel, predict, work_of
from hetsim.kernels import KERNELS

F, B, T0 = 1e11, 2e10, 5e-6  # FLOP/s, B/s, s


def roofline_time(kernel, shape):
    f, b = KERNELS[kernel].work(shape)
    return T0 + max(f / F, b / B)


def gemm_points(noise=0.0, seed=0):
    """GEMMs spanning memory-bound (m=1) to compute-bound (m=512) shapes."""
    rng = np.random.default_rng(seed)
    pts = []
    for m in (1, 4, 16, 64, 128, 256, 512):
        for n, k in ((512, 1024), (2048, 2048)):
            shape = {"m": m, "n": n, "k": k}
            t = roofline_time("gemm", shape) * (1 + noise * rng.standard_normal())
            pts.append({"shape": shape, "median_s": t})
    return pts


def test_roofline_parameters_recovered_within_2_percent():
    fit = fit_kernel(gemm_points(), "gemm", models=["roofline"])
    p = fit["params"]
    assert fit["model"] == "roofline"
    assert p["flop_per_s"] == pytest.approx(F, rel=0.02)
    assert p["bytes_per_s"] == pytest.approx(B, rel=0.02)
    assert p["t0_s"] == pytest.approx(T0, rel=0.02)
    assert fit["heldout_error"] < 1e-3


def test_roofline_selected_among_all_candidates_on_roofline_data():
    fit = fit_kernel(gemm_points(), "gemm")
    assert set(fit["candidates"]) == set(FIT_MODELS)
    assert fit["model"] == "roofline", fit["candidates"]
    assert fit["heldout_error"] < 1e-3
    assert "leave-one-out over 14 points" in fit["heldout_method"]


def test_noisy_roofline_is_still_close():
    fit = fit_kernel(gemm_points(noise=0.02, seed=3), "gemm", models=["roofline"])
    assert fit["params"]["flop_per_s"] == pytest.approx(F, rel=0.05)
    assert fit["params"]["bytes_per_s"] == pytest.approx(B, rel=0.05)
    assert fit["heldout_error"] < 0.03


def test_linear_model_recovers_nonnegative_coefficients():
    a, c = 1 / 3e10, 1 / 5e10  # s/B, s/FLOP
    pts = []
    for n in (1000, 4000, 16000, 64000, 256000):
        shape = {"num_elems": n}
        f, b = KERNELS["elementwise"].work(shape)
        pts.append({"shape": shape, "median_s": 2e-6 + a * b + c * f})
    fit = fit_kernel(pts, "elementwise", models=["linear"])
    p = fit["params"]
    # flop and bytes are proportional here, so only their combined slope is identifiable
    f, b = KERNELS["elementwise"].work({"num_elems": 1})
    assert p["s_per_byte"] * b + p["s_per_flop"] * f == pytest.approx(a * b + c * f, rel=1e-6)
    assert p["t0_s"] == pytest.approx(2e-6, rel=1e-6)
    assert min(p["s_per_byte"], p["s_per_flop"], p["t0_s"]) >= 0


def test_powerlaw_captures_n_log_n():
    pts = []
    for n in (1024, 4096, 16384, 65536, 262144, 1048576):
        shape = {"batch": 1, "num_items": n, "k": 64}
        pts.append({"shape": shape, "median_s": 3e-6 + 1e-9 * n * math.log2(n)})
    fit = fit_kernel(pts, "topk")
    assert fit["model"] in ("powerlaw", "loglog")
    assert fit["heldout_error"] < 0.05
    t, extra = predict(fit, "topk", {"batch": 1, "num_items": 100000, "k": 64})
    assert t == pytest.approx(3e-6 + 1e-9 * 100000 * math.log2(100000), rel=0.05)
    assert not extra


def test_loglog_is_monotone_and_interpolates():
    pts = []
    for n in (1, 2, 4, 8, 16, 32):
        shape = {"num_rows": 64 * n, "row_elems": 256}
        # a cache knee: fast while the rows fit, slower per row after
        t = 1e-6 * n if n <= 4 else 4e-6 + 3e-6 * (n - 4)
        pts.append({"shape": shape, "median_s": t})
    pts.append({"shape": {"num_rows": 64 * 8, "row_elems": 256}, "median_s": 5e-6})  # noisy dip
    fit = fit_kernel(pts, "embedding_gather", models=["loglog"])
    ys = fit["params"]["log_time_s"]
    assert all(b >= a for a, b in zip(ys, ys[1:])), "isotonic in log space"
    t_mid, extra = predict(fit, "embedding_gather", {"num_rows": 64 * 3, "row_elems": 256})
    assert 2e-6 <= t_mid <= 4e-6 and not extra
    t_big, extra = predict(fit, "embedding_gather", {"num_rows": 64 * 64, "row_elems": 256})
    assert extra and t_big >= predict(fit, "embedding_gather", {"num_rows": 64 * 32, "row_elems": 256})[0]


def test_predict_flags_extrapolation_and_checks_kernel():
    fit = fit_kernel(gemm_points(), "gemm")
    t, extra = predict(fit, "gemm", {"m": 8, "n": 1024, "k": 1024})
    assert not extra and t == pytest.approx(roofline_time("gemm", {"m": 8, "n": 1024, "k": 1024}), rel=1e-3)
    t, extra = predict(fit, "gemm", {"m": 4096, "n": 8192, "k": 8192})
    assert extra and t == pytest.approx(roofline_time("gemm", {"m": 4096, "n": 8192, "k": 8192}), rel=0.02)
    with pytest.raises(ValueError):
        predict(fit, "topk", {"batch": 1, "num_items": 10, "k": 1})


def test_fit_is_json_serialisable_and_round_trips():
    fit = fit_kernel(gemm_points(), "gemm")
    again = json.loads(json.dumps(fit))
    shape = {"m": 32, "n": 512, "k": 1024}
    assert predict(again, "gemm", shape) == predict(fit, "gemm", shape)


def test_zero_flop_kernel_fits_bandwidth_only():
    pts = []
    for n in (16, 64, 256, 1024, 4096):
        shape = {"batch": 1, "num_selected": n, "row_elems": 576}
        _, b = KERNELS["kv_gather"].work(shape)
        pts.append({"shape": shape, "median_s": 4e-6 + b / 1e10})
    fit = fit_kernel(pts, "kv_gather", models=["roofline"])
    assert fit["params"]["flop_per_s"] is None
    assert fit["params"]["bytes_per_s"] == pytest.approx(1e10, rel=0.02)


def test_variant_keys_are_pinned_to_what_was_measured():
    pts = []
    for n in (1024, 4096, 16384, 65536):
        shape = {"batch": 1, "num_keys": n, "num_heads": 64, "head_dim": 128, "intermediate": 1}
        f, b = KERNELS["indexer_score"].work(shape)
        pts.append({"shape": shape, "median_s": 1e-5 + b / 1e10})
    fit = fit_kernel(pts, "indexer_score")
    assert fit["shape_overrides"] == {"intermediate": 1}
    fused = {"batch": 1, "num_keys": 8192, "num_heads": 64, "head_dim": 128}  # intermediate=0
    t, _ = predict(fit, "indexer_score", fused)
    _, b1 = work_of("indexer_score", fused, {"intermediate": 1})
    assert t == pytest.approx(1e-5 + b1 / 1e10, rel=0.01)
    with pytest.raises(ValueError, match="mix"):
        fit_kernel(pts + [{"shape": fused, "median_s": 1e-3}], "indexer_score")


def test_too_few_points_and_bad_input():
    pts = gemm_points()[:2]
    fit = fit_kernel(pts, "gemm")
    assert fit["heldout_error"] is None and fit["heldout_method"].startswith("none")
    with pytest.raises(ValueError):
        fit_kernel([], "gemm")
    with pytest.raises(ValueError):
        fit_kernel([{"shape": {"m": 1, "n": 1, "k": 1}, "median_s": 0.0}] * 3, "gemm")
    with pytest.raises(ValueError):
        fit_kernel(gemm_points(), "gemm", models=["spline"])


def test_measured_shapes_return_their_measurement():
    pts = gemm_points(noise=0.05, seed=1)
    fit = fit_kernel(pts, "gemm", models=["roofline"])
    for p in pts:
        t, extra = predict(fit, "gemm", p["shape"])
        assert t == p["median_s"] and not extra
    # a shape between the measured ones goes through the model
    t, _ = predict(fit, "gemm", {"m": 2, "n": 512, "k": 1024})
    assert t == pytest.approx(roofline_time("gemm", {"m": 2, "n": 512, "k": 1024}), rel=0.05)


def test_product_model_recovers_exponents_and_scales_untried_keys():
    # per-row latency makes time depend on rows and row size separately, not on bytes alone
    pts = []
    for rows, elems in [(64, 1024), (256, 1024), (1024, 1024), (4096, 1024), (512, 256), (4096, 256)]:
        shape = {"num_rows": rows, "row_elems": elems}
        pts.append({"shape": shape, "median_s": 1e-6 + 2e-9 * rows ** 1.0 * elems ** 0.6})
    fit = fit_kernel(pts, "embedding_gather", models=["product"])
    p = fit["params"]
    assert p["exponents"]["num_rows"] == pytest.approx(1.0, abs=0.02)
    assert p["exponents"]["row_elems"] == pytest.approx(0.6, abs=0.02)
    assert p["reference"] == {}
    assert fit["heldout_error"] < 0.01
    t, extra = predict(fit, "embedding_gather", {"num_rows": 2048, "row_elems": 512})
    assert t == pytest.approx(1e-6 + 2e-9 * 2048 * 512 ** 0.6, rel=0.01) and not extra


def test_extrapolation_flag_covers_size_keys_never_varied():
    pts = [{"shape": {"batch": 1, "num_items": n, "k": 64}, "median_s": 1e-6 + 1e-9 * n}
           for n in (1024, 4096, 16384, 65536)]
    fit = fit_kernel(pts, "topk", models=["product"])
    assert fit["params"]["reference"] == {"batch": 1, "k": 64}
    t1, extra1 = predict(fit, "topk", {"batch": 1, "num_items": 8192, "k": 64})
    t2, extra2 = predict(fit, "topk", {"batch": 2, "num_items": 8192, "k": 64})
    assert not extra1 and extra2  # batch was never varied
    assert t2 > t1  # scaled by the work ratio
