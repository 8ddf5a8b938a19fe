"""Fits split by implementation regime (hetsim.costs.fitted, KernelSpec.regime).

A GEMM with one row runs a matrix-vector kernel whose time follows another law than the
blocked GEMM's; the synthetic kernel here has exactly that: the joint fit cannot follow both,
the split must, and tables made before regimes must price as they did.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from calibration.rounds import kernel_heldout
from hetsim.costs.fitted import (MIN_REGIME_POINTS, fit_kernel, heldout_point_errors, model_label,
                                 point_regimes, predict)
from hetsim.costs.gpu import GEMM_SHAPED
from hetsim.costs.tables import KernelTable, read_table
from hetsim.errors import HetsimError
from hetsim.kernels import KERNELS, get_kernel

DATA = Path(__file__).resolve().parents[1] / "data"


def two_family_time(shape: dict) -> float:
    """A GEMV streams the operands at 8 GB/s; a blocked GEMM pays 3 GB/s on the weights plus
    85 GFLOP/s (the shape of session 9's 1-thread CPU tables, not their numbers)."""
    f, b = KERNELS["gemm"].work(shape)
    if min(shape["m"], shape["n"]) == 1:
        return 5e-6 + b / 8e9
    return 20e-6 + 2 * shape["k"] * shape["n"] / 3e9 + f / 8.5e10


WEIGHTS = ((1024, 1024), (1024, 3072), (7168, 576), (1536, 8192), (16384, 512), (2816, 1024))


def two_family_points(ms=(1, 2, 16, 272), weights=WEIGHTS, noise=0.01, seed=0) -> list[dict]:
    rng = np.random.default_rng(seed)
    pts = []
    for k, n in weights:
        for m in ms:
            s = {"m": m, "n": n, "k": k}
            pts.append({"shape": s, "median_s": two_family_time(s) * (1 + noise * rng.standard_normal())})
    return pts


@pytest.fixture(scope="module")
def split_fit():
    return fit_kernel(two_family_points(), "gemm")


def test_gemm_shaped_kernels_declare_the_unit_dimension_regimes():
    assert set(GEMM_SHAPED) <= {k for k, v in KERNELS.items() if v.regimes}
    assert get_kernel("gemm").regime({"m": 1, "n": 4096, "k": 64}) == "gemv"
    assert get_kernel("gemm").regime({"m": 4096, "n": 1, "k": 64}) == "gemv"
    assert get_kernel("gemm").regime({"m": 2, "n": 4096, "k": 64}) == "gemm"
    assert get_kernel("topk").regime({"batch": 1, "num_items": 8, "k": 1}) is None


@settings(max_examples=60, deadline=None, database=None)
@given(m=st.integers(0, 4), n=st.integers(0, 4), batch=st.integers(1, 3))
def test_bmm_is_a_gemv_only_as_one_gemm_per_launch(m, n, batch):
    r = get_kernel("bmm").regime({"batch": batch, "m": m, "n": n, "k": 8})
    assert r == ("gemv" if batch == 1 and min(m, n) == 1 else "gemm")


def test_split_fit_follows_both_laws_where_the_joint_fit_cannot(split_fit):
    fit = split_fit
    assert fit["regime_points"] == {"gemv": 6, "gemm": 18}
    assert set(fit["regimes"]) == {"gemv", "gemm"}
    assert fit["joint_heldout_error"] > 0.15, fit["joint_heldout_error"]
    assert fit["heldout_error"] == fit["split_heldout_error"] < 0.03, fit["heldout_error"]
    assert "per regime: gemv leave-one-out over 6 points; gemm leave-one-out over 18 points" in fit["heldout_method"]
    assert model_label(fit) == ", ".join(f"{r}: {s['model']}" for r, s in fit["regimes"].items())


def test_heldout_point_errors_reproduce_the_stored_figure_per_regime(split_fit):
    errs = heldout_point_errors(split_fit, "gemm")
    labels = point_regimes(split_fit, "gemm")
    assert len(errs) == len(split_fit["measured"]) == 24
    assert np.median(errs) == pytest.approx(split_fit["heldout_error"], rel=1e-12)
    for r, sub in split_fit["regimes"].items():
        assert np.median([e for e, lab in zip(errs, labels) if lab == r]) == pytest.approx(sub["heldout_error"], rel=1e-12)


def test_predict_dispatches_to_the_regime_fit(split_fit):
    """An unmeasured shape of each regime is priced by the fit of that regime's points alone."""
    pts = two_family_points()
    for shape in ({"m": 1, "n": 2048, "k": 2048}, {"m": 8, "n": 2048, "k": 2048}):
        regime = get_kernel("gemm").regime(shape)
        alone = fit_kernel([p for p in pts if get_kernel("gemm").regime(p["shape"]) == regime], "gemm")
        got, extrapolated = predict(split_fit, "gemm", shape)
        assert (got, extrapolated) == predict(alone, "gemm", shape)
        assert got == pytest.approx(two_family_time(shape), rel=0.03)
        assert not extrapolated


def test_a_regime_without_points_is_priced_jointly_and_flagged():
    fit = fit_kernel(two_family_points(ms=(2, 16, 272)), "gemm", models=["linear"])
    assert fit["regime_points"] == {"gemv": 0, "gemm": 18} and "regimes" not in fit
    inside = {"m": 8, "n": 2048, "k": 2048}
    assert predict(fit, "gemm", inside)[1] is False
    seconds, extrapolated = predict(fit, "gemm", {"m": 1, "n": 2048, "k": 2048})
    assert extrapolated and seconds > 0


def test_regimes_with_too_few_points_are_fitted_jointly():
    pts = two_family_points(weights=WEIGHTS[:MIN_REGIME_POINTS - 1])
    fit = fit_kernel(pts, "gemm", models=["linear", "loglog"])
    assert fit["regime_points"]["gemv"] == MIN_REGIME_POINTS - 1
    assert "regimes" not in fit and "split_heldout_error" not in fit


def test_the_split_is_kept_only_when_it_beats_the_joint_fit():
    """One roofline law for every shape: splitting cannot win, the joint fit stays."""
    def roof(s):
        f, b = KERNELS["gemm"].work(s)
        return 5e-6 + max(f / 1e11, b / 2e10)
    pts = [{"shape": p["shape"], "median_s": roof(p["shape"])} for p in two_family_points(noise=0)]
    fit = fit_kernel(pts, "gemm", models=["roofline"])
    assert "regimes" not in fit
    assert fit["heldout_error"] == fit["joint_heldout_error"] < 1e-3
    assert fit["split_heldout_error"] >= fit["joint_heldout_error"] - 0.005


def test_fit_is_deterministic():
    pts = two_family_points(ms=(1, 2, 64))
    a = fit_kernel(pts, "gemm", models=["linear", "roofline"])
    b = fit_kernel(pts, "gemm", models=["linear", "roofline"])
    assert "regimes" in a
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def test_tables_made_before_regimes_predict_exactly_as_before():
    """The shipped A100 table, priced at 48 shapes warm and cold by the reference commit the data
    file names (the code before regimes, with the measured-shape match of older tables fixed)."""
    ref = json.loads((DATA / "vidur_table_predictions.json").read_text())
    table = read_table(Path(__file__).resolve().parents[2] / ref["table"])
    assert "regime_points" not in table.data["kernels"]["gemm"]["fit"]
    for p in ref["predictions"]:
        assert table.predict("gemm", p["shape"], cold=p["cold"]) == (p["seconds"], p["extrapolated"]), p


def _write(tmp_path, fit, kernel="gemm") -> Path:
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"format": "hetsim-kernel-table/1", "device": {"name": "x"}, "provenance": {},
                                "kernels": {kernel: {"points": [], "fit": fit}}}))
    return path


