"""GPU costs where the answer is decided (issue 10): software stacks, small-kernel floors,
GEMM tiles in waves, class and power by arithmetic intensity, validation against measurements."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hetsim.cli import main
from hetsim.costs import CostModel
from hetsim.costs.gemm_tiles import gemm_time
from hetsim.costs.intensity import ridge_point
from hetsim.graph import Step, Task
from hetsim.kernels import get_kernel, plain_kernels
from hetsim.loader import load_device_preset

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"
GPUS = ("mi210", "a100-sxm-80gb", "a100-pcie-80gb", "h100-sxm", "h200")


def _price(dev, kernel, shape, dtype="bf16", stack=None):
    if stack is not None:
        dev = dev.model_copy(update={"stack": stack})
    return CostModel().price(Task("t", Step.MODEL, kernel, shape, dtype), dev)


def _vidur_subset(every: int, grouped: bool = False):
    """Every *every*-th row of the shipped A100 Vidur profiles as measurements (label = the
    operator; group = the model file when *grouped*), or a skip when the files are absent."""
    import sys

    sys.path.insert(0, str(ROOT))
    from calibration.vidur import vidur_rows
    from hetsim.report.validation import Measurement

    vid = ROOT.parent / "shared" / "reference" / "data" / "vidur-a100"
    vid = vid if vid.is_dir() else Path("/work/shared/reference/data/vidur-a100")
    if not vid.is_dir():
        pytest.skip("Vidur A100 profiles not available")
    rows = []
    for f in sorted(vid.glob("*.mlp.csv")):
        group = f.name.removesuffix(".mlp.csv") if grouped else ""
        for i, (op, tp, shape, t) in enumerate(vidur_rows(f)):
            if i % every == 0:
                rows.append(Measurement("a100-sxm-80gb", "gemm", shape, t, group=group, label=op))
    return rows


def test_one_token_per_expert_ffn_on_mi210_is_powered_as_memory_bound():
    dev = load_device_preset("mi210")
    shape = {"tokens": 1, "hidden": 7168, "intermediate": 2048, "num_active": 8}
    c = _price(dev, "expert_ffn", shape)
    assert c.bound == "memory" and c.kernel_class == "gemv"
    board = float(dev.power.idle_w) + c.extra_power_w * dev.num_engines
    assert board == pytest.approx(float(dev.power.class_active_w["gemv"]))  # 171 W, not the 300 W TDP
    assert board < float(dev.power.active_w)
    # the same FFN over many tokens per expert is compute-bound and draws the board's active power
    big = _price(dev, "expert_ffn", {**shape, "tokens": 4096})
    assert big.bound == "compute"
    assert float(dev.power.idle_w) + big.extra_power_w == pytest.approx(float(dev.power.active_w))


_SIZES = st.integers(min_value=1, max_value=1 << 15)


@st.composite
def _calls(draw):
    name = draw(st.sampled_from(sorted(plain_kernels())))
    spec = get_kernel(name)
    shape = {k: draw(_SIZES) for k in spec.shape_keys}
    if "intermediate" in spec.defaults and name == "indexer_score":
        shape["intermediate"] = draw(st.integers(0, 1))
    return name, shape


@settings(max_examples=60, deadline=None)
@given(call=_calls(), gpu=st.sampled_from(GPUS), stack=st.sampled_from(["pytorch-eager", "tuned"]))
def test_every_priced_call_class_agrees_with_its_arithmetic_intensity(call, gpu, stack):
    name, shape = call
    dev = load_device_preset(gpu).model_copy(update={"stack": stack, "cost_tables": ()})
    c = _price(dev, name, shape, dtype="fp32" if name == "topk" else "bf16")
    ridge = ridge_point(dev, "fp32" if name == "topk" else "bf16")
    intensity = c.flop / c.mem_bytes if c.mem_bytes else float("inf")
    assert c.bound == ("compute" if intensity >= ridge else "memory")
    if c.kernel_class in ("gemm", "gemv"):
        assert (c.kernel_class == "gemm") == (intensity >= ridge)
    # a memory-bound call never draws more than the board's compute-bound power
    if c.bound == "memory":
        assert c.extra_power_w <= (float(dev.power.active_w) - float(dev.power.idle_w)) + 1e-9


def test_pytorch_eager_topk_pays_its_passes_and_floor_tuned_does_not():
    dev = load_device_preset("mi210")
    shape = {"batch": 1, "num_items": 8192, "k": 2048}
    eager = _price(dev, "topk", shape, "fp32", "pytorch-eager")
    tuned = _price(dev, "topk", shape, "fp32", "tuned")
    bare = _price(dev.model_copy(update={"stack": None}), "topk", shape, "fp32")
    assert eager.overhead_s == pytest.approx(3 * float(dev.launch_overhead_s))
    assert eager.latency_s > tuned.latency_s > bare.latency_s * 0.99
    assert eager.latency_s > 4 * float(dev.launch_overhead_s), "a small eager top-k is not one launch"
    assert eager.stack == "pytorch-eager" and eager.source.endswith("@pytorch-eager")


def test_unfused_indexer_materialises_the_heads_by_keys_logits():
    dev = load_device_preset("mi210")
    shape = {"batch": 1, "num_keys": 8192, "num_heads": 64, "head_dim": 128, "elem_bytes": 2}
    eager = _price(dev, "indexer_score", shape, stack="pytorch-eager")
    tuned = _price(dev, "indexer_score", shape, stack="tuned")
    # 3 x heads x keys fp32 through memory, on top of the fused version's traffic
    assert eager.mem_bytes - tuned.mem_bytes == pytest.approx(3 * 64 * 8192 * 4)
    assert eager.overhead_s == pytest.approx(4 * float(dev.launch_overhead_s))
    assert tuned.overhead_s == pytest.approx(float(dev.launch_overhead_s))


def test_eager_topk_on_cdna2_pays_a_wave_per_104_rows():
    """ROCm's small-slice top-k sorts each row in one workgroup: rows past the first wave of
    104 (one per CU) add the stack's per-wave time; tuned and other families do not."""
    dev = load_device_preset("mi210")
    one = _price(dev, "topk", {"batch": 104, "num_items": 256, "k": 8}, "fp32")
    two = _price(dev, "topk", {"batch": 105, "num_items": 256, "k": 8}, "fp32")
    assert two.latency_s - one.latency_s == pytest.approx(4.83e-6, rel=1e-6)
    t1 = _price(dev, "topk", {"batch": 104, "num_items": 256, "k": 8}, "fp32", "tuned")
    t2 = _price(dev, "topk", {"batch": 105, "num_items": 256, "k": 8}, "fp32", "tuned")
    assert t2.latency_s - t1.latency_s < 1e-7


