"""AMD GPU power via ``amd-smi metric --power`` (ROCm 6.x/7.x; rocm-smi's replacement).

Why a second AMD reader: ROCm 6 deprecates ``rocm-smi`` in favour of ``amd-smi``, newer installs
may ship only the latter, and on some MI300-class boards rocm-smi's package power reads near zero
while amd-smi's ``socket_power`` is right (SemiAnalysisAI/InferenceX PR #874, MI325X).

The output changed between amd-smi releases; every form below was seen in real output
(tests/calibration/data, provenance in each file):

* JSON, a list of GPUs (ROCm 6.1-6.4): ``[{"gpu": 0, "power": {"socket_power": {"value": 20,
  "unit": "W"}, ...}}]``; in watch mode (``-w``) each entry also has ``timestamp`` and a prompt
  line (``'CTRL' + 'C' to stop watching output:``) comes first.
* JSON under a root object (AMD-SMI 25+/26+): ``{"gpu_data": [ ...same entries... ]}``.
* a value is ``{"value": v, "unit": "W"}``, a bare number, ``"20 W"`` or ``"N/A"``.
* text (no ``--json``): ``GPU: 0`` then ``POWER:`` / ``SOCKET_POWER: 20 W``.
* CSV (``--csv``): a header with ``gpu`` and ``socket_power`` columns, repeated in watch mode.

``socket_power`` is read; when it is absent, the library's field names
``current_socket_power`` then ``average_socket_power`` (MI300 / MI200 report one or the other,
ROCm/pytorch PR #1457) are tried.
"""

from __future__ import annotations

import csv
import io
import re

from ._base import PowerParseError, PowerSample, load_json, now_s, parse_float, run_tool

QUERY = ["amd-smi", "metric", "--power", "--json"]
POWER_KEYS = ("socket_power", "current_socket_power", "average_socket_power")
_W_PER_UNIT = {"w": 1.0, "mw": 1e-3, "uw": 1e-6}
_TOOL = "amd-smi"


def _watts(value, where: str) -> float | None:
    """One power value in W: ``{"value", "unit"}``, a number, ``"20 W"``; None for N/A."""
    unit = "W"
    if isinstance(value, dict):
        unit = str(value.get("unit") or "W")
        value = value.get("value")
    if value is None or (isinstance(value, str) and value.strip().upper() in ("N/A", "NA", "")):
        return None
    if isinstance(value, bool):
        raise PowerParseError(f"expected a power in W, got {value!r}", file=_TOOL, field=where)
    if isinstance(value, str):
        m = re.fullmatch(r"\s*([-+0-9.eE]+)\s*([a-zA-Zµ]*)\s*", value)
        if not m:
            raise PowerParseError(f"expected a power such as '20 W' or N/A, got {value!r}", file=_TOOL, field=where)
        value, unit = m.group(1), m.group(2) or unit
    scale = _W_PER_UNIT.get(unit.strip().lower().replace("µ", "u"))
    if scale is None:
        raise PowerParseError(f"unknown power unit {unit!r}; expected W, mW or uW", file=_TOOL, field=where)
    v = parse_float(str(value))
    if v is None or v < 0:
        raise PowerParseError(f"expected a power >= 0, got {value!r}", file=_TOOL, field=where)
    return v * scale


def _entry_power(entry: dict, where: str) -> float | None:
    power = entry.get("power")
    if not isinstance(power, dict):
        if power in (None, "N/A"):
            return None
        raise PowerParseError(f"'power' is {type(power).__name__}, expected an object", file=_TOOL,
                              field=f"{where}.power")
    for key in POWER_KEYS:
        if key in power:
            value = _watts(power[key], f"{where}.power.{key}")
            if value is not None or key == POWER_KEYS[-1]:
                return value
    return None


