"""Compare measured kernel times with hetsim's predictions (``hetsim validate --against``).

The input is a CSV with one measured call per row::

    device,kernel,shape,time_s[,power_w][,group][,label][,stack][,resolution_s][,timing][,source]

``device`` is a device preset, ``kernel`` a kernel of :mod:`hetsim.kernels`, ``shape`` its
sizes as ``key=value`` pairs joined by ``;``, ``time_s`` the measured time of one call in s.
``power_w`` (board power while it ran), ``group`` (e.g. the model a GEMM came from),
``label`` (e.g. the operator) and ``stack`` (the software stack the measurement used; the
device preset's otherwise) and ``resolution_s`` (the step of the timer that recorded
``time_s``, e.g. 1e-6 for whole microseconds) and ``timing`` (how the time was taken:
``stream``, the default, for calls run back to back or a profiler's kernel time;
``isolated`` for one call timed alone between two events on an idle GPU, e.g. NeuSight's, so
the host's dispatch of the eager op is inside the interval) are optional. An ``isolated`` row
adds that host time to its stream price: a GEMM priced by a tile fit adds the fit's
``isolated_s`` (:func:`hetsim.costs.gpu.isolated_extra_s`), any other call the stack's
isolated-call host time for the GPU family less the dispatch its price already carries; its
source says ``+isolated``, or ``+isolated:unpriced`` where neither is known. Each row is priced
exactly as a simulation would price the task, and the errors ``(pred - meas) / meas`` are
summarised per kernel and label. Rows with a ``resolution_s`` also get an error *beyond the
timer step*, ``max(0, |pred - meas| - resolution_s / 2) / meas``: a recorded time stands for
anything within half a step of it, so a 10 us call timed in whole microseconds cannot be
checked closer than 5%. It is reported beside the plain error, never instead of it.

``detach_tables`` drops the devices' measured tables (so the model, not the measurement, is
checked); ``leave_one_out=COLUMN`` refits each GPU's tile/wave GEMM parameters without the
rows of one value of COLUMN and predicts those rows (held-out validation).
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..costs import CostModel
from ..costs.gpu import isolated_extra_s
from ..costs.tables import read_table
from ..limits import MAX_CALL_S, MAX_POWER_OVER_ACTIVE
from ..errors import ConfigError, HetsimError, located
from ..graph import Step, Task
from ..kernels import get_kernel

REQUIRED = ("device", "kernel", "shape", "time_s")
TIMINGS = ("stream", "isolated")
#: the optional columns the reader uses; any other column (``measured_on``, ``source``) is
#: provenance and kept out of the way
OPTIONAL = ("power_w", "group", "label", "stack", "dtype", "resolution_s", "timing")


def _misspelt_columns(header: list[str], file: str) -> None:
    """Refuse a column that is a near miss of one the reader uses (``power_W``, ``Time_s``,
    ``resolution``): other columns are ignored, so the misspelt one was silently dropped
    (a power column read as no power, a timer step as none)."""
    import difflib

    known = REQUIRED + OPTIONAL
    for h in header:
        if h in known or not h:
            continue
        close = [k for k in known if k == h.lower() or k not in header and k in
                 difflib.get_close_matches(h.lower(), known, n=1, cutoff=0.8)]
        if close:
            raise ConfigError(f"unknown column {h!r}; did you mean {close[0]!r}? (columns: "
                              f"{', '.join(REQUIRED)}, optional {', '.join(OPTIONAL)}; others are ignored)",
                              file=file, field="header")


@dataclass(frozen=True)
class Measurement:
    """One measured kernel call."""

    device: str
    kernel: str
    shape: dict
    time_s: float
    power_w: float | None = None
    group: str = ""
    label: str = ""
    stack: str = ""
    dtype: str = "bf16"
    resolution_s: float | None = None
    timing: str = "stream"  # or "isolated" (see module doc)
    line: int = 0  # line in the CSV (0: not from a file), named in errors while pricing
    file: str = ""


def format_shape(shape: dict) -> str:
    """A shape as the ``shape`` column writes it (``m=1;n=4096;k=4096``; read by _parse_shape)."""
    return ";".join(f"{k}={v}" for k, v in shape.items())


def _parse_shape(text: str, file: str, line: int) -> dict:
    shape = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        key, eq, val = part.partition("=")
        val = val.strip()
        if not eq or not key.strip() or not (val.isascii() and val.isdigit()):
            raise ConfigError(f"line {line}: shape part {part!r} is not key=integer", file=file,
                              field="shape")
        if key.strip() in shape:
            raise ConfigError(f"line {line}: shape key {key.strip()!r} given twice", file=file,
                              field="shape")
        shape[key.strip()] = int(val)
    return shape


def read_measurements(path: str | Path) -> list[Measurement]:
    """Read and check a measurements CSV (see module doc).

    Every row is checked before any pricing: the error names the file, the line and the
    column (a short or long row, a time or power that is not a finite number, an unknown
    device, kernel, shape key or stack), so a bad row never surfaces as a traceback later.
    """
    from ..inputs import open_text

    file = str(path)
    reader = csv.reader(open_text(path))
    header = [h.strip() for h in next(reader, [])]
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise ConfigError(f"repeated columns {repeated}; each column once", file=file, field="header")
    _misspelt_columns(header, file)
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ConfigError(f"missing columns {missing}; required: {', '.join(REQUIRED)} (comma-separated, "
                          "header on the first line)", file=file, field=missing[0])
    out = []
    for i, cells in enumerate(reader, start=2):
        if not cells or all(not c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            raise ConfigError(f"{len(cells)} cells, the header has {len(header)} columns", file=file,
                              field=f"line {i}")
        row = {h: c.strip() for h, c in zip(header, cells)}
        t = _finite(row["time_s"], file, i, "time_s")
        if not t > 0:
            raise ConfigError(f"line {i}: time_s must be > 0", file=file, field="time_s")
        if t > MAX_CALL_S:  # one call measured at more than an hour: a unit slip (us written as s)
            raise ConfigError(f"line {i}: time_s must be <= {MAX_CALL_S:g} s (one call), got {row['time_s']}",
                              file=file, field="time_s")
        pw = row.get("power_w") or ""
        power = _finite(pw, file, i, "power_w") if pw else None
        if power is not None and not power > 0:  # 0 W: the power error divides by it (inf)
            raise ConfigError(f"line {i}: power_w must be > 0 (board power in W; leave the cell "
                              f"empty when not measured), got {pw}", file=file, field="power_w")
        res = row.get("resolution_s") or ""
        res_s = _finite(res, file, i, "resolution_s") if res else None
        if res_s is not None and not 0 <= res_s <= MAX_CALL_S:
            raise ConfigError(f"line {i}: resolution_s {res!r} must be a number from 0 to {MAX_CALL_S:g} s",
                              file=file, field="resolution_s")
        timing = row.get("timing") or "stream"
        if timing not in TIMINGS:
            raise ConfigError(f"line {i}: timing {timing!r}; allowed: {', '.join(TIMINGS)} (or empty)",
                              file=file, field="timing")
        m = Measurement(row["device"], row["kernel"], _parse_shape(row["shape"], file, i), t, power,
                        row.get("group") or "", row.get("label") or "", row.get("stack") or "",
                        row.get("dtype") or "bf16", res_s, timing, line=i, file=file)
        _check_row(m, file)
        out.append(m)
    if not out:
        raise ConfigError("no measurements", file=file)
    return out


def _finite(text: str, file: str, line: int, col: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise ConfigError(f"line {line}: {col} {text!r} is not a number", file=file, field=col) from None
    if not math.isfinite(v):
        raise ConfigError(f"line {line}: {col} must be a finite number, got {text!r}", file=file, field=col)
    return v


def _check_row(m: Measurement, file: str) -> None:
    """Device, kernel, shape and stack of one row exist (errors name the file and line)."""
    from ..catalog import preset_names
    from ..costs.stacks import stack_names

    def bad(col: str, msg: str):
        return ConfigError(f"line {m.line}: {msg}", file=file, field=col)

    devices = preset_names("devices")
    if m.device not in devices:
        raise bad("device", f"unknown device preset {m.device!r}; known: {', '.join(devices)}")
    try:
        spec = get_kernel(m.kernel)
    except HetsimError as e:
        raise bad("kernel", e.detail) from None
    try:
        spec.resolve(m.shape)
    except HetsimError as e:
        raise bad("shape", e.detail) from None
    if m.stack and m.stack not in stack_names():
        raise bad("stack", f"unknown GPU software stack {m.stack!r}; known: {', '.join(stack_names())}")
    if m.power_w is not None:  # a unit slip (mW as W) is 1000x the board's power
        from ..loader import load_device_preset

        active = float(load_device_preset(m.device).power.active_w)
        if m.power_w > MAX_POWER_OVER_ACTIVE * active:
            raise bad("power_w", f"power_w {m.power_w:g} W is over {MAX_POWER_OVER_ACTIVE:g}x the "
                                 f"{m.device} preset's active power ({active:g} W); board power in W "
                                 f"(milliwatts written as watts?)")


def _device(name: str, cache: dict, detach: bool, stack: str):
    key = (name, stack)
    if key not in cache:
        from ..loader import load_device_preset

        dev = load_device_preset(name)
        upd: dict[str, Any] = {}
        if detach:
            upd["cost_tables"] = ()
        if stack:
            upd["stack"] = stack
        cache[key] = dev.model_copy(update=upd) if upd else dev
    return cache[key]


def _tables(dev, detach: bool) -> dict:
    if detach or not dev.cost_tables:
        return {}
    from ..catalog import load_preset

    base = load_preset("devices", dev.name).path.parent
    return {dev.name: [read_table((base / t) if not Path(t).is_absolute() else t)
                       for t in dev.cost_tables]}


def predict_rows(rows: list[Measurement], *, detach_tables: bool = False,
                 device_override: dict | None = None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Predicted time and power of each row, and the cost source used."""
    cache: dict = {}
    models: dict = {}
    pred, power, srcs = [], [], []
    for r in rows:
        dev = _device(r.device, cache, detach_tables, r.stack)
        if device_override and r.device in device_override:
            dev = device_override[r.device]
        cm = models.get(id(dev))
        if cm is None:
            cm = models[id(dev)] = CostModel(_tables(dev, detach_tables))
        try:
            c = cm.price(Task(name="v", step=Step.MODEL, kernel=r.kernel, shape=r.shape, dtype=r.dtype), dev)
        except HetsimError as e:  # e.g. a dtype the device has no peak for: name the row
            raise located(e, r.file or None, f"line {r.line}" if r.line else None) from None
        t, src = c.latency_s, c.source
        if r.timing == "isolated":
            extra = isolated_extra_s(dev, r.kernel, c.kernel_class, get_kernel(r.kernel).resolve(r.shape),
                                     r.dtype, tile_priced=src.startswith(("gemm-tiles", "gemv-kernel")))
            t, src = (t, src + "+isolated:unpriced") if extra is None else (t + extra, src + "+isolated")
        pred.append(t)
        power.append(float(dev.power.idle_w) + c.extra_power_w * dev.num_engines)
        srcs.append(src)
    return np.array(pred), np.array(power), srcs


