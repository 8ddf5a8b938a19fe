"""Fit a GPU's tile/wave GEMM parameters (``gemm_tiles`` in its device file) from measured
GEMMs in the ``hetsim validate --against`` CSV format, and print the YAML block to paste.

    python -m calibration.vidur --csv a100-sxm-80gb a100.csv shared/reference/data/vidur-a100/*.mlp.csv
    python -m calibration.gemm_tiles a100-sxm-80gb 108 a100.csv

The candidate tiles and k splits are the ones CUTLASS/cuBLAS Ampere and Hopper kernels use
(256x128, 128x256, 128x128, 128x64, 64x128, 64x64 output tiles; split-k up to 16); the
number of compute units is the GPU's SM/CU count (an argument, cited in the device file).
``wave_tail`` (how much a partial last wave costs) is fitted with the rest.
"""

from __future__ import annotations

import sys

import numpy as np

from hetsim.costs.gemm_tiles import fit_tiles
from hetsim.loader import load_device_preset
from hetsim.report.validation import read_measurements

TILES = [(256, 128), (128, 256), (128, 128), (128, 64), (64, 128), (64, 64)]
SPLIT_K = (1, 2, 3, 4, 6, 8, 12, 16)


def template(compute_units: int) -> dict:
    """Starting parameters: the candidate tiles, efficiencies to be fitted."""
    return {"compute_units": int(compute_units),
            "tiles": [{"m": m, "n": n, "efficiency": 0.7} for m, n in TILES],
            "split_k": list(SPLIT_K), "k_overhead": 64.0, "overlap_exponent": 2.0,
            "memory_efficiency": 0.9, "overhead_s": 5e-6, "wave_tail": 0.5}


def fit_rows(device, rows, compute_units: int, dtype: str = "bf16") -> dict:
    """Fit ``gemm_tiles`` of *device* (a DeviceSpec) to measured GEMM *rows*."""
    g = [r for r in rows if r.kernel == "gemm"]
    m = np.array([r.shape["m"] for r in g])
    n = np.array([r.shape["n"] for r in g])
    k = np.array([r.shape["k"] for r in g])
    t = np.array([r.time_s for r in g])
    return fit_tiles(template(compute_units), float(device.peak_flop_per_s[dtype]),
                     float(device.memory.achievable_bandwidth_Bps), m, n, k, t)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 3:
        print("usage: python -m calibration.gemm_tiles DEVICE COMPUTE_UNITS FILE.csv...", file=sys.stderr)
        return 2
    dev = load_device_preset(argv[0])
    rows = [r for f in argv[2:] for r in read_measurements(f)]
    p = fit_rows(dev, rows, int(argv[1]))
    print("gemm_tiles:")
    print(f"  compute_units: {p['compute_units']}")
    print("  tiles:")
    for t in p["tiles"]:
        print(f"    - {{m: {t['m']}, n: {t['n']}, efficiency: {t['efficiency']}}}")
    print(f"  split_k: {p['split_k']}")
    for key in ("k_overhead", "overlap_exponent", "memory_efficiency", "overhead_s", "wave_tail"):
        print(f"  {key}: {p[key]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
