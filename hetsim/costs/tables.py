"""Calibrated kernel tables (``hetsim-kernel-table/1``) attached to devices.

A device lists table files in ``cost_tables``; each table holds measured points and a fitted
model per kernel (written by ``hetsim calibrate``). A table prices only the kernels it
contains; the fit reports whether a shape lies outside the measured range, which results
flag as extrapolation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from ..config.system import SystemSpec
from ..errors import ConfigError
from ..inputs import read_json

FORMAT = "hetsim-kernel-table/1"


@dataclass
class KernelTable:
    """One loaded table."""

    name: str
    path: Path
    data: dict

    def has(self, kernel: str) -> bool:
        return kernel in self.data.get("kernels", {}) and "fit" in self.data["kernels"][kernel]

    def predict(self, kernel: str, shape: dict, cold: bool | None = None) -> tuple[float, bool]:
        """Seconds of one call of *kernel* at *shape*, and whether it is extrapolated.

        A simulated task is one call inside a pipeline, so by default a table that carries
        cold single-call times (``cold_s``, measured after an evicting stream) prices it cold;
        ``cold=False`` asks for the warm per-call time of a loop.
        """
        from .fitted import predict

        try:
            seconds, extrapolated = predict(self.data["kernels"][kernel]["fit"], kernel, shape,
                                            cold=True if cold is None else cold)
        except (KeyError, TypeError, ValueError, IndexError, ZeroDivisionError) as e:
            # read_table checked the structure; what is left is a fit whose numbers do not
            # work together (a hand-edited table): name the table, never a traceback
            raise ConfigError(f"kernel {kernel!r}: the fit cannot price shape {dict(shape)} "
                              f"({type(e).__name__}: {e})", file=str(self.path),
                              field=f"kernels.{kernel}.fit") from None
        if not math.isfinite(seconds):
            raise ConfigError(f"kernel {kernel!r}: the fit gives {seconds} s for shape {dict(shape)}; "
                              "a table's fit must give finite times", file=str(self.path),
                              field=f"kernels.{kernel}.fit")
        return seconds, extrapolated


def read_table(path: str | Path) -> KernelTable:
    """Read and check a table file."""
    p = Path(path)
    data = read_json(p)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ConfigError(f"not a kernel table: 'format' must be {FORMAT!r}", file=str(p), field="format")
    if not isinstance(data.get("kernels"), dict):
        raise ConfigError("'kernels' must map kernel names to points and fits", file=str(p),
                          field="kernels")
    for field in ("device", "provenance"):
        if not isinstance(data.get(field), dict):
            raise ConfigError(f"'{field}' is required (a mapping)", file=str(p), field=field)
    for name, entry in data["kernels"].items():
        _check_entry(name, entry, str(p))
    _check_contexts(data, str(p))
    return KernelTable(p.stem, p, data)


def _check_contexts(data: dict, file: str) -> None:
    """The optional per-context factors (``contexts``, written by ``hetsim calibrate`` for the
    validation pipelines' tasks) and the evictor size they were measured with: validate and the
    simulation of a validation pipeline look them up by (context, consumer) and multiply a cold
    price by the factor, so a malformed entry would surface there as a KeyError."""
    entries = data.get("contexts")
    if entries is None:
        return
    if not isinstance(entries, list):
        raise ConfigError("must be a list of {context, consumer, factor} entries", file=file, field="contexts")

    def call(x) -> bool:
        return isinstance(x, dict) and isinstance(x.get("kernel"), str) and isinstance(x.get("shape"), dict) \
            and _finite_tree(x["shape"])

    for i, e in enumerate(entries):
        where = f"contexts[{i}]"
        if not isinstance(e, dict):
            raise ConfigError("must be a mapping {context, consumer, factor}", file=file, field=where)
        if not isinstance(e.get("context"), list) or not all(call(c) for c in e["context"]):
            raise ConfigError("must be a list of {kernel: name, shape: mapping} (the tasks replayed before "
                              "the consumer)", file=file, field=f"{where}.context")
        if not call(e.get("consumer")):
            raise ConfigError("must be {kernel: name, shape: mapping}", file=file, field=f"{where}.consumer")
        f = e.get("factor")
        if isinstance(f, bool) or not isinstance(f, (int, float)) or not math.isfinite(f) or f <= 0:
            raise ConfigError(f"must be a finite number > 0 (cold in context / cold after evict), got {f!r}",
                              file=file, field=f"{where}.factor")
    prov = data["provenance"]
    for section, key in (("cold", "evict_bytes"), ("memory_state", "rotate_bytes")):
        part = prov.get(section)
        v = part.get(key) if isinstance(part, dict) else None
        if part is not None and not isinstance(part, dict):
            raise ConfigError("must be a mapping", file=file, field=f"provenance.{section}")
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
            raise ConfigError(f"must be a whole number of bytes >= 0, got {v!r}", file=file,
                              field=f"provenance.{section}.{key}")


def _finite_tree(x) -> bool:
    """Every number inside *x* (nested lists and mappings) is finite; text and null are allowed."""
    if isinstance(x, bool) or x is None or isinstance(x, str):
        return True
    if isinstance(x, (int, float)):
        return math.isfinite(x)
    if isinstance(x, dict):
        return all(_finite_tree(v) for v in x.values())
    if isinstance(x, list):
        return all(_finite_tree(v) for v in x)
    return False


def _check_entry(name, entry, file: str) -> None:
    """One kernel of a table: a known kernel whose fit names a known model with finite numbers.

    Why here: a table is user input (``cost_tables`` in a scenario); a malformed fit would
    otherwise surface while pricing, as a KeyError or a nan task time.
    """
    from ..kernels import KERNELS

    where = f"kernels.{name}"
    if name not in KERNELS:
        raise ConfigError(f"unknown kernel {name!r}; known: {', '.join(sorted(KERNELS))}", file=file, field=where)
    if not isinstance(entry, dict):
        raise ConfigError("must be a mapping with 'fit' (and 'points')", file=file, field=where)
    if "fit" not in entry:
        return  # measured points without a fit: the table does not price this kernel
    fit = entry["fit"]
    _check_fit(fit, f"{where}.fit", file)
    measured = fit.get("measured", [])
    if not isinstance(measured, list) or not all(
            isinstance(m, dict) and isinstance(m.get("shape"), dict) and isinstance(m.get("median_s"), (int, float))
            and not isinstance(m.get("median_s"), bool) and m["median_s"] >= 0 for m in measured):
        raise ConfigError("must be a list of {shape: mapping, median_s: number >= 0}", file=file,
                          field=f"{where}.fit.measured")
    _check_regimes(KERNELS[name], fit, f"{where}.fit", file)


def _check_fit(fit, where: str, file: str) -> None:
    """A fit (or one regime's): a known model, finite parameters of the right sign, a range."""
    from .fitted import FIT_MODELS

    if not isinstance(fit, dict):
        raise ConfigError("must be a mapping (model, params, ...)", file=file, field=where)
    if fit.get("model") not in FIT_MODELS:
        raise ConfigError(f"unknown fit model {fit.get('model')!r}; allowed: {', '.join(FIT_MODELS)}",
                          file=file, field=f"{where}.model")
    if not isinstance(fit.get("params"), dict):
        raise ConfigError("must be a mapping of the model's parameters", file=file, field=f"{where}.params")
    for key in ("params", "range", "measured", "shape_overrides"):
        if key in fit and not _finite_tree(fit[key]):
            raise ConfigError("numbers must be finite (no NaN or Infinity)", file=file, field=f"{where}.{key}")
    for key, v in fit["params"].items():  # rates are positive, times and costs per unit not negative
        positive, low_ok = key.endswith("per_s"), key in ("t0_s", "s_per_byte", "s_per_flop", "coef_s")
        if positive and v is None:
            continue  # no such term (a kernel with no flop or no bytes): calibrate writes None
        if (positive or low_ok) and (isinstance(v, bool) or not isinstance(v, (int, float))
                                     or (v <= 0 if positive else v < 0)):
            raise ConfigError(f"must be a number {'> 0' if positive else '>= 0'}, got {v!r}", file=file,
                              field=f"{where}.params.{key}")
    rng = fit.get("range", {})
    shape_rng = rng.get("shape") or {} if isinstance(rng, dict) else {}
    pairs = [v for k, v in rng.items() if k in ("flop", "bytes")] if isinstance(rng, dict) else []
    pairs += list(shape_rng.values()) if isinstance(shape_rng, dict) else [None]
    if not isinstance(rng, dict) or not all(isinstance(v, list) and len(v) == 2 for v in pairs):
        raise ConfigError("must map flop, bytes and shape keys to [low, high]", file=file, field=f"{where}.range")


def _check_regimes(spec, fit: dict, where: str, file: str) -> None:
    """The optional regime fields of a fit (``hetsim.costs.fitted``): ``regime_points`` maps
    the kernel's regimes to point counts, ``regimes`` maps them to fits of their own."""
    allowed = ", ".join(spec.regimes) or f"none ({spec.name} has no regimes)"
    for key in ("regime_points", "regimes"):
        value = fit.get(key)
        if value is None:
            continue
        if not isinstance(value, dict) or not value or any(r not in spec.regimes for r in value):
            raise ConfigError(f"must map regimes to {'point counts' if key == 'regime_points' else 'fits'}; "
                              f"allowed regimes: {allowed}", file=file, field=f"{where}.{key}")
    for r, count in (fit.get("regime_points") or {}).items():
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ConfigError(f"must be an integer >= 0, got {count!r}", file=file,
                              field=f"{where}.regime_points.{r}")
    for r, sub in (fit.get("regimes") or {}).items():
        _check_fit(sub, f"{where}.regimes.{r}", file)


def load_tables(system: SystemSpec) -> dict[str, list[KernelTable]]:
    """Load every device's tables (device name -> tables, first listed wins)."""
    return {d.name: [read_table(t) for t in d.cost_tables] for d in system.devices if d.cost_tables}
