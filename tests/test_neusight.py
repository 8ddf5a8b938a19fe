"""hetsim's GPU model against NeuSight's measured PyTorch kernels (held out; issue 10).

``tests/data/neusight_kernels.csv`` is ``python -m calibration.neusight --csv ... --sample 20``
over trsharm25/NeuSight @db1fdc9: eager fp32 linear, bmm, elementwise, softmax and LayerNorm
calls on an A100 80GB PCIe, an H100 SXM and an MI210, at most 20 sizes per (GPU, op), spread
over each op's size range, each timed alone (``timing=isolated``). What was fitted to the
full set, each on its ``fit`` half only (``calibration.neusight.half``, by shape): the MI210's
eager dispatch per elementwise op (to the tiny ``add`` rows), the fp32 tile/wave GEMM fits
(``gemm_tiles_by_dtype.fp32``, with their ``isolated_s``) and the softmax/LayerNorm stack
terms of ``pytorch-eager`` (README "GPU cost fidelity" has the held-out ``check`` half).

Bounds per (GPU, family), from the full 33,743-row conversion, not tuned to the shipped
rows: the median |error| stays below the smaller of the full set's 75th percentile and its
median + 5 points, rounded up to a point; the worst below the full set's worst rounded up to
5 points (the shipped rows are a subset of it). Each new bound fails on the model before
this branch's fits (shipped rows then: A100 gemm 13.5% / 40%, bmm 38% / 105%, softmax worst
48%; H100 gemm worst 48%, bmm 12% / 56%; MI210 bmm 21%, softmax 45%, LayerNorm 36%).

================  ================  ============  ==========  =====================
GPU               family            full median   full p75    full worst
================  ================  ============  ==========  =====================
a100-pcie-80gb    elementwise       2.4%          3.3%        15.2%
a100-pcie-80gb    gemm (linear)     3.7%          11.0%       34.0%
a100-pcie-80gb    bmm               1.6%          3.2%        41.8%
a100-pcie-80gb    softmax           15.4%         18.4%       33.6%
a100-pcie-80gb    layernorm         13.1%         20.7%       35.8%
h100-sxm          gemm (linear)     2.6%          10.5%       37.2%
h100-sxm          bmm               4.0%          6.0%        27.2%
mi210             elementwise       7.9%          12.2%       35.9%
mi210             gemm (linear)     6.4%          12.3%       81.1%
mi210             bmm               9.7%          28.8%       70.0%
mi210             pow / powu        4.0%          6.4%        28.9%
a100-pcie-80gb    pow / powu        8.9%          9.9%        24.1%
mi210             softmax           9.4%          17.7%       87.5%
mi210             layernorm         7.2%          15.9%       49.4%
================  ================  ============  ==========  =====================

``pow``/``powu`` are kernel ``pow``; on the MI210 it is compute-bound at the stack's
``flop_per_elem`` (before that: 33% median, all rows too fast, so the 7% bound fails there). The
MI210 gemm row above is after the 128 KiB row-stride factor (``alias_efficiency``): its full-set
worst moved 75.0% -> 81.1% (k = 32768 calls with small n, now priced too slow; README), the
shipped rows stay within the 75% bound stated before.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest

from calibration.neusight import kernel_and_shape, sample
from hetsim.costs.gemm_tiles import gemm_time
from hetsim.loader import load_device_preset
from hetsim.report.validation import predict_rows, read_measurements

DATA = Path(__file__).parent / "data" / "neusight_kernels.csv"
#: (device, family) -> (median bound, worst bound); see module doc
BOUNDS = {
    ("a100-pcie-80gb", "elementwise"): (0.04, 0.20),
    ("a100-pcie-80gb", "gemm"): (0.09, 0.35),
    ("a100-pcie-80gb", "bmm"): (0.04, 0.45),
    ("a100-pcie-80gb", "softmax"): (0.19, 0.35),
    ("a100-pcie-80gb", "layernorm"): (0.19, 0.40),
    ("h100-sxm", "gemm"): (0.08, 0.40),
    ("h100-sxm", "bmm"): (0.06, 0.30),
    ("mi210", "elementwise"): (0.13, 0.40),
    ("mi210", "gemm"): (0.12, 0.75),
    ("mi210", "bmm"): (0.15, 0.70),
    ("mi210", "softmax"): (0.15, 0.90),
    ("mi210", "layernorm"): (0.13, 0.50),
    ("mi210", "elementwise-pow"): (0.07, 0.30),
    ("a100-pcie-80gb", "elementwise-pow"): (0.10, 0.25),
}


def _family(r) -> str:
    if r.kernel == "pow" or (r.kernel == "elementwise" and r.label in ("pow", "powu")):
        return "elementwise-pow"
    return r.kernel


@pytest.fixture(scope="module")
def priced():
    rows = read_measurements(DATA)
    pred, _, _ = predict_rows(rows, detach_tables=True)
    return rows, pred


def test_shipped_rows_name_their_source():
    """Every row cites the NeuSight file at a commit, and is an eager fp32 call on a preset."""
    with open(DATA, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) >= 500
    url = re.compile(r"^https://github\.com/trsharm25/NeuSight/blob/[0-9a-f]{40}/scripts/asplos/data/")
    for r in rows:
        assert url.match(r["source"]), r["source"]
        assert r["dtype"] == "fp32" and r["stack"] == "pytorch-eager" and r["timing"] == "isolated"
        assert r["device"] in ("a100-pcie-80gb", "h100-sxm", "mi210")
        assert "elem_bytes=4" in r["shape"] and "PyTorch" in r["measured_on"]


def test_converter_maps_neusight_dimensions():
    """NeuSight's bmm is [B,M,N] @ [B,N,K] and linear is nn.Linear(N, K) on [B,M,N]: N is the
    reduction (hetsim's k), K the output columns (hetsim's n)."""
    row = {"B": "3", "M": "5", "N": "7", "K": "11"}
    assert kernel_and_shape("bmm", row) == ("bmm", {"batch": 3, "m": 5, "n": 11, "k": 7, "elem_bytes": 4,
                                                   "nn": 1})
    assert kernel_and_shape("linear", row) == ("gemm", {"m": 15, "n": 11, "k": 7, "elem_bytes": 4,
                                                      "nn": 0})
    bh = {"B": "4", "H": "6"}
    assert kernel_and_shape("add", bh)[1]["inputs"] == 2
    assert kernel_and_shape("relu", bh)[1]["inputs"] == 1
    assert kernel_and_shape("addu", bh)[1]["inputs"] == 1  # tensor + scalar: one tensor read
    assert kernel_and_shape("softmax", bh) == ("softmax", {"rows": 4, "cols": 6, "elem_bytes": 4})
    assert kernel_and_shape("ln", bh) == ("layernorm", {"rows": 4, "cols": 6, "elem_bytes": 4})
    with pytest.raises(ValueError):
        kernel_and_shape("conv", bh)


def test_sample_keeps_each_ops_size_range():
    rows = [["mi210", "elementwise", f"num_elems={n};inputs=2;elem_bytes=4", "1e-5", "", "g", "add"]
            for n in range(1, 101)]
    kept = sample(rows, 5)
    assert [r[2].split(";")[0] for r in kept] == [f"num_elems={n}" for n in (1, 26, 51, 75, 100)]
    assert sample(rows[:3], 5) == rows[:3]


@pytest.mark.parametrize("device,family", sorted(BOUNDS))
def test_heldout_rows_within_stated_bounds(priced, device, family):
    rows, pred = priced
    idx = [i for i, r in enumerate(rows) if r.device == device and _family(r) == family]
    assert len(idx) >= 20
    meas = np.array([rows[i].time_s for i in idx])
    err = np.abs(pred[idx] - meas) / meas
    med, worst = BOUNDS[(device, family)]
    assert np.median(err) <= med, (device, family, float(np.median(err)))
    assert err.max() <= worst, (device, family, float(err.max()))


def _tiny_mi210_elementwise(rows):
    return [i for i, r in enumerate(rows)
            if r.device == "mi210" and _family(r) == "elementwise" and r.time_s < 20e-6]


def test_mi210_eager_dispatch_is_what_prices_tiny_ops(priced, monkeypatch):
    """Mechanism: a tiny eager op on the MI210 costs its host dispatch, not the roofline.
    Without the stack's per-op dispatch term (and no isolated-call host time either) the tiny
    rows come out ~2.5x too fast."""
    import hetsim.costs.stacks as stacks

    rows, pred = priced
    idx = _tiny_mi210_elementwise(rows)
    assert len(idx) >= 30
    meas = np.array([rows[i].time_s for i in idx])
    assert np.median(np.abs(pred[idx] - meas) / meas) <= 0.15

    base = stacks.load_stack("pytorch-eager")
    classes = dict(base.classes)
    assert "cdna2" in classes["elementwise"].dispatch_by_family
    classes["elementwise"] = classes["elementwise"].model_copy(update={"dispatch_by_family": {}})
    # (and without the isolated-call host time, which would otherwise add the same host time back
    # to these isolated rows: the price then carries no host dispatch at all)
    bare = base.model_copy(update={"classes": classes, "isolated_call_s_by_family": {}})
    monkeypatch.setattr(stacks, "load_stack", lambda name: bare if name == "pytorch-eager" else base)
    without, _, _ = predict_rows([rows[i] for i in idx], detach_tables=True)
    assert np.median((without - meas) / meas) < -0.40


@pytest.mark.parametrize("gpu", ["a100-sxm-80gb", "h100-sxm", "mi210"])
def test_bmm_batch_shares_the_waves(gpu):
    """Mechanism: a bmm's batch of GEMMs runs in one launch whose output tiles share the waves:
    batch 1 is exactly the GEMM; a batch of GEMMs that each fill a fraction of the units costs
    less than running them one by one, and never less than the FLOP at the best tile rate."""
    dev = load_device_preset(gpu)
    gt = dev.gemm_tiles
    p = {**gt.model_dump(), "tiles": [t.model_dump() for t in gt.tiles]}
    peak, bw = float(dev.peak_flop_per_s["bf16"]), float(dev.memory.achievable_bandwidth_Bps)
    one = gemm_time(p, peak, bw, 128, 128, 128)
    assert gemm_time(p, peak, bw, 128, 128, 128, 2, 1) == one
    many = gemm_time(p, peak, bw, 128, 128, 128, 2, 64) - p["overhead_s"]
    assert many < 0.5 * 64 * (one - p["overhead_s"])  # one tile each: 64 GEMMs share a wave
    best = max(t["efficiency"] for t in p["tiles"])
    assert many >= 64 * 2 * 128 ** 3 / (peak * best)


def test_report_breaks_errors_down_by_family_and_time_range(tmp_path, capsys):
    from calibration.neusight import main, report

    f = tmp_path / "validation.csv"
    f.write_text("device,kernel,shape,group,label,measured_s,predicted_s,error,source\n"
                 "mi210,elementwise,num_elems=1,g,add,1e-05,1.1e-05,+0.1000,x\n"
                 "mi210,elementwise,num_elems=2,g,relu,5e-05,4e-05,-0.2000,x\n"
                 "mi210,elementwise,num_elems=3,g,pow,5e-05,2.5e-05,-0.5000,x\n")
    got = {(g["family"], g["range"]): g for g in report(f)}
    assert got[("elementwise", "all")]["n"] == 2
    assert got[("elementwise", "all")]["median"] == pytest.approx(0.15)
    assert got[("elementwise", "< 20 us")]["signed_median"] == pytest.approx(0.1)
    assert got[("elementwise-pow", "20-100 us")]["worst"] == pytest.approx(0.5)
    assert main(["--report", str(f)]) == 0
    assert main(["--report", str(tmp_path / "missing.csv")]) == 2
    assert main(["--csv", "out.csv"]) == 2
    assert "usage" in capsys.readouterr().err


def test_half_splits_by_shape_not_time():
    """The held-out split is a function of (device, kernel, shape) only, and about even."""
    from calibration.neusight import half

    rows = read_measurements(DATA)
    from hetsim.report.validation import format_shape

    halves = [half(r.device, r.kernel, format_shape(r.shape)) for r in rows]
    assert set(halves) == {"fit", "check"}
    assert 0.35 < halves.count("check") / len(halves) < 0.65
    assert half("mi210", "gemm", "m=1;n=2;k=3;elem_bytes=4") == half("mi210", "gemm", "m=1;n=2;k=3;elem_bytes=4")


def _signed_median(rows, idx, pred):
    meas = np.array([rows[i].time_s for i in idx])
    return float(np.median((pred - meas) / meas))


def test_fp32_gemms_use_their_own_tile_fit(priced):
    """Mechanism: eager fp32 GEMMs (TF32 off) run SIMT/FFMA kernels, so an fp32 call is
    priced by the device's fp32 tile fit and a bf16 call by its tensor-core fit. Without the
    fp32 fit (the bf16 tiles at the fp32 peak) the A100's fp32 linears come out >= 10% slow
    and its bmm >= 25% slow (signed medians), as before the fit."""
    from hetsim.costs.gemm_tiles import gemm_time
    from hetsim.costs.gpu import price_gpu

    dev = load_device_preset("a100-pcie-80gb")
    bw = float(dev.memory.achievable_bandwidth_Bps)
    for dtype, gt in (("fp32", dev.gemm_tiles_by_dtype["fp32"]), ("bf16", dev.gemm_tiles)):
        p = {**gt.model_dump(), "tiles": [t.model_dump() for t in gt.tiles]}
        want = gemm_time(p, float(dev.peak_flop_per_s[dtype]), bw, 512, 1024, 2048, 4 if dtype == "fp32" else 2)
        got = price_gpu(dev, "gemm", {"m": 512, "n": 1024, "k": 2048, "elem_bytes": 4 if dtype == "fp32" else 2},
                        dtype)
        assert got.overhead_s + got.work_s == pytest.approx(want, rel=1e-12)

    rows, pred = priced
    bare = {"a100-pcie-80gb": dev.model_copy(update={"gemm_tiles_by_dtype": {}, "cost_tables": ()})}
    for kernel, slow in (("gemm", 0.10), ("bmm", 0.25)):
        idx = [i for i, r in enumerate(rows) if r.device == "a100-pcie-80gb" and r.kernel == kernel]
        assert abs(_signed_median(rows, idx, pred[idx])) < 0.10
        without, _, _ = predict_rows([rows[i] for i in idx], detach_tables=True, device_override=bare)
        assert _signed_median(rows, idx, without) > slow


def test_isolated_timing_adds_the_fits_host_dispatch(tmp_path):
    """A GEMM timed alone (timing=isolated) also pays the tile fit's isolated_s, the host
    dispatch inside such a time; the same row timed in a stream does not, nor does a
    non-GEMM row. A bad timing value is a one-line error naming the column."""
    from hetsim.errors import ConfigError

    f = tmp_path / "m.csv"
    f.write_text("device,kernel,shape,time_s,dtype,timing\n"
                 "h100-sxm,gemm,m=64;n=64;k=64;elem_bytes=4,1e-5,fp32,isolated\n"
                 "h100-sxm,gemm,m=64;n=64;k=64;elem_bytes=4,1e-5,fp32,stream\n"
                 "h100-sxm,elementwise,num_elems=64;elem_bytes=4,1e-5,fp32,isolated\n"
                 "h100-sxm,elementwise,num_elems=64;elem_bytes=4,1e-5,fp32,\n")
    pred, _, _ = predict_rows(read_measurements(f), detach_tables=True)
    iso = float(load_device_preset("h100-sxm").gemm_tiles_by_dtype["fp32"].isolated_s)
    assert iso > 5e-6
    assert pred[0] - pred[1] == pytest.approx(iso, rel=1e-9)
    assert pred[2] == pred[3]
    f.write_text("device,kernel,shape,time_s,timing\nh100-sxm,gemm,m=1;n=1;k=1,1e-5,alone\n")
    with pytest.raises(ConfigError, match="timing"):
        read_measurements(f)


def test_long_softmax_rows_are_reread_on_cdna2():
    """Mechanism: PyTorch's softmax holds a row of up to 1,024 elements in registers; longer
    rows go to cunn_SoftMaxForward, which passes over the row again. On the MI210 the stack
    counts those re-reads from 1,025 columns on; on the A100 (whose L2 serves them) it does
    not; LayerNorm's two reads are counted on the MI210 at any length."""
    from hetsim.costs.gpu import price_gpu
    from hetsim.costs.stacks import load_stack

    eager = load_stack("pytorch-eager")

    def per_elem(gpu, kernel, cols):
        c = price_gpu(load_device_preset(gpu), kernel, {"rows": 64, "cols": cols, "elem_bytes": 4},
                      "fp32", eager)
        return c.mem_bytes / (64 * cols * 4)

    assert per_elem("mi210", "softmax", 1024) == 2
    assert per_elem("mi210", "softmax", 1025) == 5
    assert per_elem("a100-pcie-80gb", "softmax", 4096) == 2
    assert per_elem("mi210", "layernorm", 256) == pytest.approx(3, rel=0.02)
    assert per_elem("a100-pcie-80gb", "layernorm", 256) == pytest.approx(2, rel=0.03)


