"""Common pieces of the power readers: the sample record and running a tool."""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class PowerSample:
    """One power reading.

    Attributes
    ----------
    time_s : float
        ``time.monotonic()`` when the reading was taken, in s.
    power_w : float
        Power in W (board/package power as the source defines it).
    source : str
        Which reader produced it (``nvml``, ``nvidia-smi``, ``rocm-smi``, ``rapl``, ``xbutil``).
    detail : dict
        Source-specific extras (per-device values, rails, the raw energy counter).
    """

    time_s: float
    power_w: float
    source: str
    detail: dict = field(default_factory=dict)


def run_tool(argv: list[str], timeout_s: float = 5.0) -> str | None:
    """Run *argv* and return its stdout, or None if the tool is missing or fails.

    Readers must never raise because a machine lacks a tool: no reading is a normal outcome.
    """
    if shutil.which(argv[0]) is None:
        return None
    try:
        res = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    if res.returncode != 0:
        return None
    return res.stdout


def parse_float(text: str) -> float | None:
    """Float from a tool's field (``"19.0"``, ``"45.2 W"``, ``"[N/A]"``); None when not a number."""
    s = str(text).strip().strip("[]").strip()
    for unit in ("Watts", "W", "mW"):
        if s.endswith(unit):
            s = s[: -len(unit)].strip()
            break
    try:
        v = float(s)
    except ValueError:
        return None
    return v if v == v else None  # NaN -> None


def now_s() -> float:
    """Monotonic clock in s (what every sample's ``time_s`` uses)."""
    return time.monotonic()
