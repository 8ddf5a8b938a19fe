"""NVIDIA GPU power: NVML (``pynvml``) when importable, else ``nvidia-smi``.

``nvidia-smi --query-gpu=timestamp,power.draw --format=csv,noheader,nounits`` prints one line
per GPU, e.g. ``2024/05/01 12:00:00.123, 71.35``; unsupported or unavailable values print as
``[N/A]`` / ``[Not Supported]`` (shared/reference/hardware.md §7.5, source S54). NVML's
``nvmlDeviceGetPowerUsage`` returns mW averaged over the last sample period (1/6 s to 1 s;
on Ampere except GA100 and newer, averaged over 1 s: NVIDIA cuda-python docs of
``device_get_power_usage``), so short kernels need many repetitions per reading.

Real outputs in tests/calibration/data put power.draw in any column (``index, timestamp,
power.draw [W]``; ``name, ..., power.draw [W], ...``), so a header is read by name.
"""

from __future__ import annotations

import re

from ._base import PowerParseError, PowerSample, now_s, parse_float, run_tool

QUERY = ["nvidia-smi", "--query-gpu=timestamp,power.draw", "--format=csv,noheader,nounits"]


#: Column names that hold board power, in order of preference: ``power.draw`` (all drivers), and
#: the 535+ driver's ``power.draw.instant`` / ``power.draw.average``.
POWER_COLUMNS = ("power.draw", "power.draw.instant", "power.draw.average")
_NA = ("n/a", "not supported", "unknown", "not available")
#: nvidia-smi prints a field it cannot read as the NVML status in brackets: ``[N/A]``, ``[Not Supported]``,
#: ``[Unknown Error]`` (a real cell in tests/calibration/data/nvidia_smi_unknown_error.csv; enkore/i3pystatus
#: PR #850 met it in --query-gpu CSV too), ``[Insufficient Permissions]``...; such a cell is "no reading".
_BRACKETED = re.compile(r"\[[A-Za-z][A-Za-z /'-]*\]")
_HEADER_CELL = re.compile(r"[a-z][a-z0-9_.]*(\s*\[[^\]]+\])?")  # "power.draw [W]"; data cells never match


def _column_name(cell: str) -> str:
    """``power.draw [W]`` -> ``power.draw`` (csv headers carry units in brackets)."""
    return cell.split("[")[0].strip().lower()


def parse_nvidia_smi_csv(text: str) -> list[tuple[str, float | None]]:
    """Parse ``nvidia-smi --query-gpu=...power.draw... --format=csv[,noheader][,nounits]``.

    With a header line (``--format=csv``) the power column is found by name wherever the query
    put it (``index, timestamp, power.draw [W]``, ``name, ..., power.draw [W], ...``); without
    one (``noheader``) the columns are taken in :data:`QUERY` order: timestamp, power.draw (or
    power.draw alone when a line has one column).

    Parameters
    ----------
    text : str
        The tool's stdout: one line per GPU (and per sample with ``-l``/``-lms``).

    Returns
    -------
    list of (str, float or None)
        ``(timestamp, power_w)`` per line (timestamp ``""`` when not queried); power is None
        for ``[N/A]`` / ``[Not Supported]`` / any other bracketed NVML status such as
        ``[Unknown Error]``. Units (``45.00 W``) are accepted.

    Raises
    ------
    PowerParseError
        A header without a power.draw column, a short row, or a power value that is neither a
        number nor a bracketed status (the error names the line).

    Examples
    --------
    >>> parse_nvidia_smi_csv("2024/05/01 12:00:00.123, 71.35\\n2024/05/01 12:00:00.123, [N/A]\\n")
    [('2024/05/01 12:00:00.123', 71.35), ('2024/05/01 12:00:00.123', None)]
    """
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return []
    cells = [c.strip() for c in lines[0].split(",")]
    names = [_column_name(c) for c in cells]
    header = lines[0] if all(_HEADER_CELL.fullmatch(c) for c in cells) else None
    if header is not None:
        found = [names.index(c) for c in POWER_COLUMNS if c in names]
        if not found:
            raise PowerParseError(f"header has no power.draw column (columns: {', '.join(names)}); query "
                                  "--query-gpu=timestamp,power.draw", file="nvidia-smi", field="header")
        p_col, t_col = found[0], names.index("timestamp") if "timestamp" in names else None
    elif len(cells) == 1:  # --query-gpu=power.draw alone
        p_col, t_col = 0, None
    else:
        p_col, t_col = 1, 0
    out: list[tuple[str, float | None]] = []
    for n, line in enumerate(lines, start=1):
        if line == header:
            continue
        parts = [c.strip() for c in line.split(",")]
        if len(parts) <= max(p_col, t_col or 0):
            raise PowerParseError(f"{len(parts)} column(s), expected at least {max(p_col, t_col or 0) + 1}",
                                  file="nvidia-smi", field=f"line {n}")
        raw = parts[p_col]
        value = parse_float(raw)
        if value is None and _BRACKETED.fullmatch(raw):
            pass  # an NVML status in brackets ([N/A], [Unknown Error], [GPU requires reset]): no reading
        elif value is None and raw.strip("[] ").lower() not in _NA:
            raise PowerParseError(f"power.draw {raw!r} is neither a number of W nor [N/A]",
                                  file="nvidia-smi", field=f"line {n}")
        out.append((parts[t_col] if t_col is not None else "", value))
    return out


class NvidiaReader:
    """Instantaneous board power of one NVIDIA GPU (W)."""

    def __init__(self, index: int = 0):
        self.index = index
        self._nvml = None
        try:  # pragma: no cover - needs an NVIDIA driver
            import pynvml

            pynvml.nvmlInit()
            self._nvml = (pynvml, pynvml.nvmlDeviceGetHandleByIndex(index))
            self.source = "nvml"
        except Exception:  # ImportError, NVMLError: fall back to the CLI
            self.source = "nvidia-smi"

    def read(self) -> PowerSample | None:
        """Return the GPU's power now, or None when neither NVML nor nvidia-smi answers."""
        if self._nvml is not None:  # pragma: no cover - needs an NVIDIA driver
            pynvml, handle = self._nvml
            try:
                return PowerSample(now_s(), pynvml.nvmlDeviceGetPowerUsage(handle) / 1000.0, "nvml")
            except Exception:
                return None
        text = run_tool(QUERY + [f"--id={self.index}"])
        if text is None:
            return None
        try:
            rows = parse_nvidia_smi_csv(text)
        except PowerParseError:
            return None
        if not rows or rows[0][1] is None:
            return None
        return PowerSample(now_s(), rows[0][1], "nvidia-smi", {"timestamp": rows[0][0]})
