"""Roofline pricing for GPUs and CPUs: launch overhead + max(compute time, memory time).

Achieved rates are the device's peak FLOP/s for the task's datatype and its achievable memory
bandwidth, each scaled by the efficiency of the call's class (GEMM, GEMV, attention, top-k,
gather, ...), which the device file takes from published measurements. The class is the
kernel's, corrected by arithmetic intensity (:mod:`hetsim.costs.intensity`).
"""

from __future__ import annotations

from ..config.device import ClassEfficiency, DeviceSpec
from ..errors import CostLookupError, DtypeError
from ..kernels import get_kernel, kernel_class
from .intensity import bound_of, class_by_intensity


def class_and_bound(device: DeviceSpec, kernel: str, shape, dtype: str, flop: float,
                    nbytes: float) -> tuple[str, str | None]:
    """The class a call is priced as, and what bounds it (``compute``/``memory``/None)."""
    bound = bound_of(device, flop, nbytes, dtype)
    return class_by_intensity(kernel_class(kernel, shape), bound), bound


def roofline_work(device: DeviceSpec, kernel: str, cls: str, flop: float, nbytes: float,
                  dtype: str, eff: ClassEfficiency | None = None) -> float:
    """``max(compute time, memory time)`` in s at the class's efficiencies (or *eff*)."""
    eff = eff or device.efficiency.get(cls) or device.efficiency.get("default")
    if eff is None:
        raise CostLookupError(
            f"device {device.name!r} has no roofline efficiency for kernel class {cls!r} "
            f"(kernel {kernel!r}); add efficiency.{cls} or efficiency.default to the device")
    compute_s = 0.0
    if flop > 0:
        peak = device.peak_flop_per_s.get(dtype)
        if peak is None:
            raise DtypeError(
                f"device {device.name!r} has no peak_flop_per_s for dtype {dtype!r} (kernel "
                f"{kernel!r}); known: {', '.join(sorted(device.peak_flop_per_s)) or 'none'}",
                dtype=dtype)
        if eff.compute is None:
            raise CostLookupError(
                f"device {device.name!r}: efficiency.{cls} has no 'compute' fraction, but kernel "
                f"{kernel!r} does {flop:g} FLOP")
        compute_s = flop / (float(peak) * float(eff.compute))
    mem_s = nbytes / (float(device.memory.achievable_bandwidth_Bps) * float(eff.memory))
    return max(compute_s, mem_s)


def roofline_cost(device: DeviceSpec, kernel: str, shape, dtype: str):
    """Return ``(overhead_s, work_s, mem_bytes, flop, kernel_class)`` of one call (one
    launch, no software stack)."""
    flop, nbytes = get_kernel(kernel).work(shape)
    cls, _ = class_and_bound(device, kernel, shape, dtype, flop, nbytes)
    work = roofline_work(device, kernel, cls, flop, nbytes, dtype)
    return float(device.launch_overhead_s), work, nbytes, flop, cls
