"""Device presets: every number sourced, GPU costs inside their physical bounds, and the A100
model reproducing Vidur's measured GEMM times."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from hetsim import catalog
from hetsim.costs.roofline import roofline_cost
from hetsim.devices_cli import check_file
from hetsim.loader import load_device_preset, load_link_preset

ROOT = Path(__file__).resolve().parents[1]
GPUS = ["mi210", "a100-pcie-80gb", "a100-sxm-80gb", "h100-sxm", "h200"]


def test_the_issue_presets_exist_and_validate():
    devices, links = set(catalog.preset_names("devices")), set(catalog.preset_names("links"))
    assert {"mi210", "a100-pcie-80gb", "a100-sxm-80gb", "h100-sxm", "h200", "u55c", "v80",
            "host-cpu"} <= devices
    assert {"pcie-gen3-x16", "pcie-gen4-x16", "pcie-gen5-x16", "p2p-host-jump", "cxl"} <= links
    for name in devices:
        load_device_preset(name)
    for name in links:
        load_link_preset(name)


@pytest.mark.parametrize("kind", ["devices", "links"])
def test_every_number_in_every_preset_has_a_source(kind):
    for name in catalog.preset_names(kind):
        path = catalog.load_preset(kind, name).path
        assert check_file(path, kind) == [], path


@pytest.mark.parametrize("gpu", GPUS)
def test_gemv_and_gemm_stay_within_bandwidth_and_peak(gpu):
    dev = load_device_preset(gpu)
    bw, peak = float(dev.memory.achievable_bandwidth_Bps), float(dev.peak_flop_per_s["bf16"])
    for mbytes in (1, 64, 512):  # GEMV over N MB of bf16 weights: memory-bound
        k = 8192
        n = mbytes * 10**6 // (2 * k)
        overhead, work, nbytes, flop, cls = roofline_cost(dev, "gemm", {"m": 1, "k": k, "n": n}, "bf16")
        assert cls == "gemv"
        assert nbytes / (overhead + work) <= bw * (1 + 1e-9)
        assert work >= flop / peak
        assert nbytes / work >= 0.5 * bw, "a large GEMV should stream near the achievable rate"
    overhead, work, nbytes, flop, cls = roofline_cost(dev, "gemm", {"m": 8192, "k": 8192, "n": 8192}, "bf16")
    assert cls == "gemm"
    assert flop / (overhead + work) <= peak
    assert flop / work >= 0.5 * peak, "a large GEMM should run near peak"


def test_a100_roofline_reproduces_vidur_measured_gemms_within_15_percent():
    table = json.loads((ROOT / "device_models" / "tables" / "a100-vidur-gemm.json").read_text())
    points = table["kernels"]["gemm"]["points"]
    assert len(points) > 100
    for sku in ("a100-sxm-80gb",):
        dev = load_device_preset(sku)
        errs = []
        for p in points:
            overhead, work, *_ = roofline_cost(dev, "gemm", p["shape"], "bf16")
            errs.append(abs(overhead + work - p["median_s"]) / p["median_s"])
        assert statistics.median(errs) <= 0.15, f"{sku}: median error {statistics.median(errs):.3f}"
        by_tokens = {}
        for p, e in zip(points, errs):
            by_tokens.setdefault(p["shape"]["m"], []).append(e)
        # across token counts: no count may be off by more than 30% in median
        assert max(statistics.median(v) for v in by_tokens.values()) <= 0.30


def test_p2p_fit_matches_the_study_formula_below_128_kib_and_is_continuous():
    lk = load_link_preset("p2p-host-jump")
    for kib in (0.25, 1, 4, 16, 64, 128):
        n = kib * 1024
        bw_gib = 0.0572196 * kib + 0.146988822  # the study's fit, GB = 2^30 B
        assert lk.forward.time_s(n) == pytest.approx(n / (bw_gib * 2**30), rel=1e-6)
    at, after = lk.forward.time_s(128 * 1024), lk.forward.time_s(128 * 1024 + 1)
    assert after - at < 1e-8  # smoothed: no jump at the 128 KiB break (raw fit jumps 16 -> 31 us)
    assert lk.forward.time_s(64 * 2**20) == pytest.approx(64 * 2**20 / (4 * 2**30), rel=0.01)
