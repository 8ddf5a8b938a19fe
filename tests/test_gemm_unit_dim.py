"""GEMMs with a unit dimension (m or n = 1) and the GEMM operand layout key ``nn``.

The held-out KernelBench figures for both live in tests/test_kernelbench.py; here: how the
stack routes such calls, what the layout changes, and bad input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hetsim.config.stack import StackSpec
from hetsim.costs.gpu import price_gpu
from hetsim.costs.stacks import load_stack
from hetsim.errors import ConfigError, GraphError
from hetsim.kernels import get_kernel
from hetsim.loader import load_device_preset, validate

EAGER = load_stack("pytorch-eager")


def _t(dev, shape, dtype="fp32", stack=EAGER):
    p = price_gpu(load_device_preset(dev), "gemm", shape, dtype, stack)
    return p.overhead_s + p.work_s, p


@pytest.mark.parametrize("dev", ["a100-sxm-80gb", "h100-sxm"])
def test_cuda_fp32_gemv_streams_the_matrix_once(dev):
    """cuBLAS's GEMV kernel: one launch plus the operands at the device's gemv memory rate,
    not two 32-row tiles each running the whole k loop."""
    d = load_device_preset(dev)
    t, p = _t(dev, {"m": 1, "n": 256, "k": 131072, "elem_bytes": 4})
    assert p.source.startswith("gemv-kernel") and p.kernel_class == "gemv"
    rate = float(d.memory.achievable_bandwidth_Bps) * float(d.efficiency["gemv"].memory)
    assert t == pytest.approx(float(d.launch_overhead_s) + p.mem_bytes / rate, rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 1 << 16), k=st.integers(1, 1 << 20),
       dev=st.sampled_from(["a100-sxm-80gb", "h100-sxm", "mi210"]))
def test_unit_dimension_is_symmetric_and_never_cheaper_than_streaming(n, k, dev):
    """m = 1 and n = 1 are the same matrix-vector product; either way the call takes at least
    one launch plus its bytes at the device's achievable bandwidth."""
    a, pa = _t(dev, {"m": 1, "n": n, "k": k, "elem_bytes": 4})
    b, _ = _t(dev, {"m": n, "n": 1, "k": k, "elem_bytes": 4})
    assert a == pytest.approx(b, rel=1e-12)
    d = load_device_preset(dev)
    assert a >= pa.mem_bytes / float(d.memory.achievable_bandwidth_Bps)


def test_rocblas_fp32_unit_dimension_runs_the_k_loop_serially():
    """MI210 fp32 m = 1: Tensile tiles with one k split, priced as whole waves, so time grows
    with k like one tile's k loop on one CU (U2), far above the matrix stream."""
    t1, p = _t("mi210", {"m": 1, "n": 256, "k": 65536, "elem_bytes": 4})
    t2, _ = _t("mi210", {"m": 1, "n": 256, "k": 131072, "elem_bytes": 4})
    assert p.source.startswith("gemm-tiles")
    assert t2 / t1 == pytest.approx(2.0, rel=0.02)
    d = load_device_preset("mi210")
    assert t2 > 10 * p.mem_bytes * 2 / float(d.memory.achievable_bandwidth_Bps)
    # bf16 keeps hipBLASLt's tile price with every k split (Q3)
    _, pb = _t("mi210", {"m": 1, "n": 7168, "k": 5120}, dtype="bf16")
    tuned = price_gpu(load_device_preset("mi210"), "gemm", {"m": 1, "n": 7168, "k": 5120}, "bf16",
                      load_stack("tuned"))
    assert pb.source.startswith("gemm-tiles") and tuned.source.startswith("gemm-tiles")


def test_batched_and_wide_calls_keep_the_tile_model():
    for shape in ({"m": 2, "n": 256, "k": 4096, "elem_bytes": 4},):
        assert _t("a100-sxm-80gb", shape)[1].source.startswith("gemm-tiles")
    p = price_gpu(load_device_preset("a100-sxm-80gb"), "bmm",
                  {"batch": 4, "m": 1, "n": 256, "k": 4096, "elem_bytes": 4}, "fp32", EAGER)
    assert p.source.startswith("gemm-tiles")


def test_layout_decides_the_mi210_row_stride_factor():
    """The factor needs both operands' rows at a multiple of 128 KiB: F.linear's layout (nt)
    at k = 131072 fp32 has both; A @ B (nn) with n = 256 has only A's."""
    d = load_device_preset("mi210")
    eff = float(d.gemm_tiles_by_dtype["fp32"].alias_efficiency)
    base = {"m": 256, "n": 256, "k": 131072, "elem_bytes": 4}
    nt, _ = _t("mi210", base)
    nn, _ = _t("mi210", {**base, "nn": 1})
    default, _ = _t("mi210", {**base, "nn": 0})
    assert default == nt and nt > nn * 1.5
    # nn with B's rows at a multiple too: the factor applies again
    wide = {"m": 256, "n": 32768, "k": 131072, "elem_bytes": 4}
    assert _t("mi210", {**wide, "nn": 1})[0] == pytest.approx(_t("mi210", wide)[0], rel=1e-12)
    assert 0 < eff < 1
    # away from the stride the layout changes nothing
    other = {"m": 256, "n": 256, "k": 100000, "elem_bytes": 4}
    assert _t("mi210", {**other, "nn": 1})[0] == _t("mi210", other)[0]


@pytest.mark.parametrize("kernel", ["gemm", "bmm"])
def test_bad_layout_is_refused_with_the_allowed_values(kernel):
    shape = {"m": 2, "n": 2, "k": 2, "nn": 2, **({"batch": 1} if kernel == "bmm" else {})}
    with pytest.raises(GraphError, match=r"shape\['nn'\]=2 is not allowed; allowed: 0 \(nt.*1 \(nn"):
        get_kernel(kernel).resolve(shape)


def test_stack_unit_dim_bad_input():
    base = {"name": "x", "kernels": {}}
    with pytest.raises(ConfigError, match="only GEMM-shaped kernels"):
        validate(StackSpec, {**base, "kernels": {"softmax": {"unit_dim_by_family": {
            "ampere": {"kernel": "gemv"}}}}}, file="x.yaml")
    with pytest.raises(ConfigError, match="split_k is required"):
        validate(StackSpec, {**base, "kernels": {"gemm": {"unit_dim_by_family": {
            "cdna2": {"kernel": "tiles"}}}}}, file="x.yaml")
    with pytest.raises(ConfigError, match="kernel"):
        validate(StackSpec, {**base, "kernels": {"gemm": {"unit_dim_by_family": {
            "cdna2": {"kernel": "gemvx"}}}}}, file="x.yaml")