def test_stack_shape_above_names_a_bad_key():
    """A shape_above rule on a key the kernel does not have is refused, naming the key."""
    from pydantic import ValidationError

    from hetsim.config.stack import StackSpec

    bad = {"name": "x", "kernels": {"softmax": {"shape_above_by_family": {
        "cdna2": [{"key": "columns", "above": 1024, "shape": {"reads": 3}}]}}}}
    with pytest.raises(ValidationError, match="'columns' is not a shape key of softmax"):
        StackSpec.model_validate(bad)
    ok = {"name": "x", "kernels": {"softmax": {"shape_above": [{"key": "cols", "above": 8, "shape": {"reads": 2}}]}}}
    spec = StackSpec.model_validate(ok)
    assert spec.entry("softmax", "elementwise", "ampere", {"cols": 9})[2] == {"reads": 2}
    assert spec.entry("softmax", "elementwise", "ampere", {"cols": 8})[2] == {}


def test_mi210_pow_is_compute_bound_at_the_stacks_op_count(priced, monkeypatch):
    """Mechanism: on the MI210 a torch.pow costs its vector instructions, not its bytes: the
    binary (12 B per element) and the tensor-scalar form (8 B) are priced at the same work,
    where an add differs by its bytes; without the stack's cdna2 op count (one operation per
    element, as before) the shipped MI210 pow rows come out >= 25% fast (signed median). The
    A100 keeps one operation per element: pow costs what an elementwise op of its bytes does."""
    import hetsim.costs.stacks as stacks
    from hetsim.costs.gpu import price_gpu

    eager = stacks.load_stack("pytorch-eager")
    mi = load_device_preset("mi210")
    work = {(k, i): price_gpu(mi, k, {"num_elems": 1 << 24, "inputs": i, "elem_bytes": 4}, "fp32", eager).work_s
            for k in ("pow", "elementwise") for i in (1, 2)}
    assert work[("pow", 1)] == work[("pow", 2)]
    assert work[("elementwise", 2)] == pytest.approx(1.5 * work[("elementwise", 1)], rel=1e-9)
    assert work[("pow", 2)] > 1.5 * work[("elementwise", 2)]  # 56 vs 103 G elements/s
    a100 = load_device_preset("a100-pcie-80gb")
    shape = {"num_elems": 1 << 24, "inputs": 2, "elem_bytes": 4}
    assert (price_gpu(a100, "pow", shape, "fp32", eager).work_s
            == price_gpu(a100, "elementwise", shape, "fp32", eager).work_s)

    rows, pred = priced
    idx = [i for i, r in enumerate(rows) if r.device == "mi210" and r.kernel == "pow"]
    assert len(idx) >= 20
    assert abs(_signed_median(rows, idx, pred[idx])) < 0.08
    kernels = dict(eager.kernels)
    kernels["pow"] = kernels["pow"].model_copy(update={"shape_above_by_family": {}})
    bare = eager.model_copy(update={"kernels": kernels})
    monkeypatch.setattr(stacks, "load_stack", lambda name: bare if name == "pytorch-eager" else eager)
    without, _, _ = predict_rows([rows[i] for i in idx], detach_tables=True)
    assert _signed_median(rows, idx, without) < -0.25


