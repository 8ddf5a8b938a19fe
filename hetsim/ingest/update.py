"""Fold real FPGA results back into a device file: ``hetsim calibrate --from-hls-report``
and ``--from-xrt-csv``.

* A Vitis HLS ``csynth.xml`` updates the design parameters the cycle model reads: ``ii`` (the
  largest pipelined-loop II), ``depth`` (the largest pipeline depth) and ``clock_hz`` (the
  clock the design was synthesised for, lowered to the estimated f_max if timing was not met).
  Its resources are checked against the card's capacity (all compute units together) and
  stored with the design, with a ``measured`` line naming the report.
* A CSV of timed runs from ``hls/host`` becomes a calibrated kernel table (median time per
  shape, fitted like any other table) that the device lists in ``cost_tables``; tables win
  over cycle models when both price a kernel.

The input device file is never modified: the updated copy goes to ``out`` (default
``out/device_models/devices/<name>.yaml``; point ``HETSIM_DEVICE_MODELS`` at ``out/device_models``
to use it in place of the preset).
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Any

import yaml

from .. import catalog
from ..config.device import DeviceSpec
from ..errors import ConfigError, HetsimError
from ..fpga_kernels import DESIGNS
from ..loader import validate
from .hls_report import check_part, check_resources, parse_csynth
from .xrt_csv import parse_xrt_csv, summarize_runs


def _today() -> str:
    return _dt.datetime.now(_dt.timezone.utc).date().isoformat()


def _device_doc(device_file: str | None) -> tuple[Path, dict]:
    path = Path(device_file) if device_file else catalog.load_preset("devices", "u55c").path
    doc = catalog.read_yaml(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("fpga"), dict):
        raise ConfigError("not an FPGA device file (no 'fpga' section)", file=str(path), field="fpga")
    # the whole file is checked first: ingest reads its kernels, units and resources
    validate(DeviceSpec, {k: v for k, v in doc.items() if k != "sources"}, file=str(path))
    return path, doc


def _kernel_entry(doc: dict, kernel: str | None, top: str | None, path: Path) -> tuple[str, dict]:
    kernels = doc["fpga"].get("kernels") or {}
    if kernel:
        if kernel not in kernels:
            raise ConfigError(f"the device hosts no kernel {kernel!r}; hosted: {', '.join(sorted(kernels))}",
                              file=str(path), field="fpga.kernels")
        return kernel, kernels[kernel]
    for name, entry in kernels.items():
        design = DESIGNS.get(entry.get("design", ""))
        if entry.get("design") == top or (design is not None and design.top == top):
            return name, entry
    raise ConfigError(f"no hosted kernel uses a design with top function {top!r}; pass --kernel NAME "
                      f"(hosted: {', '.join(sorted(kernels))})", file=str(path), field="fpga.kernels")


def ingest_hls(doc: dict, path: Path, report_file: str, kernel: str | None) -> list[str]:
    """Apply a csynth.xml to *doc* in place; return what changed, one line each."""
    rep = parse_csynth(report_file)
    part = ((doc.get("fpga") or {}).get("resources") or {}).get("part")
    if part:
        check_part(rep, str(part), str(doc.get("name", path.stem)))
    name, entry = _kernel_entry(doc, kernel, rep.top, path)
    design = DESIGNS.get(entry.get("design", ""))
    if design is None:
        raise ConfigError(f"kernel {name!r} names unknown design {entry.get('design')!r}", file=str(path))
    units = int(entry.get("compute_units", 1))
    totals = {k: v * units for k, v in rep.resources.items()}
    problems = check_resources(type(rep)(**{**rep.__dict__, "resources": totals}))
    if problems:
        raise ConfigError(f"{report_file}: {units} compute unit(s) of {rep.top!r} do not fit: "
                          + "; ".join(problems))
    params = dict(entry.get("params") or {})
    # module loops (2021+ reports); a report without ModuleInformation (2020.x) has only the top's
    pipelined = [lp for lp in (rep.loops or rep.top_loops) if lp.pipelined and lp.pipeline_ii.is_exact]
    new: dict[str, Any] = {}
    if pipelined and "ii" in design.defaults:
        new["ii"] = max(lp.pipeline_ii.value for lp in pipelined)
    depths = [lp.pipeline_depth.value for lp in pipelined if lp.pipeline_depth.is_exact]
    if depths and "depth" in design.defaults:
        new["depth"] = max(depths)
    clock = rep.target_clock_hz
    if rep.f_max_hz is not None:
        clock = min(clock, rep.f_max_hz)
    if "clock_hz" in design.defaults:
        new["clock_hz"] = float(clock)
    lines = []
    for k, v in new.items():
        old = params.get(k, design.defaults.get(k))
        lines.append(f"{name}: {k} {old} -> {v}")
        params[k] = v
    entry["params"] = params
    entry["resources"] = dict(rep.resources)
    fmax = "no f_max estimate" if rep.f_max_hz is None else f"estimated f_max {rep.f_max_hz / 1e6:.1f} MHz"
    entry["measured"] = (f"{Path(rep.file).name}: Vitis HLS {rep.tool_version} csynth of {rep.top} for "
                         f"{rep.part}, target {rep.target_clock_hz / 1e6:.1f} MHz, {fmax}; ingested {_today()}")
    lines.append(f"{name}: resources per unit {rep.resources} (x{units} fit the card)")
    lines += _model_vs_report(doc, entry, rep.resources, name)
    return lines


def _model_vs_report(doc: dict, entry: dict, reported: dict, name: str) -> list[str]:
    """Compare the design's resource model (device fpga.resources costs) with the report, one
    line per resource, so a user sees how far the [E] costs are from the tool."""
    from ..fpga_kernels import structure, unit_resources

    costs = (doc.get("fpga") or {}).get("resources")
    if not isinstance(costs, dict):
        return []
    try:
        model = unit_resources(structure(entry["design"], entry.get("params") or {}), costs)
    except (ValueError, KeyError, TypeError) as e:
        return [f"{name}: resource model not compared ({e})"]
    out = []
    for key in ("DSP", "BRAM_18K", "URAM", "LUT"):
        if key in reported:
            ratio = "" if not reported[key] else f" (model/report {model[key] / reported[key]:.2f})"
            out.append(f"{name}: {key} model {model[key]} vs report {reported[key]}{ratio}")
    return out


def ingest_xrt(doc: dict, path: Path, csv_file: str, kernel: str | None, table_out: Path) -> list[str]:
    """Turn timed runs into a kernel table and list it in *doc*'s cost_tables."""
    from ..costs.fitted import fit_kernel
    from ..costs.tables import FORMAT

    runs = parse_xrt_csv(csv_file)
    if not runs:
        raise ConfigError("no timed runs in the file", file=csv_file)
    medians = summarize_runs(runs)
    kernels: dict[str, Any] = {}
    lines = []
    for (top, shape), median in sorted(medians.items()):
        name, _ = _kernel_entry(doc, kernel, top, path)
        kernels.setdefault(name, {"points": []})["points"].append(
            {"shape": dict(shape), "median_s": median, "iqr_s": None, "min_s": None,
             "repeats": sum(1 for r in runs if r.kernel == top and tuple(sorted(r.shape.items())) == shape),
             "power_w": None})
    for name, entry in kernels.items():
        from ..kernels import get_kernel

        for pt in entry["points"]:
            try:
                get_kernel(name).resolve(pt["shape"])
            except HetsimError as e:
                raise ConfigError(f"kernel {name!r}: {e.detail}", file=csv_file, field="shape") from None
            if not pt["median_s"] > 0:
                raise ConfigError(f"kernel {name!r} at {pt['shape']}: the median kernel_time_s must be > 0",
                                  file=csv_file, field="kernel_time_s")
        entry["fit"] = fit_kernel(entry["points"], name)
        lines.append(f"{name}: {len(entry['points'])} measured shape(s), fit {entry['fit']['model']} "
                     f"(held-out error {entry['fit'].get('heldout_error')})")
    devices = sorted({r.device for r in runs})
    table = {"format": FORMAT, "device": {"name": doc.get("name", "fpga"), "kind": "fpga"},
             "provenance": {"command": f"hetsim calibrate --from-xrt-csv {csv_file}", "date": _today(),
                            "host": ", ".join(devices), "xclbin": sorted({r.xclbin for r in runs}),
                            "source_csv": str(Path(csv_file).resolve())},
             "kernels": kernels}
    table_out.parent.mkdir(parents=True, exist_ok=True)
    table_out.write_text(json.dumps(table, indent=2, sort_keys=True))
    tables = [t for t in (doc.get("cost_tables") or []) if Path(t).name != table_out.name]
    doc["cost_tables"] = tables + [table_out.name]
    lines.append(f"cost_tables += {table_out.name} (tables win over cycle models)")
    return lines


