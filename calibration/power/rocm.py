"""AMD GPU power via ``rocm-smi --showpower`` (shared/reference/hardware.md §7.4, source S53).

The key changed between ROCm versions: ``Average Graphics Package Power (W)`` (MI100/MI200
era) and ``Current Socket Graphics Package Power (W)`` (MI300-class, APUs); both are matched.
MI250 secondary dies print ``N/A (Secondary die)``: the primary die carries the package total.
Real outputs from 2019 (ROCm 2.x) to ROCm 6.0 are in tests/calibration/data. ROCm 6 deprecates
rocm-smi for ``amd-smi`` (:mod:`.amdsmi`), which :func:`~calibration.power.find_reader` prefers.
"""

from __future__ import annotations

import re

from ._base import PowerParseError, PowerSample, load_json, now_s, parse_float, run_tool

POWER_KEYS = ("Average Graphics Package Power (W)", "Current Socket Graphics Package Power (W)")

_TEXT_LINE = re.compile(r"GPU\[(\d+)\]\s*:\s*(.*?Graphics Package Power \(W\))\s*:\s*(.+)$")


def _power_value(fields: dict) -> float | None:
    for key in POWER_KEYS:
        if key in fields:
            return parse_float(fields[key])
    for key, val in fields.items():  # a future spelling of the same quantity; never the cap
        if key.endswith("Graphics Package Power (W)") and not key.startswith("Max "):
            return parse_float(val)
    return None


def parse_rocm_smi_json(text: str) -> dict[str, float | None]:
    """Parse ``rocm-smi --showpower --json``: card name -> package power in W (None if N/A).

    Examples
    --------
    >>> parse_rocm_smi_json('{"card0": {"Average Graphics Package Power (W)": "19.0"}}')
    {'card0': 19.0}
    """
    data = load_json(text, "rocm-smi")
    if not isinstance(data, dict):
        raise PowerParseError("expected an object of cards (card0, ...)", file="rocm-smi", field="root")
    out: dict[str, float | None] = {}
    for card, fields in data.items():
        if isinstance(fields, dict) and card.startswith("card"):
            out[card] = _power_value(fields)
    if not out:
        raise PowerParseError("no card<N> objects; expected `rocm-smi --showpower --json`", file="rocm-smi",
                              field="root")
    return out


def parse_rocm_smi_text(text: str) -> dict[str, float | None]:
    """Parse the text form, lines like ``GPU[0] : Average Graphics Package Power (W): 237.0``.

    Returns card names (``card<N>``) like :func:`parse_rocm_smi_json`; refuses text without
    such a line (:class:`~._base.PowerParseError`). ``Max Graphics Package Power (W)`` is the cap
    (``rocm-smi -a`` prints it before the readings; tests/calibration/data/rocm_smi_all_mi300x4.txt)
    and is never taken as the power: it was, for a card whose reading was missing or came first.
    """
    out: dict[str, float | None] = {}
    for line in text.splitlines():
        m = _TEXT_LINE.search(line.strip())
        if m and not m.group(2).startswith("Max "):  # the power cap ("Power Cap" section of -a), not a reading
            out[f"card{m.group(1)}"] = parse_float(m.group(3))
    if not out:
        raise PowerParseError("no 'GPU[N] : ... Graphics Package Power (W): value' line; expected "
                              "`rocm-smi --showpower`", file="rocm-smi", field="text")
    return out


class RocmReader:
    """Package power of one AMD GPU (W), from ``rocm-smi --showpower --json``."""

    source = "rocm-smi"

    def __init__(self, index: int = 0):
        self.index = index

    def read(self) -> PowerSample | None:
        """Return the GPU's power now, or None when rocm-smi is missing or reports N/A."""
        text = run_tool(["rocm-smi", "--showpower", "--json"])
        if text is None:
            return None
        try:
            values = parse_rocm_smi_json(text)
        except PowerParseError:
            try:
                values = parse_rocm_smi_text(text)
            except PowerParseError:
                return None
        value = values.get(f"card{self.index}")
        if value is None:
            return None
        return PowerSample(now_s(), value, "rocm-smi", {"cards": values})