def parse_amd_smi_json(text: str) -> dict[int, float | None]:
    """Parse ``amd-smi metric [--power] --json``: GPU index -> socket power in W (None if N/A).

    Examples
    --------
    >>> parse_amd_smi_json('[{"gpu": 0, "power": {"socket_power": {"value": 142, "unit": "W"}}}]')
    {0: 142.0}
    >>> parse_amd_smi_json('{"gpu_data": [{"gpu": 1, "power": {"socket_power": "N/A"}}]}')
    {1: None}
    """
    data = load_json(text, _TOOL)
    if isinstance(data, dict):
        data = data.get("gpu_data", [data] if "gpu" in data else None)
    if not isinstance(data, list):
        raise PowerParseError("expected a list of GPUs or an object with 'gpu_data'", file=_TOOL, field="root")
    out: dict[int, float | None] = {}
    for i, entry in enumerate(data):
        where = f"gpu_data[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("gpu"), int) or isinstance(entry.get("gpu"), bool):
            raise PowerParseError("expected an object with an integer 'gpu'", file=_TOOL, field=where)
        out[entry["gpu"]] = _entry_power(entry, where)  # watch mode: the last sample of a GPU wins
    return out


_TEXT_GPU = re.compile(r"^GPU:\s*(\d+)\s*$")
_TEXT_POWER = re.compile(r"^\s*(SOCKET_POWER|CURRENT_SOCKET_POWER|AVERAGE_SOCKET_POWER)\s*:\s*(.+?)\s*$")


def parse_amd_smi_text(text: str) -> dict[int, float | None]:
    """Parse the text form of ``amd-smi metric [--power]`` (``GPU: 0`` ... ``SOCKET_POWER: 20 W``)."""
    out: dict[int, float | None] = {}
    gpu = None
    for n, line in enumerate(text.splitlines(), start=1):
        m = _TEXT_GPU.match(line.strip())
        if m:
            gpu = int(m.group(1))
            continue
        m = _TEXT_POWER.match(line)
        if m and gpu is not None:
            key = m.group(1).lower()
            if key == "socket_power" or out.get(gpu) is None:
                out[gpu] = _watts(m.group(2), f"line {n}.{m.group(1)}")
    if not out:
        raise PowerParseError("no 'GPU: N' block with SOCKET_POWER; expected `amd-smi metric --power`",
                              file=_TOOL, field="text")
    return out


def parse_amd_smi_csv(text: str) -> dict[int, float | None]:
    """Parse ``amd-smi metric --power --csv`` (header ``gpu,socket_power,...``, repeated by ``-w``)."""
    lines = [ln for ln in text.splitlines() if "," in ln]
    out: dict[int, float | None] = {}
    header: list[str] | None = None
    for n, row in enumerate(csv.reader(io.StringIO("\n".join(lines))), start=1):
        cells = [c.strip().lower() for c in row]
        if "gpu" in cells and any(k in cells for k in POWER_KEYS):
            header = cells
            continue
        if header is None:
            raise PowerParseError("no header with 'gpu' and 'socket_power' columns", file=_TOOL, field=f"row {n}")
        rec = dict(zip(header, (c.strip() for c in row)))
        try:
            gpu = int(rec.get("gpu", ""))
        except ValueError:
            raise PowerParseError(f"gpu {rec.get('gpu')!r} is not an index", file=_TOOL, field=f"row {n}.gpu") from None
        key = next(k for k in POWER_KEYS if k in rec)
        out[gpu] = _watts(rec[key], f"row {n}.{key}")
    if header is None:
        raise PowerParseError("no header with 'gpu' and 'socket_power' columns", file=_TOOL, field="header")
    return out


def parse_amd_smi(text: str) -> dict[int, float | None]:
    """Any of the three forms, told apart by their first meaningful character/line."""
    body = "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("'CTRL'"))
    first = body.lstrip()[:1]
    if first and first in "[{":
        return parse_amd_smi_json(body)
    if _TEXT_GPU.match(body.lstrip().splitlines()[0].strip() if body.strip() else ""):
        return parse_amd_smi_text(body)
    return parse_amd_smi_csv(body)


class AmdSmiReader:
    """Socket power of one AMD GPU (W), from ``amd-smi metric --power --json``."""

    source = "amd-smi"

    def __init__(self, index: int = 0):
        self.index = index

    def read(self) -> PowerSample | None:
        """Return the GPU's power now, or None when amd-smi is missing, fails or reports N/A."""
        text = run_tool(QUERY)
        if text is None:
            return None
        try:
            values = parse_amd_smi(text)
        except PowerParseError:
            return None
        value = values.get(self.index)
        if value is None:
            return None
        return PowerSample(now_s(), value, "amd-smi", {"gpus": values})