def ingest_into_table(hls_report: str | None = None, xrt_csv: str | None = None, kernel: str | None = None,
                      device_file: str | None = None, out: str | None = None) -> dict[str, Any]:
    """Update a copy of an FPGA device file from a report and/or timed runs; return a summary."""
    src, doc = _device_doc(device_file)
    name = doc.get("name", src.stem)
    dest = Path(out) if out else Path("out") / "device_models" / "devices" / f"{name}.yaml"
    lines: list[str] = []
    if hls_report:
        lines += ingest_hls(doc, src, hls_report, kernel)
    if xrt_csv:
        lines += ingest_xrt(doc, src, xrt_csv, kernel, dest.parent / f"{name}-xrt.json")
    raw = {k: v for k, v in doc.items() if k != "sources"}
    validate(DeviceSpec, raw, file=str(dest))  # the result must still be a valid device
    dest.parent.mkdir(parents=True, exist_ok=True)
    header = (f"# {name}: {src} updated by hetsim calibrate on {_today()}\n"
              f"# ({', '.join(x for x in (hls_report, xrt_csv) if x)})\n")
    dest.write_text(header + yaml.safe_dump(doc, sort_keys=False))
    lines.append(f"wrote {dest}")
    return {"device_file": str(dest), "source": str(src), "lines": lines}
