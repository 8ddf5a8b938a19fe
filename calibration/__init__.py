"""Calibration of hetsim's kernel costs against real runs on this machine.

The simulator prices each task with a *kernel table* (``hetsim-kernel-table/1``): measured
times of the kernels in :data:`hetsim.kernels.KERNELS` at a grid of shapes, plus a model
fitted per kernel that generalises to shapes that were not measured. This package produces
those tables:

* :mod:`calibration.kernels` -- a torch implementation of every kernel (and a plain numpy
  reference that the tests check it against), keyed by the same names as ``hetsim.kernels``;
* :mod:`calibration.power` -- pure parsers of power-tool output (nvidia-smi/NVML, amd-smi,
  rocm-smi, Linux RAPL, XRT ``xrt-smi``/``xbutil``) and readers that sample them when the tool
  exists;
* :mod:`calibration.harness` -- :func:`~calibration.harness.calibrate`: sweeps the shape grid,
  times with ``torch.utils.benchmark`` (interleaved, repeated, warm buffers), fits with
  :mod:`hetsim.costs.fitted` and writes the table.

torch is needed only by :mod:`calibration.kernels` and :mod:`calibration.harness`; the power
parsers and the fitting (which lives in ``hetsim.costs.fitted``) are numpy/stdlib only.
"""

TABLE_FORMAT = "hetsim-kernel-table/1"

__all__ = ["TABLE_FORMAT"]
