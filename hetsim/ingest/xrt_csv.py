"""Parser of the timing CSV written by the XRT host program (``hls/host/hetsim_host.cpp``).

Why: measured kernel times on a real U55C are the ground truth the cycle models are calibrated
against. The CSV columns are documented in ``hls/README.md``; this module checks them strictly
(exact header, typed fields) and raises :class:`hetsim.errors.ConfigError` naming the file, row
and column of anything wrong. XRT's own profile summary (``profile_summary.csv``, the
"Profile Summary" report of every XRT version) is a different file: it is recognised and
refused with a message saying which file to pass, since it lists kernel times without the
task shapes a cost table needs; so is ``xrt.run_summary`` (a JSON index of a run's profile files).
"""

from __future__ import annotations

import csv
import math
import statistics
from dataclasses import dataclass
from pathlib import Path

from hetsim.limits import MAX_CALL_S
from hetsim.errors import ConfigError
from hetsim.inputs import open_text

XRT_CSV_COLUMNS = (
    "kernel", "shape", "run", "kernel_time_s", "h2d_time_s", "d2h_time_s",
    "bytes_in", "bytes_out", "device", "xclbin",
)
"""Column order of the host program's CSV (one row per timed run; warm-up runs not written)."""


@dataclass(frozen=True)
class XrtRun:
    """One timed kernel run.

    Attributes
    ----------
    kernel : str
        Kernel (top function) name.
    shape : dict[str, int]
        Task shape (``key=value`` pairs separated by ``;`` in the CSV).
    run : int
        Index of the timed run (0-based).
    kernel_time_s : float
        Wall time from ``xrt::run::start`` to ``wait`` (s).
    h2d_time_s, d2h_time_s : float
        Input buffer sync to the device / output sync back (s), measured around this run.
    bytes_in, bytes_out : int
        Bytes synced to / from the device.
    device, xclbin : str
        Device name and xclbin path.
    """

    kernel: str
    shape: dict[str, int]
    run: int
    kernel_time_s: float
    h2d_time_s: float
    d2h_time_s: float
    bytes_in: int
    bytes_out: int
    device: str
    xclbin: str


def _shape(text: str, file: str, where: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        key, sep, val = part.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"shape entry {part!r} is not key=value", file=file, field=where)
        key = key.strip()
        try:
            n = int(val)
        except ValueError:
            raise ConfigError(f"shape value {val!r} of {key!r} is not an integer", file=file, field=where) from None
        if n < 0:
            raise ConfigError(f"shape value {val!r} of {key!r} must be >= 0", file=file, field=where)
        if key in out:
            raise ConfigError(f"shape key {key!r} given twice", file=file, field=where)
        out[key] = n
    if not out:
        raise ConfigError("empty shape", file=file, field=where)
    return out


def parse_xrt_csv(path: str | Path) -> list[XrtRun]:
    """Read the host program's timing CSV.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    list[XrtRun]
        Rows in file order.

    Raises
    ------
    ConfigError
        Missing file, wrong header, or a malformed/negative value (``field`` is
        ``row N.column``, rows counted from 1 after the header).
    """
    file = str(path)
    with open_text(file) as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header and header[0].strip().lower() == "profile summary":
            raise ConfigError("this is an XRT profile summary (profile_summary.csv / opencl_summary.csv, written "
                              "when xrt.ini turns profiling on); it has no task shapes. Pass the timing CSV "
                              "of hls/host/hetsim_host (header " + ",".join(XRT_CSV_COLUMNS) + ")",
                              file=file, field="header")
        if header and header[0].lstrip().startswith("{") and '"schema_version"' in ",".join(header) + fh.read(4096):
            raise ConfigError("this is XRT's run summary (xrt.run_summary, JSON: the list of a run's profile "
                              "files); it has no kernel times. Pass the timing CSV of hls/host/hetsim_host "
                              "(header " + ",".join(XRT_CSV_COLUMNS) + ")", file=file, field="header")
        if header is None or tuple(h.strip() for h in header) != XRT_CSV_COLUMNS:
            raise ConfigError(f"header must be {','.join(XRT_CSV_COLUMNS)}, got {header}", file=file, field="header")
        runs: list[XrtRun] = []
        for n, row in enumerate(reader, start=1):
            if not row or all(not c.strip() for c in row):
                continue
            if len(row) != len(XRT_CSV_COLUMNS):
                raise ConfigError(f"{len(row)} columns, expected {len(XRT_CSV_COLUMNS)}", file=file, field=f"row {n}")
            rec = dict(zip(XRT_CSV_COLUMNS, (c.strip() for c in row)))

            def num(col: str, kind: type) -> float:
                try:
                    v = kind(rec[col])
                except ValueError:
                    raise ConfigError(f"{rec[col]!r} is not a {kind.__name__}", file=file, field=f"row {n}.{col}") from None
                if not math.isfinite(v) or v < 0:
                    raise ConfigError(f"must be a finite number >= 0, got {rec[col]!r}", file=file,
                                      field=f"row {n}.{col}")
                if col.endswith("_time_s") and v > MAX_CALL_S:  # a unit slip (us written as s)
                    raise ConfigError(f"must be <= {MAX_CALL_S:g} s (one call), got {rec[col]!r}", file=file,
                                      field=f"row {n}.{col}")
                return v

            if not rec["kernel"]:
                raise ConfigError("empty kernel name", file=file, field=f"row {n}.kernel")
            if not num("kernel_time_s", float) > 0:
                raise ConfigError("must be > 0 (a timed run takes time)", file=file, field=f"row {n}.kernel_time_s")
            runs.append(XrtRun(
                kernel=rec["kernel"], shape=_shape(rec["shape"], file, f"row {n}.shape"), run=int(num("run", int)),
                kernel_time_s=num("kernel_time_s", float), h2d_time_s=num("h2d_time_s", float),
                d2h_time_s=num("d2h_time_s", float), bytes_in=int(num("bytes_in", int)),
                bytes_out=int(num("bytes_out", int)), device=rec["device"], xclbin=rec["xclbin"],
            ))
    return runs


def summarize_runs(runs: list[XrtRun]) -> dict[tuple[str, tuple[tuple[str, int], ...]], float]:
    """Median kernel time (s) per (kernel, shape); the median resists one-off OS jitter."""
    groups: dict[tuple[str, tuple[tuple[str, int], ...]], list[float]] = {}
    for r in runs:
        groups.setdefault((r.kernel, tuple(sorted(r.shape.items()))), []).append(r.kernel_time_s)
    return {key: statistics.median(v) for key, v in groups.items()}
