"""Calibrated kernel tables (``hetsim-kernel-table/1``) attached to devices.

A device lists table files in ``cost_tables``; each table holds measured points and a fitted
model per kernel (written by ``hetsim calibrate``). A table prices only the kernels it
contains; the fit reports whether a shape lies outside the measured range, which results
flag as extrapolation.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..config.system import SystemSpec
from ..errors import ConfigError
from ..inputs import read_json

FORMAT = "hetsim-kernel-table/1"


@dataclass
class KernelTable:
    """One loaded table."""

    name: str
    path: Path
    data: dict

    def has(self, kernel: str) -> bool:
        return kernel in self.data.get("kernels", {}) and "fit" in self.data["kernels"][kernel]

    def predict(self, kernel: str, shape: dict, cold: bool | None = None) -> tuple[float, bool]:
        """Seconds of one call of *kernel* at *shape*, and whether it is extrapolated.

        A simulated task is one call inside a pipeline, so by default a table that carries
        cold single-call times (``cold_s``, measured after an evicting stream) prices it cold;
        ``cold=False`` asks for the warm per-call time of a loop.
        """
        from .fitted import predict

        return predict(self.data["kernels"][kernel]["fit"], kernel, shape,
                       cold=True if cold is None else cold)


def read_table(path: str | Path) -> KernelTable:
    """Read and check a table file."""
    p = Path(path)
    data = read_json(p)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ConfigError(f"not a kernel table: 'format' must be {FORMAT!r}", file=str(p), field="format")
    if not isinstance(data.get("kernels"), dict):
        raise ConfigError("'kernels' must map kernel names to points and fits", file=str(p),
                          field="kernels")
    for field in ("device", "provenance"):
        if not isinstance(data.get(field), dict):
            raise ConfigError(f"'{field}' is required (a mapping)", file=str(p), field=field)
    return KernelTable(p.stem, p, data)


def load_tables(system: SystemSpec) -> dict[str, list[KernelTable]]:
    """Load every device's tables (device name -> tables, first listed wins)."""
    return {d.name: [read_table(t) for t in d.cost_tables] for d in system.devices if d.cost_tables}