def test_gemm_waves_quantise_time():
    """A GEMM whose tiles spill one column past four full waves costs a fifth wave; with the
    fitted ``wave_tail`` the partial wave (12 of 108 units busy) costs (12/108)**tail of one."""
    dev = load_device_preset("a100-sxm-80gb")
    gt = dev.gemm_tiles
    p = {**gt.model_dump(), "tiles": [{"m": 128, "n": 128, "efficiency": 0.75}], "split_k": [1],
         "wave_tail": None}
    peak, bw = float(dev.peak_flop_per_s["bf16"]), float(dev.memory.achievable_bandwidth_Bps)
    assert gt.compute_units == 108  # 12 x 36 tiles = 4 full waves
    four = gemm_time(p, peak, bw, 128 * 12, 128 * 36, 4096) - p["overhead_s"]
    five = gemm_time(p, peak, bw, 128 * 12, 128 * 36 + 1, 4096) - p["overhead_s"]
    assert five / four == pytest.approx(5 / 4, rel=0.02)
    assert gt.wave_tail is not None and 0 < gt.wave_tail < 1
    p["wave_tail"] = gt.wave_tail
    four = gemm_time(p, peak, bw, 128 * 12, 128 * 36, 4096) - p["overhead_s"]
    tail = gemm_time(p, peak, bw, 128 * 12, 128 * 36 + 1, 4096) - p["overhead_s"]
    assert tail / four == pytest.approx(1 + (12 / 108) ** gt.wave_tail / 4, rel=0.02)


@settings(max_examples=60, deadline=None)
@given(gpu=st.sampled_from(GPUS), m=st.integers(1, 1 << 20), n=st.integers(1, 1 << 17),
       k=st.integers(1, 1 << 17), elem_bytes=st.sampled_from([1, 2, 4]),
       batch=st.sampled_from([1, 1, 3, 64]))
def test_scalar_gemm_time_matches_the_vectorised_model(gpu, m, n, k, elem_bytes, batch):
    """gemm_time (plain floats, no numpy) and tile_times (numpy, used to fit) agree to rounding,
    for one GEMM and for a bmm's batch of them (numpy's power and libm's pow may differ in the
    last bit, e.g. a100-sxm-80gb m=2452 n=2457 k=3 elem_bytes=1: 1 ulp; any formula difference
    would be far larger)."""
    from hetsim.costs.gemm_tiles import tile_times

    dev = load_device_preset(gpu)
    p = dev.gemm_tiles.model_dump()
    peak, bw = float(dev.peak_flop_per_s["bf16"]), float(dev.memory.achievable_bandwidth_Bps)
    assert (gemm_time(p, peak, bw, m, n, k, elem_bytes, batch)
            == pytest.approx(float(tile_times(p, peak, bw, m, n, k, elem_bytes, batch)), rel=1e-13, abs=0))