def test_mi210_fp32_rows_a_power_of_two_stride_apart_compute_slower():
    """Mechanism: an MI210 fp32 GEMM whose k-contiguous rows are a multiple of 128 KiB apart
    (k = 32768, 65536) computes at the fit's alias_efficiency; a k 64 elements off is not
    penalised; the A100 and H100 fits carry no such factor (their k = 32768 calls are priced
    as the model always did)."""
    dev = load_device_preset("mi210")
    gt = dev.gemm_tiles_by_dtype["fp32"]
    assert gt.alias_stride_bytes == 131072 and 0.3 < gt.alias_efficiency < 0.6
    p = {**gt.model_dump(), "tiles": [t.model_dump() for t in gt.tiles]}
    off = {**p, "alias_stride_bytes": None}
    peak, bw = float(dev.peak_flop_per_s["fp32"]), float(dev.memory.achievable_bandwidth_Bps)
    for k in (32768, 65536):
        hit = gemm_time(p, peak, bw, 4096, 4096, k, 4) - p["overhead_s"]
        plain = gemm_time(off, peak, bw, 4096, 4096, k, 4) - p["overhead_s"]
        assert hit / plain > 0.9 / gt.alias_efficiency  # compute-bound: nearly the full factor
    assert gemm_time(p, peak, bw, 4096, 4096, 32768 + 64, 4) == gemm_time(off, peak, bw, 4096, 4096, 32768 + 64, 4)
    assert gemm_time(p, peak, bw, 4096, 4096, 16384, 4) == gemm_time(off, peak, bw, 4096, 4096, 16384, 4)
    for gpu in ("a100-pcie-80gb", "a100-sxm-80gb", "h100-sxm", "h200"):
        d = load_device_preset(gpu)
        for g in (d.gemm_tiles, *d.gemm_tiles_by_dtype.values()):
            assert g is None or g.alias_stride_bytes is None, gpu


