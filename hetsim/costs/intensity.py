"""Kernel class from arithmetic intensity: what bounds a call, not what it is called.

A call whose operations per byte lie below the device's *ridge point* (peak FLOP/s over
bandwidth, both at the GEMM class's achieved fractions) cannot keep the compute units busy;
it streams memory, and it draws the power of a memory-bound kernel. So an ``expert_ffn`` at
one token per expert (a weight stream, 1 FLOP/B) is priced and powered as a GEMV, and a
``gemm`` with many rows is a GEMM whatever ``m <= 8`` rule its name carries. Only the two
dense classes swap (``gemm`` <-> ``gemv``); every other class keeps its efficiencies and is
marked ``bound='compute'`` or ``'memory'``, which selects its power.
"""

from __future__ import annotations

from ..config.device import DeviceSpec

#: classes whose nominal behaviour is compute-bound / their memory-bound counterpart
COMPUTE_CLASS, MEMORY_CLASS = "gemm", "gemv"


def ridge_point(device: DeviceSpec, dtype: str) -> float | None:
    """FLOP per byte above which a call is compute-bound on *device* (None: no roofline)."""
    peak = device.peak_flop_per_s.get(dtype)
    eff = device.efficiency.get(COMPUTE_CLASS) or device.efficiency.get("default")
    bw = float(device.memory.achievable_bandwidth_Bps)
    if peak is None or eff is None or eff.compute is None or bw <= 0:
        return None
    return float(peak) * float(eff.compute) / (bw * float(eff.memory))


def bound_of(device: DeviceSpec, flop: float, nbytes: float, dtype: str) -> str | None:
    """``'compute'`` or ``'memory'`` by arithmetic intensity (None when the device has no ridge)."""
    ridge = ridge_point(device, dtype)
    if ridge is None:
        return None
    intensity = flop / nbytes if nbytes > 0 else float("inf")
    return "compute" if intensity >= ridge else "memory"


def class_by_intensity(nominal: str, bound: str | None) -> str:
    """The class a call is priced and powered as (see module doc)."""
    if bound == "memory" and nominal == COMPUTE_CLASS:
        return MEMORY_CLASS
    if bound == "compute" and nominal == MEMORY_CLASS:
        return COMPUTE_CLASS
    return nominal
