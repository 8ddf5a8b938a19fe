"""NVIDIA GPU power: NVML (``pynvml``) when importable, else ``nvidia-smi``.

``nvidia-smi --query-gpu=timestamp,power.draw --format=csv,noheader,nounits`` prints one line
per GPU, e.g. ``2024/05/01 12:00:00.123, 71.35``; unsupported or unavailable values print as
``[N/A]`` / ``[Not Supported]`` (shared/reference/hardware.md §7.5, source S54). NVML's
``nvmlDeviceGetPowerUsage`` returns mW averaged over the last sample period (1/6 s to 1 s),
so short kernels need many repetitions per reading.
"""

from __future__ import annotations

from ._base import PowerSample, now_s, parse_float, run_tool

QUERY = ["nvidia-smi", "--query-gpu=timestamp,power.draw", "--format=csv,noheader,nounits"]


def parse_nvidia_smi_csv(text: str) -> list[tuple[str, float | None]]:
    """Parse ``nvidia-smi --query-gpu=timestamp,power.draw[,...] --format=csv,noheader,nounits``.

    Parameters
    ----------
    text : str
        The tool's stdout: one line per GPU (and per sample with ``-lms``).

    Returns
    -------
    list of (str, float or None)
        ``(timestamp, power_w)`` per line; power is None for ``[N/A]``/``[Not Supported]``.
        A header line (``timestamp, power.draw [W]``) is skipped, so ``csv`` with a header
        parses too.

    Examples
    --------
    >>> parse_nvidia_smi_csv("2024/05/01 12:00:00.123, 71.35\\n2024/05/01 12:00:00.123, [N/A]\\n")
    [('2024/05/01 12:00:00.123', 71.35), ('2024/05/01 12:00:00.123', None)]
    """
    out: list[tuple[str, float | None]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.lower().startswith("timestamp"):
            continue
        parts = [p.strip() for p in line.split(",")]
        if len(parts) < 2:
            continue
        out.append((parts[0], parse_float(parts[1])))
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
        rows = parse_nvidia_smi_csv(text)
        if not rows or rows[0][1] is None:
            return None
        return PowerSample(now_s(), rows[0][1], "nvidia-smi", {"timestamp": rows[0][0]})
