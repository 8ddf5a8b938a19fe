"""The cost model front: pick a source per (device, kernel) and cache the answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..config.device import DeviceSpec
from ..errors import CostLookupError
from ..graph import Task
from ..kernels import get_kernel, kernel_class
from .gpu import price_gpu
from .roofline import class_and_bound


@dataclass(frozen=True)
class KernelCost:
    """Cost of one kernel call on one device, run alone.

    Attributes
    ----------
    overhead_s : float
        Launch / invocation time in s; the engine is held, no memory traffic.
    work_s : float
        Duration of the work phase alone in s.
    mem_bytes : float
        Device-memory traffic of the work phase in B (shared-bandwidth demand).
    flop : float
        Operations of the call.
    extra_power_w : float
        Power in W this call adds above the device's idle power while it runs. For a device
        priced per kernel class it is ``(class power - idle) / engines`` (the class power is
        the board's draw with every engine busy); for an FPGA with a dynamic power model it
        is the design's logic power plus its HBM traffic times the energy per byte.
    kernel_class : str
        Efficiency class of the call, corrected by arithmetic intensity (a GEMM below the
        device's ridge point is a GEMV).
    source : str
        Where the cost came from (``roofline``, ``fpga:<design>``, ``table:<file>``).
    extrapolated : bool
        True when a calibrated table was used outside its measured range.
    """

    overhead_s: float
    work_s: float
    mem_bytes: float
    flop: float
    extra_power_w: float
    kernel_class: str
    source: str
    extrapolated: bool = False
    bound: str | None = None  # 'compute' / 'memory' by arithmetic intensity (None: no ridge)
    stack: str | None = None  # GPU software stack that priced the call

    @property
    def latency_s(self) -> float:
        """Uncontended duration in s."""
        return self.overhead_s + self.work_s


FpgaEstimator = Callable[[str, dict, dict], object]


def _fpga_estimator() -> FpgaEstimator | None:
    try:
        from ..fpga_kernels import estimate  # provided by the HLS kernels' cycle models
    except ImportError:  # pragma: no cover - the package ships with hetsim
        return None
    return estimate


def channel_param(device: DeviceSpec) -> dict:
    """The FPGA's per-pseudo-channel bandwidth as the cycle models' ``channel_Bps``.

    A channel streams at most its share of the board's achievable HBM bandwidth
    (``memory.achievable_bandwidth_Bps / fpga.num_hbm_ports``), so a what-if that lowers the
    board's bandwidth slows the HLS designs too; ``fpga.channel_bandwidth_Bps`` can only lower
    it further. In the shipped presets the two are equal (the per-channel figure is the
    all-channel measurement divided by the channel count).
    """
    fpga = device.fpga
    share = float(device.memory.achievable_bandwidth_Bps) / int(fpga.num_hbm_ports)
    ch = fpga.channel_bandwidth_Bps
    return {"channel_Bps": share if ch is None else min(float(ch), share)}


class CostModel:
    """Prices tasks on devices; one instance per simulation (it caches per call shape).

    Parameters
    ----------
    tables : mapping, optional
        device name -> loaded calibrated tables (see :mod:`hetsim.costs.tables`).
    """

    def __init__(self, tables: dict[str, list] | None = None):
        self.tables = tables or {}
        self._cache: dict[tuple, KernelCost] = {}
        self._fit_checked: set[str] = set()

    def price(self, task: Task, device: DeviceSpec) -> KernelCost:
        """Return the :class:`KernelCost` of *task* on *device*."""
        if task.kernel is None:
            raise CostLookupError(f"task {task.name!r} has no kernel to price")
        key = (device.name, device.stack, task.kernel, tuple(sorted(task.shape.items())), task.dtype)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = self._price(task, device)
        return hit

    def _power(self, device: DeviceSpec, cls: str, bound: str | None = None) -> float:
        """Power above idle per engine. A memory-bound call draws its class's power (or the
        GEMV's, the measured weight-streaming power), a compute-bound one the GEMM's (or the
        board's active power), whatever the kernel is called."""
        cw, active = device.power.class_active_w, float(device.power.active_w)
        if bound == "compute":
            board = cw.get("gemm", active)
        elif bound == "memory":
            board = cw.get(cls, cw.get("gemv", active))
        else:
            board = cw.get(cls, active)
        return (float(board) - float(device.power.idle_w)) / device.num_engines

    def _stack(self, device: DeviceSpec):
        if device.stack is None:
            return None
        from .stacks import load_stack

        return load_stack(device.stack)

    def _price(self, task: Task, device: DeviceSpec) -> KernelCost:
        kernel, shape = task.kernel, dict(task.shape)
        outside = None  # a table's answer beyond its measured range, kept as a last resort
        for table in self.tables.get(device.name, ()):
            if table.has(kernel):
                seconds, extrap = table.predict(kernel, shape)
                flop, nbytes = get_kernel(kernel).work(shape)
                cls, bound = class_and_bound(device, kernel, shape, task.dtype, flop, nbytes)
                cost = KernelCost(0.0, seconds, nbytes, flop, self._power(device, cls, bound), cls,
                                  f"table:{table.name}", extrap, bound, device.stack)
                if not extrap:
                    return cost  # measured data wins inside its range
                outside = outside or cost
        if device.fpga is not None and kernel in device.fpga.kernels:
            return self._fpga(task, device)
        if device.peak_flop_per_s or device.efficiency:
            try:
                p = price_gpu(device, kernel, shape, task.dtype, self._stack(device))
            except CostLookupError:
                if outside is None:
                    raise
            else:
                return KernelCost(p.overhead_s, p.work_s, p.mem_bytes, p.flop,
                                  self._power(device, p.kernel_class, p.bound), p.kernel_class,
                                  p.source, False, p.bound, device.stack)
        if outside is not None:
            return outside  # only the table knows this kernel: use it, flagged as extrapolated
        hosted = sorted(device.fpga.kernels) if device.fpga else []
        raise CostLookupError(
            f"device {device.name!r} cannot run kernel {kernel!r} (task {task.name!r}); "
            f"it hosts: {', '.join(hosted) or 'nothing'}")

    def _fpga(self, task: Task, device: DeviceSpec) -> KernelCost:
        fpga = device.fpga
        if device.name not in self._fit_checked:
            from .fpga_fit import check_fpga_placement

            check_fpga_placement(device)  # every hosted design x its units must fit the card
            self._fit_checked.add(device.name)
        design = fpga.kernels[task.kernel]
        estimate = _fpga_estimator()
        if estimate is None:  # pragma: no cover
            raise CostLookupError("FPGA cycle models (hetsim.fpga_kernels) are not installed")
        if float(fpga.port_bytes_per_cycle) != 64:
            raise CostLookupError(
                f"device {device.name!r}: the HLS cycle models assume 64 B HBM beats, the device "
                f"has port_bytes_per_cycle={float(fpga.port_bytes_per_cycle):g}")
        params = {"clock_hz": float(fpga.clock_hz), **channel_param(device), **design.params}
        shape = dict(task.shape)
        units = design.compute_units
        batch = int(shape.get("batch", 1))
        if units > 1 and batch > 1:
            # each replica takes ceil(batch / units) rows; the slowest one sets the time
            shape_cu = {**shape, "batch": -(-batch // units)}
            used = min(units, batch)
        else:
            shape_cu, used = shape, 1
        try:
            est = estimate(design.design, shape_cu, params)
            full = estimate(design.design, shape, params) if shape_cu is not shape else est
        except ValueError as e:
            raise CostLookupError(f"device {device.name!r}, task {task.name!r}: {e}") from None
        cls = kernel_class(task.kernel, task.shape)
        flop, _ = get_kernel(task.kernel).work(task.shape)
        ports = est.hbm_ports * used
        if ports > fpga.num_hbm_ports:
            raise CostLookupError(
                f"design {design.design!r} x {used} compute units uses {ports} HBM ports; device "
                f"{device.name!r} has {fpga.num_hbm_ports}")
        hbm_bytes = float(full.hbm_bytes)  # all replicas together move every row's bytes
        work_s = est.cycles / float(est.clock_hz)  # a design may close timing below the platform clock
        if fpga.power is not None and work_s > 0:
            power = (float(fpga.power.logic_w) * used
                     + float(fpga.power.hbm_energy_per_byte_j) * hbm_bytes / work_s)
        else:
            power = self._power(device, cls)
        source = f"fpga:{design.design}" + (f"x{used}" if used > 1 else "")
        return KernelCost(float(fpga.invocation_overhead_s), work_s, hbm_bytes, flop, power, cls, source)
