"""How long a task takes on a device, and what it draws while it runs.

A cost model turns (task, device) into a :class:`KernelCost`: a fixed per-call overhead
(launch, invocation) during which the engine is held, then a *work* phase that, run alone,
lasts ``work_s`` and moves ``mem_bytes`` through the device memory. The engine stretches the
work phase when concurrent tasks share the memory bandwidth. Three sources are tried in this
order, and the first that knows the kernel wins:

1. a calibrated table of the device (``cost_tables``), fitted from real kernel runs, for
   shapes inside its measured range;
2. the FPGA cycle model of the HLS design the device file names for the kernel;
3. the roofline of the device with per-kernel-class efficiencies;
4. a table outside its measured range, when nothing else can price the kernel (the task is
   then flagged as extrapolated in the results).

A task no source can price is a :class:`~hetsim.errors.CostLookupError`; it never gets a
default cost.
"""

from __future__ import annotations

from .model import CostModel, KernelCost

__all__ = ["CostModel", "KernelCost"]