@pytest.mark.parametrize("gpu", GPUS)
def test_every_gpu_preset_prices_gemms_with_its_tile_model(gpu):
    dev = load_device_preset(gpu).model_copy(update={"cost_tables": ()})
    c = _price(dev, "gemm", {"m": 512, "n": 4096, "k": 4096})
    assert c.source.startswith("gemm-tiles")
    assert c.flop / c.latency_s < float(dev.peak_flop_per_s["bf16"])


def test_gemm_tile_model_reproduces_vidur_a100_sample_in_sample():
    """A cheap in-sample check (every 50th point); the held-out figures come from
    ``hetsim validate --against ... --leave-one-out group`` (README)."""
    from hetsim.report.validation import predict_rows, summarize

    rows = _vidur_subset(50)
    pred, power, _ = predict_rows(rows, detach_tables=True)
    s = summarize(rows, pred, power)
    assert s["overall"]["median_abs_error"] < 0.06


def test_small_kernel_measurements_within_25_percent():
    """Cited public measurements of small kernels (tests/data/gpu_small_kernels.csv), each
    priced under the stack it was measured with."""
    from hetsim.report.validation import predict_rows, read_measurements

    import statistics

    rows = read_measurements(DATA / "gpu_small_kernels.csv")
    pred, _, _ = predict_rows(rows)
    with open(DATA / "gpu_small_kernels.csv", newline="") as fh:
        src = list(csv.DictReader(fh))
    assert all(r["source"].startswith("http") for r in src)
    families: dict = {}
    shapes: dict = {}  # distinct (shape, stack) within 25% per cell: two traces of one shape count once
    for r, p, s in zip(rows, pred, src):
        err = abs(p - r.time_s) / r.time_s
        if "fit-point" in r.label:  # a row a stack number was fitted to is not evidence,
            assert err < 0.01, (r.label, err)  # but the fit must reproduce it
            continue
        # a cell is a GPU model and a kernel family: the A100 presets (SXM4 80 GB, PCIe 80 GB
        # for a PCIe 40 GB card) are one GPU model
        families.setdefault((r.device.split("-")[0], r.kernel), []).append(err)
        shapes.setdefault((r.device.split("-")[0], r.kernel), set()).update(
            [(tuple(sorted(r.shape.items())), r.stack)] if err <= 0.25 else [])
    # the (GPU, family) cells with >= 3 held-out public measurements (issue 10)
    held = {("mi210", "topk"), ("mi210", "inner_product_score"), ("mi210", "kv_gather"),
            ("a100", "inner_product_score"), ("a100", "kv_gather")}
    assert held <= set(families)
    for fam in held:
        errs = families[fam]
        assert sum(e <= 0.25 for e in errs) >= 3 and len(shapes[fam]) >= 3, (fam, errs)
        assert statistics.median(errs) <= 0.15, (fam, errs)
    # cells with fewer than three public measurements found (A100 top-k: one, vllm#54138)
    # do not count as held, but every row they have is still checked. The MI210 gather rows
    # are single calls timed alone (timing=isolated), priced with the stack's isolated-call
    # host time (next test)
    thin = set(families) - held
    assert thin == {("a100", "topk")}, thin
    for fam in thin:
        assert len(families[fam]) < 3 and all(e <= 0.25 for e in families[fam]), (fam, families[fam])


