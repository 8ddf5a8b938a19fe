"""Readers of measurement artefacts produced outside hetsim (Vitis HLS reports, XRT timing CSVs).

Why: calibration of the U55C cost table must come from real tool output, not hand-typed numbers.
These modules only parse and validate; they import nothing from hetsim except
:mod:`hetsim.errors`, so the simulator decides what to do with the values.
"""

from .hls_report import U55C_CAPACITY, CycleCount, HlsReport, LoopReport, check_resources, parse_csynth
from .xrt_csv import XRT_CSV_COLUMNS, XrtRun, parse_xrt_csv, summarize_runs

__all__ = [
    "U55C_CAPACITY", "CycleCount", "HlsReport", "LoopReport", "check_resources", "parse_csynth",
    "XRT_CSV_COLUMNS", "XrtRun", "parse_xrt_csv", "summarize_runs",
]