def test_a_split_table_round_trips_through_the_reader(tmp_path, split_fit):
    table = read_table(_write(tmp_path, split_fit))
    for shape in ({"m": 1, "n": 2048, "k": 2048}, {"m": 8, "n": 2048, "k": 2048}):
        assert table.predict("gemm", shape, cold=False) == predict(split_fit, "gemm", shape)
    rows = kernel_heldout(table)["gemm"]
    assert set(rows["regimes"]) == {"gemv", "gemm"}
    assert rows["regimes"]["gemv"]["points"] == 6 and rows["heldout_ci"]["n"] == 24


BAD = [
    ("regimes", lambda f: f.update(regimes={"gemx": f["regimes"]["gemv"]}), "fit.regimes", "allowed regimes: gemv, gemm"),
    ("regimes", lambda f: f.update(regimes=[1]), "fit.regimes", "allowed regimes"),
    ("model", lambda f: f["regimes"]["gemv"].update(model="spline"), "fit.regimes.gemv.model", "allowed: roofline"),
    ("params", lambda f: f["regimes"]["gemm"]["params"].update(t0_s=-1.0), "fit.regimes.gemm.params.t0_s", ">= 0"),
    ("range", lambda f: f["regimes"]["gemm"].update(range={"flop": [1]}), "fit.regimes.gemm.range", "[low, high]"),
    ("counts", lambda f: f.update(regime_points={"gemv": -1}), "fit.regime_points.gemv", "integer >= 0"),
    ("counts", lambda f: f.update(regime_points={"gemv": True}), "fit.regime_points.gemv", "integer >= 0"),
]


@pytest.mark.parametrize("what,mutate,field,needle", BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_a_malformed_regime_field_is_one_line_naming_file_and_field(tmp_path, split_fit, what, mutate, field, needle):
    fit = json.loads(json.dumps(split_fit))
    mutate(fit)
    path = _write(tmp_path, fit)
    with pytest.raises(HetsimError) as e:
        read_table(path)
    msg = str(e.value)
    assert msg.startswith(str(path)) and f"kernels.gemm.{field}" in msg and needle in msg, msg
    assert "\n" not in msg


def test_regime_fields_on_a_kernel_without_regimes_are_refused(tmp_path):
    fit = {"model": "linear", "params": {"t0_s": 1e-6, "s_per_byte": 1e-10, "s_per_flop": 0.0},
           "regime_points": {"gemv": 3}}
    with pytest.raises(HetsimError, match="kernels.topk.fit.regime_points.*topk has no regimes"):
        read_table(_write(tmp_path, fit, kernel="topk"))


def test_kernel_table_predict_uses_the_regime_fit(split_fit):
    table = KernelTable("t", Path("t.json"), {"kernels": {"gemm": {"fit": split_fit}}})
    shape = {"m": 1, "n": 2048, "k": 2048}
    assert table.predict("gemm", shape, cold=False) == predict(split_fit, "gemm", shape)


def test_a_table_written_before_a_shape_key_existed_prices_its_measured_shapes_at_their_measurements():
    """The shipped A100 table's measured GEMM shapes predate the layout key ``nn`` (default 0):
    each still prices at its own measurement, warm, not at the fitted curve."""
    table = read_table(Path(__file__).resolve().parents[2] / "device_models" / "tables" / "a100-vidur-gemm.json")
    measured = table.data["kernels"]["gemm"]["fit"]["measured"]
    assert all("nn" not in p["shape"] for p in measured)
    for p in measured[:: max(1, len(measured) // 25)]:
        assert table.predict("gemm", p["shape"], cold=False) == (p["median_s"], False), p["shape"]