def test_isolated_timing_adds_the_stacks_isolated_call_time_only_where_sourced():
    """A row timed alone (``timing=isolated``: events around one call, NeuSight's tracer)
    carries the host's dispatch of the eager op, which a stream of calls hides. Its price is
    the stream price plus the stack's isolated-call host time for the GPU family (cdna2:
    8.47 us, fitted on NeuSight's isolated ``add`` rows, not on these gathers), less any
    dispatch the price already carries (an elementwise op on cdna2 adds nothing); where the
    stack has no such time (ampere) the row is priced as a stream call and says so."""
    import numpy as np

    from hetsim.costs.stacks import load_stack
    from hetsim.report.validation import Measurement, predict_rows, read_measurements

    iso = float(load_stack("pytorch-eager").isolated_call_s_by_family["cdna2"])
    mi = [r for r in read_measurements(DATA / "gpu_small_kernels.csv")
          if r.device == "mi210" and r.kernel == "kv_gather"]
    assert len(mi) == 8 and all(r.timing == "isolated" for r in mi)
    p_iso, _, src = predict_rows(mi)
    p_stream, _, _ = predict_rows([dataclasses.replace(r, timing="stream") for r in mi])
    assert np.allclose(p_iso - p_stream, iso, rtol=0, atol=1e-12)
    assert all(s.endswith("+isolated") for s in src)
    ew = Measurement("mi210", "elementwise", {"num_elems": 4096, "inputs": 2, "elem_bytes": 4}, 2e-5,
                     stack="pytorch-eager", dtype="fp32")
    (a,), _, _ = predict_rows([ew])
    (b,), _, (s_b,) = predict_rows([dataclasses.replace(ew, timing="isolated")])
    assert a == b and s_b.endswith("+isolated")  # its 8.47 us dispatch is already in the price
    a100 = read_measurements(DATA / "gpu_isolated_op_timings.csv")
    assert a100 and all(r.device.startswith("a100") and r.timing == "isolated" for r in a100)
    p_a, _, s_a = predict_rows(a100)
    p_s, _, _ = predict_rows([dataclasses.replace(r, timing="stream") for r in a100])
    assert np.array_equal(p_a, p_s) and all(s.endswith("+isolated:unpriced") for s in s_a)


