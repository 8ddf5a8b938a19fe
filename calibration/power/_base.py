"""Common pieces of the power readers: the sample record and running a tool."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import time
from dataclasses import dataclass, field

from hetsim.errors import ConfigError


class PowerParseError(ConfigError, ValueError):
    """A tool's output is not in a form the parser knows (one line: tool, field, what was expected).

    A :class:`~hetsim.errors.ConfigError`, so a command shows it as one line with exit 2; also a
    ValueError, so a reader can treat it as "no reading" like any other unparsable output.
    """


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


def load_json(text: str, tool: str):
    """JSON from a tool's stdout, skipping a prompt printed before it (``amd-smi -w``)."""
    starts = [i for i in (text.find("["), text.find("{")) if i >= 0]
    try:
        return json.loads(text[min(starts):] if starts else text)
    except (json.JSONDecodeError, RecursionError) as e:
        raise PowerParseError(f"not JSON ({e.msg if hasattr(e, 'msg') else e}); expected the tool's --json output",
                              file=tool, field="stdout") from None


#: power units a tool may print after the number -> W per unit (longest first: "mW" ends in "W")
_W_PER = (("Watts", 1.0), ("Watt", 1.0), ("mW", 1e-3), ("uW", 1e-6), ("\u00b5W", 1e-6), ("kW", 1e3),
          ("W", 1.0))


def parse_float(text: str) -> float | None:
    """Power in W from a tool's field (``"19.0"``, ``"45.2 W"``, ``"850 mW"``, ``"[N/A]"``);
    None when not a finite number.

    Why the units: ``"850 mW"`` was read as None (the ``W`` was stripped, leaving ``850 m``),
    so a reader reported no power for a card that printed milliwatts.
    """
    s = str(text).strip().strip("[]").strip()
    scale = 1.0
    for unit, w in _W_PER:
        if s.endswith(unit):
            s, scale = s[: -len(unit)].strip(), w
            break
    try:
        v = float(s)
    except ValueError:
        return None
    return v * scale if math.isfinite(v) else None  # NaN, inf -> None


def now_s() -> float:
    """Monotonic clock in s (what every sample's ``time_s`` uses)."""
    return time.monotonic()