def leave_one_out(rows: list[Measurement], column: str, *, detach_tables: bool = True,
                  progress=None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Predict each group's rows with the GPUs' GEMM tile parameters refitted on the others."""
    from ..loader import load_device_preset

    groups = sorted({getattr(r, column) for r in rows})
    if len(groups) < 2:
        shown = ", ".join(repr(g) for g in groups) or "none"
        raise ConfigError(f"--leave-one-out {column} needs at least two values in column {column!r}, "
                          f"got {shown}", file=rows[0].file if rows else None, field=column)
    pred = np.zeros(len(rows))
    power = np.zeros(len(rows))
    srcs = [""] * len(rows)
    for g in groups:
        train = [r for r in rows if getattr(r, column) != g and r.kernel == "gemm"]
        test = [i for i, r in enumerate(rows) if getattr(r, column) == g]
        override = {}
        for name in sorted({rows[i].device for i in test}):
            dev = load_device_preset(name)
            gt = dev.gemm_tiles
            # the fit prices every row at the tiles' datatype: rows of another one (fp32, int8)
            # would be fitted as if they were that datatype
            tr = [r for r in train if r.device == name and gt is not None and r.dtype == gt.dtype]
            if gt is None or not tr:
                continue
            tmpl = {**gt.model_dump(), "tiles": [t.model_dump() for t in gt.tiles]}
            p = _refit(tmpl, gt, dev, tr, column, g, rows[0].file or None)
            upd = {"gemm_tiles": p}
            if detach_tables:
                upd["cost_tables"] = ()
            override[name] = dev.model_copy(update=upd)
        pr, pw, sr = predict_rows([rows[i] for i in test], detach_tables=detach_tables,
                                  device_override=override)
        pred[test], power[test] = pr, pw
        for j, i in enumerate(test):
            srcs[i] = sr[j]
        if progress:
            progress(g)
    return pred, power, srcs


def _refit(tmpl: dict, gt, dev, tr: list[Measurement], column: str, g: str, file: str | None):
    """*dev*'s GEMM tile parameters fitted on the rows *tr* (those without ``column=g``).

    Fewer rows than the fit has parameters leave it undetermined (its held-out figures would
    be noise), and such a fit can end outside the parameters' ranges (an efficiency of 0) or
    overflow: both are refused with the device, the group left out and the row count.
    """
    from pydantic import ValidationError

    from ..costs.gemm_tiles import fit_parameter_count, fit_tiles

    where = (f"--leave-one-out {column}: refitting {dev.name}'s GEMM tiles without {column}={g!r} "
             f"on the {len(tr)} other {gt.dtype} gemm row{'s' if len(tr) != 1 else ''}")
    need = fit_parameter_count(tmpl)
    if len(tr) < need:
        raise ConfigError(f"{where}: the fit has {need} parameters and needs at least as many rows",
                          file=file, field=column)
    try:
        p = fit_tiles(tmpl, float(dev.peak_flop_per_s[gt.dtype]),
                      float(dev.memory.achievable_bandwidth_Bps),
                      [r.shape["m"] for r in tr], [r.shape["n"] for r in tr],
                      [r.shape["k"] for r in tr], [r.time_s for r in tr])
        p["source"] = f"refitted without {column}={g}"
        return gt.model_validate(p)
    except (OverflowError, ValidationError) as e:
        why = "overflowed" if isinstance(e, OverflowError) else "left the parameters' ranges"
        raise ConfigError(f"{where}: the fit {why}; the rows do not fit one tile model "
                          "(check their times, shapes and dtype)", file=file, field=column) from None


def summarize(rows: list[Measurement], pred: np.ndarray, power: np.ndarray | None = None) -> dict:
    """Error distribution per (device, kernel, label) and overall."""
    meas = np.array([r.time_s for r in rows])
    err = (pred - meas) / meas
    timed = any(r.resolution_s is not None for r in rows)
    half = np.array([(r.resolution_s or 0.0) / 2 for r in rows])
    beyond = np.maximum(np.abs(pred - meas) - half, 0.0) / meas

    def stats(idx):
        e = np.abs(err[idx])
        out = {"n": int(len(idx)), "median_abs_error": float(np.median(e)),
               "p95_abs_error": float(np.percentile(e, 95)), "max_abs_error": float(e.max()),
               "mean_signed_error": float(np.mean(err[idx]))}
        if timed:  # beside the plain figures, labelled: what the timer step cannot resolve
            out["median_abs_error_beyond_timer_step"] = float(np.median(beyond[idx]))
            out["max_abs_error_beyond_timer_step"] = float(beyond[idx].max())
        return out

    keys: dict[tuple, list[int]] = {}
    for i, r in enumerate(rows):
        keys.setdefault((r.device, r.kernel, r.label.split("@")[0]), []).append(i)
    per = [{"device": d, "kernel": k, "label": lb, **stats(np.array(ix))}
           for (d, k, lb), ix in sorted(keys.items())]
    out = {"rows": len(rows), "overall": stats(np.arange(len(rows))), "per_kernel": per}
    pw_idx = [i for i, r in enumerate(rows) if r.power_w is not None]
    if pw_idx and power is not None:
        pm = np.array([rows[i].power_w for i in pw_idx])
        pe = np.abs(power[pw_idx] - pm) / pm
        out["power"] = {"n": len(pw_idx), "median_abs_error": float(np.median(pe)),
                        "max_abs_error": float(pe.max())}
    return out


def plot_validation(rows: list[Measurement], pred: np.ndarray, path: Path, title: str = "") -> Path:
    """Predicted-vs-measured scatter (log-log), one colour per kernel/label."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    meas = np.array([r.time_s for r in rows])
    fig, ax = plt.subplots(figsize=(6, 6))
    labels = sorted({f"{r.kernel}:{r.label.split('@')[0]}" for r in rows})
    for lb in labels:
        idx = [i for i, r in enumerate(rows) if f"{r.kernel}:{r.label.split('@')[0]}" == lb]
        ax.scatter(meas[idx] * 1e6, pred[idx] * 1e6, s=4, alpha=0.5, label=lb)
    lo, hi = min(meas.min(), pred.min()) * 1e6, max(meas.max(), pred.max()) * 1e6
    ax.plot([lo, hi], [lo, hi], "k-", lw=0.8)
    for f in (0.8, 1.2):
        ax.plot([lo, hi], [lo * f, hi * f], "k:", lw=0.6)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("measured time (us)")
    ax.set_ylabel("predicted time (us)")
    ax.set_title(title or "hetsim vs measured (dotted: +-20%)")
    if len(labels) <= 12:
        ax.legend(fontsize=7, markerscale=3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_outputs(rows, pred, power, srcs, summary: dict, outdir: Path) -> dict:
    """Write the per-row CSV, summary JSON and plot; return their paths."""
    outdir.mkdir(parents=True, exist_ok=True)
    with open(outdir / "validation.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["device", "kernel", "shape", "group", "label", "measured_s", "predicted_s",
                    "error", "source"])
        for r, p, s in zip(rows, pred, srcs):
            w.writerow([r.device, r.kernel, format_shape(r.shape),
                        r.group, r.label, repr(r.time_s), repr(float(p)),
                        f"{(p - r.time_s) / r.time_s:+.4f}", s])
    (outdir / "validation.json").write_text(json.dumps(summary, indent=2, sort_keys=True))
    plot_validation(rows, pred, outdir / "validation.png")
    return {k: str(outdir / f"validation.{k}") for k in ("csv", "json", "png")}