def test_bad_timing_is_one_line_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("device,kernel,shape,time_s,timing\na100-sxm-80gb,gemm,m=1;n=8;k=8,1e-5,alone\n")
    assert main(["validate", "--against", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "timing" in err[0] and "bad.csv" in err[0] and "isolated" in err[0]


def test_a100_fused_router_topk_row_does_not_depend_on_the_unstated_row_count():
    """vllm#54138 times its one-kernel E=60 top-4 router for 0 < M <= 64 rows without saying
    which M; the tuned top-k price must be the same over that range for the row to be
    usable (one workgroup per row, 64 rows fill well under one wave of 108 SMs)."""
    from hetsim.report.validation import predict_rows, read_measurements

    rows = [r for r in read_measurements(DATA / "gpu_small_kernels.csv")
            if r.device == "a100-pcie-80gb" and r.kernel == "topk"]
    assert len(rows) == 1
    base = rows[0]
    variants = [dataclasses.replace(base, shape={**base.shape, "batch": m}) for m in (1, 8, 32, 64)]
    pred, _, _ = predict_rows(variants)
    assert max(pred) - min(pred) < 1e-9, pred


def test_validate_against_writes_table_json_and_plot(tmp_path, capsys):
    csv_path = tmp_path / "m.csv"
    csv_path.write_text("device,kernel,shape,time_s,power_w,group,label\n"
                        "a100-sxm-80gb,gemm,m=1;n=4096;k=4096,2.0e-5,,a,x\n"
                        "a100-sxm-80gb,gemm,m=4096;n=4096;k=4096,6.0e-4,,b,x\n"
                        "mi210,topk,batch=1;num_items=256;k=8,3.16e-5,171,c,y\n")
    assert main(["validate", "--against", str(csv_path), "--out", str(tmp_path / "o"), "--json"]) == 0
    import json

    out = json.loads(capsys.readouterr().out)
    assert out["rows"] == 3 and {e["kernel"] for e in out["per_kernel"]} == {"gemm", "topk"}
    assert out["power"]["n"] == 1
    for ext in ("csv", "json", "png"):
        assert (tmp_path / "o" / f"validation.{ext}").stat().st_size > 0


def test_error_beyond_the_timer_step_is_reported_beside_the_plain_error(tmp_path):
    """A row timed in whole microseconds stands for anything within 0.5 us of it: the
    beyond-timer-step figure removes exactly that much, and no more, from each difference;
    rows without a resolution keep their plain error; files without the column get no
    such figure at all."""
    import numpy as np

    from hetsim.report.validation import Measurement, read_measurements, summarize

    rows = [Measurement("a100-sxm-80gb", "gemm", {"m": 1, "n": 8, "k": 8}, 10e-6, resolution_s=1e-6),
            Measurement("a100-sxm-80gb", "gemm", {"m": 1, "n": 8, "k": 8}, 10e-6, resolution_s=1e-6),
            Measurement("a100-sxm-80gb", "gemm", {"m": 1, "n": 8, "k": 8}, 10e-6)]
    pred = np.array([10.3e-6, 12e-6, 12e-6])  # inside the step; 1.5 us beyond it; untimed
    o = summarize(rows, pred)["overall"]
    assert o["max_abs_error"] == pytest.approx(0.2)
    assert o["median_abs_error"] == pytest.approx(0.2)
    assert o["median_abs_error_beyond_timer_step"] == pytest.approx(0.15)
    assert o["max_abs_error_beyond_timer_step"] == pytest.approx(0.2)  # the untimed row
    assert "median_abs_error_beyond_timer_step" not in summarize(rows[2:], pred[2:])["overall"]
    f = tmp_path / "r.csv"
    f.write_text("device,kernel,shape,time_s,resolution_s\n"
                 "a100-sxm-80gb,gemm,m=1;n=8;k=8,1e-5,1e-6\na100-sxm-80gb,gemm,m=1;n=8;k=8,1e-5,\n")
    assert [r.resolution_s for r in read_measurements(f)] == [1e-6, None]


def test_vidur_csv_states_a_timer_step_its_times_are_on(tmp_path):
    """``calibration.vidur --csv`` says the profiles were timed in whole microseconds; every
    time it writes is then an integer or half-integer (a median of an even number of
    samples) number of steps, which is what the claim rests on."""
    from calibration.vidur import write_validation_csv
    from hetsim.report.validation import read_measurements

    _vidur_subset(10**9)  # skips when the profiles are absent
    vid = ROOT.parent / "shared" / "reference" / "data" / "vidur-a100"
    vid = vid if vid.is_dir() else Path("/work/shared/reference/data/vidur-a100")
    out = tmp_path / "v.csv"
    write_validation_csv(sorted(vid.glob("*.mlp.csv"))[:1], out, "a100-sxm-80gb")
    rows = read_measurements(out)
    assert rows and all(r.resolution_s == 1e-6 for r in rows)
    halves = [2 * r.time_s / r.resolution_s for r in rows]
    assert all(abs(h - round(h)) < 1e-6 for h in halves)
    assert sum(round(h) % 2 == 0 for h in halves) > len(rows) / 2  # mostly whole steps


@pytest.mark.parametrize("value", ["-1e-6", "fast", "nan"])
def test_bad_resolution_is_one_line_exit_2(tmp_path, capsys, value):
    bad = tmp_path / "bad.csv"
    bad.write_text(f"device,kernel,shape,time_s,resolution_s\na100-sxm-80gb,gemm,m=1;n=8;k=8,1e-5,{value}\n")
    assert main(["validate", "--against", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "resolution_s" in err[0] and "bad.csv" in err[0]


def test_validate_against_bad_csv_is_one_line_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("device,kernel,shape,time_s\nmi210,topk,batch=x,1e-5\n")
    assert main(["validate", "--against", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "shape" in err[0] and "bad.csv" in err[0]


def test_gemm_tiles_leave_one_model_out_on_a_vidur_subset():
    """Held-out check of the tile/wave model, small enough for the suite: every 17th GEMM of
    the three shipped A100 Vidur files (all token counts, TP 1-8), tile parameters refitted
    without each model and the model's rows predicted, measured table detached. The bounds
    are what this subset gives, rounded up (per operator 4.5-5.6% median, 25-36% worst on
    2026-12-03; README 'GPU cost fidelity' has the full figures and why the worst stays above
    20%). The per-operator bounds catch a broken fit but barely separate the fitted
    partial-wave cost from whole waves (5.7% / 36% with whole waves); the 8K-32K-token bound
    does: those rows exist only for Llama-3-8B, so they are extrapolated from <= 4096 tokens,
    and come out 5.0% too fast on average with the fitted tail, 6.3% with whole waves."""
    import statistics

    from hetsim.report.validation import leave_one_out

    rows = _vidur_subset(17, grouped=True)
    pred, _, _ = leave_one_out(rows, "group")
    per_op: dict = {}
    for r, p in zip(rows, pred):
        per_op.setdefault(r.label, []).append(abs(p - r.time_s) / r.time_s)
    assert len(per_op) == 4
    for op, errs in per_op.items():
        assert statistics.median(errs) <= 0.057, (op, statistics.median(errs))
        assert max(errs) <= 0.37, (op, max(errs))
    big = [(p - r.time_s) / r.time_s for r, p in zip(rows, pred) if r.shape["m"] >= 8192]
    assert len(big) > 50
    assert statistics.mean(big) >= -0.057, statistics.mean(big)


def test_leave_one_out_never_fits_on_the_held_out_group():
    """The LOMO protocol of issue 10: a group's predictions come from parameters fitted on the
    other groups only. Scaling the held-out group's measured times must leave its own
    predictions bit-identical and move the others' (whose training set it is part of); the
    summary pools an operator's rows over every TP degree (label ``op@tpN``)."""
    from hetsim.report.validation import Measurement, leave_one_out, summarize

    def rows(scale_c: float):
        out = []
        for gi, g in enumerate("ABC"):
            for j, m in enumerate((1, 16, 96, 200, 640, 1500, 4096)):
                for tp, (n, k) in enumerate(((4096, 4096), (1536 + 512 * gi, 4096))):
                    # a smooth synthetic "measurement": weight streaming or 60% of peak
                    t = 4e-6 + max((m * k + k * n) * 2 / 1.5e12, 2 * m * n * k / 190e12)
                    out.append(Measurement("a100-sxm-80gb", "gemm", {"m": m, "n": n, "k": k},
                                           t * (scale_c if g == "C" else 1.0), group=g,
                                           label=f"op{j % 2}@tp{2 ** tp}"))
        return out

    base, scaled = rows(1.0), rows(3.0)
    p0, _, _ = leave_one_out(base, "group")
    p1, _, _ = leave_one_out(scaled, "group")
    held = [i for i, r in enumerate(base) if r.group == "C"]
    other = [i for i, r in enumerate(base) if r.group != "C"]
    assert all(p0[i] == p1[i] for i in held)
    assert max(abs(p1[i] / p0[i] - 1) for i in other) > 0.02  # 4% on 2026-12-03
    s = summarize(base, p0)
    assert sorted(x["label"] for x in s["per_kernel"]) == ["op0", "op1"]
    assert sum(x["n"] for x in s["per_kernel"]) == len(base)


def test_mi210_gemm_tiles_against_llmcompass_measured_matmuls():
    """The MI210's tile efficiencies are an [E] scaling of the A100 fit; LLMCompass's
    artifact has measured MI210 fp16 matmuls (tests/data/llmcompass_matmul.csv). On its
    compute-bound rows (above the ridge point at the weight-streaming rate the same harness
    measured, and >= 0.5 ms, so its ~20-30 us harness time is < 6%) the preset is
    -5.5% .. +1.4% off (2026-12-03); it must stay within 7%. The
    weight-streaming rows (M = 32-128 over a 12288x12288 fp16 weight) run at ~0.55 TB/s,
    under what the tile fit assumes; the pytorch-eager stack's cdna2 GEMM streaming rate
    (checked by the next test) prices them 20-29% fast, the tuned rate 33-47%."""
    from hetsim.loader import load_device_preset
    from hetsim.report.validation import predict_rows, read_measurements

    rows = [r for r in read_measurements(ROOT / "tests" / "data" / "llmcompass_matmul.csv")
            if r.device == "mi210"]
    dev = load_device_preset("mi210")

    def nbytes(s):
        return 2 * (s["m"] * s["k"] + s["k"] * s["n"] + s["m"] * s["n"])

    # the ridge point at the streaming rate measured by the same harness (the M = 32 row)
    m32 = next(r for r in rows if r.shape["m"] == 32)
    ridge = float(dev.peak_flop_per_s["fp16"]) * m32.time_s / nbytes(m32.shape)
    cb = [r for r in rows if 2 * r.shape["m"] * r.shape["n"] * r.shape["k"] / nbytes(r.shape) > ridge
          and r.time_s >= 0.5e-3]
    assert len(cb) >= 10
    pred, _, _ = predict_rows(cb, detach_tables=True)
    err = [p / r.time_s - 1 for p, r in zip(pred, cb)]
    assert max(abs(e) for e in err) <= 0.07, err


def _skinny(path, group=None, stack=None, m_max=256):
    from hetsim.report.validation import read_measurements

    return [r for r in read_measurements(DATA / path) if r.device == "mi210" and r.kernel == "gemm"
            and r.shape["m"] <= m_max and (group is None or r.group == group)
            and (stack is None or r.stack == stack)]


def _errors(rows, stack=None):
    from hetsim.report.validation import predict_rows

    if stack is not None:
        rows = [dataclasses.replace(r, stack=stack) for r in rows]
    pred, _, _ = predict_rows(rows, detach_tables=True)
    return [p / r.time_s - 1 for p, r in zip(pred, rows)]


def test_mi210_eager_skinny_gemms_stream_at_the_measured_rate():
    """Decode-sized GEMMs (M <= 256) under PyTorch eager on the MI210 against 22 public
    timings on a real MI210 (davetha/mi210-llm-stack docs/21: torch.matmul(x, W.t()) bf16,
    ROCm 7.14, four Qwen3-14B projections, M = 1-256, three runs of some shapes;
    tests/data/mi210_decode_gemm.csv). They stream the weights at 0.55-0.65 of STREAM; the
    eager stack's cdna2 GEMM memory efficiency (0.67, fitted to these rows' median) prices
    them -16%..+11%, median 3% (2026-12-03). Tolerance: each row within 20% (the issue's
    per-operator GEMM worst case; repeated runs of one shape in this source already differ
    by up to 8%: 71.6 vs 77.5 us) and median within 6%. The tile fit's own rate (0.965 of
    STREAM, an [E] copy of the A100's, which the tuned stack keeps) is 14-29% fast on every
    row with M <= 128 (median 21%; -8% at M = 256) and must fail this test."""
    rows = _skinny("mi210_decode_gemm.csv", group="davetha-qwen3-14b")
    assert len(rows) >= 20 and {r.stack for r in rows} == {"pytorch-eager"}
    err = _errors(rows)
    med = sorted(abs(e) for e in err)[len(err) // 2]
    assert max(abs(e) for e in err) <= 0.20 and med <= 0.06, err
    old = _errors(rows, stack="tuned")
    assert sorted(abs(e) for e in old)[len(old) // 2] > 0.15, old


def test_mi210_eager_gemm_rate_on_held_out_sources_and_a100_untouched():
    """Held out from the fit: LLMCompass's fp16 A @ B (12288x12288, M = 32-256, ROCm of
    2023, ~25 us harness) and davetha's docs/20 bf16 M = 16 (8192x8192) stream at ~0.45 of
    STREAM. The eager rate must move every one of them toward the measurement (the two
    sources disagree with the fit source by 20-30% at these square shapes, so they are not
    held to 20%: within 30%). The cdna2 entry must not leak to the A100 (its GEMMs are the
    Vidur fit: eager and tuned price them identically)."""
    held = _skinny("llmcompass_matmul.csv") + _skinny("mi210_decode_gemm.csv", group="davetha-int8-doc",
                                                       stack="pytorch-eager")
    assert len(held) >= 5
    eager, tuned = _errors(held), _errors(held, stack="tuned")
    assert all(abs(e) < abs(t) for e, t in zip(eager, tuned)), (eager, tuned)
    assert max(abs(e) for e in eager) <= 0.30, eager
    a100 = load_device_preset("a100-sxm-80gb")
    for shape in ({"m": 1, "n": 4096, "k": 4096}, {"m": 128, "n": 12288, "k": 12288}):
        assert _price(a100, "gemm", shape, stack="pytorch-eager").latency_s == \
            _price(a100, "gemm", shape, stack="tuned").latency_s


def test_mi210_eager_experts_stream_at_the_measured_skinny_gemm_rate():
    """An eager MoE runs each touched expert as F.linear calls on ~1 token: the same skinny
    hipBLASLt GEMMs as the Q3 rows. So the eager expert kernels on the MI210 stream weights
    at those rows' median rate (bytes over time less one 5 us launch, M <= 32: 0.64 of
    STREAM), within 5%; tuned keeps the device's GEMV rate. The study's own MI210 time for
    one DeepSeek-V3.2 routed layer at one token under PyTorch (3.593 ms, whole layer) bounds
    the priced router + top-k + experts from above; hetsim's price of it must not exceed it."""
    from hetsim.report.validation import read_measurements

    rows = [r for r in read_measurements(DATA / "mi210_decode_gemm.csv")
            if r.group == "davetha-qwen3-14b" and r.shape["m"] <= 32]
    dev = load_device_preset("mi210")
    stream = float(dev.memory.achievable_bandwidth_Bps)
    rates = sorted(2 * (s["m"] * s["k"] + s["k"] * s["n"] + s["m"] * s["n"]) / (r.time_s - 5e-6) / stream
                   for r in rows for s in [r.shape])
    measured = rates[len(rates) // 2]
    shape = {"tokens": 1, "hidden": 7168, "intermediate": 2048, "num_active": 8}
    for kernel, sh in (("expert_ffn", shape),
                       ("moe_experts", {"tokens": 1, "hidden": 7168, "intermediate": 2048, "top_k": 8,
                                        "experts_touched": 8})):
        c = _price(dev, kernel, sh, "fp16", stack="pytorch-eager")
        rate = c.mem_bytes / c.work_s / stream
        assert rate == pytest.approx(measured, rel=0.05), (kernel, rate, measured)
        t = _price(dev, kernel, sh, "fp16", stack="tuned")
        assert t.mem_bytes / t.work_s / stream > 0.9
    layer = sum(_price(dev, k, sh, dt, stack="pytorch-eager").latency_s for k, sh, dt in (
        ("router", {"tokens": 1, "hidden": 7168, "num_experts": 256}, "fp32"),
        ("topk", {"batch": 1, "num_items": 256, "k": 8}, "fp32"),
        ("moe_experts", {"tokens": 1, "hidden": 7168, "intermediate": 2048, "top_k": 8, "experts_touched": 8},
         "fp16")))
    study = next(r for r in read_measurements(DATA / "mi210_decode_gemm.csv")
                 if r.group == "heterollm-moe-l1" and r.stack == "pytorch-eager")
    assert layer <= study.time_s


_STUDY_LAYER = (("router", {"tokens": 1, "hidden": 7168, "num_experts": 256}, "fp32"),
                ("topk", {"batch": 1, "num_items": 256, "k": 8}, "fp32"),
                ("moe_experts", {"tokens": 1, "hidden": 7168, "intermediate": 2048, "top_k": 8,
                                 "experts_touched": 8}, "fp16"))


def _layer_s(dev, stack, tokens=1):
    """The study's routed MoE layer (router, top-k, experts) at *tokens* tokens, priced."""
    from hetsim.workloads.lm import experts_touched

    total = 0.0
    for k, sh, dt in _STUDY_LAYER:
        sh = dict(sh)
        for key in ("tokens", "batch"):
            if key in sh:
                sh[key] = tokens
        if "experts_touched" in sh:
            sh["experts_touched"] = experts_touched(tokens, 256, 8)
        if isinstance(stack, str):
            total += _price(dev, k, sh, dt, stack=stack).latency_s
        else:
            from hetsim.costs.gpu import price_gpu
            p = price_gpu(dev, k, sh, dt, stack)
            total += p.overhead_s + p.work_s
    return total


def test_mi210_eager_moe_layer_pays_the_reference_loop_dispatch():
    """The study's PyTorch MoE reference (HeteroLLM MoERef) runs, per touched expert, 19
    host-serialised eager ops (15 kernels, two index copies that synchronise the stream, two
    CPU ops), plus the gate's 18 and 4 per call: counted from the code, each at one host cost
    per op fitted to the study's row (3.593 ms, stack source D1). The row is the fit's, so
    this checks the count's wiring and tolerance, not the model's validity: 5% covers the
    study's own spread (min 3.525 / P90 3.640 ms, -1.9/+1.3%) and the op cost's rounding.
    Mutation: without the dispatch term the same layer is priced at about a quarter of it."""
    from hetsim.costs.stacks import load_stack
    from hetsim.report.validation import read_measurements

    dev = load_device_preset("mi210")
    study = next(r for r in read_measurements(DATA / "mi210_decode_gemm.csv")
                 if r.group == "heterollm-moe-l1" and r.stack == "pytorch-eager").time_s
    assert _layer_s(dev, "pytorch-eager") == pytest.approx(study, rel=0.05)
    eager = load_stack("pytorch-eager")
    bare = eager.model_copy(update={"kernels": {
        k: e.model_copy(update={"dispatch_by_family": {}}) for k, e in eager.kernels.items()}})
    assert _layer_s(dev, bare) < 0.5 * study
    # the dispatch term is what carries it: 174 counted ops at the entry's op cost
    from hetsim.costs.gpu import price_gpu
    ops = sum(price_gpu(dev, k, sh, dt, eager).dispatch_ops for k, sh, dt in _STUDY_LAYER)
    assert ops == 18 + 4 + 8 * 19


@pytest.mark.parametrize("tokens", [1, 8, 64])
def test_tuned_moe_layer_stays_faster_than_eager_and_a100_keeps_its_price(tokens):
    """A tuned stack (fused/grouped experts, no per-expert host loop) must stay faster than
    the eager loop per layer at any batch; the dispatch term is cdna2-only (the only GPU with
    a measured eager layer), so A100 eager MoE prices have no dispatch ops."""
    dev = load_device_preset("mi210")
    tuned, eager = _layer_s(dev, "tuned", tokens), _layer_s(dev, "pytorch-eager", tokens)
    assert tuned < eager
    from hetsim.costs.gpu import price_gpu
    from hetsim.costs.stacks import load_stack

    a100 = load_device_preset("a100-sxm-80gb")
    for k, sh, dt in _STUDY_LAYER:
        assert price_gpu(a100, k, sh, dt, load_stack("pytorch-eager")).dispatch_ops == 0