def test_fit_pow_recovers_the_op_count(tmp_path):
    """--fit-pow inverts the price: rows timed at launch + dispatch + elements x 250 / rate
    give back 250 (fit half only: rows of the check half are timed 10x and must not move it)."""
    from calibration.neusight import fit_pow, half
    from hetsim.costs.gpu import price_gpu
    from hetsim.costs.stacks import load_stack
    from hetsim.report.validation import format_shape

    dev = load_device_preset("mi210")
    eager = load_stack("pytorch-eager")
    rate = float(dev.peak_flop_per_s["fp32"]) * float(eager.entry("pow", "elementwise", "cdna2")[3].compute)
    lines = ["device,kernel,shape,time_s,dtype,timing"]
    for i in range(120):
        shape = {"num_elems": (1 << 22) + 4096 * i, "inputs": 1 + i % 2, "elem_bytes": 4}
        over = price_gpu(dev, "pow", shape, "fp32", eager).overhead_s
        t = over + shape["num_elems"] * 250.0 / rate
        if half("mi210", "pow", format_shape(shape)) == "check":
            t *= 10
        lines.append(f"mi210,pow,{format_shape(shape)},{t!r},fp32,isolated")
    f = tmp_path / "pow.csv"
    f.write_text("\n".join(lines) + "\n")
    got = fit_pow(read_measurements(f), "mi210")
    assert got["flop_per_elem"] == pytest.approx(250.0, abs=0.2)
    assert got["n"] < 120


