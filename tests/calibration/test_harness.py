"""calibrate() on a tiny grid: table format, provenance fields, points and fits."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")

from calibration import TABLE_FORMAT  # noqa: E402
from calibration.grids import grid_kernels, shape_grid  # noqa: E402
from calibration.harness import calibrate, heldout_errors  # noqa: E402
from hetsim.costs.fitted import predict  # noqa: E402
from hetsim.costs.tables import read_table  # noqa: E402
from hetsim.kernels import KERNELS, plain_kernels  # noqa: E402

GRIDS = {
    "elementwise": [{"num_elems": n} for n in (4096, 16384, 65536, 262144)],
    "topk": [{"batch": 1, "num_items": n, "k": 64} for n in (1024, 4096, 16384)],
}

PROVENANCE_FIELDS = ("command", "date", "host", "cpu_model", "gpu_model", "torch_version",
                     "threads", "python", "platform", "hetsim_version")


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    out = tmp_path_factory.mktemp("cal") / "sub" / "cpu.json"
    t = calibrate("cpu", kernels=list(GRIDS), quick=True, out=out, progress=False,
                  threads=1, repeats=3, rotate_bytes=1 << 20, grids=GRIDS)
    return t, out


def test_table_format_and_device(table):
    t, out = table
    assert t["format"] == TABLE_FORMAT == "hetsim-kernel-table/1"
    assert t["device"]["kind"] == "cpu" and t["device"]["name"].startswith("cpu-")
    assert json.loads(out.read_text()) == json.loads(json.dumps(t))


def test_provenance_fields(table):
    prov = table[0]["provenance"]
    for field in PROVENANCE_FIELDS:
        assert field in prov, field
    assert prov["threads"] == 1 and prov["gpu_model"] is None
    assert prov["torch_version"] == torch.__version__
    assert prov["date"].endswith("+00:00")  # ISO-8601 UTC
    assert prov["compute_dtype"] == "float32"
    assert prov["timing"]["repeats"] == 3 and prov["memory_state"]["rotate_bytes"] == 1 << 20


def test_points_and_fits(table):
    t = table[0]
    assert set(t["kernels"]) == set(GRIDS)
    for name, entry in t["kernels"].items():
        assert len(entry["points"]) == len(GRIDS[name])
        for p in entry["points"]:
            assert set(p) >= {"shape", "median_s", "iqr_s", "min_s", "repeats", "power_w"}
            assert p["median_s"] > 0 and p["min_s"] <= p["median_s"] and p["iqr_s"] >= 0
            assert p["repeats"] == 3 and p["power_w"] is None  # no power source here
            assert p["shape"] == KERNELS[name].resolve(p["shape"])  # resolved, defaults filled
        fit = entry["fit"]
        assert fit["model"] in fit["candidates"] and fit["heldout_error"] >= 0
        assert "leave-one-out" in fit["heldout_method"]
    errs = heldout_errors(t)
    assert set(errs) == set(GRIDS)


def test_table_loads_in_the_simulator_and_predicts(table):
    _, out = table
    loaded = read_table(out)
    assert loaded.has("elementwise") and not loaded.has("gemm")
    seconds, extrapolated = loaded.predict("elementwise", {"num_elems": 30000})
    assert seconds > 0 and not extrapolated
    seconds, extrapolated = predict(loaded.data["kernels"]["topk"]["fit"], "topk",
                                    {"batch": 1, "num_items": 1 << 20, "k": 64})
    assert extrapolated


def test_bad_arguments():
    with pytest.raises(ValueError):
        calibrate("tpu", progress=False)
    with pytest.raises(ValueError):
        calibrate("cpu", kernels=["nope"], progress=False)


def test_every_kernel_has_quick_and_full_grids_with_valid_shapes():
    assert set(grid_kernels()) == set(plain_kernels())
    for name in grid_kernels():
        for quick in (True, False):
            shapes = shape_grid(name, quick)
            assert len(shapes) >= 4, name
            for s in shapes:
                KERNELS[name].resolve(s)
