"""Helpers for the HLS tests: locate g++ and the Xilinx headers, build and run testbenches.

The tests skip (with the reason) when g++ or the hls4ml-shipped headers are missing, so a
machine without them still runs the rest of the suite.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HLS = REPO / "hls"
PIP_HINT = "pip install --no-deps hls4ml==1.3.0"


def headers_dir() -> Path | None:
    """Directory of ap_int.h inside the installed hls4ml wheel (None when not installed)."""
    spec = importlib.util.find_spec("hls4ml")
    if spec is None or spec.origin is None:
        return None
    d = Path(spec.origin).parent / "templates" / "vivado" / "ap_types"
    return d if (d / "ap_int.h").is_file() else None


def require_toolchain() -> None:
    """Skip the calling test unless g++, make and the HLS headers are available."""
    if shutil.which("g++") is None or shutil.which("make") is None:
        pytest.skip("g++/make not found: the HLS C-simulation tests need a C++ compiler")
    if headers_dir() is None:
        pytest.skip(f"Xilinx HLS headers not found (hls4ml wheel): run `{PIP_HINT}`")


def make(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ``make -C hls <args>`` and return the completed process (output captured)."""
    return subprocess.run(["make", "-C", str(HLS), "--no-print-directory", *args], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "MAKEFLAGS": ""})


def run_counts(binary: Path, **kw: object) -> dict[str, int]:
    """Run a testbench in count mode and parse its ``COUNT name value`` lines."""
    args = [str(binary), "count"] + [f"{k}={v}" for k, v in kw.items()]
    out = subprocess.run(args, capture_output=True, text=True, timeout=120, check=True).stdout
    counts = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "COUNT":
            counts[parts[1]] = int(parts[2])
    assert counts, f"no counters printed by {' '.join(args)}:\n{out}"
    return counts
