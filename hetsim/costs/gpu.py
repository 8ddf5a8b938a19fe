"""Price one call on a GPU or CPU: software stack, small-kernel floor, GEMM tiles, roofline.

``time = launches x launch_overhead + dispatch + max(floor, work)`` where *dispatch* is the
stack's host-serialised eager ops around the call (ops x op_s; e.g. the PyTorch MoE loop's
per-expert ops), where *launches* and *floor* come
from the device's software stack for the call's class (or kernel) (the floor grows by one
``wave_s`` per extra wave of rows where the stack gives each row one workgroup), and *work* is

* for GEMM-shaped kernels on a device with ``gemm_tiles``: the tile/wave model
  (:mod:`hetsim.costs.gemm_tiles`; its fitted per-call overhead replaces one launch); where
  the stack sets a memory efficiency for the call it replaces the fit's
  ``memory_efficiency`` (e.g. PyTorch eager on CDNA2 runs skinny GEMMs on MFMA macro-tile
  kernels that stream the weights slower than a tuned skinny kernel); the tile compute
  efficiencies stay the fit's;
* otherwise the roofline at the class's efficiencies (the stack's, where it sets them),
  over the bytes of the stack's implementation variant (e.g. the unfused indexer's
  ``[heads x keys]`` logits written and read back).

A GEMM-shaped call with a unit free dimension (``m`` or ``n`` = 1, one GEMM per launch) runs
as the stack's ``unit_dim_by_family`` says: on a matrix-vector kernel (cuBLAS hands such calls
to its gemv kernels), priced as one stream of the operands at the device's ``gemv`` class
efficiencies, or on the tile kernels with only the k splits the library uses there (rocBLAS's
plain ``?gemm`` reaches Tensile with a length-one output tile and runs the whole k loop in it;
its few tiles are priced as whole waves, each at its own unit's rate).

Row kernels the stack runs one thread block per row (``row_latency_by_family``) take at least
their latency bound: a few long rows keep only a few blocks, each waiting on one load at a time.

The class is corrected by arithmetic intensity (:mod:`hetsim.costs.intensity`).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config.device import DeviceSpec
from ..config.stack import StackSpec
from ..kernels import get_kernel, kernel_class
from .gemm_tiles import gemm_time
from .roofline import class_and_bound, roofline_work

#: kernels that are one GEMM launch: kernel -> full shape -> (m, n, k, batch)
GEMM_SHAPED = {
    "gemm": lambda s: (s["m"], s["n"], s["k"], 1),
    "router": lambda s: (s["tokens"], s["num_experts"], s["hidden"], 1),
    "bmm": lambda s: (s["m"], s["n"], s["k"], s["batch"]),
}


def isolated_extra_s(device: DeviceSpec, kernel: str, cls: str, shape: dict, dtype: str,
                     tile_priced: bool) -> float | None:
    """Host time a call timed alone (events around one eager call) holds beyond its stream
    price; None where it is not known for *device*.

    A GEMM priced by a tile fit, or handed to the library's GEMV kernel (the same eager
    ``mm`` call on the host), adds the fit's ``isolated_s`` (None where the fit has none);
    any other call the stack's isolated-call host time for the GPU family, less the dispatch
    its price already carries (*shape* is the call's resolved shape)."""
    if tile_priced:
        gt = device.gemm_tiles_by_dtype.get(dtype) or device.gemm_tiles
        if gt is None or kernel not in GEMM_SHAPED:
            return None
        return float(gt.isolated_s) or None
    if device.stack is None:
        return None
    from .stacks import load_stack

    return load_stack(device.stack).isolated_extra_s(kernel, cls, device.family, shape)


def _row_latency_s(device: DeviceSpec, kernel: str, spec, shape: dict, stack: StackSpec | None) -> float:
    """The stack's one-block-per-row latency bound of the call (0 where the stack, the device's
    memory latency or its compute-unit count is not given). The shape is resolved only where a
    bound applies: every other roofline-priced call skips that work."""
    if stack is None:
        return 0.0
    rl = stack.row_latency(kernel, device.family)
    lat = device.memory.load_latency_s
    units = device.gemm_tiles.compute_units if device.gemm_tiles is not None else None
    if rl is None or lat is None or not units:
        return 0.0
    full = spec.resolve(shape)
    return rl.time_s(full["rows"], full["cols"], full.get("elem_bytes", 2), units, float(lat))


@dataclass(frozen=True)
class Priced:
    """What :func:`price_gpu` found for one call."""

    overhead_s: float
    work_s: float
    mem_bytes: float
    flop: float
    kernel_class: str
    bound: str | None
    source: str
    launches: int
    dispatch_ops: int = 0


def price_gpu(device: DeviceSpec, kernel: str, shape, dtype: str,
              stack: StackSpec | None = None) -> Priced:
    """Price one call of *kernel* at *shape* on *device* under *stack* (see module doc)."""
    spec = get_kernel(kernel)
    nominal = kernel_class(kernel, shape)
    family = device.family
    variant: dict = {}
    if stack is not None:
        full = spec.resolve(shape)
        _, _, variant, _ = stack.entry(kernel, nominal, family, full)
        variant = {k: v for k, v in variant.items() if k in full}
    shape2 = {**dict(shape), **variant}
    flop, nbytes = spec.work(shape2)
    cls, bound = class_and_bound(device, kernel, shape2, dtype, flop, nbytes)
    launches, floor, eff = 1, 0.0, None
    if stack is not None:
        launches, floor, _, eff = stack.entry(kernel, cls, family)
        waves = stack.row_waves(kernel, cls, family)
        rows = spec.resolve(shape2).get("batch") if waves is not None else None
        if rows:
            floor += (-(-int(rows) // int(float(waves.rows_per_wave))) - 1) * float(waves.wave_s)
    launch = float(device.launch_overhead_s)
    gt = device.gemm_tiles_by_dtype.get(dtype)
    own = gt is not None
    gt = gt if own else device.gemm_tiles
    peak = device.peak_flop_per_s.get(dtype)
    unit = gemm = None
    if kernel in GEMM_SHAPED:
        full = spec.resolve(shape2)
        gemm = m, n, k, batch = GEMM_SHAPED[kernel](full)
        if stack is not None and spec.regime(full) == "gemv" and k > 0:
            unit = stack.unit_dim(kernel, family, dtype)
    if unit is not None and unit.kernel == "gemv":
        cls = "gemv"  # a matrix-vector kernel whatever the name: priced and powered as one
        overhead = launches * launch
        work = max(floor, roofline_work(device, kernel, cls, flop, nbytes, dtype))
        source = "gemv-kernel"
    elif gt is not None and gemm is not None and peak is not None:
        p = {**gt.model_dump(), "tiles": [t.model_dump() for t in gt.tiles]}
        if eff is not None and not own:  # the stack's library streams weights at its own rate
            p["memory_efficiency"] = float(eff.memory)
        t = gemm_time(p, float(peak), float(device.memory.achievable_bandwidth_Bps), m, n, k,
                      full.get("elem_bytes", 2), batch, full.get("nn", 0),
                      unit.split_k if unit is not None else None, whole_waves=unit is not None)
        overhead = float(gt.overhead_s) + (launches - 1) * launch
        work, source = max(floor, t - float(gt.overhead_s)), "gemm-tiles"
    else:
        overhead = launches * launch
        work = max(floor, roofline_work(device, kernel, cls, flop, nbytes, dtype, eff))
        source = "roofline"
        lat = _row_latency_s(device, kernel, spec, shape2, stack)
        if lat > work:
            work, source = lat, "row-latency"
    ops = 0
    if stack is not None:
        d = stack.dispatch(kernel, cls, family)
        if d is not None:
            ops = d.ops_for(spec.resolve(shape2))
            overhead += ops * float(d.op_s)
        source += f"@{stack.name}"
    return Priced(overhead, work, nbytes, flop, cls, bound, source, launches, ops)
