"""Alveo FPGA board power from XRT: ``xbutil examine --report electrical`` (text or JSON).

Board power is the sum of the card's input rails, 12 V AUX, 12 V PCIe, 3.3 V PCIe and 3.3 V
AUX (V x A each, where a current is read). Downstream rails such as VCCINT are part of that
total, not additional (a U280 reading: AUX 18.60 W + PEX 17.05 W = 35.65 W = reported Power,
with VCCINT 9.61 W inside it; shared/reference/hardware.md §4.3 and §7.3, sources S38 and S39).
The 3.3 V PCIe rail counts too: on a U55C under XRT 2.17 (Xilinx/XRT PR #7874) XRT's own
Power, 21.446 W, is 12 V AUX 5.895 W + 12 V PEX 12.056 W + 3.3 V PEX 3.494 W. When no input
rail has a current reading, the reported ``Power`` field is used. ``xbutil`` takes about 1 s
per call, so a reading resolves only long (repeated) runs.

Text layouts differ by XRT version: ``12.010 V,  0.490 A`` (2020-2023) and
``12.256 V  0.481 A`` (no comma, XRT 2.17 and later); both are read.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field

from ._base import PowerParseError, PowerSample, load_json, now_s, parse_float, run_tool

#: Input rail ids whose V x A sum is the board power.
BOARD_RAILS = ("12v_aux", "12v_pex", "3v3_pex", "3v3_aux")

#: Text descriptions (as XRT prints them, "Auxillary" sic) -> rail id.
RAIL_IDS = {
    "12 volts auxillary": "12v_aux", "12 volts auxiliary": "12v_aux",
    "12 volts pci express": "12v_pex", "3.3 volts pci express": "3v3_pex",
    "3.3 volts auxillary": "3v3_aux", "3.3 volts auxiliary": "3v3_aux",
    "internal fpga vcc": "vccint", "internal fpga vcc io": "vccint_io",
    "5.5 volts system": "5v5_system", "1.8 volts top": "1v8_top", "0.9 volts vcc": "0v9_vcc",
    "mgt vtt": "mgt_vtt", "3.3 volts vcc": "3v3_vcc", "1.2 volts hbm": "hbm_1v2",
    "2.5 volts vpp": "vpp2v5", "vpp 2.5 volts": "vpp2v5",
}


@dataclass
class XrtElectrical:
    """Parsed electrical report.

    Attributes
    ----------
    power_w : float or None
        Board power in W: the input rails' power (12 V AUX + 12 V PEX + 3.3 V PEX + 3.3 V AUX)
        when any has a current, else the reported ``Power`` field.
    reported_power_w : float or None
        XRT's own ``Power`` / ``power_consumption_watts`` (None when N/A).
    max_power_w : float or None
        XRT's ``Max Power`` (225 W on a U55C: the firmware limit, not the card's rating).
    rails : dict
        rail id -> ``(volts, amps)``; either may be None when not present.
    """

    power_w: float | None
    reported_power_w: float | None
    max_power_w: float | None
    rails: dict = field(default_factory=dict)


def board_power_w(rails: dict, reported_w: float | None) -> float | None:
    """Input-rail power from *rails* (id -> (V, A)); *reported_w* if no input rail has a current."""
    total, found = 0.0, False
    for rid in BOARD_RAILS:
        v, a = rails.get(rid, (None, None))
        if v is not None and a is not None:
            total += v * a
            found = True
    return total if found else reported_w


_FIELD = re.compile(r"^\s*(Max Power|Power|Power Warning)\s*:\s*(.+?)\s*$")
_RAIL = re.compile(r"^\s*([A-Za-z0-9 .]+?)\s*:\s*([0-9.]+|N/A)\s*V(?:\s*,?\s*([0-9.]+|N/A)\s*A)?\s*$")


def parse_xbutil_text(text: str) -> XrtElectrical:
    """Parse the text of ``xbutil examine --report electrical`` (XRT 2020.1 and later).

    Unknown or elided lines (``...``) are ignored; rails with a voltage only get amps None.

    Raises
    ------
    PowerParseError
        The text has neither a ``Power`` line nor a rail line: not an electrical report.
    """
    reported = max_w = None
    seen = False
    rails: dict[str, tuple[float | None, float | None]] = {}
    for line in text.splitlines():
        m = _FIELD.match(line)
        if m:
            seen = True
            if m.group(1) == "Power":
                reported = parse_float(m.group(2))
            elif m.group(1) == "Max Power":
                max_w = parse_float(m.group(2))
            continue
        m = _RAIL.match(line)
        if m:
            desc = m.group(1).strip().lower()
            rid = RAIL_IDS.get(desc, desc.replace(" ", "_"))
            amps = parse_float(m.group(3)) if m.group(3) is not None else None
            rails[rid] = (parse_float(m.group(2)), amps)
            seen = True
    if not seen:
        raise PowerParseError("no 'Power' line and no power rail line (V[, A]); expected the text of "
                              "`xbutil examine --report electrical`", file="xbutil", field="Electrical")
    return XrtElectrical(board_power_w(rails, reported), reported, max_w, rails)


def _present(node: dict, key: str) -> float | None:
    if not isinstance(node, dict):
        return None
    if str(node.get("is_present", "true")).lower() != "true":
        return None
    return parse_float(node.get(key, ""))


def parse_xbutil_json(text: str) -> XrtElectrical:
    """Parse ``xbutil examine --report electrical --format JSON`` (root key ``electrical``).

    Accepts the report at top level or nested one level under ``devices[i]``.
    """
    data = load_json(text, "xbutil")
    elec = data.get("electrical") if isinstance(data, dict) else None
    if elec is None and isinstance(data, dict):
        for dev in data.get("devices", []) or []:
            if isinstance(dev, dict) and "electrical" in dev:
                elec = dev["electrical"]
                break
    if not isinstance(elec, dict):
        raise PowerParseError("no 'electrical' object at the top or under devices[]; expected "
                              "`xbutil examine --report electrical --format JSON`", file="xbutil", field="electrical")
    rails = {}
    for rail in elec.get("power_rails", []) or []:
        rid = rail.get("id") or RAIL_IDS.get(str(rail.get("description", "")).lower(), "?")
        rails[rid] = (_present(rail.get("voltage"), "volts"), _present(rail.get("current"), "amps"))
    reported = parse_float(elec.get("power_consumption_watts", ""))
    max_w = parse_float(elec.get("power_consumption_max_watts", ""))
    return XrtElectrical(board_power_w(rails, reported), reported, max_w, rails)


#: The XRT tool, newest name first: ``xbutil`` was renamed ``xrt-smi`` (XRT 2024.2 keeps
#: ``xbutil`` as an alias; 2025.1 removed it: https://xilinx.github.io/XRT/2025.2/html/xrt-smi.html).
TOOLS = ("xrt-smi", "xbutil")


class XbutilReader:
    """Board power of one Alveo card (W) via ``xrt-smi`` / ``xbutil examine``; *device* is its BDF."""

    def __init__(self, device: str | None = None, tool: str | None = None):
        self.device = device
        self.source = tool or next((t for t in TOOLS if shutil.which(t)), TOOLS[-1])

    def read(self) -> PowerSample | None:
        """Return the card's board power now, or None when xbutil is missing or reports N/A.

        The JSON report is written to a fresh temporary file (``--output``; xbutil refuses to
        overwrite); without it the text report on stdout is parsed instead.
        """
        dev = ["--device", self.device] if self.device else []
        elec = None
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "electrical.json")
            if run_tool([self.source, "examine", *dev, "--report", "electrical", "--format", "JSON",
                         "--output", out], timeout_s=10.0) is not None and os.path.exists(out):
                try:
                    with open(out) as fh:
                        elec = parse_xbutil_json(fh.read())
                except ValueError:
                    elec = None
        if elec is None:
            text = run_tool([self.source, "examine", *dev, "--report", "electrical"], timeout_s=10.0)
            if text is None:
                return None
            try:
                elec = parse_xbutil_text(text)
            except PowerParseError:
                return None
        if elec.power_w is None:
            return None
        return PowerSample(now_s(), elec.power_w, self.source, {"rails": elec.rails})
