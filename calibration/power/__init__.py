"""Power readers: sample device power where a tool exists, and parse the tools' output.

Every parser is a pure function over a tool's text, tested on real sample output:

==============  ==============================================  ==================================
source          parser                                          reader (None when unavailable)
==============  ==============================================  ==================================
nvidia-smi      :func:`~.nvidia.parse_nvidia_smi_csv`           :class:`~.nvidia.NvidiaReader`
amd-smi         :func:`~.amdsmi.parse_amd_smi` (json/csv/text)  :class:`~.amdsmi.AmdSmiReader`
rocm-smi        :func:`~.rocm.parse_rocm_smi_json`, ``_text``   :class:`~.rocm.RocmReader`
Linux RAPL      :func:`~.rapl.energy_delta_uj` (wrap-around)    :class:`~.rapl.RaplReader`
xrt-smi/xbutil  :func:`~.xrt.parse_xbutil_text`, ``_json``      :class:`~.xrt.XbutilReader`
==============  ==============================================  ==================================

:func:`find_reader` returns the reader for a calibration device kind, or None when the machine
has no working source: calibration then records ``power_w: null``. A parser given output it does
not know raises :class:`~._base.PowerParseError` (a one-line ``ConfigError``); readers turn that
into "no reading".
"""

from __future__ import annotations

import shutil

from ._base import PowerParseError, PowerSample
from .amdsmi import AmdSmiReader, parse_amd_smi, parse_amd_smi_csv, parse_amd_smi_json, parse_amd_smi_text
from .nvidia import NvidiaReader, parse_nvidia_smi_csv
from .rapl import RaplReader, energy_delta_uj, parse_energy_uj
from .rapl import power_w as rapl_power_w
from .rocm import RocmReader, parse_rocm_smi_json, parse_rocm_smi_text
from .xrt import TOOLS as XRT_TOOLS
from .xrt import XbutilReader, XrtElectrical, board_power_w, parse_xbutil_json, parse_xbutil_text


def find_reader(device: str, index: int = 0):
    """Return a power reader for *device* (``cpu``, ``cuda``, ``rocm``, ``fpga``) or None.

    A reader has ``source`` and ``read() -> PowerSample | None``. None means no tool or no
    permission on this machine; it is not an error.
    """
    try:
        if device == "cpu":
            r = RaplReader()
            return r if r.available() else None
        if device == "cuda":
            r = NvidiaReader(index)
            if r.source == "nvml" or shutil.which("nvidia-smi"):
                return r
            return None
        if device == "rocm":  # amd-smi (ROCm 6+) first: rocm-smi is deprecated there
            has_rocm_smi = shutil.which("rocm-smi") is not None
            if shutil.which("amd-smi"):
                r = AmdSmiReader(index)
                # one probe: an amd-smi that reads N/A (some APUs) falls back to rocm-smi
                if not has_rocm_smi or r.read() is not None:
                    return r
            return RocmReader(index) if has_rocm_smi else None
        if device == "fpga":  # xrt-smi is xbutil's name from XRT 2024.2 on
            return XbutilReader() if any(shutil.which(t) for t in XRT_TOOLS) else None
    except Exception:  # a reader must never break calibration
        return None
    return None


__all__ = ["PowerSample", "PowerParseError", "find_reader", "NvidiaReader", "RocmReader", "AmdSmiReader",
           "RaplReader", "parse_amd_smi", "parse_amd_smi_json", "parse_amd_smi_csv", "parse_amd_smi_text",
           "XbutilReader", "XrtElectrical", "parse_nvidia_smi_csv", "parse_rocm_smi_json",
           "parse_rocm_smi_text", "parse_xbutil_text", "parse_xbutil_json", "board_power_w",
           "energy_delta_uj", "parse_energy_uj", "rapl_power_w"]
