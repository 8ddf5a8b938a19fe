"""CPU package power from Linux RAPL powercap counters.

``/sys/class/powercap/intel-rapl:<N>/energy_uj`` is a cumulative energy counter in µJ (the
same interface serves AMD Zen packages); it wraps to 0 after ``max_energy_range_uj``. Power
is the energy difference over a time interval, corrected for at most one wrap. Only zones named
``package-N`` are summed: a top-level ``psys`` zone (laptops, Sapphire Rapids) already holds the
package's energy. Reading
``energy_uj`` needs read permission (root on recent kernels); without it there is no reader.
"""

from __future__ import annotations

import glob
import os

from ._base import PowerParseError, PowerSample, now_s

POWERCAP_GLOB = "/sys/class/powercap/intel-rapl:*"


def parse_energy_uj(text: str, file: str = "energy_uj") -> int:
    """Parse the content of ``energy_uj`` or ``max_energy_range_uj`` (an integer in µJ).

    Anything else is a :class:`PowerParseError` naming *file* (the readers treat it, like
    any ValueError, as no reading; a command shows it as one line), not int()'s bare ValueError.
    """
    s = str(text).strip()
    if not (s.isascii() and s.isdigit()) or len(s) > 30:  # a 64-bit counter has at most 20 digits
        raise PowerParseError(f"expected a non-negative integer counter in uJ, got {s[:40]!r}",
                              file=file, field="content")
    return int(s)


def energy_delta_uj(before_uj: int, after_uj: int, max_range_uj: int) -> int:
    """Energy used between two counter readings, in µJ, allowing one wrap-around.

    Examples
    --------
    >>> energy_delta_uj(1_000, 4_000, 262_143_328_850)
    3000
    >>> energy_delta_uj(262_143_328_000, 500, 262_143_328_850)  # wrapped once
    1350
    """
    if after_uj >= before_uj:
        return after_uj - before_uj
    return max_range_uj - before_uj + after_uj


def power_w(before_uj: int, after_uj: int, max_range_uj: int, interval_s: float) -> float | None:
    """Average power in W over *interval_s* from two counter readings (None if interval <= 0)."""
    if interval_s <= 0:
        return None
    return energy_delta_uj(before_uj, after_uj, max_range_uj) * 1e-6 / interval_s


def package_zones(root_glob: str = POWERCAP_GLOB) -> list[str]:
    """Top-level package zones (``intel-rapl:0``, ``intel-rapl:1``; not sub-zones ``:0:0``).

    A top-level zone is a package only if its ``name`` says so (``package-N``): laptops since
    Skylake and Sapphire Rapids servers also have a top-level ``psys`` (platform) zone, whose
    energy already includes the package's, so summing every top-level zone counted the package
    twice (tests/calibration/data/rapl_psys_zones.txt). A zone without a readable ``name`` is kept.
    """
    zones = []
    for path in sorted(glob.glob(root_glob)):
        base = os.path.basename(path)
        if base.count(":") != 1 or not os.path.exists(os.path.join(path, "energy_uj")):
            continue
        try:
            with open(os.path.join(path, "name")) as fh:
                zone_name = fh.read().strip()
        except OSError:
            zone_name = ""
        if zone_name and not zone_name.startswith("package"):
            continue  # psys (platform) or another non-package domain
        zones.append(path)
    return zones


class RaplReader:
    """Sum of the package zones' power (W), sampled as energy-counter differences.

    The first :meth:`read` only records the counters and returns None; each later call returns
    the average power since the previous call.
    """

    source = "rapl"

    def __init__(self, zones: list[str] | None = None):
        self.zones = zones if zones is not None else package_zones()
        self._max = {}
        for z in self.zones:
            try:
                with open(os.path.join(z, "max_energy_range_uj")) as fh:
                    self._max[z] = parse_energy_uj(fh.read())
            except (OSError, ValueError):
                self._max[z] = 2**32  # conservative default; only matters on a wrap
        self._last: tuple[float, dict[str, int]] | None = None

    def available(self) -> bool:
        """True when at least one zone's counter is readable."""
        return bool(self.zones) and self._counters() is not None

    def _counters(self) -> dict[str, int] | None:
        out = {}
        for z in self.zones:
            try:
                with open(os.path.join(z, "energy_uj")) as fh:
                    out[z] = parse_energy_uj(fh.read())
            except (OSError, ValueError):
                return None
        return out or None

    def read(self) -> PowerSample | None:
        """Average package power since the previous call, or None (first call, no counters)."""
        t, counters = now_s(), self._counters()
        if counters is None:
            return None
        last, self._last = self._last, (t, counters)
        if last is None:
            return None
        t0, c0 = last
        total = 0.0
        for z, e1 in counters.items():
            p = power_w(c0[z], e1, self._max[z], t - t0)
            if p is None:
                return None
            total += p
        return PowerSample(t, total, "rapl", {"interval_s": t - t0, "counters_uj": counters})
