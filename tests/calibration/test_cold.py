"""Cold single-call pricing: a table's cold_s prices tasks, warm stays available."""

from __future__ import annotations

import json

import pytest

from hetsim.cli import main
from hetsim.costs.fitted import cold_extra_s, fit_kernel, predict
from hetsim.costs.tables import read_table
from hetsim.kernels import get_kernel


def _points(cold: bool):
    pts = []
    for n in (4096, 16384, 65536, 262144):
        s = {"batch": 1, "num_items": n, "k": 64}
        _, b = get_kernel("topk").work(s)
        p = {"shape": s, "median_s": 1e-6 + b / 5e9}
        if cold:
            p["cold_s"] = p["median_s"] + 50e-6  # a fixed 50 us after an evicting stream
        pts.append(p)
    return pts


def test_cold_price_adds_the_measured_extra_at_and_between_points():
    fit = fit_kernel(_points(True), "topk")
    at = {"batch": 1, "num_items": 16384, "k": 64}
    warm, _ = predict(fit, "topk", at)
    cold, _ = predict(fit, "topk", at, cold=True)
    assert cold - warm == pytest.approx(50e-6)
    between = {"batch": 1, "num_items": 30000, "k": 64}
    assert cold_extra_s(fit, "topk", between) == pytest.approx(50e-6)  # nearest point's extra
    assert predict(fit, "topk", between, cold=True)[0] > predict(fit, "topk", between)[0]
    # a table without cold times prices warm whatever is asked
    plain = fit_kernel(_points(False), "topk")
    assert cold_extra_s(plain, "topk", at) is None
    assert predict(plain, "topk", at, cold=True) == predict(plain, "topk", at)


def test_kernel_table_prices_tasks_cold_by_default(tmp_path):
    pts = _points(True)
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"format": "hetsim-kernel-table/1", "device": {"name": "x", "kind": "cpu"},
                                "provenance": {}, "kernels": {"topk": {"points": pts, "fit": fit_kernel(pts, "topk")}}}))
    t = read_table(path)
    s = {"batch": 1, "num_items": 4096, "k": 64}
    assert t.predict("topk", s)[0] == pytest.approx(pts[0]["cold_s"])
    assert t.predict("topk", s, cold=False)[0] == pytest.approx(pts[0]["median_s"])


def test_calibration_grids_measure_each_pipeline_shape_once():
    from calibration.validate import calibration_grids, pipeline_shapes

    grids = calibration_grids(["gemm", "topk"], quick=True)
    for k, shapes in grids.items():
        keys = [json.dumps(s, sort_keys=True) for s in shapes]
        assert len(keys) == len(set(keys)), k
        for s in pipeline_shapes()[k]:
            assert s in shapes


def test_validate_rejects_zero_rounds(tmp_path, capsys):
    pytest.importorskip("torch")
    (tmp_path / "t.json").write_text("{}")
    assert main(["validate", "--table", str(tmp_path / "t.json"), "--rounds", "0"]) == 2
    assert "--rounds" in capsys.readouterr().err


def test_a_single_call_faster_than_the_loop_prices_as_measured():
    pts = _points(False)
    for p in pts:  # an oversubscribed machine: loops stall more than single calls
        p["cold_s"] = 0.5 * p["median_s"]
    fit = fit_kernel(pts, "topk")
    at = pts[1]["shape"]
    assert predict(fit, "topk", at, cold=True)[0] == pytest.approx(pts[1]["cold_s"])
    between = {"batch": 1, "num_items": 30000, "k": 64}
    warm = predict(fit, "topk", between)[0]
    assert predict(fit, "topk", between, cold=True)[0] == pytest.approx(0.5 * warm)