def test_tile_refit_keeps_a_row_stride_factor_fixed():
    """fit_tiles (the leave-one-model-out refit) fits the tile parameters only: a device's
    row-stride factor passes through unchanged, and a fit without one gains none (so the Vidur
    A100 refits are what they were before the factor existed)."""
    from hetsim.costs.gemm_tiles import fit_tiles, tile_times

    dev = load_device_preset("mi210")
    gt = dev.gemm_tiles_by_dtype["fp32"]
    peak, bw = float(dev.peak_flop_per_s["fp32"]), float(dev.memory.achievable_bandwidth_Bps)
    m = np.array([512, 1024, 2048, 4096, 768, 3072, 1536, 8192] * 2)
    n = np.array([1024, 4096, 768, 2048, 3072, 1536, 8192, 512] * 2)
    k = np.array([1024, 2048, 4096, 8192] * 4)
    for stride in (gt.alias_stride_bytes, None):
        tmpl = {**gt.model_dump(), "tiles": [t.model_dump() for t in gt.tiles], "alias_stride_bytes": stride}
        t = tile_times(tmpl, peak, bw, m, n, k, 4)
        p = fit_tiles(tmpl, peak, bw, m, n, k, t, elem_bytes=4)
        assert p["alias_stride_bytes"] == stride and p["alias_efficiency"] == gt.alias_efficiency
